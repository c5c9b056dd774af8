/*
 * events_bench - events/s from plugin contexts through send_with_key ->
 * outbox -> librdkafka -> a mock cluster (3 brokers, in this process),
 * with 4 sender threads, in both outbox_sync modes, and through
 * send_batch (100 events a call; the -b100 rows), beside librdkafka
 * producing the same messages directly to the same cluster in the same
 * run (the ceiling: no outbox, no fsync).
 *
 *   events_bench PLUGIN.so [N_PER_THREAD [N_ALWAYS_PER_THREAD [STATE_PARENT]]]
 *
 * PLUGIN.so is t/plugins/events_p.so (its contexts carry the service).
 * A figure is end to end: from the first send until every event is
 * acknowledged by the cluster (outbox empty; direct: every delivery report
 * in).  "send" is until every send returned (what a plugin waits for).
 * fdatasync is wrapped (-Wl,--wrap=fdatasync) to count and time the
 * outbox's syncs.  STATE_PARENT (default /var/tmp) should be a real disk
 * for the always figures to mean anything.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "runtime/ctx.h"
#include "repo/backends.h"
#include "repo/events.h"
#include "plugin/plugin.h"

#define NS 1000000000LL
#define THREADS 4
#define PAYLOAD 100
#define BATCH 100
#define MAX_SAMPLES (1 << 20)

int __real_fdatasync(int fd);
int __wrap_fdatasync(int fd);

static int64_t mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

/* ---- fdatasync timing ------------------------------------------------- */

static pthread_mutex_t fs_mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t *fs_samples;
static size_t fs_n;

int __wrap_fdatasync(int fd)
{
    int64_t t0 = mono();
    int rc = __real_fdatasync(fd);
    int64_t d = mono() - t0;

    pthread_mutex_lock(&fs_mu);
    if (fs_n < MAX_SAMPLES)
        fs_samples[fs_n++] = d;
    pthread_mutex_unlock(&fs_mu);
    return rc;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* ---- senders --------------------------------------------------------- */

typedef struct job {
    int idx, n;
    int batch;                  /* > 0: send_batch of this many */
    const char *topic;
    jh__plugin *plugin;          /* events modes */
    rd_kafka_t *rk;             /* direct mode */
    int errors;
} job;

static const jh__host_env *g_env;

static void fill_payload(char *p, int t, int i)
{
    memset(p, 'x', PAYLOAD);
    snprintf(p, PAYLOAD, "t%d:%d", t, i);
}

/* The same events as send_events, j->batch at a time through send_batch. */
static void send_batches(job *j, jh_ctx *c)
{
    jh_event_msg *v = calloc((size_t)j->batch, sizeof(*v));
    char (*keys)[16] = calloc((size_t)j->batch, 16);
    char (*pays)[PAYLOAD] = calloc((size_t)j->batch, PAYLOAD);
    char (*ids)[JH_EVENT_ID_LEN] = calloc((size_t)j->batch, JH_EVENT_ID_LEN);

    for (int i = 0; i < j->n; i += j->batch) {
        int k = j->n - i < j->batch ? j->n - i : j->batch;
        for (int m = 0; m < k; m++) {
            snprintf(keys[m], 16, "k%d", (j->idx * 7 + i + m) % 64);
            fill_payload(pays[m], j->idx, i + m);
            v[m] = (jh_event_msg){.topic = j->topic, .key = keys[m], .keylen = strlen(keys[m]),
                                  .payload = pays[m], .len = PAYLOAD, .id_out = ids[m]};
        }
        if (jh_event_send_batch(c, v, (size_t)k) < 0)
            j->errors += k;
    }
    free(v);
    free(keys);
    free(pays);
    free(ids);
}

static void *send_events(void *arg)
{
    job *j = arg;
    struct jh_ctx c;
    char key[16], payload[PAYLOAD], id[JH_EVENT_ID_LEN];

    jh__ctx_init(&c, g_env, jh__plugin_ctx(j->plugin), "bench", "send", (uint64_t)j->idx + 1, 0,
                 INT64_MAX, NULL);
    if (j->batch > 0) {
        send_batches(j, (jh_ctx *)&c);
        jh__ctx_finish(&c);
        return NULL;
    }
    for (int i = 0; i < j->n; i++) {
        snprintf(key, sizeof(key), "k%d", (j->idx * 7 + i) % 64);
        fill_payload(payload, j->idx, i);
        if (jh_event_send_with_key((jh_ctx *)&c, j->topic, key, strlen(key), payload, PAYLOAD, id) < 0)
            j->errors++;
    }
    jh__ctx_finish(&c);
    return NULL;
}

static void *send_direct(void *arg)
{
    job *j = arg;
    char key[16], payload[PAYLOAD], id[33];

    for (int i = 0; i < j->n; i++) {
        rd_kafka_resp_err_t err;
        snprintf(key, sizeof(key), "k%d", (j->idx * 7 + i) % 64);
        fill_payload(payload, j->idx, i);
        snprintf(id, sizeof(id), "%08x%08x%016x", (unsigned)j->idx, (unsigned)i, 0u);
        do {
            err = rd_kafka_producev(j->rk, RD_KAFKA_V_TOPIC(j->topic),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                    RD_KAFKA_V_KEY(key, strlen(key)),
                                    RD_KAFKA_V_VALUE(payload, PAYLOAD),
                                    RD_KAFKA_V_HEADER("message_id", id, 32), RD_KAFKA_V_END);
            if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                rd_kafka_poll(j->rk, 1);
        } while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL);
        if (err)
            j->errors++;
    }
    return NULL;
}

