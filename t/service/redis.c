/*
 * redis.t - the Redis service (host/redis.c) against a real redis-server
 * that t/service/redis.sh starts (JH_TEST_REDIS_PORT, JH_TEST_REDIS_SOCK,
 * JH_TEST_REDIS_RESTART): raw commands with binary data and every reply
 * type, misuse, locks / status / idempotency through the repository
 * tables, the key prefix, deadlines, lost connections, a restarted server,
 * connection reuse, AUTH, SELECT over a unix socket, and 4 threads.
 *
 * Contexts are real: a tiny plugin (t/plugins/redis_p.so) carries the
 * jh__services that jh__ctx_services() finds through the context.
 *
 * Second mode, for the two-process lock test in t/service/redis.sh:
 *   redis.t lock-race OWNER START_MS TICKS PERIOD_MS
 * at START_MS + n * PERIOD_MS (wall clock) for n = 1..TICKS it tries
 * lock "race:n" as OWNER and prints "tick n won" or "tick n busy".
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <signal.h>

#include "runtime/ctx.h"
#include "repo/backends.h"
#include "plugin/plugin.h"
#include "repo/redis.h"
#include "lib/tap.h"

#define MS 1000000LL
#define SEC 1000000000LL

static jh__host_env env;
static jh__plugin *plug, *plug_undeclared, *plug_unbound, *plug_sock, *plug_auth;
static jh__services svc, svc_undeclared, svc_unbound, svc_sock, svc_auth;
static jh__redis *R;
static int port;
static atomic_ullong run_ids;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * SEC + ts.tv_nsec;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void begin(struct jh_ctx *c, jh__plugin *p, int64_t deadline)
{
    jh__ctx_init(c, &env, jh__plugin_ctx(p), "job", "run", atomic_fetch_add(&run_ids, 1) + 1,
                 now_ns(), deadline, NULL);
}

/* One raw command of C strings; returns the reply (NULL on failure). */
static jh_redis_reply *cmd(jh_ctx *c, int argc, const char *const *argv)
{
    jh_redis_reply *r = NULL;
    int rc = jh_redis_command(c, argc, argv, NULL, &r);
    if (rc < 0)
        diag("command %s: %d %s", argv[0], rc, jh_last_error(c));
    return r;
}

#define CMD(c, ...)                                                        \
    cmd((c), (int)JH_COUNTOF(((const char *[]){__VA_ARGS__})),             \
        (const char *[]){__VA_ARGS__})

/* A raw integer reply (EXISTS, PTTL, ...) from a new run; LLONG_MIN on error. */
static long long raw_int(const char *a0, const char *a1)
{
    struct jh_ctx c;
    jh_redis_reply *r;
    long long v = -999999;

    begin(&c, plug, INT64_MAX);
    r = CMD((jh_ctx *)&c, a0, a1);
    if (r != NULL && r->type == JH_REDIS_INTEGER)
        v = r->integer;
    jh__ctx_finish(&c);
    return v;
}

/* GET of a raw key from a new run into buf ("(nil)" / "(error)"). */
static const char *raw_get(const char *key, char *buf, size_t len)
{
    struct jh_ctx c;
    jh_redis_reply *r;

    begin(&c, plug, INT64_MAX);
    r = CMD((jh_ctx *)&c, "GET", key);
    snprintf(buf, len, "%s", r == NULL ? "(error)" : r->type == JH_REDIS_NIL ? "(nil)"
                             : r->type == JH_REDIS_STRING ? r->str : "(type)");
    jh__ctx_finish(&c);
    return buf;
}

/* Poll until raw EXISTS key is 0 (a TTL ran out); 0 if it did in time. */
static int wait_gone(const char *key, int tenths)
{
    for (int i = 0; i < tenths; i++) {
        if (raw_int("EXISTS", key) == 0)
            return 0;
        sleep_ms(100);
    }
    return -1;
}

static long long client_id(jh_ctx *c)
{
    jh_redis_reply *r = CMD(c, "CLIENT", "ID");
    long long id = r != NULL && r->type == JH_REDIS_INTEGER ? r->integer : -1;
    jh_redis_reply_free(c, r);
    return id;
}

static long connected_clients(jh_ctx *c)
{
    jh_redis_reply *r = CMD(c, "INFO", "clients");
    const char *p = r != NULL && r->str != NULL ? strstr(r->str, "connected_clients:") : NULL;
    long n = p != NULL ? strtol(p + strlen("connected_clients:"), NULL, 10) : -1;
    jh_redis_reply_free(c, r);
    return n;
}

static jh__plugin *open_plugin(jh__services *s, jh__redis *backend, unsigned declared)
{
    jh__plugin *p;
    jh_err e = {0};

    if (jh__plugin_open(tap_build("t/plugins/redis_p.so"), &p, &e) < 0)
        bail("open t/plugins/redis_p.so: %s", e.msg);
    s->redis = backend;
    s->declared = declared;
    s->repo = jh__services_repo(s);
    jh__plugin_set_services(p, s, NULL);
    return p;
}

static jh__redis *new_backend(const char *name, const char *socket, int db,
                             const char *password, const char *prefix)
{
    jh__conf_redis conf = {0};
    jh__redis *r;
    jh_err e = {0};

    conf.name = name;
    conf.host = "127.0.0.1";
    conf.port = port;
    conf.socket = socket;
    conf.db = db;
    conf.password = password;
    conf.prefix = prefix;
    if (jh__redis_new(&conf, &r, &e) < 0)
        bail("jh__redis_new: %s", e.msg);
    return r;
}

/* ---- two-process lock race ------------------------------------------- */

static int lock_race(int argc, char **argv)
{
    const char *owner;
    long long start_ms, period_ms;
    int ticks;

    if (argc != 6)
        return 2;
    owner = argv[2];
    start_ms = atoll(argv[3]);
    ticks = atoi(argv[4]);
    period_ms = atoll(argv[5]);
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int n = 1; n <= ticks; n++) {
        struct jh_ctx c;
        char key[32];
        int64_t at = (start_ms + n * period_ms) * MS;
        int rc;

        while (now_ns() < at - 2 * MS)
            sleep_ms(1);
        while (now_ns() < at)
            ; /* both processes leave this loop within microseconds */
        snprintf(key, sizeof(key), "race:%d", n);
        begin(&c, plug, INT64_MAX);
        /* The backend call itself, not the repository table: the host
         * would release the lock when this run ends, and the point is who
         * took the tick, not how long it holds it. */
        rc = jh__redis_lock_acquire(&c, key, owner, 60000);
        printf("tick %d %s\n", n, rc == 0 ? "won" : rc == -EBUSY ? "busy" : "error");
        if (rc != 0 && rc != -EBUSY)
            fprintf(stderr, "tick %d: %d %s\n", n, rc, c.lasterr);
        jh__ctx_finish(&c);
    }
    return 0;
}

/* ---- threads --------------------------------------------------------- */

#define THREADS 4
#define THREAD_RUNS 150

static atomic_int inside, overlaps, shared_wins, thread_errors;

