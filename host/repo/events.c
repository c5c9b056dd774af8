/*
 * events.c - the events service: plugins' sends into the outbox, and one
 * delivery thread from the outbox to Kafka (see events.h).
 *
 * The delivery thread is the outbox's only reader.  It walks records in
 * order and produces each at once, or, when its deliver_at is in the
 * future, keeps a copy in a min-heap (deliver_at, seq) and produces it
 * when due, so a delayed record never holds back the ones behind it.  A
 * delayed record stays unacknowledged on disk, so after a restart it is
 * read again with its original deliver_at.  A record is acknowledged only
 * from a successful delivery report, which librdkafka serves on this same
 * thread (rd_kafka_poll), so ack() keeps a single caller.
 *
 * Ordering and outages.  The producer is idempotent (acks=all, in-order
 * retries per partition) and message.timeout.ms is 0 (never give up) by
 * default, so with brokers down librdkafka holds and retries everything
 * in order; the thread stops reading once MAX_INFLIGHT records are
 * unconfirmed.  A record whose delivery still fails (an error librdkafka
 * does not retry, or a finite message.timeout.ms set by the operator) is
 * produced again after a backoff; only then can it land behind later
 * records of its key.  The backoff starts at 1 s, doubles with every
 * failure (at produce time or in a delivery report, cap 30 s) and goes
 * back to 1 s on a successful delivery (real progress).
 *
 * Reporting an outage.  With message.timeout.ms 0 nothing fails during an
 * outage, so nothing would be logged: watch_backlog logs events.backlog
 * (records unacknowledged, the oldest one's age) every backlog_every
 * (10 s) while records wait for Kafka and none was delivered for that
 * long, and events.recovered once at the first delivery after that.  The
 * oldest record's age comes from the (seq, created) pairs of the records
 * read, pruned below the outbox's ack watermark.
 *
 * Poison records.  Errors that no retry can cure are:
 * MSG_SIZE_TOO_LARGE, INVALID_MSG_SIZE, RECORD_LIST_TOO_LARGE,
 * INVALID_RECORD, INVALID_MSG (CRC), TOPIC_EXCEPTION (invalid topic) and
 * librdkafka's __INVALID_ARG.  Sends cannot normally produce them (keys
 * are at most 64 KiB, payloads at most event_max_bytes, and the
 * producer's message.max.bytes is set above their sum plus framing unless
 * the [kafka] section sets rdkafka.message.max.bytes), but a broker with a
 * smaller limit can.  Such a record is
 * logged (level=error event=events.dead, with seq, id, topic and reason),
 * appended to STATE/outbox/dead.log (one line a record: the --outbox-dump
 * fields, escaped the same way, plus dead_at and reason; fdatasync'd;
 * --outbox-dump prints these lines too) and then acknowledged, so the
 * outbox keeps moving and its segments can be removed.  If dead.log cannot
 * be written the record is retried like any failure instead (never
 * acknowledged without a copy).  Unknown topics and authorization
 * failures are NOT poison: an operator can create the topic or fix the
 * ACL, and the record should then be delivered; they are retried with the
 * backoff and warned about (events.delivery_failed), and hold their
 * segments on disk meanwhile.
 *
 * Fatal producer errors (the idempotent producer's __FATAL: e.g. a
 * sequence gap the broker cannot resolve) stop a librdkafka producer for
 * good.  The delivery thread logs level=error event=events.fatal with the
 * reason, purges and destroys the producer, drops every record it holds
 * (they are all still unacknowledged on disk), creates a new producer
 * from a copy of the first one's configuration and rewinds the outbox
 * reader to the oldest unacknowledged record (jh__outbox_rewind).  Records
 * whose delivery report was lost with the old producer may be delivered
 * twice (at-least-once, as after a restart).
 *
 * Memory.  Records to retry count against MAX_INFLIGHT together with the
 * ones librdkafka holds (and their bytes against RETRY_MAX_BYTES): while
 * over, the thread reads nothing more from the outbox, so a backlog under
 * a failing cluster stays on disk.  Delayed records are copied into the
 * heap up to DELAY_MAX records / DELAY_MAX_BYTES bytes; past that, reading
 * pauses until the earliest delayed one is due (so only then can delayed
 * records hold back later ones: a deliberate trade of latency for bounded
 * memory, simpler than re-reading them from disk).
 *
 * send_batch checks every message first, then records them all with one
 * outbox append (jh__outbox_append_batch: consecutive seqs, one write, one
 * fsync in always mode); the delivery side sees ordinary records.
 *
 * Keys and payloads are opaque bytes: a key need not be valid UTF-8 or
 * NUL-free, it goes to Kafka (and the partitioner) exactly as given (at
 * most KEY_MAX = 64 KiB: larger keys get -EMSGSIZE at the send).  A
 * NULL key means "no key" (send_with_key with key NULL, keylen 0 is send).
 */
#include "events.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "service.h"
#include "base/clock.h"
#include "runtime/ctx.h"

#define NS 1000000000LL
#define MS 1000000LL
#define MAX_INFLIGHT 50000
#define RETRY_MIN_NS (1 * NS)
#define RETRY_MAX_NS (30 * NS)
#define TOPIC_MAX 249
#define KEY_MAX 65536               /* bytes of a key */
#define REC_OVERHEAD 65536          /* header, record and batch framing */
#define RETRY_MAX_BYTES ((size_t)256 << 20)
#define DELAY_MAX 100000
#define DELAY_MAX_BYTES ((size_t)256 << 20)
#define BACKLOG_EVERY_NS (10 * NS)
#define AGES_MAX 65536             /* (seq, created) pairs kept for oldest_age */

/* A record held in memory: a delayed one, one to retry, or one the
 * producer's queue had no room for. */
typedef struct pend {
    int64_t at;        /* CLOCK_REALTIME ns it is due */
    uint64_t seq;
    char id[33];
    int has_key;
    int retry;         /* a retry (else delayed or held): see account() */
    char *topic;       /* NUL-terminated */
    void *key, *payload;
    size_t key_len, payload_len;
    unsigned char data[];
} pend;

