/*
 * user_e2e.c - the user plugin end to end: plugins/user.so loaded by the
 * real loader, bound to the real SQL service (a private mariadbd started
 * by t/user_e2e.sh) and the real events service (outbox + delivery to
 * librdkafka's mock cluster), its handlers run through real contexts, and
 * every event read back from Kafka by a consumer.
 *
 * Scenario, on 10,000 seeded users (every 10th deleted, every 7th other
 * one already synced, a few names that need escaping, one 4-byte UTF-8):
 *   1. the lock held by another owner: sync_user skips quietly;
 *   2. cancelled during the second page's batch (at its 1500th event):
 *      the batch completes (all or nothing), then the run stops; first
 *      page marked, the second not;
 *   3. a full sync_user, then users renamed and re-synced (per-key order),
 *      then a run with nothing to do;
 *   4. archive_user cancelled during its first page's batch (stops
 *      before the next page), then a full one;
 *   5. cleanup_login_log deletes exactly the rows past 720h;
 *   6. all 10,000 users pending: one timed sync_user run (the figure
 *      bench/user_bench.sh reports).
 * Then every event is read back: per topic, per partition, the exact
 * sequence of (key, payload) the scenario implies, byte for byte, each
 * key in a single partition, and a unique message_id header on each.
 *
 * Needs JH_TEST_MYSQL_{SOCKET,USER,PASSWORD,DB} (t/lib/mariadb.sh);
 * skips without them.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <mysql.h>

#include "runtime/ctx.h"
#include "repo/backends.h"
#include "repo/db.h"
#include "repo/events.h"
#include "runtime/log.h"
#include "plugin/plugin.h"
#include "runtime/store.h"
#include "lib/tap.h"

#define N_USERS 10000
#define PARTITIONS 4
#define NS 1000000000LL

/* ---- the test's own model of what must be sent -------------------------- */

struct xuser {
    char name[96];
    char email[96];
    int sync;
    char deleted_at[20];
};

static struct xuser users[N_USERS + 1]; /* by id */

struct xevent {
    char *key;
    char *payload;
};

struct xtopic {
    const char *name;
    struct xevent *v;
    size_t n, cap;
};

static struct xtopic want_sync = {.name = "user.sync"};
static struct xtopic want_archive = {.name = "user.archive"};

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (p == NULL)
        bail("out of memory");
    return p;
}

static void xpush(struct xtopic *t, const char *key, const char *payload)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 4096;
        if ((t->v = realloc(t->v, t->cap * sizeof(*t->v))) == NULL)
            bail("out of memory");
    }
    t->v[t->n].key = xstrdup(key);
    t->v[t->n].payload = xstrdup(payload);
    t->n++;
}

/* JSON string escaping, written independently of plugins/user/json_buf.c. */
static void json_str(char *out, size_t cap, const char *s)
{
    size_t o = 0;

    out[o++] = '"';
    for (; *s && o + 8 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            o += (size_t)snprintf(out + o, cap - o, "\\%c", c);
        else if (c == '\n')
            o += (size_t)snprintf(out + o, cap - o, "\\n");
        else if (c == '\t')
            o += (size_t)snprintf(out + o, cap - o, "\\t");
        else if (c == '\r')
            o += (size_t)snprintf(out + o, cap - o, "\\r");
        else if (c == '\b')
            o += (size_t)snprintf(out + o, cap - o, "\\b");
        else if (c == '\f')
            o += (size_t)snprintf(out + o, cap - o, "\\f");
        else if (c < 0x20)
            o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
        else
            out[o++] = (char)c;
    }
    out[o++] = '"';
    out[o] = '\0';
}

static void expect_sync(unsigned id)
{
    char key[16], name[256], email[256], payload[640];

    snprintf(key, sizeof(key), "%u", id);
    json_str(name, sizeof(name), users[id].name);
    json_str(email, sizeof(email), users[id].email);
    snprintf(payload, sizeof(payload), "{\"id\":%u,\"name\":%s,\"email\":%s}", id, name, email);
    xpush(&want_sync, key, payload);
}

static void expect_archive(unsigned id)
{
    char key[16], name[256], email[256], payload[700];

    snprintf(key, sizeof(key), "%u", id);
    json_str(name, sizeof(name), users[id].name);
    json_str(email, sizeof(email), users[id].email);
    snprintf(payload, sizeof(payload),
             "{\"id\":%u,\"name\":%s,\"email\":%s,\"deleted_at\":\"%s\"}", id, name, email,
             users[id].deleted_at);
    xpush(&want_archive, key, payload);
}

static int pending(unsigned id)
{
    return users[id].sync == 0 && users[id].deleted_at[0] == '\0';
}

/* ---- MariaDB, directly (set-up and checks) --------------------------- */

static MYSQL *my;