static void *worker(void *arg)
{
    long t = (long)arg;

    for (int i = 0; i < THREAD_RUNS; i++) {
        struct jh_ctx c;
        jh_ctx *cx = (jh_ctx *)&c;
        char job[32], val[32], buf[32];
        jh_redis_reply *r;
        int rc;

        begin(&c, plug, now_ns() + 10 * SEC);
        r = CMD(cx, "INCR", "t:counter");
        if (r == NULL || r->type != JH_REDIS_INTEGER)
            atomic_fetch_add(&thread_errors, 1);
        rc = jh_lock_acquire(cx, "shared", 5000);
        if (rc == 0) {
            if (atomic_fetch_add(&inside, 1) != 0)
                atomic_fetch_add(&overlaps, 1);
            atomic_fetch_add(&shared_wins, 1);
            snprintf(val, sizeof(val), "t%ld-%d", t, i);
            rc = jh_status_set(cx, "shared", val, 0);
            if (rc != 0 || jh_status_get(cx, "shared", buf, sizeof(buf)) != (int)strlen(val) ||
                strcmp(buf, val) != 0)
                atomic_fetch_add(&thread_errors, 1);
            atomic_fetch_sub(&inside, 1);
            if (jh_lock_release(cx, "shared") != 0)
                atomic_fetch_add(&thread_errors, 1);
        } else if (rc != -EBUSY) {
            atomic_fetch_add(&thread_errors, 1);
        }
        snprintf(job, sizeof(job), "own%ld", t);
        snprintf(val, sizeof(val), "%d", i);
        if (jh_status_set(cx, job, val, 60000) != 0 ||
            jh_status_get(cx, job, buf, sizeof(buf)) != (int)strlen(val) || strcmp(buf, val) != 0)
            atomic_fetch_add(&thread_errors, 1);
        /* Leave the INCR reply for run end to free on every other run. */
        if (i % 2 == 0)
            jh_redis_reply_free(cx, r);
        jh__ctx_finish(&c);
    }
    return NULL;
}

/* ---- the tests ------------------------------------------------------- */

static void t_table(void)
{
    const jh_redis_api *a = jh__redis_api_table();

    ok(a != NULL && a->size == sizeof(jh_redis_api) && JH_HAS(a, command) &&
           JH_HAS(a, reply_free) && JH_HAS(a, prefix),
       "api table: sized, every member");
    ok(jh__full_repo()->redis == a, "the full repository carries it");
    is_str(jh__redis_name(R), "cache", "backend name");
}

static void t_roundtrip(void)
{
    struct jh_ctx c;
    jh_ctx *cx = (jh_ctx *)&c;
    static const char bin[] = {'a', '\0', 'b', '\xff', '\0', '\r', '\n'};
    const char *setv[] = {"SET", "t:bin\0x", bin};
    size_t setl[] = {3, 7, sizeof(bin)};
    const char *getv[] = {"GET", "t:bin\0x"};
    size_t getl[] = {3, 7};
    jh_redis_reply *r = NULL, *r2, *r3;

    begin(&c, plug, INT64_MAX);
    is_int(jh_redis_command(cx, 3, setv, setl, &r), 0, "SET with binary key and value");
    ok(r != NULL && r->type == JH_REDIS_STATUS && r->len == 2 && strcmp(r->str, "OK") == 0,
       "status reply OK");
    jh_redis_reply_free(cx, r);
    r = NULL;
    is_int(jh_redis_command(cx, 2, getv, getl, &r), 0, "GET of the binary key");
    ok(r != NULL && r->type == JH_REDIS_STRING && r->len == sizeof(bin) &&
           memcmp(r->str, bin, sizeof(bin)) == 0 && r->str[r->len] == '\0',
       "string reply: the same 7 bytes (embedded NULs), NUL-terminated");
    jh_redis_reply_free(cx, r);
    r = CMD(cx, "EXISTS", "t:bin");
    ok(r != NULL && r->type == JH_REDIS_INTEGER && r->integer == 0,
       "the key really has its NUL: t:bin alone does not exist");

    r = CMD(cx, "INCRBY", "t:int", "-41");
    ok(r != NULL && r->type == JH_REDIS_INTEGER && r->integer == -41, "integer reply");
    r = CMD(cx, "GET", "t:nothing");
    ok(r != NULL && r->type == JH_REDIS_NIL && r->str == NULL && r->len == 0, "nil reply");
    CMD(cx, "DEL", "t:list");
    CMD(cx, "RPUSH", "t:list", "x", "", "zz");
    r = CMD(cx, "LRANGE", "t:list", "0", "-1");
    ok(r != NULL && r->type == JH_REDIS_ARRAY && r->elements == 3 &&
           r->element[0]->type == JH_REDIS_STRING && strcmp(r->element[0]->str, "x") == 0 &&
           r->element[1]->len == 0 && strcmp(r->element[2]->str, "zz") == 0,
       "array reply of strings (an empty one included)");
    r = CMD(cx, "EVAL", "return {1, {'a', false}, 'b', {err='boom'}}", "0");
    ok(r != NULL && r->type == JH_REDIS_ARRAY && r->elements == 4 &&
           r->element[0]->type == JH_REDIS_INTEGER && r->element[0]->integer == 1 &&
           r->element[1]->type == JH_REDIS_ARRAY && r->element[1]->elements == 2 &&
           strcmp(r->element[1]->element[0]->str, "a") == 0 &&
           r->element[1]->element[1]->type == JH_REDIS_NIL &&
           r->element[2]->type == JH_REDIS_STRING &&
           r->element[3]->type == JH_REDIS_ERROR && strcmp(r->element[3]->str, "boom") == 0,
       "nested array with integer, nil, string and error elements");
    /* Freeing an element is ignored (only whole replies are freed); the
     * tree is still whole and freed at run end. */
    jh_redis_reply_free(cx, r != NULL ? r->element[1] : NULL);
    ok(r != NULL && strcmp(r->element[1]->element[0]->str, "a") == 0,
       "reply_free of a nested element is ignored");
    r = CMD(cx, "EMPTYARRAY_NO_SUCH_COMMAND");
    ok(r != NULL && r->type == JH_REDIS_ERROR && strstr(r->str, "unknown command") != NULL,
       "unknown command: 0 with an error reply (%s)", r ? r->str : "-");
    r = CMD(cx, "LRANGE", "t:bin");
    ok(r != NULL && r->type == JH_REDIS_ERROR && strstr(r->str, "wrong number") != NULL,
       "wrong arity: error reply");
    r = CMD(cx, "INCR", "t:list");
    ok(r != NULL && r->type == JH_REDIS_ERROR && strncmp(r->str, "WRONGTYPE", 9) == 0,
       "WRONGTYPE error reply");
    r = CMD(cx, "PING");
    ok(r != NULL && r->type == JH_REDIS_STATUS && strcmp(r->str, "PONG") == 0,
       "the connection is fine after error replies");
    r2 = CMD(cx, "ECHO", "a");
    r3 = CMD(cx, "ECHO", "b");
    jh_redis_reply_free(cx, r2);
    jh_redis_reply_free(cx, r2); /* a second free is ignored */
    ok(r3 != NULL && strcmp(r3->str, "b") == 0, "double free ignored, other replies intact");
    jh_redis_reply_free(cx, NULL);
    ok(1, "reply_free(NULL) is harmless");
    /* Most replies above are left for jh__redis_run_end (LSan checks). */
    jh__ctx_finish(&c);
    ok(jh__ctx_run_state(&c, JH_RUN_SLOT_REDIS) == NULL, "run end cleared the run state");
    jh_redis_reply_free(cx, r3); /* after run end: no run, ignored */
    ok(1, "reply_free after the run ended is ignored");

    /* A long argument vector (more than the stack length array). */
    {
        const char *av[40];
        jh_redis_reply *rr = NULL;
        begin(&c, plug, INT64_MAX);
        av[0] = "RPUSH";
        av[1] = "t:long";
        for (int i = 2; i < 40; i++)
            av[i] = "v";
        CMD(cx, "DEL", "t:long");
        is_int(jh_redis_command(cx, 40, av, NULL, &rr), 0, "40 arguments");
        ok(rr != NULL && rr->type == JH_REDIS_INTEGER && rr->integer == 38, "all 38 values pushed");
        jh__ctx_finish(&c);
    }
}

