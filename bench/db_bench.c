/*
 * db_bench - the SQL service's cost against a real MariaDB, through the
 * public wrappers on real contexts (what a plugin pays).
 *
 *   bench/db_bench PLUGIN.so [SECONDS]      (bench/db_bench.sh runs it)
 *
 * Needs JH_TEST_MYSQL_{PORT,SOCKET,USER,PASSWORD,DB} (t/lib/mariadb.sh).
 * Over TCP 127.0.0.1 and over the unix socket, it measures:
 *   point    a prepared SELECT by primary key, executed again and again
 *            in one run (bind, execute, fetch, get): round trips/s
 *   prep     the same with prepare + execute + close every time
 *   run      one whole run per read: first call takes a pooled
 *            connection, run end resets it and gives it back
 *   keyset   10,000 rows read by keyset pagination (WHERE id > ? ORDER BY
 *            id LIMIT 1000): queries/s, rows/s, ms per 10,000 rows
 * Each figure is the count over SECONDS (default 2) of wall time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "runtime/ctx.h"
#include "repo/backends.h"
#include "repo/db.h"
#include "plugin/plugin.h"

#define NROWS 10000
#define PAGE 1000

static jh__host_env env;
static jh__plugin *plugin;
static double seconds = 2.0;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run_start(struct jh_ctx *c)
{
    static uint64_t seq;
    jh__ctx_init(c, &env, jh__plugin_ctx(plugin), "bench", "run", ++seq, jh__ctx_now(NULL),
                 INT64_MAX, NULL);
}

static void die(jh_ctx *c, const char *what)
{
    fprintf(stderr, "db_bench: %s: %s\n", what, jh_last_error(c));
    exit(1);
}

static void exec_sql(jh_ctx *c, const char *q)
{
    jh_stmt *st;
    if (jh_db_prepare(c, q, &st) != 0 || jh_stmt_execute(st) != 0)
        die(c, q);
    jh_stmt_close(st);
}

static void setup(void)
{
    struct jh_ctx cs;
    jh_ctx *c = (jh_ctx *)&cs;
    jh_stmt *ins;
    char v[64];
    double t0;

    run_start(&cs);
    exec_sql(c, "DROP TABLE IF EXISTS bench");
    exec_sql(c, "CREATE TABLE bench (id BIGINT PRIMARY KEY, v VARCHAR(64) NOT NULL, "
                "n BIGINT NOT NULL) ENGINE=InnoDB");
    t0 = now_s();
    if (jh_db_begin(c) != 0 || jh_db_prepare(c, "INSERT INTO bench VALUES (?, ?, ?)", &ins) != 0)
        die(c, "insert");
    for (int i = 1; i <= NROWS; i++) {
        int n = snprintf(v, sizeof(v), "row-%08d", i);
        jh_stmt_bind_i64(ins, 0, i);
        jh_stmt_bind_str(ins, 1, v, (size_t)n);
        jh_stmt_bind_i64(ins, 2, (int64_t)i * 7);
        if (jh_stmt_execute(ins) != 0)
            die(c, "insert");
    }
    if (jh_db_commit(c) != 0)
        die(c, "commit");
    printf("  setup     %d single-row INSERTs in one transaction: %.0f rows/s\n", NROWS,
           NROWS / (now_s() - t0));
    jh__ctx_finish(&cs);
}

/* One point read on a prepared statement; returns the row's n. */
static int64_t point(jh_ctx *c, jh_stmt *st, int64_t id)
{
    int64_t n = -1;
    const char *v;
    size_t len;

    if (jh_stmt_bind_i64(st, 0, id) != 0 || jh_stmt_execute(st) != 0 || jh_stmt_fetch(st) != 1 ||
        jh_stmt_get_str(st, 0, &v, &len) != 0 || jh_stmt_get_i64(st, 1, &n) != 0)
        die(c, "point read");
    return n;
}

#define POINT_SQL "SELECT v, n FROM bench WHERE id = ?"

static void bench_point(void)
{
    struct jh_ctx cs;
    jh_ctx *c = (jh_ctx *)&cs;
    jh_stmt *st;
    unsigned long long k = 0;
    uint64_t rnd = 88172645463325252ULL;
    double t0, el;

    run_start(&cs);
    if (jh_db_prepare(c, POINT_SQL, &st) != 0)
        die(c, "prepare");
    t0 = now_s();
    do {
        for (int j = 0; j < 100; j++, k++) {
            rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
            int64_t id = (int64_t)(rnd % NROWS) + 1;
            if (point(c, st, id) != id * 7)
                die(c, "wrong row");
        }
        el = now_s() - t0;
    } while (el < seconds);
    printf("  point     prepared once, SELECT by PK: %8.0f round trips/s  (%.1f us each, %llu)\n",
           (double)k / el, el * 1e6 / (double)k, k);
    jh__ctx_finish(&cs);
}

