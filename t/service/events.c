/*
 * events.t - the events service end to end against librdkafka's mock
 * cluster (3 brokers on 127.0.0.1, in this process) with a real consumer
 * reading back: send / send_with_key / send_delayed from contexts of a
 * real plugin (t/plugins/events_p.so), byte-for-byte payloads and keys
 * (binary, invalid UTF-8), the message_id header, order per key, delayed
 * events (not before their time, not blocking others, surviving a
 * restart), send_batch (200 events in one call: ids, bytes, order per key,
 * a delayed entry; a batch with one bad message sends nothing; element
 * sizes), every broker down for OUTAGE seconds then back (nothing lost),
 * a process killed with SIGKILL after 1,000 sends while Kafka was
 * unreachable (a new instance on its state dir delivers all 1,000), misuse
 * errors, and a bad rdkafka.* property.  Also: keys over 64 KiB refused;
 * a 64 KiB key + 1 MiB payload delivered; a record the broker refuses for
 * good set aside in dead.log and acked; retries with Kafka unreachable
 * kept to 50,000 in memory (80,000 backlog); a fatal producer error
 * survived by a new producer; events.backlog while every broker is down
 * and events.recovered once they are back.
 *
 * The outage lasts 30 s (JH_EVENTS_OUTAGE_S overrides it); the whole
 * program takes about 40 s.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "runtime/ctx.h"
#include "repo/backends.h"
#include "repo/events.h"
#include "plugin/plugin.h"
#include "lib/tap.h"

#define MS 1000000LL
#define SEC 1000000000LL
#define N_CRASH 1000

static char top[256], logpath[512];
static jh__logger *lg;
static jh__host_env env;

static int64_t mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * SEC + ts.tv_nsec;
}

static int64_t wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * SEC + ts.tv_nsec;
}

static const char *sub(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), "%s/%s", top, name);
    return buf[k];
}

/* ---- plugin contexts ------------------------------------------------- */

static void release_svc(jh__services *s)
{
    free(s);
}

static jh__plugin *load_plugin(jh__events *ev, unsigned declared)
{
    jh__plugin *p;
    jh_err e = {0};
    jh__services *s = calloc(1, sizeof(*s));

    if (jh__plugin_open(tap_build("t/plugins/events_p.so"), &p, &e) < 0)
        bail("load events_p.so: %s", e.msg);
    s->events = ev;
    s->declared = declared;
    jh__plugin_set_services(p, s, release_svc);
    return p;
}

static void ctx_for(struct jh_ctx *c, jh__plugin *p)
{
    jh__ctx_init(c, &env, jh__plugin_ctx(p), "job", "h", 1, 0, INT64_MAX, NULL);
}

/* ---- the consumer ------------------------------------------------------ */

typedef struct msg {
    char topic[32];
    int part;
    int has_key;
    char *key, *val;
    size_t klen, vlen;
    char id[33];
    int64_t ts_ms;      /* CreateTime: when the producer produced it */
    int64_t seen;       /* wall clock when consumed */
} msg;

static msg *msgs;
static size_t nmsgs, capmsgs;
static rd_kafka_t *consumer;

static char *dup_bytes(const void *p, size_t n)
{
    char *d = malloc(n + 1);
    if (n)
        memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

static void consume_for(int64_t ns)
{
    int64_t end = mono() + ns;

    do {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(consumer, 20);
        rd_kafka_headers_t *h = NULL;
        const void *id = NULL;
        size_t idlen = 0;
        rd_kafka_timestamp_type_t tt;
        msg *x;

        if (m == NULL)
            continue;
        if (m->err) {
            rd_kafka_message_destroy(m);
            continue;
        }
        if (nmsgs == capmsgs)
            msgs = realloc(msgs, (capmsgs = capmsgs ? capmsgs * 2 : 1024) * sizeof(*msgs));
        x = &msgs[nmsgs++];
        snprintf(x->topic, sizeof(x->topic), "%s", rd_kafka_topic_name(m->rkt));
        x->part = m->partition;
        x->has_key = m->key != NULL;
        x->key = dup_bytes(m->key, m->key_len);
        x->klen = m->key_len;
        x->val = dup_bytes(m->payload, m->len);
        x->vlen = m->len;
        x->id[0] = '\0';
        if (rd_kafka_message_headers(m, &h) == 0 &&
            rd_kafka_header_get_last(h, "message_id", &id, &idlen) == 0 && idlen == 32) {
            memcpy(x->id, id, 32);
            x->id[32] = '\0';
        }
        x->ts_ms = rd_kafka_message_timestamp(m, &tt);
        x->seen = wall();
        rd_kafka_message_destroy(m);
    } while (mono() < end);
}

static size_t count_topic(const char *topic)
{
    size_t n = 0;
    for (size_t i = 0; i < nmsgs; i++)
        n += strcmp(msgs[i].topic, topic) == 0;
    return n;
}

/* Consume until `topic` has at least n messages or timeout; the count. */
static size_t wait_topic(const char *topic, size_t n, int64_t timeout)
{
    int64_t end = mono() + timeout;

    while (count_topic(topic) < n && mono() < end)
        consume_for(50 * MS);
    return count_topic(topic);
}

static const msg *find_id(const char *id)
{
    for (size_t i = 0; i < nmsgs; i++)
        if (strcmp(msgs[i].id, id) == 0)
            return &msgs[i];
    return NULL;
}

static size_t index_of(const msg *m)
{
    return (size_t)(m - msgs);
}

/* Values "KEY:SEQ" of `topic`: for every key, SEQs arrive increasing. */
static int order_kept(const char *topic, int nkeys)
{
    for (int k = 0; k < nkeys; k++) {
        char key[16];
        int last = -1, part = -1;
        snprintf(key, sizeof(key), "k%d", k);
        for (size_t i = 0; i < nmsgs; i++) {
            const msg *m = &msgs[i];
            if (strcmp(m->topic, topic) != 0 || strcmp(m->key, key) != 0)
                continue;
            int seq = atoi(strchr(m->val, ':') + 1);
            if (seq <= last || (part >= 0 && m->part != part)) {
                diag("%s key %s: %d after %d (partition %d, was %d)", topic, key, seq, last,
                     m->part, part);
                return 0;
            }
            last = seq;
            part = m->part;
        }
    }
    return 1;
}

static rd_kafka_t *make_consumer(const char *bootstraps, const char *const *topics,
                                 const int *parts, int ntopics)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);

    rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, err, sizeof(err));
    rd_kafka_conf_set(conf, "group.id", "events-t", err, sizeof(err));
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
    rd_kafka_conf_set(conf, "fetch.wait.max.ms", "10", err, sizeof(err));
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (rk == NULL)
        bail("consumer: %s", err);
    rd_kafka_poll_set_consumer(rk);
    for (int t = 0; t < ntopics; t++)
        for (int p = 0; p < parts[t]; p++)
            rd_kafka_topic_partition_list_add(l, topics[t], p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    if (rd_kafka_assign(rk, l) != 0)
        bail("assign");
    rd_kafka_topic_partition_list_destroy(l);
    return rk;
}