static void t_misuse(void)
{
    struct jh_ctx c;
    jh_ctx *cx = (jh_ctx *)&c;
    const jh_redis_api *a = jh__redis_api_table();
    const char *av[] = {"PING", NULL};
    jh_redis_reply *r = (jh_redis_reply *)1;

    is_int(a->command(NULL, 1, av, NULL, &r), -EINVAL, "NULL context: -EINVAL");
    ok(r == NULL, "*out cleared");
    a->reply_free(NULL, NULL);
    ok(a->prefix(NULL) == NULL, "prefix(NULL) is NULL");

    begin(&c, plug, INT64_MAX);
    is_int(jh_redis_command(cx, 0, av, NULL, &r), -EINVAL, "argc 0: -EINVAL");
    like(c.lasterr, "argc must be > 0", "with a message");
    is_int(jh_redis_command(cx, -1, av, NULL, &r), -EINVAL, "argc < 0: -EINVAL");
    is_int(jh_redis_command(cx, 1, NULL, NULL, &r), -EINVAL, "argv NULL: -EINVAL");
    like(c.lasterr, "NULL argv", "with a message");
    is_int(jh_redis_command(cx, 2, av, NULL, &r), -EINVAL, "argv[1] NULL: -EINVAL");
    like(c.lasterr, "argv[1] is NULL", "with a message");
    is_int(jh_redis_command(cx, 1, av, NULL, NULL), -EINVAL, "out NULL: -EINVAL");
    is_str(jh_redis_prefix(cx), "t:", "prefix() is the configured prefix");
    is_int(jh_lock_acquire(cx, NULL, 100), -EINVAL, "lock: NULL key");
    is_int(jh__redis_lock_acquire(&c, "k", "o", 0), -EINVAL, "lock: ttl 0");
    is_int(jh_status_set(cx, "j", NULL, 0), -EINVAL, "status set: NULL value");
    is_int(jh_status_get(cx, "j", NULL, 4), -EINVAL, "status get: NULL buf with a length");
    is_int(jh_processed_check(cx, NULL), -EINVAL, "processed check: NULL id");
    is_int(jh__redis_processed_mark(NULL, "x", 1), -EINVAL, "processed mark: NULL ctx");
    jh__ctx_finish(&c);

    begin(&c, plug_undeclared, INT64_MAX);
    is_int(jh_redis_command(cx, 1, av, NULL, &r), -ENOSYS, "undeclared service: -ENOSYS");
    like(c.lasterr, "does not declare the redis service", "message: %s", c.lasterr);
    ok(jh_redis_prefix(cx) == NULL, "undeclared: prefix() NULL");
    /* lock / status / idem are basics: the bound backend serves them even
     * when the plugin did not declare JH_SVC_REDIS. */
    is_int(jh_status_set(cx, "undeclared", "x", 0), 0, "undeclared: status still uses redis");
    jh__ctx_finish(&c);
    is_int(raw_int("EXISTS", "t:status:undeclared"), 1, "...in Redis, with the prefix");

    begin(&c, plug_unbound, INT64_MAX);
    is_int(jh_redis_command(cx, 1, av, NULL, &r), -ENOSYS, "declared but unbound: -ENOSYS");
    like(c.lasterr, "no redis backend bound", "message: %s", c.lasterr);
    is_int(jh__redis_lock_acquire(&c, "k", "o", 10), -ENOSYS, "backend call without backend");
    jh__ctx_finish(&c);
}

static void t_lock(void)
{
    struct jh_ctx a, b;
    jh_ctx *ca = (jh_ctx *)&a, *cb = (jh_ctx *)&b;
    char buf[128];
    long long pttl;

    begin(&a, plug, INT64_MAX);
    begin(&b, plug, INT64_MAX);
    is_int(jh_lock_acquire(ca, "L", 30000), 0, "a acquires L");
    is_str(raw_get("t:lock:L", buf, sizeof(buf)), a.owner, "t:lock:L holds a's owner token");
    is_int(jh_lock_acquire(cb, "L", 30000), -EBUSY, "b: -EBUSY");
    pttl = raw_int("PTTL", "t:lock:L");
    ok(pttl > 0 && pttl <= 30000, "TTL set in ms (%lld)", pttl);
    is_int(jh_lock_acquire(ca, "L", 90000), 0, "a re-acquires: 0");
    pttl = raw_int("PTTL", "t:lock:L");
    ok(pttl > 30000 && pttl <= 90000, "re-acquire extended the TTL (%lld)", pttl);
    is_int(jh_lock_release(cb, "L"), -EPERM, "b releases a's lock: -EPERM");
    is_int(raw_int("EXISTS", "t:lock:L"), 1, "still held");
    is_int(jh_lock_release(ca, "L"), 0, "a releases: 0");
    is_int(raw_int("EXISTS", "t:lock:L"), 0, "key gone");
    is_int(jh_lock_release(ca, "L"), -ENOENT, "release again: -ENOENT");
    is_int(jh_lock_release(ca, "never"), -ENOENT, "release of a lock never held: -ENOENT");
    is_int(jh_lock_acquire(cb, "L", 30000), 0, "b acquires the freed lock");

    /* An expired lock: a's release must not free b's new one. */
    is_int(jh_lock_acquire(ca, "E", 200), 0, "a takes E for 200 ms");
    is_int(wait_gone("t:lock:E", 100), 0, "E expires");
    is_int(jh_lock_acquire(cb, "E", 30000), 0, "b takes E");
    is_int(jh_lock_release(ca, "E"), -EPERM, "a's late release: -EPERM");
    is_str(raw_get("t:lock:E", buf, sizeof(buf)), b.owner, "b still holds E");
    jh__ctx_finish(&a);
    is_int(raw_int("EXISTS", "t:lock:L"), 1, "a's run end leaves b's locks");
    jh__ctx_finish(&b);
    is_int(raw_int("EXISTS", "t:lock:L") + raw_int("EXISTS", "t:lock:E"), 0,
           "b's run end released the locks it still held");

    /* Script cache flushed under a live connection: NOSCRIPT -> EVAL. */
    begin(&a, plug, INT64_MAX);
    is_int(jh_lock_acquire(ca, "F", 30000), 0, "acquire F");
    CMD(ca, "SCRIPT", "FLUSH");
    is_int(jh_lock_release(ca, "F"), 0, "release after SCRIPT FLUSH (EVAL fallback)");
    is_int(jh_lock_acquire(ca, "F", 30000), 0, "again");
    is_int(jh_lock_release(ca, "F"), 0, "and again (EVALSHA)");
    CMD(ca, "SET", "t:lock:W", "x");
    CMD(ca, "HSET", "t:lock:H", "f", "v");
    is_int(jh__redis_lock_release(&a, "H", "o"), -EIO, "a lock key of the wrong type: -EIO");
    like(a.lasterr, "lock release: ", "message: %s", a.lasterr);
    is_int(jh_lock_acquire(ca, "W", 1000), -EBUSY, "someone else's value: -EBUSY");
    CMD(ca, "DEL", "t:lock:W", "t:lock:H");
    jh__ctx_finish(&a);
}