struct jh__events {
    jh__outbox *ob;
    size_t max_bytes;
    jh__logger *log;
    char *name;                 /* the [kafka NAME], for messages */
    char *dead_path;            /* STATE/outbox/dead.log */
    atomic_int closing;         /* sends refused */
    atomic_int stop;            /* the delivery thread exits */

    /* delivery thread (and the closer after joining it) */
    rd_kafka_t *rk;
    rd_kafka_queue_t *mainq;
    rd_kafka_conf_t *conf_tpl;  /* to create the producer again */
    atomic_int fatal;           /* a fatal error was reported */
    int resetting;              /* dropping the old producer's reports */
    pthread_t thr;
    int has_thr;
    size_t inflight;
    pend **heap;
    size_t nheap, capheap;
    pend *held;                 /* next to produce before anything else */
    int64_t retry_ns;           /* current backoff */
    size_t nretry, retry_bytes; /* retries in the heap */
    size_t ndelay, delay_bytes; /* delayed records in the heap */
    int64_t fail_logged;        /* rate limit of events.delivery_failed */
    size_t fail_quiet;
    atomic_size_t parked;       /* nheap, for the closer */
    _Atomic int64_t parked_first; /* heap[0]->at, for the closer */
    atomic_size_t in_memory;    /* heap + librdkafka's + held, for tests */

    /* outage reporting (watch_backlog) */
    int64_t backlog_every;      /* events.backlog period */
    uint64_t delivered, seen;   /* successful reports; as of the last watch */
    int64_t ok_at;              /* last progress, or last time nothing waited */
    int64_t backlog_at;         /* last events.backlog line; 0: none since progress */
    struct age {
        uint64_t seq;
        int64_t created;
    } *ages;                    /* records read, in seq order (thinned when full) */
    size_t nages;
};

/* ---- the delayed / retry heap ---------------------------------------- */

static int pend_less(const pend *a, const pend *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static size_t pend_size(const pend *p)
{
    return sizeof(*p) + strlen(p->topic) + 1 + p->key_len + p->payload_len;
}

/* Count p in (sign 1) or out of (-1) the heap's totals. */
static void account(jh__events *ev, const pend *p, int sign)
{
    size_t *n = p->retry ? &ev->nretry : &ev->ndelay;
    size_t *b = p->retry ? &ev->retry_bytes : &ev->delay_bytes;

    if (sign > 0) {
        (*n)++;
        *b += pend_size(p);
    } else {
        (*n)--;
        *b -= pend_size(p);
    }
}

static int heap_push(jh__events *ev, pend *p)
{
    size_t i;

    if (ev->nheap == ev->capheap) {
        size_t cap = ev->capheap ? ev->capheap * 2 : 64;
        pend **nh = realloc(ev->heap, cap * sizeof(*nh));
        if (nh == NULL)
            return -ENOMEM;
        ev->heap = nh;
        ev->capheap = cap;
    }
    for (i = ev->nheap++; i > 0 && pend_less(p, ev->heap[(i - 1) / 2]); i = (i - 1) / 2)
        ev->heap[i] = ev->heap[(i - 1) / 2];
    ev->heap[i] = p;
    account(ev, p, 1);
    return 0;
}

static pend *heap_pop(jh__events *ev)
{
    pend *top = ev->heap[0], *last = ev->heap[--ev->nheap];
    size_t i = 0, n = ev->nheap;

    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && pend_less(ev->heap[c + 1], ev->heap[c]))
            c++;
        if (!pend_less(ev->heap[c], last))
            break;
        ev->heap[i] = ev->heap[c];
        i = c;
    }
    if (n > 0)
        ev->heap[i] = last;
    account(ev, top, -1);
    return top;
}

static pend *pend_new(int64_t at, uint64_t seq, const char *id, const char *topic,
                      size_t tl, const void *key, size_t kl, const void *payload, size_t pl)
{
    pend *p = malloc(sizeof(*p) + tl + 1 + kl + pl);

    if (p == NULL)
        return NULL;
    p->at = at;
    p->seq = seq;
    p->retry = 0;
    memcpy(p->id, id, 32);
    p->id[32] = '\0';
    p->topic = (char *)p->data;
    memcpy(p->topic, topic, tl);
    p->topic[tl] = '\0';
    p->has_key = key != NULL;
    p->key = p->data + tl + 1;
    p->key_len = kl;
    if (kl)
        memcpy(p->key, key, kl);
    p->payload = p->data + tl + 1 + kl;
    p->payload_len = pl;
    if (pl)
        memcpy(p->payload, payload, pl);
    return p;
}

/* ---- producing -------------------------------------------------------- */

/* Hand one record to librdkafka (it copies).  0, or the librdkafka error
 * (RD_KAFKA_RESP_ERR__QUEUE_FULL: try again after a poll). */
static rd_kafka_resp_err_t produce(jh__events *ev, const char *topic, const char *id,
                                   uint64_t seq, const void *key, size_t kl,
                                   const void *payload, size_t pl)
{
    rd_kafka_resp_err_t err;

    if (key != NULL)
        err = rd_kafka_producev(ev->rk, RD_KAFKA_V_TOPIC(topic),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_KEY(key, kl), RD_KAFKA_V_VALUE((void *)payload, pl),
                                RD_KAFKA_V_HEADER("message_id", id, 32),
                                RD_KAFKA_V_OPAQUE((void *)(uintptr_t)seq), RD_KAFKA_V_END);
    else
        err = rd_kafka_producev(ev->rk, RD_KAFKA_V_TOPIC(topic),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_VALUE((void *)payload, pl),
                                RD_KAFKA_V_HEADER("message_id", id, 32),
                                RD_KAFKA_V_OPAQUE((void *)(uintptr_t)seq), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
        ev->inflight++;
    return err;
}

static void log_failure(jh__events *ev, const char *what, const char *topic, uint64_t seq,
                        const char *why)
{
    int64_t now = jh__realtime_ns();

    /* One line a second: an outage fails thousands of records at once. */
    if (now - ev->fail_logged < NS) {
        ev->fail_quiet++;
        return;
    }
    jh__log_f(ev->log, JH_LOG_WARN, what, "kafka=%s topic=%s seq=%" PRIu64
             " error=\"%s\" suppressed=%zu retry_in_ms=%lld", ev->name, topic, seq, why,
             ev->fail_quiet, (long long)(ev->retry_ns / MS));
    ev->fail_logged = now;
    ev->fail_quiet = 0;
}

/* Errors no retry can cure (see the top of the file). */
static int permanent(rd_kafka_resp_err_t err)
{
    switch (err) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
        return 1;
    default:
        return 0;
    }
}