static void sql(const char *q)
{
    if (mysql_query(my, q) != 0)
        bail("SQL failed: %s: %.200s", mysql_error(my), q);
    do {
        MYSQL_RES *r = mysql_store_result(my);
        mysql_free_result(r);
    } while (mysql_next_result(my) == 0);
}

static long long sql_int(const char *q)
{
    MYSQL_RES *r;
    MYSQL_ROW row;
    long long v = -1;

    if (mysql_query(my, q) != 0 || (r = mysql_store_result(my)) == NULL)
        bail("SQL failed: %s: %s", mysql_error(my), q);
    if ((row = mysql_fetch_row(r)) != NULL && row[0] != NULL)
        v = strtoll(row[0], NULL, 10);
    mysql_free_result(r);
    return v;
}

static void load_schema(void)
{
    FILE *f = fopen(tap_src("plugins/user/schema.sql"), "r");
    char *text;
    long n;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0)
        bail("cannot read plugins/user/schema.sql");
    rewind(f);
    if ((text = calloc(1, (size_t)n + 1)) == NULL || fread(text, 1, (size_t)n, f) != (size_t)n)
        bail("cannot read plugins/user/schema.sql");
    fclose(f);
    sql("DROP TABLE IF EXISTS `user`, login_log");
    sql(text);
    free(text);
}

static void esc(char *out, const char *s)
{
    mysql_real_escape_string(my, out, s, (unsigned long)strlen(s));
}

/* The users, in memory and in the table. */
static void seed_users(void)
{
    static const char *special[] = {
        NULL,
        "Ann \"Q\" O\\Brien",
        "tab\there\nline\r\x01\x1f\b\f",
        "张三 ünïcödé",
        "emoji \xf0\x9f\x98\x80 4-byte",
        "",
        "</script>'; DROP TABLE user; --",
    };
    size_t cap = 1 << 20, off;
    char *q = malloc(cap), ename[256], eemail[256];

    for (unsigned id = 1; id <= N_USERS; id++) {
        struct xuser *u = &users[id];
        if (id < JH_COUNTOF(special))
            snprintf(u->name, sizeof(u->name), "%s", special[id]);
        else
            snprintf(u->name, sizeof(u->name), "user%u", id);
        snprintf(u->email, sizeof(u->email), id == 8 ? "o'hara+%u@example.com"
                                                     : "u%u@example.com", id);
        if (id % 10 == 0)
            snprintf(u->deleted_at, sizeof(u->deleted_at), "2026-%02u-%02u %02u:%02u:%02u",
                     1 + id % 12, 1 + id % 28, id % 24, id % 60, (id / 60) % 60);
        else if (id % 7 == 0)
            u->sync = 1;
    }
    for (unsigned id = 1; id <= N_USERS;) {
        off = (size_t)snprintf(q, cap, "INSERT INTO `user` (id, name, email, sync_status, "
                               "deleted_at) VALUES ");
        for (unsigned k = 0; k < 1000 && id <= N_USERS; k++, id++) {
            char del[32];
            esc(ename, users[id].name);
            esc(eemail, users[id].email);
            if (users[id].deleted_at[0])
                snprintf(del, sizeof(del), "'%s'", users[id].deleted_at);
            else
                snprintf(del, sizeof(del), "NULL");
            off += (size_t)snprintf(q + off, cap - off, "%s(%u,'%s','%s',%d,%s)", k ? "," : "",
                                    id, ename, eemail, users[id].sync, del);
        }
        sql(q);
    }
    free(q);
}

/* 25,000 login_log rows past 720h, 500 within it (1h margin either side). */
static void seed_login_log(void)
{
    size_t cap = 1 << 20, off;
    char *q = malloc(cap);
    unsigned n = 0;

    for (unsigned i = 0; i < 25500;) {
        off = (size_t)snprintf(q, cap, "INSERT INTO login_log (user_id, ip, created_at) VALUES ");
        for (unsigned k = 0; k < 1000 && i < 25500; k++, i++, n++) {
            long long age = i < 25000 ? 721LL * 3600 + i : 719LL * 3600 - (i - 25000) * 60;
            off += (size_t)snprintf(q + off, cap - off,
                                    "%s(%u,'10.0.%u.%u',NOW() - INTERVAL %lld SECOND)",
                                    k ? "," : "", 1 + i % N_USERS, (i / 256) % 256, i % 256,
                                    age);
        }
        sql(q);
    }
    free(q);
}

/* ---- the host side: plugin, services, runs ----------------------------- */

static jh__host_env env;
static jh__logger *logger;
static int log_fd;
static char tmpdir[256], logpath[300];
static jh__events *events;
static jh__db *db;
static jh__plugin *plugin;

/* The events table as the plugin sees it, with a counter that can cancel
 * the run after exactly `cancel_after` successful sends. */
static const jh_events_api *real_events;
static atomic_int *cancel_flag;
static long cancel_after, sends, batches;
static int64_t send_ns; /* time spent in send_with_key (the outbox append) */
/* Run on the test's own connection right after the first batch of a run
 * is recorded, i.e. between the page's SELECT and its UPDATE. */