static void t_status_idem(void)
{
    struct jh_ctx c;
    jh_ctx *cx = (jh_ctx *)&c;
    char buf[16];
    long long pttl;

    begin(&c, plug, INT64_MAX);
    is_int(jh_status_get(cx, "nojob", buf, sizeof(buf)), -ENOENT, "status of an unknown job");
    is_int(jh_status_set(cx, "job1", "running", 0), 0, "status set, no TTL");
    is_int(jh_status_get(cx, "job1", buf, sizeof(buf)), 7, "get: full length");
    is_str(buf, "running", "get: value");
    is_int(jh_status_get(cx, "job1", buf, 4), 7, "small buffer: still the full length");
    is_str(buf, "run", "small buffer: truncated, terminated");
    is_int(jh_status_get(cx, "job1", NULL, 0), 7, "NULL buffer of length 0: the length");
    is_int(raw_int("PTTL", "t:status:job1"), -1, "no TTL in Redis");
    is_int(jh_status_set(cx, "job1", "done", 300), 0, "status set with 300 ms TTL");
    pttl = raw_int("PTTL", "t:status:job1");
    ok(pttl > 0 && pttl <= 300, "TTL in Redis (%lld ms)", pttl);
    is_int(jh_status_get(cx, "job1", buf, sizeof(buf)), 4, "get before expiry");
    is_int(wait_gone("t:status:job1", 100), 0, "expires");
    is_int(jh_status_get(cx, "job1", buf, sizeof(buf)), -ENOENT, "get after expiry: -ENOENT");

    is_int(jh_processed_check(cx, "m1"), 0, "m1 not processed");
    is_int(jh_processed_mark(cx, "m1", 60000), 0, "mark m1");
    is_int(jh_processed_check(cx, "m1"), 1, "m1 processed");
    pttl = raw_int("PTTL", "t:processed:m1");
    ok(pttl > 0 && pttl <= 60000, "mark TTL (%lld)", pttl);
    is_int(jh_processed_mark(cx, "m2", 200), 0, "mark m2 for 200 ms");
    is_int(wait_gone("t:processed:m2", 100), 0, "m2 expires");
    is_int(jh_processed_check(cx, "m2"), 0, "m2 no longer processed");
    jh__ctx_finish(&c);
}

static void t_prefix(void)
{
    struct jh_ctx c;
    jh_ctx *cx = (jh_ctx *)&c;
    jh_redis_reply *r;
    int lock = 0, status = 0, processed = 0, unprefixed = 0;

    begin(&c, plug, INT64_MAX);
    jh_lock_acquire(cx, "P", 30000);
    jh_status_set(cx, "P", "x", 0);
    jh_processed_mark(cx, "P", 30000);
    r = CMD(cx, "KEYS", "*P");
    for (size_t i = 0; r != NULL && i < r->elements; i++) {
        const char *k = r->element[i]->str;
        lock += strcmp(k, "t:lock:P") == 0;
        status += strcmp(k, "t:status:P") == 0;
        processed += strcmp(k, "t:processed:P") == 0;
        unprefixed += strncmp(k, "t:", 2) != 0;
    }
    ok(lock && status && processed, "lock, status and processed keys carry the prefix");
    is_int(unprefixed, 0, "no key without it");
    jh__ctx_finish(&c);
    is_int(raw_int("EXISTS", "t:lock:P"), 0, "run end released the prefixed lock");
}

static void t_deadline(void)
{
    struct jh_ctx c;
    jh_ctx *cx = (jh_ctx *)&c;
    jh_redis_reply *r = NULL;
    int64_t t0, el;
    const char *av[] = {"BLPOP", "t:never", "5"};
    char where[64];

    begin(&c, plug, now_ns() - 1);
    is_int(jh_redis_command(cx, 1, (const char *[]){"PING"}, NULL, &r), -ETIMEDOUT,
           "deadline passed: -ETIMEDOUT");
    like(c.lasterr, "PING: the run's deadline has passed", "message: %s", c.lasterr);
    is_int(jh_lock_acquire(cx, "D", 1000), -ETIMEDOUT, "lock acquire too");
    is_int(jh_status_get(cx, "D", NULL, 0), -ENOENT,
           "status get still reaches Redis (bookkeeping works past the deadline)");
    jh__ctx_finish(&c);

    {
        atomic_int cancel = 1;
        jh__ctx_init(&c, &env, jh__plugin_ctx(plug), "job", "run", 4242, now_ns(), INT64_MAX,
                     &cancel);
        is_int(jh_redis_command(cx, 1, (const char *[]){"PING"}, NULL, &r), -ECANCELED,
               "cancelled run: -ECANCELED");
        like(c.lasterr, "PING: the run was cancelled", "message: %s", c.lasterr);
        jh__ctx_finish(&c);
    }

    /* A blocking command outliving the deadline: the socket timeout is cut
     * to what the run has left (not the 2 s default, not BLPOP's 5 s). */
    begin(&c, plug, now_ns() + 400 * MS);
    CMD(cx, "PING");
    t0 = now_ns();
    is_int(jh_redis_command(cx, 3, av, NULL, &r), -ETIMEDOUT, "BLPOP past the deadline: -ETIMEDOUT");
    el = now_ns() - t0;
    ok(el >= 200 * MS && el < 1900 * MS, "after the run's deadline, not 2 s or 5 s (%lld ms)",
       (long long)(el / MS));
    snprintf(where, sizeof(where), "redis cache (127.0.0.1:%d): BLPOP: ", port);
    like(c.lasterr, where, "message names backend, address and command: %s", c.lasterr);
    jh__ctx_finish(&c);

    /* The per-command timeout without a deadline (the conf's, here 2 s
     * default) is covered by the same path; a new run works. */
    begin(&c, plug, INT64_MAX);
    r = CMD(cx, "PING");
    ok(r != NULL && r->type == JH_REDIS_STATUS, "the next run works");
    jh__ctx_finish(&c);
}

/* Close connection `id` from another run, as a server-side drop would. */
static int kill_client(long long id)
{
    struct jh_ctx k;
    char killid[32];
    jh_redis_reply *r;
    int killed;

    begin(&k, plug, INT64_MAX);
    snprintf(killid, sizeof(killid), "%lld", id);
    r = CMD((jh_ctx *)&k, "CLIENT", "KILL", "ID", killid);
    killed = r != NULL && r->type == JH_REDIS_INTEGER && r->integer == 1;
    jh__ctx_finish(&k);
    return killed;
}

/* Lock / status / idem while the plugin's own connection is in MULTI,
 * WATCH or another db: they must run on a clean connection in the
 * configured db, and leave the plugin's transaction alone. */