/* A whole (text) file, malloc'd; "" when missing. */
static char *slurp_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t n = 0, cap = 0, r;

    do {
        if (n + 65536 > cap && (buf = realloc(buf, cap = n + 65537)) == NULL)
            bail("out of memory");
        r = f ? fread(buf + n, 1, cap - n - 1, f) : 0;
        n += r;
    } while (r > 0);
    buf[n] = '\0';
    if (f)
        fclose(f);
    return buf;
}

/* ---- the service -------------------------------------------------------- */

static jh__events *new_events(const char *state, const char *brokers, size_t max_bytes)
{
    static jh__conf_kv props[] = {{"linger.ms", "2", {NULL, 0}}};
    jh__conf_kafka k = {.name = "bus", .brokers = brokers, .props = props, .n_props = 1};
    jh__events_opts o = {.state_dir = state, .sync = JH_OUTBOX_SYNC_INTERVAL,
                        .max_bytes = max_bytes, .kafka = &k, .log = lg};
    jh__events *ev = NULL;
    jh_err e = {0};

    if (jh__events_new(&o, &ev, &e) < 0)
        bail("events in %s: %s", state, e.msg);
    return ev;
}

/* ---- the parts ------------------------------------------------------------ */

/* Before any thread exists: a child sends N_CRASH events with Kafka
 * unreachable (nothing listens on 127.0.0.1:1), reports their ids, and is
 * killed with SIGKILL.  Returns the ids. */