static atomic_long direct_ok, direct_fail;

static void direct_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->err)
        atomic_fetch_add(&direct_fail, 1);
    else
        atomic_fetch_add(&direct_ok, 1);
}

typedef struct result {
    double send_s, e2e_s;
    long n;
    size_t fsyncs;
    double fs_p50_ms, fs_p99_ms, fs_mean_ms;
} result;

static void run_threads(job *jobs, void *(*fn)(void *))
{
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, fn, &jobs[i]);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
}

static result bench_direct(const char *bs, const char *topic, int n)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    job jobs[THREADS];
    result r = {0};
    int64_t t0;
    long total = (long)n * THREADS;

    rd_kafka_conf_set(conf, "bootstrap.servers", bs, err, sizeof(err));
    rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof(err));
    rd_kafka_conf_set(conf, "message.timeout.ms", "0", err, sizeof(err));
    rd_kafka_conf_set(conf, "queue.buffering.max.messages", "200000", err, sizeof(err));
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
    rd_kafka_conf_set_dr_msg_cb(conf, direct_dr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (rk == NULL) {
        fprintf(stderr, "producer: %s\n", err);
        exit(1);
    }
    /* Warm up: connected, producer id assigned, before the clock starts. */
    atomic_store(&direct_ok, 0);
    atomic_store(&direct_fail, 0);
    jobs[0] = (job){.idx = 0, .n = 1, .topic = topic, .rk = rk};
    send_direct(&jobs[0]);
    while (atomic_load(&direct_ok) + atomic_load(&direct_fail) < 1)
        rd_kafka_poll(rk, 10);
    atomic_store(&direct_ok, 0);
    atomic_store(&direct_fail, 0);
    for (int i = 0; i < THREADS; i++)
        jobs[i] = (job){.idx = i, .n = n, .topic = topic, .rk = rk};
    t0 = mono();
    run_threads(jobs, send_direct);
    r.send_s = (double)(mono() - t0) / NS;
    while (atomic_load(&direct_ok) + atomic_load(&direct_fail) < total)
        rd_kafka_poll(rk, 10);
    r.e2e_s = (double)(mono() - t0) / NS;
    r.n = atomic_load(&direct_ok);
    rd_kafka_destroy(rk);
    return r;
}

static result bench_events(const char *bs, const char *topic, int n, int batch, int sync,
                           const char *state, const char *plugin_path, jh__logger *lg)
{
    jh__conf_kafka k = {.name = "bench", .brokers = bs};
    jh__events_opts o = {.state_dir = state, .sync = sync, .sync_interval_ns = 5000000,
                        .kafka = &k, .log = lg};
    jh__events *ev;
    jh__plugin *p;
    jh__services *svc = calloc(1, sizeof(*svc));
    jh_err e = {0};
    job jobs[THREADS];
    result r = {0};
    int64_t t0;

    if (jh__events_new(&o, &ev, &e) < 0 || jh__plugin_open(plugin_path, &p, &e) < 0) {
        fprintf(stderr, "events_bench: %s\n", e.msg);
        exit(1);
    }
    svc->events = ev;
    svc->declared = JH_SVC_EVENTS;
    jh__plugin_set_services(p, svc, (void (*)(jh__services *))free);
    /* Warm up as the direct producer does. */
    jobs[0] = (job){.idx = 0, .n = 1, .topic = topic, .plugin = p};
    send_events(&jobs[0]);
    while (jh__outbox_pending(jh__events_outbox(ev)) > 0) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    for (int i = 0; i < THREADS; i++)
        jobs[i] = (job){.idx = i, .n = n, .batch = batch, .topic = topic, .plugin = p};
    pthread_mutex_lock(&fs_mu);
    fs_n = 0;
    pthread_mutex_unlock(&fs_mu);
    t0 = mono();
    run_threads(jobs, send_events);
    r.send_s = (double)(mono() - t0) / NS;
    while (jh__outbox_pending(jh__events_outbox(ev)) > 0) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    r.e2e_s = (double)(mono() - t0) / NS;
    pthread_mutex_lock(&fs_mu);
    r.fsyncs = fs_n;
    if (fs_n > 0) {
        double sum = 0;
        qsort(fs_samples, fs_n, sizeof(int64_t), cmp64);
        for (size_t i = 0; i < fs_n; i++)
            sum += (double)fs_samples[i];
        r.fs_mean_ms = sum / (double)fs_n / 1e6;
        r.fs_p50_ms = (double)fs_samples[fs_n / 2] / 1e6;
        r.fs_p99_ms = (double)fs_samples[(size_t)((double)fs_n * 0.99)] / 1e6;
    }
    pthread_mutex_unlock(&fs_mu);
    r.n = (long)n * THREADS;
    for (int i = 0; i < THREADS; i++)
        r.n -= jobs[i].errors;
    jh__events_close(ev, 10 * NS);
    jh__plugin_unref(p);
    return r;
}