/*
 * Append a poison record to dead.log (fdatasync'd), log events.dead and
 * acknowledge it.  Returns 0, or < 0 (nothing acknowledged) when the file
 * cannot be written.
 */
static int dead_letter(jh__events *ev, uint64_t seq, const char *id, const char *topic,
                       const void *key, size_t kl, const void *payload, size_t pl,
                       const char *reason)
{
    FILE *f = fopen(ev->dead_path, "ae");
    int rc = 0;

    if (f == NULL) {
        rc = -errno;
    } else {
        fprintf(f, "dead_at=%lld seq=%" PRIu64 " id=%.32s topic=", (long long)jh__realtime_ns(), seq,
                id);
        jh__outbox_put_quoted(f, topic, strlen(topic));
        fputs(" key=", f);
        if (key != NULL)
            jh__outbox_put_quoted(f, key, kl);
        else
            fputc('-', f);
        fputs(" payload=", f);
        jh__outbox_put_quoted(f, payload, pl);
        fputs(" reason=", f);
        jh__outbox_put_quoted(f, reason, strlen(reason));
        fputc('\n', f);
        if (fflush(f) != 0 || fdatasync(fileno(f)) < 0)
            rc = -errno;
        if (fclose(f) != 0 && rc == 0)
            rc = -errno;
    }
    if (rc < 0) {
        jh__log_f(ev->log, JH_LOG_ERROR, "events.dead_failed", "kafka=%s topic=%s seq=%" PRIu64
                 " id=%.32s reason=\"%s\" error=\"%s: %s\" action=retry", ev->name, topic, seq,
                 id, reason, ev->dead_path, strerror(-rc));
        return rc;
    }
    jh__log_f(ev->log, JH_LOG_ERROR, "events.dead", "kafka=%s topic=%s seq=%" PRIu64 " id=%.32s "
             "reason=\"%s\" key_bytes=%zu payload_bytes=%zu file=%s", ev->name, topic, seq, id,
             reason, kl, pl, ev->dead_path);
    jh__outbox_ack(ev->ob, seq);
    return 0;
}

/* Put p on the heap to be produced again after the backoff, which then
 * doubles.  Takes p. */
static void retry_later(jh__events *ev, pend *p)
{
    p->retry = 1;
    p->at = jh__realtime_ns() + ev->retry_ns;
    if (heap_push(ev, p) < 0)
        free(p); /* stays unacked on disk: delivered after a restart */
    if (ev->retry_ns < RETRY_MAX_NS)
        ev->retry_ns = ev->retry_ns * 2 < RETRY_MAX_NS ? ev->retry_ns * 2 : RETRY_MAX_NS;
}

/* A record librdkafka refused or failed to deliver: dead-letter it or
 * retry it.  Takes p. */
static void failed(jh__events *ev, pend *p, rd_kafka_resp_err_t err, const char *what)
{
    if (err == RD_KAFKA_RESP_ERR__FATAL)
        atomic_store(&ev->fatal, 1); /* p is dropped with the producer */
    if (permanent(err) &&
        dead_letter(ev, p->seq, p->id, p->topic, p->has_key ? p->key : NULL, p->key_len,
                    p->payload, p->payload_len, rd_kafka_err2str(err)) == 0) {
        free(p);
        return;
    }
    log_failure(ev, what, p->topic, p->seq, rd_kafka_err2str(err));
    retry_later(ev, p);
}

/* Produce a held or due record.  -EAGAIN: the producer's queue is full,
 * p is still the caller's; otherwise p is taken. */
static int produce_pend(jh__events *ev, pend *p)
{
    rd_kafka_resp_err_t err = produce(ev, p->topic, p->id, p->seq, p->has_key ? p->key : NULL,
                                      p->key_len, p->payload, p->payload_len);

    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        return -EAGAIN;
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        failed(ev, p, err, "events.produce_failed");
        return 0;
    }
    free(p);
    return 0;
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    jh__events *ev = opaque;
    uint64_t seq = (uint64_t)(uintptr_t)m->_private;
    rd_kafka_headers_t *h = NULL;
    const void *id = NULL;
    size_t idlen = 0;
    const char *topic = rd_kafka_topic_name(m->rkt);
    pend *p;

    (void)rk;
    if (ev->inflight > 0)
        ev->inflight--;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        jh__outbox_ack(ev->ob, seq);
        ev->retry_ns = RETRY_MIN_NS;
        ev->delivered++;
        return;
    }
    if (atomic_load(&ev->stop) || ev->resetting)
        return; /* purged: stays on disk, read again (restart / rewind) */
    if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR)
        rd_kafka_header_get_last(h, "message_id", &id, &idlen);
    p = idlen == 32 ? pend_new(0, seq, id, topic, strlen(topic), m->key, m->key_len, m->payload,
                               m->len)
                    : NULL;
    if (p == NULL) {
        log_failure(ev, "events.delivery_failed", topic, seq, rd_kafka_err2str(m->err));
        return; /* stays unacked on disk: delivered after a restart */
    }
    failed(ev, p, m->err, "events.delivery_failed");
}

static void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    jh__events *ev = rd_kafka_opaque(rk);
    int lvl = level <= 3 ? JH_LOG_ERROR : level <= 5 ? JH_LOG_WARN : level == 6 ? JH_LOG_INFO
                                                                               : JH_LOG_DEBUG;

    if (ev != NULL && jh__log_enabled(ev->log, lvl)) {
        jh__kv kv[3] = {JH_KV_S("kafka", ev->name), JH_KV_S("facility", fac),
                       JH_KV_S("msg", buf)};
        jh__log_kv(ev->log, lvl, "kafka.log", kv, 3);
    }
}