static char (*crash_child(void))[33]
{
    char(*ids)[33] = calloc(N_CRASH, 33);
    int fds[2], status;
    pid_t pid;
    size_t got = 0;

    if (pipe(fds) < 0)
        bail("pipe");
    pid = fork();
    if (pid == 0) {
        close(fds[0]);
        jh__events *ev = new_events(sub("crash"), "127.0.0.1:1", 0);
        jh__plugin *p = load_plugin(ev, JH_SVC_EVENTS);
        struct jh_ctx c;
        ctx_for(&c, p);
        for (int i = 0; i < N_CRASH; i++) {
            char key[8], val[32], id[JH_EVENT_ID_LEN];
            snprintf(key, sizeof(key), "k%d", i % 7);
            snprintf(val, sizeof(val), "%s:%d", key, i);
            if (jh_event_send_with_key((jh_ctx *)&c, "crash", key, strlen(key), val, strlen(val),
                                       id) < 0 ||
                write(fds[1], id, 33) != 33)
                _exit(2);
        }
        for (;;)
            pause(); /* killed here: sends returned, nothing delivered */
    }
    close(fds[1]);
    while (got < (size_t)N_CRASH * 33) {
        ssize_t r = read(fds[0], (char *)ids + got, (size_t)N_CRASH * 33 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fds[0]);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    is_int((long long)got, N_CRASH * 33, "child: %d sends returned with Kafka unreachable", N_CRASH);
    ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child killed with SIGKILL");
    return ids;
}

static void test_bad_property(void)
{
    static jh__conf_kv props[] = {{"no.such.property", "1", {"conf.d/50-kafka.ini", 7}}};
    jh__conf_kafka k = {.name = "bus", .brokers = "127.0.0.1:1", .props = props, .n_props = 1};
    jh__events_opts o = {.state_dir = sub("badprop"), .kafka = &k, .log = lg};
    jh__events *ev = (jh__events *)1;
    jh_err e = {0};

    is_int(jh__events_new(&o, &ev, &e), -EINVAL, "an unknown rdkafka property: -EINVAL");
    ok(ev == NULL, "and no object");
    like(e.msg, "conf.d/50-kafka.ini:7: [kafka bus]: rdkafka.no.such.property", "names file, section, key");
    like(e.msg, "No such configuration property", "with librdkafka's reason: %s", e.msg);
}

/* Shutdown with Kafka unreachable is bounded: what is left stays on disk. */
static void test_close_unreachable(void)
{
    jh__events *ev = new_events(sub("unreachable"), "127.0.0.1:1", 0);
    jh__plugin *p = load_plugin(ev, JH_SVC_EVENTS);
    struct jh_ctx c;
    int64_t t0;
    size_t left;

    ctx_for(&c, p);
    for (int i = 0; i < 3; i++)
        jh_event_send((jh_ctx *)&c, "plain", "x", 1, NULL);
    t0 = mono();
    left = jh__events_close(ev, 500 * MS);
    is_int((long long)left, 3, "close with Kafka unreachable: 3 left for the next start");
    ok(mono() - t0 < 5 * SEC, "and it returns in %lld ms (timeout 500 ms)",
       (long long)((mono() - t0) / MS));
    jh__plugin_unref(p);
}

static void test_send(jh_ctx *c, jh__plugin *p)
{
    static const unsigned char bin[] = {0x00, 0xff, 'a', 0xc3, 0x28, '\n', 0x00};
    static const unsigned char badkey[] = {0xc3, 0x28, 0x00, 0xff};
    char ids[40][JH_EVENT_ID_LEN], kid[JH_EVENT_ID_LEN], bid[JH_EVENT_ID_LEN];
    int errors = 0;

    for (int i = 0; i < 40; i++) {
        char key[8], val[32];
        snprintf(key, sizeof(key), "k%d", i % 4);
        snprintf(val, sizeof(val), "%s:%d", key, i);
        errors += jh_event_send_with_key(c, "orders", key, strlen(key), val, strlen(val), ids[i]) != 0;
    }
    is_int(errors, 0, "40 keyed sends (4 keys) return 0");
    is_int(jh_event_send(c, "plain", bin, sizeof(bin), bid), 0, "send binary payload, no key");
    is_int(jh_event_send_with_key(c, "plain", badkey, sizeof(badkey), "", 0, kid), 0,
           "send with an invalid UTF-8 key and an empty payload");
    is_int(jh__plugin_handler(p, "emit")->fn(c), 0, "the plugin's handler sends through jobhost.h");

    is_int((long long)wait_topic("orders", 41, 20 * SEC), 41, "all 41 on orders arrive");
    is_int((long long)wait_topic("plain", 2, 20 * SEC), 2, "both on plain arrive");
    int all = 1;
    for (int i = 0; i < 40; i++) {
        char val[32];
        const msg *m = find_id(ids[i]);
        snprintf(val, sizeof(val), "k%d:%d", i % 4, i);
        all &= m != NULL && strcmp(m->val, val) == 0 && m->has_key && m->klen == 2 &&
               memcmp(m->key, val, 2) == 0;
    }
    ok(all, "each keyed event arrives with its key, payload and message_id header = id_out");
    ok(order_kept("orders", 4), "order per key kept (one partition per key, increasing)");
    const msg *m = find_id(bid);
    ok(m && !m->has_key && m->vlen == sizeof(bin) && memcmp(m->val, bin, sizeof(bin)) == 0,
       "binary payload byte for byte, no key");
    m = find_id(kid);
    ok(m && m->has_key && m->klen == sizeof(badkey) && memcmp(m->key, badkey, sizeof(badkey)) == 0 &&
           m->vlen == 0,
       "invalid UTF-8 key verbatim, empty payload");
    int from_plugin = 0;
    for (size_t i = 0; i < nmsgs; i++)
        from_plugin += strcmp(msgs[i].val, "from the plugin") == 0 &&
                       strcmp(msgs[i].key, "plugin-key") == 0 && msgs[i].id[0] != '\0';
    is_int(from_plugin, 1, "the plugin's event arrived once, with an id");
}

static void test_big(jh_ctx *c, size_t max)
{
    char *big = malloc(max + 1), id[JH_EVENT_ID_LEN];
    for (size_t i = 0; i <= max; i++)
        big[i] = (char)(i * 7 + 3);
    is_int(jh_event_send(c, "plain", big, max + 1, NULL), -EMSGSIZE, "max_bytes + 1: -EMSGSIZE");
    like(jh_last_error(c), "exceeds event_max_bytes", "message: %s", jh_last_error(c));
    is_int(jh_event_send(c, "plain", big, max, id), 0, "exactly max_bytes: accepted");
    wait_topic("plain", 3, 20 * SEC);
    const msg *m = find_id(id);
    ok(m && m->vlen == max && memcmp(m->val, big, max) == 0, "and it arrives byte for byte (%zu bytes)", max);
    free(big);
}

static void test_misuse(jh_ctx *c, jh__events *ev)
{
    char t250[251];
    struct jh_ctx c2, c3, c4;
    jh__plugin *undeclared = load_plugin(ev, 0), *unbound = load_plugin(NULL, JH_SVC_EVENTS);

    memset(t250, 'a', 250);
    t250[250] = '\0';
    is_int(jh_event_send(c, "bad topic", "x", 1, NULL), -EINVAL, "topic with a space: -EINVAL");
    like(jh_last_error(c), "bad topic \"bad topic\"", "message names it");
    is_int(jh_event_send(c, "", "x", 1, NULL), -EINVAL, "empty topic: -EINVAL");
    is_int(jh_event_send(c, t250, "x", 1, NULL), -EINVAL, "250-character topic: -EINVAL");
    is_int(jh_event_send(c, "caf\xc3\xa9", "x", 1, NULL), -EINVAL, "non-ASCII topic: -EINVAL");
    is_int(jh_event_send(c, NULL, "x", 1, NULL), -EINVAL, "NULL topic: -EINVAL");
    is_int(jh_event_send(c, "..", "x", 1, NULL), -EINVAL, "topic \"..\": -EINVAL");
    is_int(jh_event_send(c, "plain", NULL, 5, NULL), -EINVAL, "NULL payload with length 5: -EINVAL");
    is_int(jh_event_send_with_key(c, "plain", NULL, 3, "x", 1, NULL), -EINVAL,
           "NULL key with length 3: -EINVAL");
    is_int(jh_event_send_delayed(c, "plain", NULL, 0, "x", 1, -1, NULL), -EINVAL,
           "negative delay: -EINVAL");
    like(jh_last_error(c), "negative delay", "message: %s", jh_last_error(c));

    ctx_for(&c2, undeclared);
    is_int(jh_event_send((jh_ctx *)&c2, "plain", "x", 1, NULL), -ENOSYS,
           "a plugin that does not declare JH_SVC_EVENTS: -ENOSYS");
    like(jh_last_error((jh_ctx *)&c2), "does not declare the events service", "message: %s",
         jh_last_error((jh_ctx *)&c2));
    ctx_for(&c3, unbound);
    is_int(jh_event_send((jh_ctx *)&c3, "plain", "x", 1, NULL), -ENOSYS, "no events backend: -ENOSYS");
    ctx_for(&c4, NULL);
    is_int(jh_event_send((jh_ctx *)&c4, "plain", "x", 1, NULL), -ENOSYS, "no plugin: -ENOSYS");
    jh__plugin_unref(undeclared);
    jh__plugin_unref(unbound);
}


/* Keys over 64 KiB are refused at the send, by every entry point (the
 * producer is sized for a 64 KiB key plus a max_bytes payload). */
static void test_key_limit(jh_ctx *c, jh__events *ev)
{
    size_t big = 65537;
    char *key = malloc(big);
    jh_event_msg v[2] = {{.topic = "plain", .payload = "a", .len = 1},
                         {.topic = "plain", .key = key, .keylen = big, .payload = "b", .len = 1}};
    size_t before = jh__outbox_pending(jh__events_outbox(ev));

    memset(key, 'k', big);
    is_int(jh_event_send_with_key(c, "plain", key, big, "x", 1, NULL), -EMSGSIZE,
           "send_with_key, key of 65537 bytes: -EMSGSIZE");
    like(jh_last_error(c), "key of 65537 bytes exceeds the key limit", "message: %s",
         jh_last_error(c));
    is_int(jh_event_send_delayed(c, "plain", key, big, "x", 1, 10, NULL), -EMSGSIZE,
           "send_delayed, key of 65537 bytes: -EMSGSIZE");
    is_int(jh_event_send_batch(c, v, 2), -EMSGSIZE, "send_batch with one 65537-byte key: -EMSGSIZE");
    like(jh_last_error(c), "message 1: topic \"plain\": key of 65537 bytes", "message: %s",
         jh_last_error(c));
    is_int((long long)jh__outbox_pending(jh__events_outbox(ev)), (long long)before,
           "none of them was recorded");
    free(key);
}

/* The largest send allowed (64 KiB key, a 1 MiB payload = event_max_bytes)
 * fits librdkafka's message.max.bytes: it arrives and is acked (it was
 * refused forever, holding the outbox back). */
static void test_biggest(const char *bs)
{
    jh__events *ev = new_events(sub("biggest"), bs, 1 << 20);
    jh__plugin *p = load_plugin(ev, JH_SVC_EVENTS);
    struct jh_ctx c;
    size_t kl = 65536, pl = 1 << 20;
    char *key = malloc(kl), *pay = malloc(pl), id[JH_EVENT_ID_LEN];
    int64_t t0 = mono();

    for (size_t i = 0; i < kl; i++)
        key[i] = (char)(i * 13 + 1);
    for (size_t i = 0; i < pl; i++)
        pay[i] = (char)(i * 7 + 5);
    ctx_for(&c, p);
    is_int(jh_event_send_with_key((jh_ctx *)&c, "bigkey", key, kl, pay, pl, id), 0,
           "64 KiB key + 1 MiB payload: accepted");
    while (jh__outbox_pending(jh__events_outbox(ev)) > 0 && mono() - t0 < 20 * SEC)
        consume_for(10 * MS);
    is_int((long long)jh__outbox_pending(jh__events_outbox(ev)), 0, "and acked by the cluster");
    wait_topic("bigkey", 1, 20 * SEC);
    const msg *m = find_id(id);
    ok(m && m->klen == kl && m->vlen == pl && memcmp(m->key, key, kl) == 0 &&
           memcmp(m->val, pay, pl) == 0, "it arrives byte for byte");
    is_int((long long)jh__events_close(ev, 10 * SEC), 0, "close: nothing left");
    jh__plugin_unref(p);
    free(key);
    free(pay);
}

/* A record the cluster refuses for good (MSG_SIZE_TOO_LARGE from the
 * broker) is set aside in dead.log, logged and acked; the next one goes
 * through. */
static void test_poison(jh_ctx *c, jh__events *ev, rd_kafka_mock_cluster_t *mc)
{
    char id[JH_EVENT_ID_LEN], id2[JH_EVENT_ID_LEN], path[600];
    int64_t t0 = mono();
    char *dump = NULL;
    size_t dlen = 0;
    jh_err e = {0};
    FILE *f;

    while (jh__outbox_pending(jh__events_outbox(ev)) > 0 && mono() - t0 < 20 * SEC)
        consume_for(10 * MS);
    /* Produce requests are api key 0. */
    rd_kafka_mock_push_request_errors(mc, 0, 1, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
    is_int(jh_event_send_with_key(c, "poison", "pk", 2, "poisoned\n", 9, id), 0, "send (will be refused)");
    t0 = mono();
    while (jh__outbox_pending(jh__events_outbox(ev)) > 0 && mono() - t0 < 20 * SEC)
        consume_for(10 * MS);
    is_int((long long)jh__outbox_pending(jh__events_outbox(ev)), 0,
           "the refused record is acknowledged (not retried forever)");
    snprintf(path, sizeof(path), "%s/outbox/dead.log", sub("main"));
    char *dl = slurp_file(path);
    like(dl, id, "dead.log holds its id");
    like(dl, "topic=\"poison\" key=\"pk\" payload=\"poisoned\\x0a\" reason=", "and its topic, "
         "key and payload, escaped as --outbox-dump does");
    char *lines = slurp_file(logpath);
    like(lines, "level=error event=events.dead kafka=bus topic=poison seq=", "logged as events.dead");
    free(lines);
    f = open_memstream(&dump, &dlen);
    is_int(jh__outbox_dump(sub("main/outbox"), f, &e), 0, "--outbox-dump works");
    fclose(f);
    like(dump, id, "and shows the dead record");
    free(dump);
    free(dl);
    is_int(jh_event_send(c, "poison", "fine", 4, id2), 0, "the next send");
    is_int((long long)wait_topic("poison", 1, 20 * SEC), 1, "arrives");
    ok(find_id(id) == NULL && find_id(id2) != NULL, "only the good one is on the topic");
}


/* A fatal producer error (idempotence) stopped delivery for good; now
 * the producer is recreated and reading starts again from the oldest
 * unacknowledged record: everything sent before and after arrives. */
static void test_fatal(const char *bs)
{
    jh__events *ev = new_events(sub("fatal"), bs, 0);
    jh__plugin *p = load_plugin(ev, JH_SVC_EVENTS);
    struct jh_ctx c;
    char ids[20][JH_EVENT_ID_LEN];
    int errors = 0, found = 0;
    int64_t t0;

    ctx_for(&c, p);
    for (int i = 0; i < 10; i++)
        errors += jh_event_send((jh_ctx *)&c, "fatal", "before", 6, ids[i]) != 0;
    wait_topic("fatal", 10, 20 * SEC);
    is_int(jh__events_test_fatal(ev), 0, "a fatal error raised in the producer");
    for (int i = 10; i < 20; i++)
        errors += jh_event_send((jh_ctx *)&c, "fatal", "after", 5, ids[i]) != 0;
    is_int(errors, 0, "20 sends return 0");
    t0 = mono();
    while (jh__outbox_pending(jh__events_outbox(ev)) > 0 && mono() - t0 < 30 * SEC)
        consume_for(10 * MS);
    is_int((long long)jh__outbox_pending(jh__events_outbox(ev)), 0,
           "all acked after the fatal error (by a new producer)");
    wait_topic("fatal", 20, 20 * SEC);
    for (int i = 0; i < 20; i++)
        found += find_id(ids[i]) != NULL;
    is_int(found, 20, "all 20 arrive");
    char *lines = slurp_file(logpath);
    like(lines, "level=error event=events.fatal kafka=bus error=", "logged as events.fatal");
    free(lines);
    is_int((long long)jh__events_close(ev, 10 * SEC), 0, "close: nothing left");
    jh__plugin_unref(p);
}

/* Kafka unreachable and a short message.timeout.ms: every produce fails
 * after 100 ms and is retried later.  A backlog of 80,000 must not all be
 * read into memory: records waiting to be retried count against the
 * 50,000 in flight (it grew without bound: RSS 421 -> 696 MiB in 12 s). */
static void test_retry_bounded(void)
{
    static jh__conf_kv props[] = {{"message.timeout.ms", "100", {NULL, 0}},
                                 {"linger.ms", "0", {NULL, 0}}};
    jh__conf_kafka k = {.name = "gone", .brokers = "127.0.0.1:1", .props = props, .n_props = 2};
    jh__events_opts o = {.state_dir = sub("retrymem"), .sync = JH_OUTBOX_SYNC_INTERVAL,
                        .kafka = &k, .log = lg};
    jh__events *ev = NULL;
    jh__plugin *p;
    struct jh_ctx c;
    jh_err e = {0};
    int errors = 0;
    size_t most = 0;
    int64_t t0;

    if (jh__events_new(&o, &ev, &e) < 0)
        bail("events: %s", e.msg);
    p = load_plugin(ev, JH_SVC_EVENTS);
    ctx_for(&c, p);
    for (int i = 0; i < 80000; i++)
        errors += jh_event_send((jh_ctx *)&c, "gone", "0123456789abcdef", 16, NULL) != 0;
    is_int(errors, 0, "80,000 sends with Kafka unreachable return 0");
    t0 = mono();
    while (mono() - t0 < 4 * SEC) {
        size_t n = jh__events_in_memory(ev);
        most = n > most ? n : most;
        struct timespec ts = {0, 10 * MS};
        nanosleep(&ts, NULL);
    }
    diag("retries: at most %zu records in memory of 80,000 (4 s)", most);
    ok(most > 1000 && most <= 50000 + 64, "at most 50,000 (+ a few) in memory, not the backlog");
    is_int((long long)jh__events_close(ev, 0), 80000, "close: all 80,000 still on disk");
    jh__plugin_unref(p);
}

/* send_batch: 200 events in one call arrive byte for byte with their ids,
 * in array order per key; a delayed entry waits without blocking the rest. */
static void test_batch(jh_ctx *c)
{
    enum { N = 200 };
    jh_event_msg *v = calloc(N, sizeof(*v));
    char (*ids)[JH_EVENT_ID_LEN] = calloc(N, JH_EVENT_ID_LEN);
    char (*keys)[8] = calloc(N, 8), (*vals)[32] = calloc(N, 32);
    static const unsigned char bin[] = {0x00, 0xff, 'b', 0xc3, 0x28};
    int64_t t0 = wall();
    int all = 1, distinct = 1;
    const msg *d, *last;

    for (int i = 0; i < N; i++) {
        snprintf(keys[i], 8, "k%d", i % 5);
        snprintf(vals[i], 32, "k%d:%d", i % 5, i);
        v[i] = (jh_event_msg){.topic = "batch", .key = keys[i], .keylen = strlen(keys[i]),
                              .payload = vals[i], .len = strlen(vals[i]), .id_out = ids[i]};
    }
    /* 50: delayed, on its own key; 120: no key, binary payload */
    snprintf(vals[50], 32, "delayed");
    v[50] = (jh_event_msg){.topic = "batch", .key = "d", .keylen = 1, .payload = vals[50],
                           .len = 7, .delay_ms = 1000, .id_out = ids[50]};
    v[120] = (jh_event_msg){.topic = "batch", .payload = bin, .len = sizeof(bin),
                            .id_out = ids[120]};
    is_int(jh_event_send_batch(c, v, N), 0, "send_batch of 200 (one delayed, one unkeyed)");
    for (int i = 0; i < N; i++)
        distinct &= strlen(ids[i]) == 32 && (i == 0 || strcmp(ids[i], ids[i - 1]) != 0);
    ok(distinct, "every id_out filled");
    is_int((long long)wait_topic("batch", N, 20 * SEC), N, "all 200 arrive");
    for (int i = 0; i < N; i++) {
        const msg *m = find_id(ids[i]);
        all &= m != NULL && m->vlen == v[i].len && memcmp(m->val, v[i].payload, v[i].len) == 0 &&
               (v[i].key == NULL ? !m->has_key
                                 : m->has_key && m->klen == v[i].keylen &&
                                       memcmp(m->key, v[i].key, v[i].keylen) == 0);
    }
    ok(all, "each with its key and payload byte for byte, message_id header = id_out");
    ok(order_kept("batch", 5), "array order kept per key");
    d = find_id(ids[50]);
    last = find_id(ids[N - 1]);
    ok(d != NULL && d->ts_ms >= t0 / MS + 1000,
       "the delayed entry was produced %lld ms after the send (>= 1000)",
       d ? (long long)(d->ts_ms - t0 / MS) : -1LL);
    ok(d != NULL && last != NULL && index_of(last) < index_of(d),
       "and did not hold back the entries after it");
    free(v);
    free(ids);
    free(keys);
    free(vals);
}

/* A batch with one bad message sends nothing; the other misuses. */
static void test_batch_misuse(jh_ctx *c, jh__events *ev)
{
    jh_event_msg v[20];
    char vals[20][32], id[JH_EVENT_ID_LEN] = "", sentinel[JH_EVENT_ID_LEN];
    const jh_events_api *api = jh__events_api_table();
    struct {
        jh_event_msg m;
        char later_members[24]; /* a plugin built against a larger jh_event_msg */
    } big[2];
    char *huge;
    size_t bad = 0;
    struct jh_ctx c2;
    jh__plugin *undeclared = load_plugin(ev, 0);

    for (int i = 0; i < 20; i++) {
        snprintf(vals[i], sizeof(vals[i]), "bad-batch:%d", i);
        v[i] = (jh_event_msg){.topic = "plain", .key = "bb", .keylen = 2, .payload = vals[i],
                              .len = strlen(vals[i]), .id_out = i == 0 ? id : NULL};
    }
    v[17].topic = "a b";
    is_int(jh_event_send_batch(c, v, 20), -EINVAL, "a bad topic at 17: -EINVAL");
    like(jh_last_error(c), "events: message 17: topic \"a b\": ", "message names the index: %s",
         jh_last_error(c));
    is_str(id, "", "id_out of the first message left alone");
    v[17].topic = "plain";
    v[3].delay_ms = -5;
    is_int(jh_event_send_batch(c, v, 20), -EINVAL, "a negative delay at 3: -EINVAL");
    like(jh_last_error(c), "events: message 3: topic \"plain\": negative delay", "message: %s",
         jh_last_error(c));
    v[3].delay_ms = 0;
    v[9].payload = NULL;
    is_int(jh_event_send_batch(c, v, 20), -EINVAL, "a NULL payload at 9: -EINVAL");
    v[9].payload = vals[9];
    v[12].key = NULL;
    is_int(jh_event_send_batch(c, v, 20), -EINVAL, "a NULL key with a length at 12: -EINVAL");
    v[12].key = "bb";
    huge = calloc(1, 65537);
    v[19].payload = huge;
    v[19].len = 65537;
    is_int(jh_event_send_batch(c, v, 20), -EMSGSIZE, "max_bytes + 1 at 19: -EMSGSIZE");
    like(jh_last_error(c), "message 19: topic \"plain\": payload of 65537 bytes exceeds",
         "message: %s", jh_last_error(c));
    free(huge);
    v[19].payload = vals[19];
    v[19].len = strlen(vals[19]);
    v[0].topic = NULL;
    is_int(jh_event_send_batch(c, v, 20), -EINVAL, "a NULL topic at 0: -EINVAL");
    v[0].topic = "plain";
    is_int(jh_event_send_batch(c, NULL, 3), -EINVAL, "msgs NULL with n 3: -EINVAL");
    is_int(jh_event_send_batch(c, NULL, 0), 0, "n 0: 0");
    is_int(jh_event_send_batch(c, v, 0), 0, "n 0 with msgs: 0, nothing sent");
    is_int(api->send_batch(c, v, 1, sizeof(jh_event_msg) - 1), -EINVAL,
           "an element size below the 1.1 struct: -EINVAL");
    like(jh_last_error(c), "element size", "message: %s", jh_last_error(c));

    ctx_for(&c2, undeclared);
    is_int(jh_event_send_batch((jh_ctx *)&c2, v, 20), -ENOSYS,
           "undeclared JH_SVC_EVENTS: -ENOSYS");
    jh__plugin_unref(undeclared);

    /* larger elements: only the members this host knows are read */
    memset(big, 0x5a, sizeof(big));
    big[0].m = (jh_event_msg){.topic = "plain", .key = "bb", .keylen = 2, .payload = "big-0",
                              .len = 5};
    big[1].m = (jh_event_msg){.topic = "plain", .key = "bb", .keylen = 2, .payload = "big-1",
                              .len = 5, .id_out = sentinel};
    is_int(api->send_batch(c, &big[0].m, 2, sizeof(big[0])), 0,
           "elements larger than jh_event_msg (a later ABI): accepted");
    /* Same key, same partition: had any refused batch been recorded, it
     * would arrive before these two. */
    wait_topic("plain", count_topic("plain") + 2, 20 * SEC);
    ok(find_id(sentinel) != NULL, "the large-element batch arrives");
    for (size_t i = 0; i < nmsgs; i++)
        bad += strncmp(msgs[i].val, "bad-batch:", 10) == 0;
    is_int((long long)bad, 0, "none of the refused batches' messages was sent");
    int both = 0;
    for (size_t i = 0; i < nmsgs; i++)
        both += strcmp(msgs[i].topic, "plain") == 0 &&
                (strcmp(msgs[i].val, "big-0") == 0 || strcmp(msgs[i].val, "big-1") == 0);
    is_int(both, 2, "both large elements, read at the right stride");
}

static void test_delayed(jh_ctx *c)
{
    char dly[JH_EVENT_ID_LEN], now_id[JH_EVENT_ID_LEN];
    int64_t t0 = wall();
    const msg *d, *n;

    is_int(jh_event_send_delayed(c, "delayed", "d", 1, "later", 5, 1500, dly), 0, "send_delayed 1500 ms");
    is_int(jh_event_send_with_key(c, "delayed", "d", 1, "now", 3, now_id), 0,
           "then an immediate event, same key and partition");
    wait_topic("delayed", 2, 20 * SEC);
    d = find_id(dly);
    n = find_id(now_id);
    ok(d != NULL && n != NULL, "both delivered");
    if (d == NULL || n == NULL)
        return;
    ok(index_of(n) < index_of(d), "the immediate one first: a delayed event blocks nothing");
    ok(d->ts_ms >= t0 / MS + 1500, "the delayed one was produced %lld ms after the send (>= 1500)",
       (long long)(d->ts_ms - t0 / MS));
    ok(d->seen >= t0 + 1500 * MS, "and consumed %lld ms after it", (long long)((d->seen - t0) / MS));
}

/* A delayed event outlives its process: closed before it is due, delivered
 * by the next instance on the same state dir at its original time. */
static void test_delay_restart(const char *bs)
{
    jh__events *ev = new_events(sub("restart"), bs, 0);
    jh__plugin *p = load_plugin(ev, JH_SVC_EVENTS);
    struct jh_ctx c;
    char id[JH_EVENT_ID_LEN];
    int64_t t0 = wall();

    ctx_for(&c, p);
    is_int(jh_event_send_delayed((jh_ctx *)&c, "delayed", NULL, 0, "restarted", 9, 2000, id), 0,
           "send_delayed 2000 ms");
    is_int((long long)jh__events_close(ev, 100 * MS), 1, "close at once: 1 left (not due)");
    jh__plugin_unref(p);
    ev = new_events(sub("restart"), bs, 0);
    wait_topic("delayed", 3, 20 * SEC);
    const msg *m = find_id(id);
    ok(m != NULL, "the next instance delivers it");
    ok(m && m->ts_ms >= t0 / MS + 2000, "no earlier than its original time (+%lld ms)",
       m ? (long long)(m->ts_ms - t0 / MS) : -1LL);
    is_int((long long)jh__events_close(ev, 5 * SEC), 0, "then nothing is left");
}

static void test_outage(jh_ctx *c, jh__events *ev, rd_kafka_mock_cluster_t *mc, int secs)
{
    char ids[200][JH_EVENT_ID_LEN];
    int errors = 0;
    size_t pend;

    for (int b = 1; b <= 3; b++)
        rd_kafka_mock_broker_set_down(mc, b);
    for (int i = 0; i < 200; i++) {
        char key[8], val[32];
        snprintf(key, sizeof(key), "k%d", i % 5);
        snprintf(val, sizeof(val), "%s:%d", key, i);
        errors += jh_event_send_with_key(c, "outage", key, strlen(key), val, strlen(val), ids[i]) != 0;
    }
    is_int(errors, 0, "all brokers down: 200 sends still return 0 (outbox)");
    diag("brokers down for %d s", secs);
    struct timespec ts = {secs, 0};
    nanosleep(&ts, NULL);
    pend = jh__outbox_pending(jh__events_outbox(ev));
    is_int((long long)pend, 200, "after %d s down: all 200 still pending, none acked", secs);
    for (int b = 1; b <= 3; b++)
        rd_kafka_mock_broker_set_up(mc, b);
    is_int((long long)wait_topic("outage", 200, 30 * SEC), 200, "brokers up: 200 arrive");
    int found = 0;
    for (int i = 0; i < 200; i++)
        found += find_id(ids[i]) != NULL;
    is_int(found, 200, "every one of them, by message_id");
    ok(order_kept("outage", 5), "order per key kept through the outage");
}

/* The log's lines with event=EVENT and kafka=NAME: how many, the value
 * of `field` in the first one (-1: none) and, in *at, where the last one
 * starts in the log (-1: none). */
static int log_lines(const char *event, const char *name, const char *field, long long *first,
                     long *at)
{
    char *all = slurp_file(logpath), *save = NULL, pat[128], fpat[64];
    int n = 0;

    snprintf(pat, sizeof(pat), "event=%s kafka=%s ", event, name);
    snprintf(fpat, sizeof(fpat), " %s=", field);
    *first = -1;
    *at = -1;
    for (char *l = strtok_r(all, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
        if (strstr(l, pat) == NULL)
            continue;
        const char *f = strstr(l, fpat);
        if (n++ == 0)
            *first = f ? atoll(f + strlen(fpat)) : -1;
        *at = (long)(l - all);
    }
    free(all);
    return n;
}

/* Every broker down: events.backlog every backlog period (200 ms here)
 * with the number of records waiting and the oldest one's age; brokers
 * back: events.recovered (again after any later stall: a broker can come
 * back after the others), none once all is delivered (issue 9.22). */
static void test_backlog(rd_kafka_mock_cluster_t *mc, const char *bs)
{
    enum { N = 150 };
    static jh__conf_kv props[] = {{"linger.ms", "2", {NULL, 0}}};
    jh__conf_kafka k = {.name = "stall", .brokers = bs, .props = props, .n_props = 1};
    jh__events_opts o = {.state_dir = sub("stall"), .sync = JH_OUTBOX_SYNC_INTERVAL,
                        .kafka = &k, .log = lg, .backlog_every_ns = 200 * MS};
    jh__events *ev = NULL;
    jh_err e = {0};
    struct jh_ctx c;
    long long recs, age, delivered, left;
    long at_b, at_r;
    int errors = 0, nb, nr;

    if (jh__events_new(&o, &ev, &e) < 0)
        bail("events: %s", e.msg);
    jh__plugin *p = load_plugin(ev, JH_SVC_EVENTS);
    ctx_for(&c, p);
    for (int b = 1; b <= 3; b++)
        rd_kafka_mock_broker_set_down(mc, b);
    int64_t t0 = wall();
    for (int i = 0; i < N; i++)
        errors += jh_event_send((jh_ctx *)&c, "stall", "x", 1, NULL) != 0;
    is_int(errors, 0, "brokers down: %d sends return 0", N);
    struct timespec ts = {1, 500 * MS};
    nanosleep(&ts, NULL);
    int64_t down_ms = (wall() - t0) / MS;
    nb = log_lines("events.backlog", "stall", "records", &recs, &at_b);
    log_lines("events.backlog", "stall", "oldest_age", &age, &at_b);
    diag("backlog: %d lines in %lld ms, first records=%lld oldest_age=%lldms", nb,
         (long long)down_ms, recs, age);
    ok(nb >= 2 && nb <= 8, "events.backlog logged every 200 ms while failing (%d lines)", nb);
    is_int(recs, N, "it counts the %d records waiting", N);
    ok(age >= 150 && age <= down_ms, "oldest_age is the oldest record's age (%lld ms of %lld)",
       age, (long long)down_ms);
    is_int(log_lines("events.recovered", "stall", "records", &left, &at_r), 0,
           "not recovered yet");
    for (int b = 1; b <= 3; b++)
        rd_kafka_mock_broker_set_up(mc, b);
    is_int((long long)wait_topic("stall", N, 30 * SEC), N, "brokers up: all %d arrive", N);
    int64_t t1 = mono();
    while (jh__outbox_pending(jh__events_outbox(ev)) > 0 && mono() - t1 < 10 * SEC)
        consume_for(20 * MS);
    consume_for(300 * MS);
    nr = log_lines("events.recovered", "stall", "delivered", &delivered, &at_r);
    log_lines("events.recovered", "stall", "records", &left, &at_r);
    nb = log_lines("events.backlog", "stall", "records", &recs, &at_b);
    ok(nr >= 1, "events.recovered logged (%d)", nr);
    ok(delivered >= 1 && left >= 0 && left + delivered == N,
       "the first counts what is delivered and what is left (delivered=%lld records=%lld)",
       delivered, left);
    ok(at_r > at_b, "and one comes after the last events.backlog");
    ts = (struct timespec){0, 600 * MS};
    nanosleep(&ts, NULL);
    is_int(log_lines("events.backlog", "stall", "records", &recs, &at_b), nb,
           "no events.backlog once all is delivered");
    is_int((long long)jh__events_close(ev, 10 * SEC), 0, "close: nothing left");
    jh__plugin_unref(p);
}

static void test_crash_recovery(char (*ids)[33], const char *bs)
{
    int64_t t0 = mono();
    jh__events *ev = new_events(sub("crash"), bs, 0);
    while (jh__outbox_pending(jh__events_outbox(ev)) > 0 && mono() - t0 < 30 * SEC)
        consume_for(10 * MS);
    diag("crash recovery: all acked by the cluster after %lld ms", (long long)((mono() - t0) / MS));
    size_t n = wait_topic("crash", N_CRASH, 30 * SEC);
    int found = 0, distinct = 0;

    for (int i = 0; i < N_CRASH; i++)
        found += find_id(ids[i]) != NULL;
    for (size_t i = 0; i < nmsgs; i++) {
        int dup = 0;
        if (strcmp(msgs[i].topic, "crash") != 0)
            continue;
        for (size_t j = 0; j < i && !dup; j++)
            dup = strcmp(msgs[j].id, msgs[i].id) == 0;
        distinct += !dup;
    }
    ok(n >= N_CRASH, "after kill -9, a new instance delivers %zu messages", n);
    is_int(distinct, N_CRASH, "%d distinct message ids", N_CRASH);
    is_int(found, N_CRASH, "exactly the ids the killed process was given");
    ok(order_kept("crash", 7), "order per key kept");
    diag("crash recovery: %d events consumed after %lld ms", N_CRASH, (long long)((mono() - t0) / MS));
    is_int((long long)jh__events_close(ev, 10 * SEC), 0, "close: nothing left");
}

int main(void)
{
    const char *topics[] = {"orders", "plain", "delayed", "outage", "crash", "batch",
                            "poison", "bigkey", "fatal", "stall"};
    const int parts[] = {4, 3, 1, 2, 3, 4, 1, 1, 2, 2};
    char err[512];
    const char *env_out = getenv("JH_EVENTS_OUTAGE_S");
    int outage = env_out ? atoi(env_out) : 30;
    int fd;

    plan_lazy();
    snprintf(top, sizeof(top), "/tmp/jh-events-XXXXXX");
    if (mkdtemp(top) == NULL)
        bail("mkdtemp");
    snprintf(logpath, sizeof(logpath), "%s/log", top);
    fd = open(logpath, O_CREAT | O_WRONLY | O_APPEND, 0600);
    jh__log_new(fd, JH_LOGFMT_LOGFMT, JH_LOG_INFO, &lg);
    env.log = lg;
    env.repo = jh__full_repo();

    char(*crash_ids)[33] = crash_child();
    test_bad_property();
    test_close_unreachable();
    test_retry_bounded();

    /* The mock cluster runs on threads of a throwaway client. */
    rd_kafka_conf_t *mconf = rd_kafka_conf_new();
    rd_kafka_conf_set(mconf, "log_level", "0", err, sizeof(err));
    rd_kafka_t *mrk = rd_kafka_new(RD_KAFKA_PRODUCER, mconf, err, sizeof(err));
    rd_kafka_mock_cluster_t *mc = mrk ? rd_kafka_mock_cluster_new(mrk, 3) : NULL;
    if (mc == NULL)
        bail("mock cluster: %s", err);
    const char *bs = rd_kafka_mock_cluster_bootstraps(mc);
    ok(strncmp(bs, "127.0.0.1:", 10) == 0, "mock brokers on 127.0.0.1: %s", bs);
    for (int t = 0; t < 10; t++)
        rd_kafka_mock_topic_create(mc, topics[t], parts[t], 3);
    consumer = make_consumer(bs, topics, parts, 10);

    jh__events *ev = new_events(sub("main"), bs, 65536);
    jh__plugin *p = load_plugin(ev, JH_SVC_EVENTS);
    struct jh_ctx c;
    ctx_for(&c, p);

    test_send((jh_ctx *)&c, p);
    test_big((jh_ctx *)&c, 65536);
    test_misuse((jh_ctx *)&c, ev);
    test_key_limit((jh_ctx *)&c, ev);
    test_poison((jh_ctx *)&c, ev, mc);
    test_delayed((jh_ctx *)&c);
    test_batch((jh_ctx *)&c);
    test_batch_misuse((jh_ctx *)&c, ev);
    test_outage((jh_ctx *)&c, ev, mc, outage);
    is_int((long long)jh__events_close(ev, 10 * SEC), 0, "close: everything delivered");
    jh__plugin_unref(p);
    test_backlog(mc, bs);
    test_delay_restart(bs);
    test_biggest(bs);
    test_fatal(bs);
    test_crash_recovery(crash_ids, bs);

    free(crash_ids);
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(mrk);
    for (size_t i = 0; i < nmsgs; i++) {
        free(msgs[i].key);
        free(msgs[i].val);
    }
    free(msgs);
    jh__log_free(lg);
    close(fd);
    if (!tap_failed()) {
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
        if (system(cmd) != 0)
            diag("could not remove %s", top);
    } else {
        diag("kept %s (log: %s)", top, logpath);
    }
    return done_testing();
}