static void print(const char *name, const result *r, double base)
{
    printf("%-13s events=%ld send_s=%.3f e2e_s=%.3f events_per_s=%.0f ratio_to_direct=%.2f",
           name, r->n,
           r->send_s, r->e2e_s, (double)r->n / r->e2e_s,
           base > 0 ? ((double)r->n / r->e2e_s) / base : 1.0);
    if (r->fsyncs > 0)
        printf(" fsyncs=%zu appends_per_fsync=%.1f fsync_mean_ms=%.3f fsync_p50_ms=%.3f "
               "fsync_p99_ms=%.3f",
               r->fsyncs, (double)r->n / (double)r->fsyncs, r->fs_mean_ms, r->fs_p50_ms,
               r->fs_p99_ms);
    printf("\n");
}

int main(int argc, char **argv)
{
    const char *plugin = argc > 1 ? argv[1] : "t/plugins/events_p.so";
    int n = argc > 2 ? atoi(argv[2]) : 25000;
    int n_always = argc > 3 ? atoi(argv[3]) : 2500;
    const char *parent = argc > 4 ? argv[4] : "/var/tmp";
    char err[512], tmpl[512], state[600], cmd[700];
    jh__host_env env = {0};
    jh__logger *lg;

    fs_samples = malloc(MAX_SAMPLES * sizeof(int64_t));
    jh__log_new(2, JH_LOGFMT_LOGFMT, JH_LOG_WARN, &lg);
    env.log = lg;
    env.repo = jh__full_repo();
    g_env = &env;
    snprintf(tmpl, sizeof(tmpl), "%s/jh-events-bench-XXXXXX", parent);
    if (mkdtemp(tmpl) == NULL) {
        perror(tmpl);
        return 1;
    }

    rd_kafka_conf_t *mconf = rd_kafka_conf_new();
    rd_kafka_conf_set(mconf, "log_level", "0", err, sizeof(err));
    rd_kafka_t *mrk = rd_kafka_new(RD_KAFKA_PRODUCER, mconf, err, sizeof(err));
    rd_kafka_mock_cluster_t *mc = mrk ? rd_kafka_mock_cluster_new(mrk, 3) : NULL;
    if (mc == NULL) {
        fprintf(stderr, "mock cluster: %s\n", err);
        return 1;
    }
    const char *bs = rd_kafka_mock_cluster_bootstraps(mc);
    rd_kafka_mock_topic_create(mc, "b-direct", 6, 3);
    rd_kafka_mock_topic_create(mc, "b-interval", 6, 3);
    rd_kafka_mock_topic_create(mc, "b-always", 6, 3);
    rd_kafka_mock_topic_create(mc, "b-direct2", 6, 3);
    rd_kafka_mock_topic_create(mc, "b-always-b100", 6, 3);
    rd_kafka_mock_topic_create(mc, "b-interval-b100", 6, 3);

    printf("events_bench: %d sender threads, %d-byte payloads, keyed (64 keys), mock cluster of 3 "
           "brokers at %s, state under %s\n", THREADS, PAYLOAD, bs, parent);
    result d = bench_direct(bs, "b-direct", n);
    double base = (double)d.n / d.e2e_s;
    print("direct", &d, 0);
    snprintf(state, sizeof(state), "%s/interval", tmpl);
    result iv = bench_events(bs, "b-interval", n, 0, JH_OUTBOX_SYNC_INTERVAL, state, plugin, lg);
    print("interval", &iv, base);
    snprintf(state, sizeof(state), "%s/always", tmpl);
    result al = bench_events(bs, "b-always", n_always, 0, JH_OUTBOX_SYNC_ALWAYS, state, plugin,
                             lg);
    print("always", &al, base);
    /* send_batch, 100 events a call: one append (one fsync) per batch. */
    snprintf(state, sizeof(state), "%s/always-b100", tmpl);
    result ab = bench_events(bs, "b-always-b100", n, BATCH, JH_OUTBOX_SYNC_ALWAYS, state, plugin,
                             lg);
    print("always-b100", &ab, base);
    snprintf(state, sizeof(state), "%s/interval-b100", tmpl);
    result ib = bench_events(bs, "b-interval-b100", n, BATCH, JH_OUTBOX_SYNC_INTERVAL, state,
                             plugin, lg);
    print("interval-b100", &ib, base);
    /* Direct again: the cluster's speed may drift over the run. */
    result d2 = bench_direct(bs, "b-direct2", n);
    print("direct2", &d2, base);

    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(mrk);
    jh__log_free(lg);
    free(fs_samples);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
    return system(cmd) != 0;
}