static const char *after_first_batch_sql;
static void sql(const char *q);

static int64_t mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}
static jh_repo repo;

static int w_send(jh_ctx *c, const char *t, const void *p, size_t len, char *id)
{
    return real_events->send(c, t, p, len, id);
}

static int w_send_with_key(jh_ctx *c, const char *t, const void *k, size_t kl, const void *p,
                           size_t len, char *id)
{
    int64_t t0 = mono();
    int rc = real_events->send_with_key(c, t, k, kl, p, len, id);

    send_ns += mono() - t0;

    if (rc == 0 && ++sends == cancel_after && cancel_flag != NULL)
        atomic_store(cancel_flag, 1);
    return rc;
}

static int w_send_delayed(jh_ctx *c, const char *t, const void *k, size_t kl, const void *p,
                          size_t len, int64_t d, char *id)
{
    return real_events->send_delayed(c, t, k, kl, p, len, d, id);
}

/* A batch counts as n sends; the cancellation comes once the batch that
 * reaches cancel_after is recorded (a batch is all or nothing). */
static int w_send_batch(jh_ctx *c, const jh_event_msg *m, size_t n, size_t msg_size)
{
    int64_t t0 = mono();
    int rc = real_events->send_batch(c, m, n, msg_size);

    send_ns += mono() - t0;
    if (rc == 0) {
        long before = sends;
        sends += (long)n;
        if (++batches == 1 && after_first_batch_sql != NULL)
            sql(after_first_batch_sql);
        if (cancel_flag != NULL && cancel_after > before && cancel_after <= sends)
            atomic_store(cancel_flag, 1);
    }
    return rc;
}

static const jh_events_api wrapped_events = {sizeof(jh_events_api), w_send, w_send_with_key,
                                             w_send_delayed, w_send_batch};

static void svc_release(jh__services *s)
{
    jh__db_unref(s->db);
    free(s);
}

static char errmsg[JH_CTX_ERRMSG_MAX];
static uint64_t run_ids;

/* Run a handler of the plugin as the host does; the log it wrote is read
 * into *log_out (static buffer). */
static int run(const char *handler, long cancel_after_sends, const char **log_out)
{
    static char logbuf[65536];
    const jh_handler *h = jh__plugin_handler(plugin, handler);
    struct jh_ctx c;
    atomic_int cancel = 0;
    off_t start = lseek(log_fd, 0, SEEK_END);
    ssize_t n;
    int rc;

    if (h == NULL)
        bail("no handler %s", handler);
    sends = 0;
    batches = 0;
    send_ns = 0;
    cancel_after = cancel_after_sends;
    cancel_flag = &cancel;
    jh__ctx_init(&c, &env, jh__plugin_ctx(plugin), handler, handler, ++run_ids, jh__ctx_now(NULL),
                 INT64_MAX, &cancel);
    rc = h->fn((jh_ctx *)&c);
    snprintf(errmsg, sizeof(errmsg), "%s", c.errmsg);
    jh__ctx_finish(&c);
    cancel_flag = NULL;
    n = pread(log_fd, logbuf, sizeof(logbuf) - 1, start);
    logbuf[n > 0 ? n : 0] = '\0';
    if (log_out != NULL)
        *log_out = logbuf;
    return rc;
}

static const char *status_of(const char *job)
{
    static char buf[128];
    struct jh_ctx c;
    int rc;

    jh__ctx_init(&c, &env, jh__plugin_ctx(plugin), "probe", "probe", ++run_ids, 0, INT64_MAX, NULL);
    rc = jh_status_get((jh_ctx *)&c, job, buf, sizeof(buf));
    jh__ctx_finish(&c);
    return rc < 0 ? "(none)" : buf;
}