static void kafka_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    jh__events *ev = opaque;
    jh__kv kv[3] = {JH_KV_S("kafka", ev->name), JH_KV_S("error", rd_kafka_err2name(err)),
                   JH_KV_S("reason", reason)};

    (void)rk;
    jh__log_kv(ev->log, JH_LOG_WARN, "kafka.error", kv, 3);
    if (err == RD_KAFKA_RESP_ERR__FATAL)
        atomic_store(&ev->fatal, 1);
}

/* librdkafka has something for rd_kafka_poll (a delivery report): end the
 * delivery thread's wait in the outbox.  Runs on a librdkafka thread. */
static void queue_event_cb(rd_kafka_t *rk, void *opaque)
{
    (void)rk;
    jh__outbox_wake(((jh__events *)opaque)->ob);
}

/* ---- the delivery thread ------------------------------------------------ */

/* What to wait for in the outbox: until the first delayed record is due,
 * at most a second. */
static int64_t wait_ns(jh__events *ev)
{
    int64_t w = ev->backlog_every < NS ? ev->backlog_every : NS;

    if (ev->nheap > 0) {
        int64_t d = ev->heap[0]->at - jh__realtime_ns();
        w = d < 0 ? 0 : d < w ? d : w;
    }
    return w;
}

static void deliver_one(jh__events *ev, const jh__outbox_rec *r)
{
    int delayed = r->deliver_at_ns > jh__realtime_ns();
    char topic[TOPIC_MAX + 1];
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    pend *p;

    if (r->topic_len > TOPIC_MAX) {
        /* Sends check topics; only a foreign outbox file can hold this. */
        jh__log_f(ev->log, JH_LOG_ERROR, "events.bad_record", "seq=%" PRIu64 " id=%s "
                 "error=\"topic longer than 249 bytes; dropped\"", r->seq, r->id);
        jh__outbox_ack(ev->ob, r->seq);
        return;
    }
    if (!delayed) {
        /* The common case: straight from the outbox's buffer. */
        memcpy(topic, r->topic, r->topic_len);
        topic[r->topic_len] = '\0';
        err = produce(ev, topic, r->id, r->seq, r->key, r->key_len, r->payload, r->payload_len);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
            return;
    }
    p = pend_new(delayed ? r->deliver_at_ns : 0, r->seq, r->id, r->topic, r->topic_len,
                 r->key, r->key_len, r->payload, r->payload_len);
    if (p == NULL)
        return; /* out of memory: stays unacked, delivered after a restart */
    if (delayed) {
        if (heap_push(ev, p) < 0)
            free(p);
    } else if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        failed(ev, p, err, "events.produce_failed");
    } else {
        ev->held = p;
    }
}

static void kafka_drop(jh__events *ev)
{
    /* Reports arriving now still ack (this thread is the reader); what
     * is still in flight is purged and read again later. */
    rd_kafka_purge(ev->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(ev->rk, 0);
    rd_kafka_queue_cb_event_enable(ev->mainq, NULL, NULL);
    rd_kafka_queue_destroy(ev->mainq);
    rd_kafka_destroy(ev->rk);
    ev->rk = NULL;
    ev->mainq = NULL;
}

/* The producer hit a fatal error: start over with a new one from the
 * oldest unacknowledged record (see the top of the file). */
static void kafka_recreate(jh__events *ev)
{
    char reason[512] = "", errstr[512];
    rd_kafka_resp_err_t err = rd_kafka_fatal_error(ev->rk, reason, sizeof(reason));
    rd_kafka_conf_t *conf;

    jh__log_f(ev->log, JH_LOG_ERROR, "events.fatal", "kafka=%s error=%s reason=\"%s\" "
             "action=\"new producer, resending from the oldest unacknowledged record\"",
             ev->name, rd_kafka_err2name(err), reason);
    ev->resetting = 1;
    kafka_drop(ev);
    ev->resetting = 0;
    while (ev->nheap > 0)
        free(heap_pop(ev));
    free(ev->held);
    ev->held = NULL;
    ev->inflight = 0;
    atomic_store(&ev->fatal, 0);
    for (;;) {
        if ((conf = rd_kafka_conf_dup(ev->conf_tpl)) != NULL &&
            (ev->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr))) != NULL)
            break;
        if (conf != NULL)
            rd_kafka_conf_destroy(conf);
        jh__log_f(ev->log, JH_LOG_ERROR, "events.fatal", "kafka=%s error=\"cannot create the "
                 "producer: %s\" retry_in_ms=1000", ev->name, conf ? errstr : "out of memory");
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL);
        if (atomic_load(&ev->stop))
            return;
    }
    ev->mainq = rd_kafka_queue_get_main(ev->rk);
    rd_kafka_queue_cb_event_enable(ev->mainq, queue_event_cb, ev);
    jh__outbox_rewind(ev->ob);
}

/* Produce the held record, then the heap's due ones.  -EAGAIN while the
 * producer's queue is full (a record is held again), else 0. */
static int produce_due(jh__events *ev)
{
    if (ev->held != NULL) {
        pend *p = ev->held;
        ev->held = NULL;
        if (produce_pend(ev, p) == -EAGAIN) {
            ev->held = p;
            rd_kafka_poll(ev->rk, 50);
            return -EAGAIN;
        }
    }
    while (ev->held == NULL && ev->nheap > 0 && ev->inflight < MAX_INFLIGHT &&
           ev->heap[0]->at <= jh__realtime_ns()) {
        pend *p = heap_pop(ev);
        if (produce_pend(ev, p) == -EAGAIN)
            ev->held = p;
    }
    return ev->held != NULL ? -EAGAIN : 0;
}

/* What the closer reads to tell when waiting is pointless (drained). */
static void publish_parked(jh__events *ev)
{
    atomic_store(&ev->parked, ev->nheap);
    atomic_store(&ev->parked_first, ev->nheap > 0 ? ev->heap[0]->at : INT64_MAX);
}