static void t_ops_clean_conn(void)
{
    struct jh_ctx c;
    jh_ctx *cx = (jh_ctx *)&c;
    jh_redis_reply *r;
    char buf[64], got[64];
    long n1, n2;

    begin(&c, plug, INT64_MAX);
    CMD(cx, "DEL", "t:m:queued");
    n1 = connected_clients(cx);
    r = CMD(cx, "MULTI");
    ok(r != NULL && r->type == JH_REDIS_STATUS, "MULTI in the run");
    r = CMD(cx, "INCR", "t:m:queued");
    ok(r != NULL && r->type == JH_REDIS_STATUS && strcmp(r->str, "QUEUED") == 0, "INCR QUEUED");
    is_int(jh_lock_acquire(cx, "M", 30000), 0, "lock acquire inside the run's MULTI: 0");
    is_str(raw_get("t:lock:M", buf, sizeof(buf)), c.owner,
           "  and the lock is really held now (not QUEUED)");
    is_int(jh_lock_acquire(cx, "M", 30000), 0, "  re-acquire (script path) inside MULTI: 0");
    is_int(jh_status_set(cx, "M", "v1", 0), 0, "status set inside MULTI: 0");
    is_str(raw_get("t:status:M", buf, sizeof(buf)), "v1", "  written at once");
    is_int(jh_status_get(cx, "M", got, sizeof(got)), 2, "status get inside MULTI: the value");
    is_str(got, "v1", "  v1");
    is_int(jh_processed_check(cx, "M"), 0, "processed check inside MULTI: 0 (not -EPROTO)");
    is_int(jh_processed_mark(cx, "M", 30000), 0, "processed mark inside MULTI");
    is_int(jh_processed_check(cx, "M"), 1, "  then checked: 1");
    is_int(jh_lock_release(cx, "M"), 0, "lock release inside MULTI: 0");
    is_int(raw_int("EXISTS", "t:lock:M"), 0, "  the lock key is gone");
    for (int i = 0; i < 20; i++)
        jh_status_get(cx, "M", NULL, 0);
    r = CMD(cx, "EXEC");
    ok(r != NULL && r->type == JH_REDIS_ARRAY && r->elements == 1 &&
           r->element[0]->type == JH_REDIS_INTEGER && r->element[0]->integer == 1,
       "EXEC ran the plugin's one queued command, none of ours");
    n2 = connected_clients(cx);
    ok(n1 >= 1 && n2 <= n1 + 1, "the second connection went back to the pool (%ld, %ld)", n1,
       n2);
    jh__ctx_finish(&c);

    /* WATCH: our writes go elsewhere, the watched key is untouched. */
    begin(&c, plug, INT64_MAX);
    CMD(cx, "WATCH", "t:m:watched");
    is_int(jh_status_set(cx, "W", "w", 0), 0, "status set after WATCH");
    CMD(cx, "MULTI");
    CMD(cx, "SET", "t:m:watched", "1");
    r = CMD(cx, "EXEC");
    ok(r != NULL && r->type == JH_REDIS_ARRAY && r->elements == 1,
       "the plugin's WATCH/MULTI/EXEC still commits");
    jh__ctx_finish(&c);

    /* Another db: the repository keys stay in the configured one (0). */
    begin(&c, plug, INT64_MAX);
    r = CMD(cx, "SELECT", "5");
    ok(r != NULL && r->type == JH_REDIS_STATUS, "SELECT 5 in the run");
    is_int(jh_status_set(cx, "sel", "in0", 0), 0, "status set after SELECT 5");
    is_int(jh_lock_acquire(cx, "sel", 30000), 0, "lock acquire after SELECT 5");
    r = CMD(cx, "EXISTS", "t:status:sel", "t:lock:sel");
    ok(r != NULL && r->type == JH_REDIS_INTEGER && r->integer == 0, "  nothing written to db 5");
    is_str(raw_get("t:status:sel", buf, sizeof(buf)), "in0", "  the status is in db 0");
    is_str(raw_get("t:lock:sel", buf, sizeof(buf)), c.owner, "  and the lock");
    is_int(jh_status_get(cx, "sel", got, sizeof(got)), 3, "status get after SELECT 5 reads db 0");
    CMD(cx, "FLUSHDB");
    jh__ctx_finish(&c);
    is_int(raw_int("EXISTS", "t:lock:sel"), 0, "run end released the lock (db 0)");
}

/* The connection drops inside MULTI / after WATCH: the transaction is
 * gone, so nothing may silently run on a new connection in its place. */
static void t_lost_txn(void)
{
    struct jh_ctx c;
    jh_ctx *cx = (jh_ctx *)&c;
    jh_redis_reply *r = NULL;
    long long id;

    begin(&c, plug, INT64_MAX);
    CMD(cx, "DEL", "t:lost:a", "t:lost:b", "t:lost:c", "t:lost:d", "t:lost:e");
    id = client_id(cx);
    CMD(cx, "MULTI");
    CMD(cx, "INCR", "t:lost:a");
    ok(kill_client(id), "MULTI, then the run's connection is killed");
    is_int(jh_redis_command(cx, 2, (const char *[]){"INCR", "t:lost:b"}, NULL, &r), -EIO,
           "the command that finds it dead: -EIO");
    is_int(jh_redis_command(cx, 2, (const char *[]){"INCR", "t:lost:c"}, NULL, &r), -EIO,
           "the next command inside the lost MULTI: -EIO");
    like(c.lasterr, "redis cache: connection lost inside MULTI; the transaction was discarded",
         "  %s", c.lasterr);
    is_int(jh_lock_acquire(cx, "lost", 5000), 0, "locks still work meanwhile");
    is_int(jh_lock_release(cx, "lost"), 0, "  and release");
    is_int(jh_redis_command(cx, 1, (const char *[]){"EXEC"}, NULL, &r), -EIO, "EXEC: -EIO");
    like(c.lasterr, "inside MULTI; the transaction was discarded (EXEC not sent)", "  %s",
         c.lasterr);
    r = CMD(cx, "MGET", "t:lost:a", "t:lost:b", "t:lost:c");
    ok(r != NULL && r->type == JH_REDIS_ARRAY && r->elements == 3 &&
           r->element[0]->type == JH_REDIS_NIL && r->element[1]->type == JH_REDIS_NIL &&
           r->element[2]->type == JH_REDIS_NIL,
       "after EXEC the run works again (new connection), and none of the INCRs ran");
    jh__ctx_finish(&c);

    begin(&c, plug, INT64_MAX);
    id = client_id(cx);
    CMD(cx, "MULTI");
    CMD(cx, "SET", "t:lost:d", "1");
    kill_client(id);
    CMD(cx, "PING"); /* finds it dead */
    is_int(jh_redis_command(cx, 3, (const char *[]){"SET", "t:lost:d", "2"}, NULL, &r), -EIO,
           "dropped in a second MULTI: the next SET -EIO");
    r = NULL;
    is_int(jh_redis_command(cx, 1, (const char *[]){"DISCARD"}, NULL, &r), 0, "DISCARD: 0");
    ok(r != NULL && r->type == JH_REDIS_STATUS && strcmp(r->str, "OK") == 0, "  with +OK");
    r = CMD(cx, "SET", "t:lost:e", "1");
    ok(r != NULL && r->type == JH_REDIS_STATUS, "after DISCARD commands run again");
    is_int(raw_int("EXISTS", "t:lost:d"), 0, "  and nothing of the discarded MULTI ran");
    jh__ctx_finish(&c);

    begin(&c, plug, INT64_MAX);
    CMD(cx, "WATCH", "t:lost:w");
    kill_client(client_id(cx));
    CMD(cx, "GET", "t:lost:w"); /* finds it dead */
    is_int(jh_redis_command(cx, 1, (const char *[]){"MULTI"}, NULL, &r), -EIO,
           "dropped after WATCH: MULTI -EIO (the watch is gone)");
    like(c.lasterr, "connection lost after WATCH", "  %s", c.lasterr);
    is_int(jh_redis_command(cx, 3, (const char *[]){"SET", "t:lost:w", "1"}, NULL, &r), -EIO,
           "  SET -EIO");
    is_int(jh_redis_command(cx, 1, (const char *[]){"EXEC"}, NULL, &r), -EIO, "  EXEC -EIO");
    is_int(raw_int("EXISTS", "t:lost:w"), 0, "  nothing ran unwatched");
    r = CMD(cx, "PING");
    ok(r != NULL && r->type == JH_REDIS_STATUS, "then the run works again");
    CMD(cx, "WATCH", "t:lost:w");
    kill_client(client_id(cx));
    CMD(cx, "GET", "t:lost:w");
    r = NULL;
    is_int(jh_redis_command(cx, 1, (const char *[]){"UNWATCH"}, NULL, &r), 0,
           "a lost WATCH ended by UNWATCH: 0");
    r = CMD(cx, "PING");
    ok(r != NULL && r->type == JH_REDIS_STATUS, "  and the run goes on");
    jh__ctx_finish(&c);

    /* EXEC itself failing on the dead connection ends the transaction. */
    begin(&c, plug, INT64_MAX);
    id = client_id(cx);
    CMD(cx, "MULTI");
    CMD(cx, "INCR", "t:lost:a");
    kill_client(id);
    is_int(jh_redis_command(cx, 1, (const char *[]){"EXEC"}, NULL, &r), -EIO,
           "EXEC on the dead connection: -EIO");
    r = CMD(cx, "PING");
    ok(r != NULL && r->type == JH_REDIS_STATUS, "  and the transaction is over: PING works");
    jh__ctx_finish(&c);
}