static void start_host(const char *brokers)
{
    jh__conf_mysql mconf = {
        .name = "main", .host = "127.0.0.1", .port = 3306,
        .socket = getenv("JH_TEST_MYSQL_SOCKET"), .user = getenv("JH_TEST_MYSQL_USER"),
        .password = getenv("JH_TEST_MYSQL_PASSWORD"), .database = getenv("JH_TEST_MYSQL_DB"),
        .charset = "utf8mb4", .connect_timeout = 5 * NS, .read_timeout = 30 * NS,
        .write_timeout = 30 * NS,
    };
    jh__conf_kafka kconf = {.name = "bus", .brokers = brokers};
    const char *mode = getenv("JH_USER_OUTBOX_SYNC");
    jh__events_opts eo = {.state_dir = tmpdir, .sync = JH_OUTBOX_SYNC_INTERVAL,
                         .sync_interval_ns = 5000000, .kafka = &kconf};

    /* interval by default: the test is about correctness, not fsync */
    if (mode != NULL && strcmp(mode, "always") == 0)
        eo.sync = JH_OUTBOX_SYNC_ALWAYS;
    jh__services *svc;
    jh_err e = {0};

    snprintf(logpath, sizeof(logpath), "%s/jobhost.log", tmpdir);
    if ((log_fd = open(logpath, O_RDWR | O_CREAT | O_APPEND, 0600)) < 0 ||
        jh__log_new(log_fd, JH_LOGFMT_LOGFMT, JH_LOG_INFO, &logger) < 0)
        bail("cannot open the log");
    eo.log = logger;
    if (jh__events_new(&eo, &events, &e) < 0)
        bail("jh__events_new: %s", e.msg);
    if (jh__db_new(&mconf, &db, &e) < 0)
        bail("jh__db_new: %s", e.msg);
    real_events = jh__events_api_table();
    repo = *jh__full_repo();
    repo.events = &wrapped_events;
    env.log = logger;
    env.repo = &repo;
    if (jh__store_new(NULL, NULL, &env.store) < 0)
        bail("jh__store_new");
    if (jh__plugin_open(tap_build("plugins/user.so"), &plugin, &e) < 0)
        bail("jh__plugin_open: %s", e.msg);
    if ((svc = calloc(1, sizeof(*svc))) == NULL)
        bail("out of memory");
    svc->db = db;
    svc->events = events;
    svc->declared = jh__plugin_desc_of(plugin)->requires;
    svc->repo = &repo; /* what the plugin sees: the wrapped events table */
    jh__plugin_set_services(plugin, svc, svc_release);
    if (jh__plugin_init(plugin, NULL, &env, &e) < 0)
        bail("jh__plugin_init: %s", e.msg);
}

static void stop_host(void)
{
    size_t left;

    jh__plugin_unref(plugin);
    left = jh__events_close(events, 10 * NS);
    is_int((long long)left, 0, "events: the outbox was fully delivered at close");
    jh__store_free(env.store);
    jh__log_free(logger);
    close(log_fd);
}

/* ---- reading Kafka back ---------------------------------------------- */

static rd_kafka_t *consumer_new(const char *brokers)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[512];
    rd_kafka_t *rk;

    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "group.id", "user_e2e", err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "enable.partition.eof", "false", err, sizeof(err)))
        bail("consumer conf: %s", err);
    if ((rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err))) == NULL)
        bail("consumer: %s", err);
    return rk;
}