/* Bounded memory (see the top of the file): true while too much waits for
 * Kafka or for its time to read more. */
static int over_budget(const jh__events *ev)
{
    return ev->inflight + ev->nretry >= MAX_INFLIGHT || ev->retry_bytes >= RETRY_MAX_BYTES ||
           ev->ndelay >= DELAY_MAX || ev->delay_bytes >= DELAY_MAX_BYTES;
}

/* ---- outage reporting ---------------------------------------------------- */

/* Drop the pairs of acknowledged records but the last one at or below
 * the watermark (its created time bounds the oldest record's). */
static void ages_prune(jh__events *ev)
{
    uint64_t low = jh__outbox_acked_below(ev->ob);
    size_t k = 0;

    while (k + 1 < ev->nages && ev->ages[k + 1].seq <= low)
        k++;
    if (k > 0) {
        memmove(ev->ages, ev->ages + k, (ev->nages - k) * sizeof(*ev->ages));
        ev->nages -= k;
    }
}

/* Remember when a record read from the outbox was written.  Records come
 * in seq order (after a rewind the older ones are already here).  When
 * full of unacknowledged records, every other pair goes: the age
 * reported is then at most one dropped pair's distance too old. */
static void ages_note(jh__events *ev, uint64_t seq, int64_t created)
{
    if (ev->nages > 0 && seq <= ev->ages[ev->nages - 1].seq)
        return;
    if (ev->ages == NULL && (ev->ages = malloc(AGES_MAX * sizeof(*ev->ages))) == NULL)
        return; /* out of memory: oldest_age is reported as 0 */
    if (ev->nages == AGES_MAX)
        ages_prune(ev);
    if (ev->nages == AGES_MAX) {
        size_t k = 1;
        for (size_t i = 2; i < ev->nages; i += 2)
            ev->ages[k++] = ev->ages[i];
        ev->nages = k;
    }
    ev->ages[ev->nages++] = (struct age){seq, created};
}

/* Age of the oldest unacknowledged record, in ms (0: unknown). */
static long long oldest_age_ms(jh__events *ev, int64_t now)
{
    ages_prune(ev);
    if (ev->nages == 0 || ev->ages[0].created <= 0 || ev->ages[0].created > now)
        return 0;
    return (long long)((now - ev->ages[0].created) / MS);
}

/*
 * While records wait for Kafka (in flight or to retry) and no delivery has
 * succeeded for backlog_every: one events.backlog line every backlog_every.
 * At the first successful delivery after one: events.recovered.  Runs on
 * the delivery thread, every few records and whenever it waits.
 */
static void watch_backlog(jh__events *ev)
{
    int64_t now = jh__realtime_ns();
    int waiting = ev->inflight + ev->nretry > 0 || ev->held != NULL;

    if (ev->delivered != ev->seen) {
        if (ev->backlog_at != 0)
            jh__log_f(ev->log, JH_LOG_INFO, "events.recovered", "kafka=%s records=%zu "
                     "delivered=%" PRIu64 " failed_for_ms=%lld", ev->name,
                     jh__outbox_pending(ev->ob), ev->delivered - ev->seen,
                     (long long)((now - ev->ok_at) / MS));
        ev->seen = ev->delivered;
        ev->ok_at = now;
        ev->backlog_at = 0;
        return;
    }
    if (!waiting) {
        ev->ok_at = now;
        return;
    }
    if (now - ev->ok_at < ev->backlog_every ||
        (ev->backlog_at != 0 && now - ev->backlog_at < ev->backlog_every))
        return;
    jh__log_f(ev->log, JH_LOG_WARN, "events.backlog", "kafka=%s records=%zu oldest_age=%lldms "
             "waiting_for_kafka=%zu failing_for_ms=%lld", ev->name, jh__outbox_pending(ev->ob),
             oldest_age_ms(ev, now), ev->inflight + ev->nretry + (ev->held != NULL),
             (long long)((now - ev->ok_at) / MS));
    ev->backlog_at = now;
}

static void *deliver_main(void *arg)
{
    jh__events *ev = arg;
    jh__outbox_rec rec;
    unsigned n = 0;

    while (!atomic_load(&ev->stop)) {
        /* Delivery reports wake next() (queue_event_cb); serving them every
         * 64 records while busy is enough and keeps this loop cheap. */
        if (n++ % 64 == 0) {
            rd_kafka_poll(ev->rk, 0);
            watch_backlog(ev);
        }
        if (atomic_load(&ev->fatal)) {
            kafka_recreate(ev);
            if (ev->rk == NULL)
                break; /* stopped while retrying */
            continue;
        }
        if (produce_due(ev) == -EAGAIN)
            continue;
        atomic_store(&ev->in_memory, ev->nheap + ev->inflight);
        publish_parked(ev);
        if (over_budget(ev)) {
            rd_kafka_poll(ev->rk, 50);
            watch_backlog(ev);
            continue;
        }
        int rc = jh__outbox_next(ev->ob, &rec, wait_ns(ev));
        if (rc == 0)
            n = 0; /* idle or woken: poll (and watch) first thing */
        if (rc < 0) {
            jh__log_f(ev->log, JH_LOG_ERROR, "events.outbox_read", "error=\"%s\"",
                     strerror(-rc));
            rd_kafka_poll(ev->rk, 1000);
        } else if (rc > 0) {
            ages_note(ev, rec.seq, rec.created_ns);
            deliver_one(ev, &rec);
        }
    }
    return NULL;
}

/* ---- setup / shutdown ---------------------------------------------------- */

static int conf_set(rd_kafka_conf_t *conf, const jh__conf_kafka *k, const char *key,
                    const char *value, const jh__conf_pos *pos, jh_err *e)
{
    char errstr[512];

    if (rd_kafka_conf_set(conf, key, value, errstr, sizeof(errstr)) == RD_KAFKA_CONF_OK)
        return 0;
    if (pos != NULL && pos->file != NULL)
        return jh__err_set(e, -EINVAL, "%s:%d: [kafka %s]: rdkafka.%s: %s", pos->file, pos->line,
                          k->name, key, errstr);
    return jh__err_set(e, -EINVAL, "[kafka %s]: %s: %s", k->name, key, errstr);
}