/* Locks a run still holds are released at its end even past its
 * deadline, cancelled, or with its connection left in MULTI. */
static void t_release_at_end(void)
{
    struct jh_ctx c;
    jh_ctx *cx = (jh_ctx *)&c;
    jh_redis_reply *r = NULL;
    atomic_int cancel = 0;
    long long pttl;

    begin(&c, plug, now_ns() + 200 * MS);
    is_int(jh_lock_acquire(cx, "end1", 60000), 0, "a run with a 200 ms deadline takes a 60 s lock");
    pttl = raw_int("PTTL", "t:lock:end1");
    ok(pttl > 30000, "  TTL %lld ms", pttl);
    while (now_ns() < c.deadline + 10 * MS)
        sleep_ms(20);
    is_int(jh_redis_command(cx, 1, (const char *[]){"PING"}, NULL, &r), -ETIMEDOUT,
           "  the run is past its deadline");
    is_int(jh_lock_acquire(cx, "end1b", 60000), -ETIMEDOUT,
           "  past its deadline a run cannot take a new lock");
    {
        /* ... but it can still record how it ended. */
        char buf[64];
        is_int(jh_status_set(cx, "endjob", "timeout users=7", 60000), 0,
               "  status set still works past the deadline");
        is_int(jh_status_get(cx, "endjob", buf, sizeof(buf)), 15, "  status get too");
        is_str(buf, "timeout users=7", "  with the value");
        is_int(jh_processed_mark(cx, "end-msg", 60000), 0, "  idempotency mark too");
        is_int(jh_processed_check(cx, "end-msg"), 1, "  and check");
        is_int(jh__ctx_check(&c, "x"), -ETIMEDOUT, "  and the run still reads as past its deadline");
    }
    is_int(jh_lock_release(cx, "end1"), 0, "  an explicit release works past the deadline");
    is_int(jh_lock_acquire(cx, "end1", 60000), -ETIMEDOUT, "  (re-acquire does not)");
    jh__ctx_finish(&c);
    is_int(raw_int("EXISTS", "t:lock:end1"), 0, "run end leaves nothing held");

    jh__ctx_init(&c, &env, jh__plugin_ctx(plug), "job", "run", 4343, now_ns(), INT64_MAX, &cancel);
    is_int(jh_lock_acquire(cx, "end2", 60000), 0, "a run takes a 60 s lock");
    atomic_store(&cancel, 1);
    jh__ctx_finish(&c);
    is_int(raw_int("EXISTS", "t:lock:end2"), 0, "cancelled: run end released it");

    begin(&c, plug, now_ns() + 200 * MS);
    is_int(jh_lock_acquire(cx, "end3", 60000), 0, "a run takes a 60 s lock");
    CMD(cx, "MULTI");
    CMD(cx, "INCR", "t:end3");
    while (now_ns() < c.deadline + 10 * MS)
        sleep_ms(20);
    jh__ctx_finish(&c);
    is_int(raw_int("EXISTS", "t:lock:end3"), 0,
           "left in MULTI and past its deadline: run end released it");
    is_int(raw_int("EXISTS", "t:end3"), 0, "  and the MULTI was not executed");
}

static void t_connections(void)
{
    struct jh_ctx c, k;
    jh_ctx *cx = (jh_ctx *)&c;
    jh_redis_reply *r;
    long long id1, id2, id3;
    char killid[32], where[64];
    const char *restart = getenv("JH_TEST_REDIS_RESTART");

    begin(&c, plug, INT64_MAX);
    id1 = client_id(cx);
    jh__ctx_finish(&c);
    begin(&c, plug, INT64_MAX);
    id2 = client_id(cx);
    ok(id1 > 0 && id1 == id2, "the next run reuses the connection (CLIENT ID %lld, %lld)", id1, id2);
    {
        /* Earlier tests ran overlapping runs, so the pool may hold a few
         * connections; sequential runs must not add any. */
        long n1 = connected_clients(cx), n2;
        jh__ctx_finish(&c);
        for (int i = 0; i < 20; i++) {
            begin(&c, plug, INT64_MAX);
            CMD(cx, "PING");
            jh__ctx_finish(&c);
        }
        begin(&c, plug, INT64_MAX);
        n2 = connected_clients(cx);
        ok(n1 >= 1 && n2 == n1, "20 more runs opened no connection (INFO clients %ld, %ld)",
           n1, n2);
    }
    jh__ctx_finish(&c);

    /* A run whose connection dies: -EIO with the reason, then the next
     * call reconnects. */
    begin(&c, plug, INT64_MAX);
    id1 = client_id(cx);
    jh__ctx_init(&k, &env, jh__plugin_ctx(plug_sock), "killer", "run", 999, now_ns(), INT64_MAX,
                 NULL);
    snprintf(killid, sizeof(killid), "%lld", id1);
    r = CMD((jh_ctx *)&k, "CLIENT", "KILL", "ID", killid);
    ok(r != NULL && r->type == JH_REDIS_INTEGER && r->integer == 1, "killed the run's connection");
    jh__ctx_finish(&k);
    r = NULL;
    is_int(jh_redis_command(cx, 2, (const char *[]){"GET", "x"}, NULL, &r), -EIO,
           "command on the dead connection: -EIO");
    snprintf(where, sizeof(where), "redis cache (127.0.0.1:%d): GET: ", port);
    like(c.lasterr, where, "message: %s", c.lasterr);
    id2 = client_id(cx);
    ok(id2 > 0 && id2 != id1, "the next call reconnected (%lld)", id2);
    jh__ctx_finish(&c);

    /* Sticky state: a run leaving MULTI open does not pass it on. */
    begin(&c, plug, INT64_MAX);
    id1 = client_id(cx);
    CMD(cx, "MULTI");
    CMD(cx, "INCR", "t:multi");
    jh__ctx_finish(&c);
    begin(&c, plug, INT64_MAX);
    r = CMD(cx, "GET", "t:multi");
    ok(r != NULL && r->type == JH_REDIS_NIL, "an unfinished MULTI was not executed");
    id2 = client_id(cx);
    ok(id2 != id1, "its connection was closed, not pooled");
    CMD(cx, "MULTI");
    CMD(cx, "INCR", "t:multi");
    r = CMD(cx, "EXEC");
    ok(r != NULL && r->type == JH_REDIS_ARRAY && r->elements == 1, "MULTI/EXEC in one run");
    jh__ctx_finish(&c);
    begin(&c, plug, INT64_MAX);
    ok(client_id(cx) == id2, "after EXEC the connection is pooled again");
    jh__ctx_finish(&c);

    if (restart == NULL) {
        skip("JH_TEST_REDIS_RESTART not set: no restart test");
        return;
    }
    begin(&c, plug, INT64_MAX);
    r = CMD(cx, "SET", "t:before", "1");
    id1 = client_id(cx);
    jh__ctx_finish(&c);
    is_int(system(restart), 0, "redis-server restarted on the same port");
    begin(&c, plug, INT64_MAX);
    r = NULL;
    is_int(jh_redis_command(cx, 2, (const char *[]){"GET", "t:before"}, NULL, &r), 0,
           "first command of the next run succeeds (%s)", c.lasterr);
    ok(r != NULL && r->type == JH_REDIS_NIL, "on the new server (empty data set)");
    id3 = client_id(cx);
    ok(id3 > 0, "new connection (CLIENT ID %lld, was %lld)", id3, id1);
    is_int(jh_lock_acquire(cx, "after", 5000), 0, "locks work after the restart (script reloaded)");
    jh__ctx_finish(&c);
    is_int(raw_int("EXISTS", "t:lock:after"), 0, "and were released");
}