struct got {
    char *key, *payload, id[40];
    int partition;
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Read every message of t's topic and compare with t's expected list: same
 * count; each key in one partition only; per partition, exactly the
 * expected sequence restricted to that partition's keys; message ids
 * unique.
 */
static void check_topic(rd_kafka_t *rk, const struct xtopic *t)
{
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(PARTITIONS);
    int64_t lo, hi, total = 0;
    struct got *got;
    size_t n = 0, bad_part = 0, bad_seq = 0, dup_ids = 0, no_id = 0;
    char **ids;
    int64_t deadline = jh__ctx_now(NULL) + 60 * NS;

    for (int p = 0; p < PARTITIONS; p++) {
        if (rd_kafka_query_watermark_offsets(rk, t->name, p, &lo, &hi, 10000) !=
            RD_KAFKA_RESP_ERR_NO_ERROR)
            bail("watermarks of %s [%d]", t->name, p);
        total += hi - lo;
        rd_kafka_topic_partition_list_add(parts, t->name, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    is_int(total, (long long)t->n, "%s: exactly %zu messages in Kafka", t->name, t->n);
    if (rd_kafka_assign(rk, parts) != RD_KAFKA_RESP_ERR_NO_ERROR)
        bail("assign %s", t->name);
    rd_kafka_topic_partition_list_destroy(parts);
    got = calloc((size_t)total + 1, sizeof(*got));
    while ((int64_t)n < total && jh__ctx_now(NULL) < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
        rd_kafka_headers_t *hdrs;
        const void *v;
        size_t vl;

        if (m == NULL)
            continue;
        if (m->err) {
            diag("consume %s: %s", t->name, rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        got[n].key = strndup(m->key ? (const char *)m->key : "", m->key_len);
        got[n].payload = strndup(m->payload ? (const char *)m->payload : "", m->len);
        got[n].partition = m->partition;
        if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            rd_kafka_header_get_last(hdrs, "message_id", &v, &vl) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            vl == 32)
            memcpy(got[n].id, v, 32);
        else
            no_id++;
        n++;
        rd_kafka_message_destroy(m);
    }
    rd_kafka_assign(rk, NULL);
    is_int((long long)n, total, "%s: all read back", t->name);

    /* partition of each key, from what was read */
    {
        int *part_of = malloc((N_USERS + 1) * sizeof(int));
        for (unsigned i = 0; i <= N_USERS; i++)
            part_of[i] = -1;
        for (size_t i = 0; i < n; i++) {
            unsigned id = (unsigned)strtoul(got[i].key, NULL, 10);
            if (id > N_USERS)
                bad_part++;
            else if (part_of[id] == -1)
                part_of[id] = got[i].partition;
            else if (part_of[id] != got[i].partition)
                bad_part++;
        }
        is_int((long long)bad_part, 0, "%s: every key in a single partition", t->name);
        /* per partition: the expected sequence filtered to its keys */
        for (int p = 0; p < PARTITIONS; p++) {
            size_t gi = 0;
            for (size_t w = 0; w < t->n && bad_seq == 0; w++) {
                unsigned id = (unsigned)strtoul(t->v[w].key, NULL, 10);
                if (id > N_USERS || part_of[id] != p)
                    continue;
                while (gi < n && got[gi].partition != p)
                    gi++;
                if (gi == n || strcmp(got[gi].key, t->v[w].key) != 0 ||
                    strcmp(got[gi].payload, t->v[w].payload) != 0) {
                    diag("%s [%d]: expected key %s payload %s, got %s %s", t->name, p,
                         t->v[w].key, t->v[w].payload, gi < n ? got[gi].key : "(end)",
                         gi < n ? got[gi].payload : "");
                    bad_seq++;
                }
                gi++;
            }
            while (gi < n && got[gi].partition != p)
                gi++;
            if (bad_seq == 0 && gi < n) {
                diag("%s [%d]: unexpected extra message key %s", t->name, p, got[gi].key);
                bad_seq++;
            }
        }
        for (size_t w = 0; w < t->n; w++) {
            unsigned id = (unsigned)strtoul(t->v[w].key, NULL, 10);
            if (id > N_USERS || part_of[id] == -1) {
                diag("%s: key %s never arrived", t->name, t->v[w].key);
                bad_seq++;
                break;
            }
        }
        is_int((long long)bad_seq, 0, "%s: per partition, the exact expected sequence (keys, "
               "payloads byte for byte, per-key order)", t->name);
        free(part_of);
    }
    ids = malloc((n + 1) * sizeof(*ids));
    for (size_t i = 0; i < n; i++)
        ids[i] = got[i].id;
    qsort(ids, n, sizeof(*ids), cmp_str);
    for (size_t i = 1; i < n; i++)
        dup_ids += strcmp(ids[i - 1], ids[i]) == 0;
    is_int((long long)no_id, 0, "%s: every message has a 32-digit message_id header", t->name);
    is_int((long long)dup_ids, 0, "%s: message ids unique", t->name);
    free(ids);
    for (size_t i = 0; i < n; i++) {
        free(got[i].key);
        free(got[i].payload);
    }
    free(got);
}

/* Wait until the delivery thread has every event in Kafka. */
static void drain(void)
{
    int64_t deadline = jh__ctx_now(NULL) + 60 * NS;
    struct timespec pause = {0, 20000000};

    while (jh__outbox_pending(jh__events_outbox(events)) > 0 && jh__ctx_now(NULL) < deadline)
        nanosleep(&pause, NULL);
    is_int((long long)jh__outbox_pending(jh__events_outbox(events)), 0,
           "events: the outbox drained to Kafka");
}

/* ---- the scenario ------------------------------------------------------ */

static long long count_pending_db(void)
{
    return sql_int("SELECT COUNT(*) FROM `user` WHERE sync_status = 0 AND deleted_at IS NULL");
}

static long long count_pending_mem(void)
{
    long long n = 0;
    for (unsigned id = 1; id <= N_USERS; id++)
        n += pending(id);
    return n;
}

/* The DB's sync_status of every user equals the model's. */
static void check_rows(const char *what)
{
    MYSQL_RES *r;
    MYSQL_ROW row;
    long bad = 0, rows = 0;

    if (mysql_query(my, "SELECT id, sync_status, deleted_at IS NOT NULL FROM `user` ORDER BY id") ||
        (r = mysql_store_result(my)) == NULL)
        bail("select users: %s", mysql_error(my));
    while ((row = mysql_fetch_row(r)) != NULL) {
        unsigned id = (unsigned)strtoul(row[0], NULL, 10);
        rows++;
        if (id < 1 || id > N_USERS || atoi(row[1]) != users[id].sync ||
            atoi(row[2]) != (users[id].deleted_at[0] != '\0'))
            bad++;
    }
    mysql_free_result(r);
    is_int(rows, N_USERS, "%s: all rows still there", what);
    is_int(bad, 0, "%s: sync_status of every row exactly as expected", what);
}

static void scenario_lock(void)
{
    struct jh_ctx other;
    const char *log;
    long long before = count_pending_db();
    int rc;

    jh__ctx_init(&other, &env, jh__plugin_ctx(plugin), "other", "other", ++run_ids, 0, INT64_MAX,
                 NULL);
    is_int(jh_lock_acquire((jh_ctx *)&other, "job:sync_user", 60000), 0,
           "lock: another owner takes job:sync_user");
    rc = run("sync_user", 0, &log);
    is_int(rc, 0, "lock: sync_user returns 0");
    is_int(sends, 0, "lock: sends nothing");
    like(log, "sync.skip", "lock: logs the skip");
    like(log, "lock_key=job:sync_user", "lock: naming the lock");
    is_str(errmsg, "", "lock: no failure message");
    is_int(count_pending_db(), before, "lock: no row changed");
    is_str(status_of("sync_user"), "(none)", "lock: no status written");
    jh__ctx_finish(&other);
}

static void scenario_cancel(void)
{
    const char *log;
    unsigned marked = 0, sent = 0;
    int rc;

    rc = run("sync_user", 1500, &log);
    is_int(rc, -ECANCELED, "cancel: sync_user returns -ECANCELED");
    is_int(sends, 2000, "cancel: stops right after the page in flight (2000 events)");
    is_int(batches, 2, "cancel: in 2 batches");
    like(errmsg, "cancelled after 2000 users sent, 1000 marked synced", "cancel: message");
    like(log, "sync.finish", "cancel: still logs its finish");
    like(log, "result=cancelled users=1000 sent=2000", "cancel: with the counts");
    is_str(status_of("sync_user"), "cancelled users=1000", "cancel: status");
    for (unsigned id = 1; id <= N_USERS && sent < 2000; id++)
        if (pending(id)) {
            expect_sync(id);
            if (++sent <= 1000)
                users[id].sync = 1, marked++;
        }
    is_int(marked, 1000, "cancel: model: first page marked");
    check_rows("cancel");
}

static void sync_all_expected(void)
{
    for (unsigned id = 1; id <= N_USERS; id++)
        if (pending(id)) {
            expect_sync(id);
            users[id].sync = 1;
        }
}

/* The key the mark-synced UPDATE's plan uses (EXPLAIN), for `limit`
 * users as user_model.c builds it. */
static void check_mark_plan(void)
{
    MYSQL_RES *r;
    MYSQL_ROW row;
    MYSQL_FIELD *f;
    char q[1024], key[64] = "(none)";
    long long rows = -1;
    unsigned nf;

    snprintf(q, sizeof(q), "EXPLAIN UPDATE `user` SET sync_status = 1 WHERE sync_status = 0 AND "
             "(id, updated_at) IN ((11,'2026-11-01 00:00:00.000000'),"
             "(12,'2026-11-01 00:00:00.000000'),(13,'2026-11-01 00:00:00.000000'))");
    if (mysql_query(my, q) != 0 || (r = mysql_store_result(my)) == NULL)
        bail("SQL failed: %s: %s", mysql_error(my), q);
    nf = mysql_num_fields(r);
    f = mysql_fetch_fields(r);
    if ((row = mysql_fetch_row(r)) != NULL)
        for (unsigned i = 0; i < nf; i++) {
            if (strcmp(f[i].name, "key") == 0 && row[i] != NULL)
                snprintf(key, sizeof(key), "%s", row[i]);
            if (strcmp(f[i].name, "rows") == 0 && row[i] != NULL)
                rows = strtoll(row[i], NULL, 10);
        }
    mysql_free_result(r);
    is_str(key, "PRIMARY", "mark plan: the UPDATE uses the primary key");
    ok(rows >= 0 && rows <= 3, "mark plan: reads only the listed rows (rows=%lld)", rows);
}

/*
 * A pending user renamed after its page's SELECT and before the page's
 * UPDATE: the run sends the old name and must leave the user pending;
 * the next run sends the new name.  (Marking by id alone would mark the
 * user synced and the new name would never be sent.)
 */
static void scenario_changed_in_flight(void)
{
    const unsigned id = 61, other = 62;
    int rc;

    check_mark_plan();
    if (users[id].deleted_at[0] != '\0' || users[other].deleted_at[0] != '\0')
        bail("users %u and %u must not be deleted", id, other);
    sql("UPDATE `user` SET sync_status = 0 WHERE id IN (61, 62)");
    users[id].sync = users[other].sync = 0;
    expect_sync(id); /* the name the page reads */
    expect_sync(other);
    after_first_batch_sql = "UPDATE `user` SET name = 'changed in flight' WHERE id = 61";
    rc = run("sync_user", 0, NULL);
    after_first_batch_sql = NULL;
    snprintf(users[id].name, sizeof(users[id].name), "changed in flight");
    users[other].sync = 1;
    is_int(rc, 0, "changed in flight: sync succeeds");
    is_int(sends, 2, "changed in flight: both users sent");
    is_int(sql_int("SELECT sync_status FROM `user` WHERE id = 61"), 0,
           "changed in flight: the changed user stays pending");
    is_int(sql_int("SELECT sync_status FROM `user` WHERE id = 62"), 1,
           "changed in flight: the unchanged one is marked");
    check_rows("changed in flight");

    rc = run("sync_user", 0, NULL);
    is_int(rc, 0, "changed in flight, next run: succeeds");
    is_int(sends, 1, "changed in flight, next run: sends the changed user again");
    expect_sync(id); /* with the new name: check_topic compares payloads */
    users[id].sync = 1;
    check_rows("changed in flight, next run");
}

static void scenario_sync(void)
{
    long long want = count_pending_mem();
    const char *log;
    char buf[128];
    int rc;

    rc = run("sync_user", 0, &log);
    is_int(rc, 0, "sync: succeeds");
    is_int(sends, want, "sync: one event per pending user (%lld, the page sent but left "
           "unmarked by the cancelled run included)", want);
    snprintf(buf, sizeof(buf), "result=ok users=%lld sent=%lld", want, want);
    like(log, buf, "sync: logs the counts");
    snprintf(buf, sizeof(buf), "ok users=%lld", want);
    is_str(status_of("sync_user"), buf, "sync: status");
    sync_all_expected();
    is_int(count_pending_db(), 0, "sync: nothing pending in the table");
    check_rows("sync");

    /* rename users 1..50 and make them pending again: their second event
     * must come after the first on their partition */
    sql("UPDATE `user` SET name = CONCAT('renamed ', id), sync_status = 0 "
        "WHERE id <= 50 AND deleted_at IS NULL");
    for (unsigned id = 1; id <= 50; id++)
        if (users[id].deleted_at[0] == '\0') {
            snprintf(users[id].name, sizeof(users[id].name), "renamed %u", id);
            users[id].sync = 0;
        }
    want = count_pending_mem();
    rc = run("sync_user", 0, NULL);
    is_int(rc, 0, "re-sync: succeeds");
    is_int(sends, want, "re-sync: %lld renamed users sent again", want);
    sync_all_expected();
    check_rows("re-sync");

    scenario_changed_in_flight();

    rc = run("sync_user", 0, &log);
    is_int(rc, 0, "idle sync: succeeds");
    is_int(sends, 0, "idle sync: sends nothing");
    like(log, "queries=1 ", "idle sync: one query");
    is_str(status_of("sync_user"), "ok users=0", "idle sync: status");
}

static void scenario_archive(void)
{
    const char *log;
    unsigned n = 0;
    int rc;

    rc = run("archive_user", 250, &log);
    is_int(rc, -ECANCELED, "archive cancel: -ECANCELED");
    is_int(sends, 1000, "archive cancel: the page in flight completes (one batch of 1000)");
    is_int(batches, 1, "archive cancel: one batch");
    like(log, "archive.cancel", "archive cancel: progress logged");
    like(log, "users=1000 batches=1 last_id=10000", "archive cancel: with how far it got");
    like(errmsg, "cancelled after 1000 users archived (last id 10000)",
         "archive cancel: message");
    is_str(status_of("archive_user"), "cancelled users=1000", "archive cancel: status");
    for (unsigned id = 1; id <= N_USERS && n < 1000; id++)
        if (users[id].deleted_at[0] != '\0')
            expect_archive(id), n++;

    rc = run("archive_user", 0, &log);
    is_int(rc, 0, "archive: succeeds");
    is_int(sends, 1000, "archive: one event per deleted user");
    like(log, "archive.finish", "archive: logged");
    like(log, "result=ok users=1000 batches=1 queries=2 ", "archive: one full page, one empty");
    is_str(status_of("archive_user"), "ok users=1000", "archive: status");
    for (unsigned id = 1; id <= N_USERS; id++)
        if (users[id].deleted_at[0] != '\0')
            expect_archive(id);
    check_rows("archive");
}

static void scenario_cleanup(void)
{
    const char *log;
    int rc;

    seed_login_log();
    rc = run("cleanup_login_log", 0, &log);
    is_int(rc, 0, "cleanup: succeeds");
    like(log, "result=ok rows=25000 chunks=3 ", "cleanup: 25000 rows in 3 chunks");
    is_str(status_of("cleanup_login_log"), "ok rows=25000", "cleanup: status");
    is_int(sql_int("SELECT COUNT(*) FROM login_log"), 500, "cleanup: 500 rows left");
    is_int(sql_int("SELECT COUNT(*) FROM login_log WHERE created_at < NOW() - INTERVAL 720 HOUR"),
           0, "cleanup: none older than 720h");
    is_int(sql_int("SELECT MIN(id) FROM login_log"), 25001, "cleanup: exactly the young rows "
           "(ids 25001..25500) kept");
    rc = run("cleanup_login_log", 0, &log);
    is_int(rc, 0, "cleanup again: succeeds");
    like(log, "rows=0 chunks=1", "cleanup again: nothing to delete");
}

/*
 * All 10,000 users pending, one sync_user run (JH_USER_BENCH_RUNS times):
 * wall time, and how it splits between the event sends (outbox appends,
 * timed in the wrapper) and the rest (SQL round trips + logic).
 */
static void scenario_bench(void)
{
    const char *env_runs = getenv("JH_USER_BENCH_RUNS"), *log, *q;
    int runs = env_runs ? atoi(env_runs) : 1;

    for (int r = 0; r < (runs > 0 ? runs : 1); r++) {
        long long queries = -1;
        double ms, ev_ms;
        int64_t t0;
        int rc;

        sql("UPDATE `user` SET sync_status = 0, deleted_at = NULL");
        for (unsigned id = 1; id <= N_USERS; id++)
            users[id].sync = 0, users[id].deleted_at[0] = '\0';
        t0 = mono();
        rc = run("sync_user", 0, &log);
        ms = (double)(mono() - t0) / 1e6;
        ev_ms = (double)send_ns / 1e6;
        is_int(rc, 0, "10000 pending: sync_user succeeds");
        is_int(sends, N_USERS, "10000 pending: 10000 events");
        is_int(batches, 10, "10000 pending: in 10 batches (one per page)");
        if ((q = strstr(log, "queries=")) != NULL)
            queries = strtoll(q + 8, NULL, 10);
        is_int(queries, 21, "10000 pending: 21 queries (10 pages x SELECT+UPDATE, 1 empty "
               "SELECT)");
        diag("bench: sync_user over %d users (outbox_sync=%s): %.1f ms wall, %.0f users/s; "
             "events %.1f ms (%.2f us/event); SQL+logic %.1f ms: %lld queries, %.0f queries/s",
             N_USERS, getenv("JH_USER_OUTBOX_SYNC") ? getenv("JH_USER_OUTBOX_SYNC") : "interval",
             ms, N_USERS / (ms / 1e3), ev_ms, ev_ms * 1e3 / N_USERS, ms - ev_ms, queries,
             (double)queries / ((ms - ev_ms) / 1e3));
        sync_all_expected();
        check_rows("10000 pending");
    }
}

int main(void)
{
    const char *sock = getenv("JH_TEST_MYSQL_SOCKET"), *user = getenv("JH_TEST_MYSQL_USER");
    const char *pw = getenv("JH_TEST_MYSQL_PASSWORD"), *dbname = getenv("JH_TEST_MYSQL_DB");
    rd_kafka_conf_t *mconf;
    rd_kafka_t *mrk, *cons;
    rd_kafka_mock_cluster_t *mc;
    char err[512], brokers[256];

    if (sock == NULL || user == NULL || pw == NULL || dbname == NULL)
        skip_all("no MariaDB: run through t/user_e2e.sh (JH_TEST_MYSQL_* unset)");
    plan_lazy();

    snprintf(tmpdir, sizeof(tmpdir), "%s/user_e2e.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR")
                                                                             : "/tmp");
    if (mkdtemp(tmpdir) == NULL)
        bail("mkdtemp");

    /* the Kafka mock cluster, on its own handle */
    mconf = rd_kafka_conf_new();
    rd_kafka_conf_set(mconf, "log_level", "3", err, sizeof(err));
    if ((mrk = rd_kafka_new(RD_KAFKA_PRODUCER, mconf, err, sizeof(err))) == NULL)
        bail("rd_kafka_new: %s", err);
    if ((mc = rd_kafka_mock_cluster_new(mrk, 1)) == NULL)
        bail("mock cluster");
    snprintf(brokers, sizeof(brokers), "%s", rd_kafka_mock_cluster_bootstraps(mc));
    if (rd_kafka_mock_topic_create(mc, "user.sync", PARTITIONS, 1) ||
        rd_kafka_mock_topic_create(mc, "user.archive", PARTITIONS, 1))
        bail("mock topics");

    if ((my = mysql_init(NULL)) == NULL)
        bail("mysql_init");
    mysql_options(my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (!mysql_real_connect(my, NULL, user, pw, dbname, 0, sock, CLIENT_MULTI_STATEMENTS))
        bail("connect to MariaDB at %s: %s", sock, mysql_error(my));
    load_schema();
    seed_users();
    is_int(sql_int("SELECT COUNT(*) FROM `user`"), N_USERS, "seeded %d users", N_USERS);
    is_int(count_pending_db(), count_pending_mem(), "pending users: %lld", count_pending_mem());

    start_host(brokers);
    scenario_lock();
    scenario_cancel();
    scenario_sync();
    scenario_archive();
    scenario_cleanup();
    scenario_bench();
    drain();

    cons = consumer_new(brokers);
    check_topic(cons, &want_sync);
    check_topic(cons, &want_archive);
    rd_kafka_consumer_close(cons);
    rd_kafka_destroy(cons);

    stop_host();
    mysql_close(my);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(mrk);
    for (size_t i = 0; i < want_sync.n; i++)
        free(want_sync.v[i].key), free(want_sync.v[i].payload);
    for (size_t i = 0; i < want_archive.n; i++)
        free(want_archive.v[i].key), free(want_archive.v[i].payload);
    free(want_sync.v);
    free(want_archive.v);
    {
        char cmd[400];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            diag("could not remove %s", tmpdir);
    }
    return done_testing();
}