static void bench_prep(void)
{
    struct jh_ctx cs;
    jh_ctx *c = (jh_ctx *)&cs;
    unsigned long long k = 0;
    double t0, el;

    run_start(&cs);
    t0 = now_s();
    do {
        for (int j = 0; j < 100; j++, k++) {
            jh_stmt *st;
            if (jh_db_prepare(c, POINT_SQL, &st) != 0)
                die(c, "prepare");
            point(c, st, (int64_t)(k % NROWS) + 1);
            jh_stmt_close(st);
        }
        el = now_s() - t0;
    } while (el < seconds);
    printf("  prep      prepare+execute+close each:  %8.0f reads/s        (%.1f us each)\n",
           (double)k / el, el * 1e6 / (double)k);
    jh__ctx_finish(&cs);
}

static void bench_run(void)
{
    unsigned long long k = 0;
    double t0, el;

    t0 = now_s();
    do {
        for (int j = 0; j < 50; j++, k++) {
            struct jh_ctx cs;
            jh_ctx *c = (jh_ctx *)&cs;
            jh_stmt *st;
            run_start(&cs);
            if (jh_db_prepare(c, POINT_SQL, &st) != 0)
                die(c, "prepare");
            point(c, st, (int64_t)(k % NROWS) + 1);
            jh__ctx_finish(&cs);
        }
        el = now_s() - t0;
    } while (el < seconds);
    printf("  run       one run per read (pool+reset): %6.0f runs/s         (%.1f us each)\n",
           (double)k / el, el * 1e6 / (double)k);
}

static void bench_keyset(void)
{
    struct jh_ctx cs;
    jh_ctx *c = (jh_ctx *)&cs;
    jh_stmt *st;
    unsigned long long queries = 0, rows = 0, passes = 0;
    double t0, el;

    run_start(&cs);
    if (jh_db_prepare(c, "SELECT id, v, n FROM bench WHERE id > ? ORDER BY id LIMIT 1000",
                      &st) != 0)
        die(c, "prepare");
    t0 = now_s();
    do {
        int64_t last = 0;
        unsigned long long got = 0;
        for (;;) {
            int n = 0, r;
            jh_stmt_bind_i64(st, 0, last);
            if (jh_stmt_execute(st) != 0)
                die(c, "keyset");
            queries++;
            while ((r = jh_stmt_fetch(st)) == 1) {
                const char *v;
                size_t len;
                int64_t nn;
                if (jh_stmt_get_i64(st, 0, &last) != 0 || jh_stmt_get_str(st, 1, &v, &len) != 0 ||
                    jh_stmt_get_i64(st, 2, &nn) != 0)
                    die(c, "keyset get");
                n++;
            }
            if (r < 0)
                die(c, "keyset fetch");
            got += (unsigned long long)n;
            if (n < PAGE)
                break;
        }
        if (got != NROWS) {
            fprintf(stderr, "db_bench: keyset read %llu rows, not %d\n", got, NROWS);
            exit(1);
        }
        rows += got;
        passes++;
        el = now_s() - t0;
    } while (el < seconds);
    printf("  keyset    10,000 rows by LIMIT 1000 pages: %6.0f queries/s, %.0f rows/s, "
           "%.2f ms per 10,000 rows (%llu passes)\n",
           (double)queries / el, (double)rows / el, el * 1e3 / (double)passes, passes);
    jh__ctx_finish(&cs);
}

int main(int argc, char **argv)
{
    const char *port = getenv("JH_TEST_MYSQL_PORT"), *sock = getenv("JH_TEST_MYSQL_SOCKET");
    jh__conf_mysql conf = {0};
    jh__services svc = {0};
    jh_err e = {0};
    jh__db *db;

    if (argc < 2 || port == NULL || sock == NULL) {
        fprintf(stderr, "usage: JH_TEST_MYSQL_*=... db_bench PLUGIN.so [SECONDS] "
                        "(see bench/db_bench.sh)\n");
        return 2;
    }
    if (argc > 2)
        seconds = atof(argv[2]);
    env.repo = jh__full_repo();
    if (jh__plugin_open(argv[1], &plugin, &e) != 0) {
        fprintf(stderr, "db_bench: %s\n", e.msg);
        return 1;
    }
    conf.user = getenv("JH_TEST_MYSQL_USER");
    conf.password = getenv("JH_TEST_MYSQL_PASSWORD");
    conf.database = getenv("JH_TEST_MYSQL_DB");
    for (int pass = 0; pass < 2; pass++) {
        conf.name = pass == 0 ? "tcp" : "unix";
        conf.host = "127.0.0.1";
        conf.port = atoi(port);
        conf.socket = pass == 0 ? NULL : sock;
        if (jh__db_new(&conf, &db, &e) != 0) {
            fprintf(stderr, "db_bench: %s\n", e.msg);
            return 1;
        }
        svc.db = db;
        svc.declared = JH_SVC_DB;
        jh__plugin_set_services(plugin, &svc, NULL);
        printf("%s (%s):\n", pass == 0 ? "TCP 127.0.0.1" : "unix socket",
               pass == 0 ? port : sock);
        if (pass == 0)
            setup();
        bench_point();
        bench_prep();
        bench_run();
        bench_keyset();
        jh__db_unref(db);
    }
    jh__plugin_unref(plugin);
    return 0;
}