/* k's producer configuration: our defaults, then the section's rdkafka.*
 * keys over them.  Start-up and --check both build it here (and both then
 * create a producer from it, kafka_new and jh__events_check_kafka), so
 * --check refuses exactly what start-up refuses. */
static int kafka_conf(const jh__conf_kafka *k, size_t max_bytes, rd_kafka_conf_t **out, jh_err *e)
{
    rd_kafka_conf_t *conf;
    char maxb[32];
    int rc;

    if (k->brokers == NULL || k->brokers[0] == '\0')
        return jh__err_set(e, -EINVAL, "[kafka %s]: brokers is required", k->name);
    if ((conf = rd_kafka_conf_new()) == NULL)
        return jh__err_set(e, -ENOMEM, "[kafka %s]: out of memory", k->name);
    /* Room for the largest send: payload, key and framing (a section's
     * rdkafka.message.max.bytes still overrides it). */
    snprintf(maxb, sizeof(maxb), "%zu",
             max_bytes + KEY_MAX + REC_OVERHEAD > 1000000 ? max_bytes + KEY_MAX + REC_OVERHEAD
                                                          : (size_t)1000000);
    if ((rc = conf_set(conf, k, "bootstrap.servers", k->brokers, &k->pos, e)) < 0 ||
        (rc = conf_set(conf, k, "enable.idempotence", "true", NULL, e)) < 0 ||
        (rc = conf_set(conf, k, "message.timeout.ms", "0", NULL, e)) < 0 ||
        (rc = conf_set(conf, k, "message.max.bytes", maxb, NULL, e)) < 0 ||
        (rc = conf_set(conf, k, "queue.buffering.max.messages", "200000", NULL, e)) < 0)
        goto fail;
    for (size_t i = 0; i < k->n_props; i++)
        if ((rc = conf_set(conf, k, k->props[i].key, k->props[i].value, &k->props[i].pos, e)) < 0)
            goto fail;
    *out = conf;
    return 0;
fail:
    rd_kafka_conf_destroy(conf);
    return rc;
}

/* A producer from conf (which it takes, even on failure); what librdkafka
 * says about the properties together is reported at the section. */
static int kafka_create(const jh__conf_kafka *k, rd_kafka_conf_t *conf, rd_kafka_t **out,
                        jh_err *e)
{
    char errstr[512];

    if ((*out = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr))) != NULL)
        return 0; /* conf now belongs to the producer */
    rd_kafka_conf_destroy(conf);
    return jh__err_set(e, -EINVAL, "[kafka %s]: cannot create the producer: %s", k->name, errstr);
}

static void quiet_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk, (void)level, (void)fac, (void)buf;
}

int jh__events_check_kafka(const jh__conf_kafka *k, size_t max_bytes, jh_err *e)
{
    rd_kafka_conf_t *conf;
    rd_kafka_t *rk;
    int rc;

    if (max_bytes == 0)
        max_bytes = (size_t)1 << 20;
    if ((rc = kafka_conf(k, max_bytes, &conf, e)) < 0)
        return rc;
    /* Nothing is sent: the producer only proves the configuration. */
    rd_kafka_conf_set_log_cb(conf, quiet_log_cb);
    if ((rc = kafka_create(k, conf, &rk, e)) < 0)
        return rc;
    rd_kafka_destroy(rk);
    return 0;
}

static int kafka_new(jh__events *ev, const jh__conf_kafka *k, jh_err *e)
{
    rd_kafka_conf_t *conf;
    int rc;

    if ((rc = kafka_conf(k, ev->max_bytes, &conf, e)) < 0)
        return rc;
    rd_kafka_conf_set_opaque(conf, ev);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
    rd_kafka_conf_set_error_cb(conf, kafka_error_cb);
    if ((ev->conf_tpl = rd_kafka_conf_dup(conf)) == NULL) {
        rd_kafka_conf_destroy(conf);
        return jh__err_set(e, -ENOMEM, "[kafka %s]: out of memory", k->name);
    }
    if ((rc = kafka_create(k, conf, &ev->rk, e)) < 0) {
        rd_kafka_conf_destroy(ev->conf_tpl);
        ev->conf_tpl = NULL;
        return rc;
    }
    ev->mainq = rd_kafka_queue_get_main(ev->rk);
    rd_kafka_queue_cb_event_enable(ev->mainq, queue_event_cb, ev);
    return 0;
}

/* The producer and its configuration template, as far as they exist. */
static void kafka_free(jh__events *ev)
{
    if (ev->rk != NULL)
        kafka_drop(ev);
    if (ev->conf_tpl != NULL)
        rd_kafka_conf_destroy(ev->conf_tpl);
    ev->conf_tpl = NULL;
}

/* The object itself: what events_alloc made and the delivery heap. */
static void events_free(jh__events *ev)
{
    while (ev->nheap > 0)
        free(heap_pop(ev));
    free(ev->heap);
    free(ev->held);
    free(ev->ages);
    free(ev->name);
    free(ev->dead_path);
    free(ev);
}

/* The object with its settings, name and dead-letter path (in `dir`,
 * STATE/outbox). */
static int events_alloc(const jh__events_opts *opts, const char *dir, jh__events **out,
                        jh_err *e)
{
    jh__events *ev = calloc(1, sizeof(*ev));

    if (ev == NULL)
        return jh__err_set(e, -ENOMEM, "events: out of memory");
    ev->max_bytes = opts->max_bytes > 0 ? opts->max_bytes : (size_t)1 << 20;
    ev->log = opts->log;
    ev->retry_ns = RETRY_MIN_NS;
    ev->backlog_every = opts->backlog_every_ns > 0 ? opts->backlog_every_ns : BACKLOG_EVERY_NS;
    ev->ok_at = jh__realtime_ns();
    ev->name = strdup(opts->kafka != NULL && opts->kafka->name ? opts->kafka->name : "-");
    ev->dead_path = malloc(strlen(dir) + sizeof("/dead.log"));
    if (ev->name == NULL || ev->dead_path == NULL) {
        events_free(ev);
        return jh__err_set(e, -ENOMEM, "events: out of memory");
    }
    sprintf(ev->dead_path, "%s/dead.log", dir);
    *out = ev;
    return 0;
}