static void t_socket_db_auth(void)
{
    struct jh_ctx c;
    jh_ctx *cx = (jh_ctx *)&c;
    jh_redis_reply *r;
    char buf[8];
    const char *sock = getenv("JH_TEST_REDIS_SOCK");
    jh__redis *bad;
    jh__services svc_bad;
    jh__plugin *p_bad;

    if (sock == NULL) {
        skip("JH_TEST_REDIS_SOCK not set");
        return;
    }
    /* svc_sock: unix socket, db 3, prefix "s:" */
    begin(&c, plug_sock, INT64_MAX);
    r = CMD(cx, "SET", "s:only-in-3", "y");
    ok(r != NULL && r->type == JH_REDIS_STATUS, "SET over the unix socket");
    is_int(jh_status_set(cx, "sj", "v", 0), 0, "status over the unix socket");
    jh__ctx_finish(&c);
    is_int(raw_int("EXISTS", "s:only-in-3"), 0, "db 3 was selected: not in db 0");
    is_int(raw_int("EXISTS", "s:status:sj"), 0, "nor the status key");
    begin(&c, plug_sock, INT64_MAX);
    is_int(jh_status_get(cx, "sj", buf, sizeof(buf)), 1, "read back in db 3 with prefix s:");
    r = CMD(cx, "FLUSHDB");
    jh__ctx_finish(&c);

    /* A socket nobody listens on: -EIO naming the path. */
    bad = new_backend("nowhere", "/nonexistent/jh-redis.sock", 0, NULL, "");
    p_bad = open_plugin(&svc_bad, bad, JH_SVC_REDIS);
    begin(&c, p_bad, INT64_MAX);
    is_int(jh_redis_command(cx, 1, (const char *[]){"PING"}, NULL, &r), -EIO,
           "connect failure: -EIO");
    like(c.lasterr, "redis nowhere (/nonexistent/jh-redis.sock): connect: ", "message: %s",
         c.lasterr);
    is_int(jh_lock_acquire(cx, "x", 100), -EIO, "lock on a dead backend: -EIO");
    jh__ctx_finish(&c);
    jh__plugin_unref(p_bad);
    jh__redis_unref(bad);

    /* AUTH: turn on a password, then connect with and without it. */
    begin(&c, plug, INT64_MAX);
    r = CMD(cx, "CONFIG", "SET", "requirepass", "s3cr3t-pw");
    ok(r != NULL && r->type == JH_REDIS_STATUS, "requirepass set");
    jh__ctx_finish(&c);
    begin(&c, plug_auth, INT64_MAX);
    r = CMD(cx, "PING");
    ok(r != NULL && r->type == JH_REDIS_STATUS, "AUTH with the password: PING works");
    jh__ctx_finish(&c);
    bad = new_backend("wrongpw", NULL, 0, "not-the-pw-XYZ", "");
    p_bad = open_plugin(&svc_bad, bad, JH_SVC_REDIS);
    begin(&c, p_bad, INT64_MAX);
    is_int(jh_redis_command(cx, 1, (const char *[]){"PING"}, NULL, &r), -EACCES,
           "wrong password: -EACCES");
    like(c.lasterr, "redis wrongpw (127.0.0.1:", "message names the backend: %s", c.lasterr);
    ok(strstr(c.lasterr, "not-the-pw-XYZ") == NULL, "and not the password");
    jh__ctx_finish(&c);
    jh__plugin_unref(p_bad);
    jh__redis_unref(bad);
    begin(&c, plug_auth, INT64_MAX);
    r = CMD(cx, "CONFIG", "SET", "requirepass", "");
    ok(r != NULL && r->type == JH_REDIS_STATUS, "requirepass cleared");
    jh__ctx_finish(&c);
}

/* Occurrences in this process's writable memory (heap, anonymous maps,
 * freed blocks included: read through /proc/self/mem, which neither the
 * allocator nor ASan guards) of `s` followed by "\r\n", i.e. inside a
 * Redis command as it goes on the wire.  Regions over 256 MB (ASan's
 * shadow) are skipped. */
static int wire_copies(const char *s)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    int mem = open("/proc/self/mem", O_RDONLY), hits = 0;
    size_t sl = strlen(s);
    char line[512];

    while (maps != NULL && mem >= 0 && fgets(line, sizeof(line), maps) != NULL) {
        unsigned long lo, hi;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || perms[0] != 'r' ||
            perms[1] != 'w' || hi - lo > (256ul << 20) || strstr(line, "[vvar") != NULL)
            continue;
        char *buf = malloc(hi - lo);
        ssize_t n = buf != NULL ? pread(mem, buf, hi - lo, (off_t)lo) : -1;
        for (char *p = buf; n > 0 && (p = memmem(p, (size_t)n - (size_t)(p - buf), s, sl)) != NULL;
             p++)
            if ((size_t)(p - buf) + sl + 2 <= (size_t)n && memcmp(p + sl, "\r\n", 2) == 0)
                hits++;
        free(buf);
    }
    if (maps != NULL)
        fclose(maps);
    if (mem >= 0)
        close(mem);
    return hits;
}

/* A connection's AUTH leaves no copy of the password in freed heap (the
 * old one after a rotation: issue 9.24).  The password reaches the server
 * only through a redis-cli process, and through the backend's AUTH. */
static void t_auth_wipe(void)
{
    char pw[64], sh[256];
    struct jh_ctx a;
    jh_ctx *ca = (jh_ctx *)&a;
    jh__services s = {0};
    jh__plugin *p;
    jh__redis *rw;
    jh_redis_reply *r;

    snprintf(pw, sizeof(pw), "Rot%ld-at3d-pw", (long)getpid());
    snprintf(sh, sizeof(sh), "redis-cli -h 127.0.0.1 -p %d CONFIG SET requirepass %s >/dev/null",
             port, pw);
    if (system(sh) != 0) {
        skip("redis-cli CONFIG SET requirepass failed");
        return;
    }
    rw = new_backend("rot", NULL, 0, pw, "t:");
    p = open_plugin(&s, rw, JH_SVC_REDIS);
    for (int i = 0; i < 3; i++) { /* three connections, three AUTHs */
        begin(&a, p, INT64_MAX);
        r = CMD(ca, "PING");
        if (i == 0)
            ok(r != NULL && r->type == JH_REDIS_STATUS, "AUTH with a new password works");
        CMD(ca, "QUIT"); /* the next run opens (and AUTHs) a new one */
        jh__ctx_finish(&a);
    }
    jh__plugin_unref(p);
    jh__redis_unref(rw); /* a reload drops the old backend */
    snprintf(sh, sizeof(sh),
             "redis-cli -h 127.0.0.1 -p %d -a %s --no-auth-warning CONFIG SET requirepass '' "
             ">/dev/null", port, pw);
    is_int(system(sh), 0, "requirepass cleared");
    is_int(wire_copies(pw), 0, "no AUTH command with the old password left in memory");
}