int jh__events_new(const jh__events_opts *opts, jh__events **out, jh_err *e)
{
    char dir[4096];
    jh__events *ev = NULL;
    int rc;

    *out = NULL;
    if (opts == NULL || opts->state_dir == NULL)
        return jh__err_set(e, -EINVAL, "events: no state directory given");
    if ((size_t)snprintf(dir, sizeof(dir), "%s/outbox", opts->state_dir) >= sizeof(dir))
        return jh__err_set(e, -ENAMETOOLONG, "events: state directory path too long");
    if ((rc = events_alloc(opts, dir, &ev, e)) < 0)
        return rc;
    jh__outbox_opts oo = {.dir = dir, .sync = opts->sync,
                         .sync_interval_ns = opts->sync_interval_ns, .log = opts->log};
    if ((rc = jh__outbox_open(&oo, &ev->ob, e)) < 0)
        goto fail_outbox;
    if (opts->kafka != NULL) {
        if ((rc = kafka_new(ev, opts->kafka, e)) < 0)
            goto fail_kafka;
        if ((rc = -pthread_create(&ev->thr, NULL, deliver_main, ev)) < 0) {
            jh__err_set(e, rc, "events: start the delivery thread: %s", strerror(-rc));
            goto fail_thread;
        }
        ev->has_thr = 1;
    }
    *out = ev;
    return 0;
fail_thread:
    kafka_free(ev);
fail_kafka:
    jh__outbox_close(ev->ob);
fail_outbox:
    events_free(ev);
    return rc;
}

/* Nothing is left, or only delayed records not due before the deadline
 * (waiting for those would only delay the shutdown). */
static int drained(jh__events *ev, int64_t deadline_rt)
{
    size_t left = jh__outbox_pending(ev->ob);
    return left == 0 || (left <= atomic_load(&ev->parked) &&
                         atomic_load(&ev->parked_first) > deadline_rt);
}

size_t jh__events_close(jh__events *ev, int64_t timeout_ns)
{
    size_t left;

    if (ev == NULL)
        return 0;
    atomic_store(&ev->closing, 1);
    if (ev->has_thr) {
        struct timespec pause = {0, 5 * MS};
        int64_t deadline = jh__realtime_ns() + (timeout_ns > 0 ? timeout_ns : 0);
        while (!drained(ev, deadline) && jh__realtime_ns() < deadline)
            nanosleep(&pause, NULL);
        atomic_store(&ev->stop, 1);
        jh__outbox_wake(ev->ob);
        pthread_join(ev->thr, NULL);
    }
    atomic_store(&ev->stop, 1);
    /* This thread is the reader now; what is still in flight after the
     * flush is delivered next start. */
    if (ev->rk != NULL)
        rd_kafka_flush(ev->rk, 100);
    kafka_free(ev);
    left = jh__outbox_pending(ev->ob);
    jh__outbox_close(ev->ob);
    events_free(ev);
    return left;
}

/* Records the delivery thread holds in memory (its heap) or has handed
 * to librdkafka, as of its last loop (t/service/events.t). */
size_t jh__events_in_memory(jh__events *ev)
{
    return atomic_load(&ev->in_memory);
}

/* Raise a fatal error in the producer as the idempotence checks would
 * (t/service/events.t).  Call only while the delivery works normally (not during
 * a recreate). */
int jh__events_test_fatal(jh__events *ev)
{
    return rd_kafka_test_fatal_error(ev->rk, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                                     "a test of events.fatal") == RD_KAFKA_RESP_ERR_NO_ERROR
               ? 0 : -EINVAL;
}

jh__outbox *jh__events_outbox(jh__events *ev)
{
    return ev != NULL ? ev->ob : NULL;
}

/* ---- what plugins call ---------------------------------------------------- */

static int topic_ok(const char *t)
{
    size_t n = 0;

    for (; t[n] != '\0'; n++) {
        char ch = t[n];
        if (n >= TOPIC_MAX || !((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                                (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
            return 0;
    }
    /* Kafka refuses these two names although the characters are fine. */
    return n > 0 && strcmp(t, ".") != 0 && strcmp(t, "..") != 0;
}

/* When a message sent now with delay_ms (>= 0) is due: 0 for at once. */
static int64_t due_at(int64_t now, int64_t delay_ms)
{
    if (delay_ms <= 0)
        return 0;
    return now + (delay_ms > INT64_MAX / MS / 2 ? INT64_MAX / 2 : delay_ms * MS);
}

/* The checks of one message after its topic's, shared by send and
 * send_batch; `at` says which message in the errors ("events send to T",
 * "events: message I: topic "T""). */
static int msg_check(jh_ctx *c, const jh__events *ev, const char *at, const void *key,
                     size_t keylen, const void *payload, size_t len, int64_t delay_ms)
{
    if (payload == NULL && len > 0)
        return jh__ctx_error(c, -EINVAL, "%s: payload is NULL with length %zu", at, len);
    if (key == NULL && keylen > 0)
        return jh__ctx_error(c, -EINVAL, "%s: key is NULL with length %zu", at, keylen);
    if (delay_ms < 0)
        return jh__ctx_error(c, -EINVAL, "%s: negative delay %lld ms", at, (long long)delay_ms);
    if (len > ev->max_bytes)
        return jh__ctx_error(c, -EMSGSIZE, "%s: payload of %zu bytes exceeds event_max_bytes "
                            "(%zu)", at, len, ev->max_bytes);
    /* librdkafka's message.max.bytes is sized for this (kafka_new). */
    if (keylen > KEY_MAX)
        return jh__ctx_error(c, -EMSGSIZE, "%s: key of %zu bytes exceeds the key limit (%d "
                            "bytes)", at, keylen, KEY_MAX);
    return 0;
}

static int send_common(jh_ctx *c, const char *topic, const void *key, size_t keylen,
                       const void *payload, size_t len, int64_t delay_ms, char *id_out)
{
    jh__events *ev;
    char at[TOPIC_MAX + 64];
    jh_err err;
    int rc;

    if ((rc = jh__ctx_need(c, JH_SVC_EVENTS)) < 0 || (rc = jh__ctx_check(c, "events send")) < 0)
        return rc;
    ev = jh__ctx_services(c)->events;
    if (topic == NULL)
        return jh__ctx_error(c, -EINVAL, "events send: topic is NULL");
    if (!topic_ok(topic))
        return jh__ctx_error(c, -EINVAL, "events send: bad topic \"%.260s\" (want "
                            "[A-Za-z0-9._-], 1 to 249 characters, not . or ..)", topic);
    snprintf(at, sizeof(at), "events send to %s", topic);
    if ((rc = msg_check(c, ev, at, key, keylen, payload, len, delay_ms)) < 0)
        return rc;
    if (atomic_load(&ev->closing))
        return jh__ctx_error(c, -ESHUTDOWN, "events send to %s: the host is shutting down",
                            topic);
    rc = jh__outbox_append(ev->ob, topic, key, keylen, payload, len,
                           due_at(jh__realtime_ns(), delay_ms), id_out, &err);
    if (rc < 0)
        return jh__ctx_error(c, rc, "events send to %s: %s", topic, err.msg);
    return 0;
}

static int ev_send(jh_ctx *c, const char *topic, const void *payload, size_t len, char *id_out)
{
    return send_common(c, topic, NULL, 0, payload, len, 0, id_out);
}

static int ev_send_with_key(jh_ctx *c, const char *topic, const void *key, size_t keylen,
                            const void *payload, size_t len, char *id_out)
{
    return send_common(c, topic, key, keylen, payload, len, 0, id_out);
}

static int ev_send_delayed(jh_ctx *c, const char *topic, const void *key, size_t keylen,
                           const void *payload, size_t len, int64_t delay_ms, char *id_out)
{
    return send_common(c, topic, key, keylen, payload, len, delay_ms, id_out);
}

/* The members of jh_event_msg as of ABI 1.1: a caller's element size
 * must cover at least these. */
#define MSG_SIZE_1_1 (offsetof(jh_event_msg, id_out) + sizeof(char *))

/* Message i of a batch (elements msg_size bytes apart; only the members
 * this host knows are read), checked, as an outbox entry. */
static int batch_entry(jh_ctx *c, const jh__events *ev, const jh_event_msg *msgs, size_t i,
                       size_t msg_size, int64_t now, jh__outbox_ent *ent)
{
    jh_event_msg m = {0};
    char at[TOPIC_MAX + 64];
    int rc;

    memcpy(&m, (const char *)msgs + i * msg_size, msg_size < sizeof(m) ? msg_size : sizeof(m));
    if (m.topic == NULL)
        return jh__ctx_error(c, -EINVAL, "events: message %zu: topic is NULL", i);
    if (!topic_ok(m.topic))
        return jh__ctx_error(c, -EINVAL, "events: message %zu: topic \"%.260s\": bad name "
                            "(want [A-Za-z0-9._-], 1 to 249 characters, not . or ..)",
                            i, m.topic);
    snprintf(at, sizeof(at), "events: message %zu: topic \"%s\"", i, m.topic);
    if ((rc = msg_check(c, ev, at, m.key, m.keylen, m.payload, m.len, m.delay_ms)) < 0)
        return rc;
    *ent = (jh__outbox_ent){.topic = m.topic, .key = m.key, .key_len = m.keylen,
                            .payload = m.payload, .len = m.len, .id_out = m.id_out,
                            .deliver_at_ns = due_at(now, m.delay_ms)};
    return 0;
}

/*
 * Every message is checked before anything is recorded (all or nothing),
 * then the whole batch is one outbox append: one write, one fsync.  The
 * elements are msg_size bytes apart; only the members this host knows are
 * read, so a plugin built against a later, larger jh_event_msg works.
 */
static int ev_send_batch(jh_ctx *c, const jh_event_msg *msgs, size_t n, size_t msg_size)
{
    jh__events *ev;
    jh__outbox_ent *ents;
    jh_err err;
    int64_t now;
    int rc;

    if ((rc = jh__ctx_need(c, JH_SVC_EVENTS)) < 0 ||
        (rc = jh__ctx_check(c, "events send_batch")) < 0)
        return rc;
    if (msg_size < MSG_SIZE_1_1)
        return jh__ctx_error(c, -EINVAL, "events send_batch: element size %zu is smaller than "
                            "jh_event_msg (%zu): pass JH_EVENT_MSG_SIZE", msg_size,
                            (size_t)MSG_SIZE_1_1);
    if (n == 0)
        return 0;
    if (msgs == NULL)
        return jh__ctx_error(c, -EINVAL, "events send_batch: msgs is NULL with n = %zu", n);
    if (n > SIZE_MAX / msg_size || n > SIZE_MAX / sizeof(*ents))
        return jh__ctx_error(c, -EINVAL, "events send_batch: n = %zu is too large", n);
    ev = jh__ctx_services(c)->events;
    if (atomic_load(&ev->closing))
        return jh__ctx_error(c, -ESHUTDOWN, "events send_batch: the host is shutting down");
    if ((ents = malloc(n * sizeof(*ents))) == NULL)
        return jh__ctx_error(c, -ENOMEM, "events send_batch: out of memory (%zu messages)", n);
    now = jh__realtime_ns();
    rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = batch_entry(c, ev, msgs, i, msg_size, now, &ents[i]);
    if (rc == 0 && (rc = jh__outbox_append_batch(ev->ob, ents, n, &err)) < 0)
        rc = jh__ctx_error(c, rc, "events send_batch of %zu messages: %s", n, err.msg);
    free(ents);
    return rc;
}

static const jh_events_api events_api = {
    .size = sizeof(jh_events_api),
    .send = ev_send,
    .send_with_key = ev_send_with_key,
    .send_delayed = ev_send_delayed,
    .send_batch = ev_send_batch,
};

const jh_events_api *jh__events_api_table(void)
{
    return &events_api;
}