/* The redis-server's pid (t/lib/redis.sh's pidfile), or -1. */
static pid_t server_pid(void)
{
    const char *dir = getenv("JH_REDIS_DIR");
    char path[512];
    long pid = -1;
    FILE *f;

    if (dir == NULL || dir[0] == '\0')
        return -1;
    snprintf(path, sizeof(path), "%s/redis.pid", dir);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    if (fscanf(f, "%ld", &pid) != 1)
        pid = -1;
    fclose(f);
    return (pid_t)pid;
}

/* Poll until raw EXISTS key is 1 (the stalled SET NX applied). */
static int wait_exists(const char *key, int tenths)
{
    for (int i = 0; i < tenths; i++) {
        if (raw_int("EXISTS", key) == 1)
            return 0;
        sleep_ms(100);
    }
    return -1;
}

/* A stalled server (SIGSTOP) applies on SIGCONT the SET NX of an acquire
 * that timed out meanwhile: the next operation deletes it (issue 9.19). */
static void t_stall(void)
{
    jh__conf_redis conf = {.name = "short", .host = "127.0.0.1", .port = port,
                           .prefix = "t:", .timeout = 300 * MS};
    struct jh_ctx a, b;
    jh_ctx *ca = (jh_ctx *)&a, *cb = (jh_ctx *)&b;
    jh__services s = {0};
    jh__plugin *p;
    jh__redis *rs;
    jh_err e = {0};
    pid_t pid = server_pid();

    if (pid <= 0) {
        skip("no redis-server pid (JH_REDIS_DIR)");
        return;
    }
    if (jh__redis_new(&conf, &rs, &e) < 0)
        bail("jh__redis_new: %s", e.msg);
    p = open_plugin(&s, rs, JH_SVC_REDIS);
    begin(&a, p, INT64_MAX);
    CMD(ca, "PING");
    kill(pid, SIGSTOP);
    is_int(jh_lock_acquire(ca, "stall", 60000), -ETIMEDOUT, "acquire on a stopped server: -ETIMEDOUT");
    jh__ctx_finish(&a);
    kill(pid, SIGCONT);
    ok(wait_exists("t:lock:stall", 30) == 0, "on resume the server applied the stale SET NX");
    begin(&b, p, INT64_MAX);
    is_int(jh_status_get(cb, "stall", NULL, 0), -ENOENT, "the next operation works");
    is_int(raw_int("EXISTS", "t:lock:stall"), 0, "and no lock remains after the resume");
    is_int(jh_lock_acquire(cb, "stall", 1000), 0, "so another run takes it");
    is_int(jh_lock_release(cb, "stall"), 0, "  (and releases it)");
    jh__ctx_finish(&b);

    /* The run that timed out tries again: a new token, not deleted. */
    begin(&a, p, INT64_MAX);
    CMD(ca, "PING");
    kill(pid, SIGSTOP);
    is_int(jh_lock_acquire(ca, "stall2", 60000), -ETIMEDOUT, "stopped again: -ETIMEDOUT");
    kill(pid, SIGCONT);
    wait_exists("t:lock:stall2", 30);
    is_int(jh_lock_acquire(ca, "stall2", 60000), 0, "after the resume the same run takes it");
    begin(&b, p, INT64_MAX);
    is_int(jh_lock_acquire(cb, "stall2", 1000), -EBUSY, "it holds it: another run is refused");
    jh__ctx_finish(&b);
    is_int(jh_lock_release(ca, "stall2"), 0, "and it releases it");
    is_int(raw_int("EXISTS", "t:lock:stall2"), 0, "nothing left");
    jh__ctx_finish(&a);
    jh__plugin_unref(p);
    jh__redis_unref(rs);
}

static void t_threads(void)
{
    pthread_t th[THREADS];
    struct jh_ctx c;
    jh_ctx *cx = (jh_ctx *)&c;
    jh_redis_reply *r;
    long clients, base;

    /* Other backends keep pooled connections too: count from here. */
    begin(&c, plug, INT64_MAX);
    CMD(cx, "DEL", "t:counter");
    base = connected_clients(cx);
    jh__ctx_finish(&c);
    for (long i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, worker, (void *)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    begin(&c, plug, INT64_MAX);
    r = CMD(cx, "GET", "t:counter");
    ok(r != NULL && r->type == JH_REDIS_STRING && atoi(r->str) == THREADS * THREAD_RUNS,
       "%d threads x %d runs: every INCR counted (%s)", THREADS, THREAD_RUNS,
       r ? r->str : "-");
    is_int(atomic_load(&thread_errors), 0, "no failed call in any thread");
    is_int(atomic_load(&overlaps), 0, "the shared lock was never held twice at once");
    ok(atomic_load(&shared_wins) > 0, "the shared lock was taken (%d times)",
       atomic_load(&shared_wins));
    clients = connected_clients(cx);
    ok(clients >= base && clients <= base + THREADS - 1,
       "at most one connection per thread (%ld, %ld before)", clients, base);
    jh__ctx_finish(&c);
}

int main(int argc, char **argv)
{
    const char *p = getenv("JH_TEST_REDIS_PORT");
    const char *sock = getenv("JH_TEST_REDIS_SOCK");
    int devnull;
    jh__redis *rs = NULL, *ra;

    if (p == NULL || (port = atoi(p)) <= 0) {
        if (argc > 1)
            return 2;
        skip_all("JH_TEST_REDIS_PORT not set (run t/service/redis.sh)");
    }
    devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    jh__log_new(devnull, 0, JH_LOG_INFO, &env.log);
    jh__store_new(NULL, NULL, &env.store);
    env.repo = jh__full_repo();
    R = new_backend("cache", NULL, 0, NULL, "t:");
    plug = open_plugin(&svc, R, JH_SVC_REDIS);

    if (argc > 1 && strcmp(argv[1], "lock-race") == 0) {
        int rc = lock_race(argc, argv);
        jh__plugin_unref(plug);
        jh__redis_unref(R);
        jh__store_free(env.store);
        jh__log_free(env.log);
        close(devnull);
        return rc;
    }

    plan_lazy();
    plug_undeclared = open_plugin(&svc_undeclared, R, 0);
    plug_unbound = open_plugin(&svc_unbound, NULL, JH_SVC_REDIS);
    rs = new_backend("sock", sock, 3, NULL, "s:");
    plug_sock = open_plugin(&svc_sock, rs, JH_SVC_REDIS);
    ra = new_backend("auth", NULL, 0, "s3cr3t-pw", "t:");
    plug_auth = open_plugin(&svc_auth, ra, JH_SVC_REDIS);

    t_table();
    t_roundtrip();
    t_misuse();
    t_lock();
    t_status_idem();
    t_prefix();
    t_deadline();
    t_ops_clean_conn();
    t_lost_txn();
    t_release_at_end();
    t_connections();
    t_socket_db_auth();
    t_stall();
    t_auth_wipe();
    t_threads();

    jh__plugin_unref(plug_auth);
    jh__plugin_unref(plug_sock);
    jh__plugin_unref(plug_unbound);
    jh__plugin_unref(plug_undeclared);
    jh__plugin_unref(plug);
    jh__redis_unref(ra);
    jh__redis_unref(rs);
    jh__redis_unref(R);
    jh__store_free(env.store);
    jh__log_free(env.log);
    close(devnull);
    return done_testing();
}
