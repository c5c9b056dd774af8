/*
 * db.t - the SQL service (host/db.c) against a real MariaDB, through the
 * public wrappers of jobhost.h on real contexts of a real test plugin
 * (t/plugins/db_p.so): every bind type both ways, rows, NULLs, getter
 * errors, unbound parameters, injection attempts staying data, affected
 * rows and insert ids, transactions (and one a run leaves open),
 * statements a run leaves open, connection reuse across runs and across
 * worker threads, the service checks (-ENOSYS), deadlines before and
 * during a query, cancellation, and the server killed and restarted.
 *
 * Run by t/service/db.sh, which starts the server (t/lib/mariadb.sh) and exports
 * JH_TEST_MYSQL_*; t/lib/db_ctl.sh lets this program kill and restart it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "runtime/ctx.h"
#include "repo/backends.h"
#include "repo/db.h"
#include "plugin/plugin.h"
#include "lib/tap.h"

#define MS 1000000LL

static jh__host_env env;
static jh__db *db;
static jh__plugin *p_db, *p_none, *p_unbound;
static jh__services s_db, s_none, s_unbound;
static atomic_ullong run_seq; /* runs start on several threads */
static char logpath[256];
static const char *password;

static int64_t now_ns(void)
{
    return jh__ctx_now(NULL);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t next_run_id(void)
{
    return (uint64_t)atomic_fetch_add(&run_seq, 1) + 1;
}

static void run_start(struct jh_ctx *c, jh__plugin *p, int64_t deadline)
{
    jh__ctx_init(c, &env, jh__plugin_ctx(p), "dbtest", "run", next_run_id(), now_ns(), deadline,
                 NULL);
}

/* Execute one statement with no parameters and no rows wanted. */
static int sql(jh_ctx *c, const char *q)
{
    jh_stmt *st;
    int rc = jh_db_prepare(c, q, &st);

    if (rc == 0) {
        rc = jh_stmt_execute(st);
        jh_stmt_close(st);
    }
    if (rc != 0)
        diag("%s: %d %s", q, rc, jh_last_error(c));
    return rc;
}

/* The first column of the first row as an integer; LLONG_MIN on error. */
static long long sql_int(jh_ctx *c, const char *q)
{
    jh_stmt *st;
    int64_t v = INT64_MIN;

    if (jh_db_prepare(c, q, &st) != 0) {
        diag("%s: %s", q, jh_last_error(c));
        return INT64_MIN;
    }
    if (jh_stmt_execute(st) != 0 || jh_stmt_fetch(st) != 1 || jh_stmt_get_i64(st, 0, &v) != 0)
        diag("%s: %s", q, jh_last_error(c));
    jh_stmt_close(st);
    return v;
}

/* One whole run doing sql_int. */
static long long run_int(const char *q)
{
    struct jh_ctx c;
    long long v;

    run_start(&c, p_db, INT64_MAX);
    v = sql_int((jh_ctx *)&c, q);
    jh__ctx_finish(&c);
    return v;
}

static int ctl(const char *cmd)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), "sh '%s' %s", tap_src("t/lib/db_ctl.sh"), cmd);
    return system(buf);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    static char buf[65536];
    size_t n = 0;

    buf[0] = '\0';
    if (f != NULL) {
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
    }
    buf[n] = '\0';
    return buf;
}

static jh__plugin *open_plugin(const char *so, jh__services *s, jh__db *backend)
{
    jh__plugin *p;
    jh_err e = {0};

    if (jh__plugin_open(tap_build(so), &p, &e) < 0)
        bail("open %s: %s", so, e.msg);
    s->db = backend;
    s->declared = jh__plugin_desc_of(p)->requires;
    jh__plugin_set_services(p, s, NULL);
    return p;
}

/* ---- sections ---------------------------------------------------------- */

static void t_types(void)
{
    struct jh_ctx cs;
    jh_ctx *c = (jh_ctx *)&cs;
    jh_stmt *ins, *sel;
    static const char s1[] = "a\0b \xF0\x9F\x98\x80 z"; /* NUL and an emoji */
    unsigned char blob[256];
    const char *sv;
    size_t len;
    int64_t i64;
    uint64_t u64;
    double d;
    char *big;
    const size_t bigsz = 3u << 20;
    char scratch[32];

    for (int i = 0; i < 256; i++)
        blob[i] = (unsigned char)i;
    big = malloc(bigsz);
    for (size_t i = 0; i < bigsz; i++)
        big[i] = (char)('a' + i % 26);

    run_start(&cs, p_db, INT64_MAX);
    ok(sql(c, "DROP TABLE IF EXISTS t") == 0, "drop t");
    ok(sql(c, "CREATE TABLE t (id BIGINT PRIMARY KEY AUTO_INCREMENT, i BIGINT, "
              "u BIGINT UNSIGNED, d DOUBLE, s VARCHAR(255) CHARACTER SET utf8mb4, "
              "b LONGBLOB, n INT NULL) ENGINE=InnoDB") == 0,
       "create t");

    is_int(jh_db_prepare(c, "INSERT INTO t (i, u, d, s, b, n) VALUES (?, ?, ?, ?, ?, ?)", &ins),
           0, "prepare insert");
    is_int(jh_stmt_bind_i64(ins, 0, INT64_MIN), 0, "bind_i64 INT64_MIN");
    is_int(jh_stmt_bind_u64(ins, 1, UINT64_MAX), 0, "bind_u64 UINT64_MAX");
    is_int(jh_stmt_bind_double(ins, 2, 3.141592653589793), 0, "bind_double");
    /* The caller's buffer is scribbled over before execute: copied. */
    memcpy(scratch, s1, sizeof(s1) - 1);
    is_int(jh_stmt_bind_str(ins, 3, scratch, sizeof(s1) - 1), 0, "bind_str with a NUL");
    memset(scratch, 'X', sizeof(scratch));
    is_int(jh_stmt_bind_blob(ins, 4, blob, sizeof(blob)), 0, "bind_blob 0..255");
    is_int(jh_stmt_bind_null(ins, 5), 0, "bind_null");
    is_int(jh_stmt_execute(ins), 0, "insert row 1");
    is_int(jh_stmt_affected_rows(ins), 1, "affected_rows 1");
    is_int((long long)jh_stmt_insert_id(ins), 1, "insert_id 1");

    jh_stmt_bind_i64(ins, 0, INT64_MAX);
    jh_stmt_bind_u64(ins, 1, 0);
    jh_stmt_bind_double(ins, 2, -1e-300);
    jh_stmt_bind_str(ins, 3, "", 0);
    jh_stmt_bind_blob(ins, 4, big, bigsz);
    jh_stmt_bind_i64(ins, 5, 7);
    is_int(jh_stmt_execute(ins), 0, "insert row 2 (3 MiB blob, empty string)");
    is_int((long long)jh_stmt_insert_id(ins), 2, "insert_id 2");
    jh_stmt_close(ins);

    is_int(jh_db_prepare(c, "SELECT id, i, u, d, s, b, n FROM t ORDER BY id", &sel), 0,
           "prepare select");
    is_int(jh_stmt_column_count(sel), 7, "column_count 7");
    is_int(jh_stmt_fetch(sel), -EINVAL, "fetch before execute: -EINVAL");
    like(jh_last_error(c), "no result set", "  says why");
    is_int(jh_stmt_execute(sel), 0, "execute select");
    is_int(jh_stmt_get_i64(sel, 1, &i64), -EINVAL, "getter before fetch: -EINVAL");
    is_int(jh_stmt_fetch(sel), 1, "row 1");
    ok(jh_stmt_get_i64(sel, 1, &i64) == 0 && i64 == INT64_MIN, "i64 min round trip");
    ok(jh_stmt_get_u64(sel, 2, &u64) == 0 && u64 == UINT64_MAX, "u64 max round trip");
    is_int(jh_stmt_get_i64(sel, 2, &i64), -ERANGE, "get_i64 of UINT64_MAX: -ERANGE");
    like(jh_last_error(c), "18446744073709551615 does not fit", "  names the value");
    is_int(jh_stmt_get_u64(sel, 1, &u64), -ERANGE, "get_u64 of a negative: -ERANGE");
    ok(jh_stmt_get_double(sel, 3, &d) == 0 && d == 3.141592653589793, "double round trip");
    ok(jh_stmt_get_str(sel, 4, &sv, &len) == 0 && len == sizeof(s1) - 1 &&
           memcmp(sv, s1, len) == 0 && sv[len] == '\0',
       "string with NUL and emoji round trip, NUL-terminated");
    ok(jh_stmt_get_str(sel, 5, &sv, &len) == 0 && len == 256 && memcmp(sv, blob, 256) == 0,
       "blob of all byte values round trip");
    is_int(jh_stmt_is_null(sel, 6), 1, "NULL column: is_null 1");
    is_int(jh_stmt_is_null(sel, 1), 0, "non-NULL column: is_null 0");
    is_int(jh_stmt_get_i64(sel, 6, &i64), -ENODATA, "get_i64 of NULL: -ENODATA");
    like(jh_last_error(c), "column 6 (n) is NULL", "  names the column");
    is_int(jh_stmt_get_str(sel, 6, &sv, &len), -ENODATA, "get_str of NULL: -ENODATA");
    is_int(jh_stmt_get_i64(sel, 4, &i64), -EINVAL, "get_i64 of a VARCHAR: -EINVAL");
    like(jh_last_error(c), "column 4 (s) is VARCHAR, not an integer column",
         "  names the column and both types");
    is_int(jh_stmt_get_double(sel, 1, &d), -EINVAL, "get_double of a BIGINT: -EINVAL");
    like(jh_last_error(c), "column 1 (i) is BIGINT", "  names the type");
    is_int(jh_stmt_get_i64(sel, 3, &i64), -EINVAL, "get_i64 of a DOUBLE: -EINVAL");
    ok(jh_stmt_get_str(sel, 1, &sv, &len) == 0 && strcmp(sv, "-9223372036854775808") == 0 &&
           len == 20, "get_str of a BIGINT: its text");
    ok(jh_stmt_get_str(sel, 3, &sv, &len) == 0 && strcmp(sv, "3.141592653589793") == 0,
       "get_str of a DOUBLE: its text");
    ok(jh_stmt_get_str(sel, 2, &sv, &len) == 0 && strcmp(sv, "18446744073709551615") == 0,
       "get_str of an unsigned BIGINT");
    is_int(jh_stmt_get_i64(sel, 7, &i64), -EINVAL, "column 7 of 7: -EINVAL");
    like(jh_last_error(c), "column 7 out of range (the result has 7)", "  says the range");
    is_int(jh_stmt_is_null(sel, 99), -EINVAL, "is_null out of range: -EINVAL");
    is_int(jh_stmt_get_i64(sel, 1, NULL), -EINVAL, "NULL output pointer: -EINVAL");

    is_int(jh_stmt_fetch(sel), 1, "row 2");
    ok(jh_stmt_get_i64(sel, 1, &i64) == 0 && i64 == INT64_MAX, "i64 max round trip");
    ok(jh_stmt_get_u64(sel, 1, &u64) == 0 && u64 == (uint64_t)INT64_MAX, "get_u64 of i64 max");
    ok(jh_stmt_get_u64(sel, 2, &u64) == 0 && u64 == 0, "u64 0");
    ok(jh_stmt_get_double(sel, 3, &d) == 0 && d == -1e-300, "tiny negative double");
    ok(jh_stmt_get_str(sel, 4, &sv, &len) == 0 && len == 0 && sv[0] == '\0', "empty string");
    ok(jh_stmt_get_str(sel, 5, &sv, &len) == 0 && len == bigsz && memcmp(sv, big, bigsz) == 0,
       "3 MiB blob read back whole (buffer grown on truncation)");
    ok(jh_stmt_get_i64(sel, 6, &i64) == 0 && i64 == 7, "INT 7");
    is_int(jh_stmt_fetch(sel), 0, "then no more rows");
    is_int(jh_stmt_fetch(sel), 0, "and fetch stays at 0");
    is_int(jh_stmt_get_i64(sel, 1, &i64), -EINVAL, "getter after the last row: -EINVAL");

    /* Execute again: the result starts over. */
    is_int(jh_stmt_execute(sel), 0, "re-execute");
    int n = 0;
    while (jh_stmt_fetch(sel) == 1)
        n++;
    is_int(n, 2, "two rows again");
    jh_stmt_close(sel);

    is_int(jh_db_prepare(c, "SELECT CAST(12.50 AS DECIMAL(10,2)), CAST(1.5 AS FLOAT), "
                            "NOW(), 'x' IS NULL", &sel), 0, "prepare decimal/float/datetime");
    ok(jh_stmt_execute(sel) == 0 && jh_stmt_fetch(sel) == 1, "fetch it");
    ok(jh_stmt_get_double(sel, 0, &d) == 0 && d == 12.5, "DECIMAL via get_double");
    ok(jh_stmt_get_str(sel, 0, &sv, &len) == 0 && strcmp(sv, "12.50") == 0, "DECIMAL as text");
    is_int(jh_stmt_get_i64(sel, 0, &i64), -EINVAL, "DECIMAL via get_i64: -EINVAL");
    ok(jh_stmt_get_double(sel, 1, &d) == 0 && d == 1.5, "FLOAT via get_double");
    ok(jh_stmt_get_str(sel, 2, &sv, &len) == 0 && len == 19 && sv[4] == '-',
       "DATETIME as text (%s)", sv ? sv : "");
    ok(jh_stmt_get_i64(sel, 3, &i64) == 0 && i64 == 0, "boolean expression as integer");
    jh_stmt_close(sel);

    /* Parameters: unbound, out of range. */
    is_int(jh_db_prepare(c, "INSERT INTO t (i, s) VALUES (?, ?)", &ins), 0, "prepare 2 params");
    jh_stmt_bind_i64(ins, 0, 1);
    is_int(jh_stmt_execute(ins), -EINVAL, "parameter 1 unbound: -EINVAL");
    like(jh_last_error(c), "parameter 1 of 2 is not bound", "  names it");
    is_int(jh_stmt_bind_str(ins, 2, "x", 1), -EINVAL, "bind index 2 of 2: -EINVAL");
    like(jh_last_error(c), "parameter 2 out of range (the statement has 2)", "  says the range");
    is_int(jh_stmt_bind_str(ins, 1, NULL, 3), -EINVAL, "NULL string with a length: -EINVAL");
    jh_stmt_close(ins);
    is_int(jh_db_prepare(c, "SELEKT 1", &sel), -EINVAL, "SQL syntax error at prepare: -EINVAL");
    like(jh_last_error(c), "db main: prepare: You have an error in your SQL syntax",
         "  with the server's message");
    like(jh_last_error(c), "(1064)", "  and its errno");
    ok(sel == NULL, "  and no statement");
    is_int(jh_stmt_execute(NULL), -EINVAL, "NULL statement: -EINVAL");
    is_int(jh_db_prepare(c, NULL, &sel), -EINVAL, "NULL sql: -EINVAL");

    /* Server errors at execute. */
    ok(sql(c, "CREATE TABLE IF NOT EXISTS k (id INT PRIMARY KEY)") == 0, "create k");
    ok(sql(c, "INSERT INTO k VALUES (7)") == 0, "insert 7");
    jh_stmt *dup;
    jh_db_prepare(c, "INSERT INTO k VALUES (?)", &dup);
    jh_stmt_bind_i64(dup, 0, 7);
    is_int(jh_stmt_execute(dup), -EIO, "duplicate key: -EIO");
    like(jh_last_error(c), "db main: execute: Duplicate entry '7' for key 'PRIMARY' (1062)",
         "  message as documented");
    jh_stmt_bind_i64(dup, 0, 8);
    is_int(jh_stmt_execute(dup), 0, "the statement and connection still work");
    jh_stmt_close(dup);
    jh__ctx_finish(&cs);
    free(big);
}

static void t_injection(void)
{
    struct jh_ctx cs;
    jh_ctx *c = (jh_ctx *)&cs;
    static const char *evil[] = {
        "x'; DROP TABLE t; --",
        "' OR '1'='1",
        "\\'; DELETE FROM t; #",
        "1); DROP TABLE t; /*",
    };
    jh_stmt *ins, *sel;
    const char *sv;
    size_t len;
    long long before;

    run_start(&cs, p_db, INT64_MAX);
    before = sql_int(c, "SELECT COUNT(*) FROM t");
    jh_db_prepare(c, "INSERT INTO t (s) VALUES (?)", &ins);
    jh_db_prepare(c, "SELECT s, COUNT(*) FROM t WHERE s = ? GROUP BY s", &sel);
    for (size_t i = 0; i < JH_COUNTOF(evil); i++) {
        int64_t n = 0;
        jh_stmt_bind_str(ins, 0, evil[i], strlen(evil[i]));
        is_int(jh_stmt_execute(ins), 0, "insert %s", evil[i]);
        jh_stmt_bind_str(sel, 0, evil[i], strlen(evil[i]));
        ok(jh_stmt_execute(sel) == 0 && jh_stmt_fetch(sel) == 1 &&
               jh_stmt_get_str(sel, 0, &sv, &len) == 0 && len == strlen(evil[i]) &&
               memcmp(sv, evil[i], len) == 0 && jh_stmt_get_i64(sel, 1, &n) == 0 && n == 1,
           "  read back verbatim, matched as one value");
    }
    jh_stmt_close(ins);
    jh_stmt_close(sel);
    is_int(sql_int(c, "SELECT COUNT(*) FROM t"), before + (long long)JH_COUNTOF(evil),
           "table t still there with every row");
    jh__ctx_finish(&cs);
}

static void t_affected_txn(void)
{
    struct jh_ctx cs;
    jh_ctx *c = (jh_ctx *)&cs;
    jh_stmt *st;
    long long rows;

    run_start(&cs, p_db, INT64_MAX);
    rows = sql_int(c, "SELECT COUNT(*) FROM t");
    jh_db_prepare(c, "UPDATE t SET n = 1", &st);
    ok(jh_stmt_execute(st) == 0 && jh_stmt_affected_rows(st) == rows,
       "UPDATE all: affected_rows = %lld", rows);
    ok(jh_stmt_execute(st) == 0 && jh_stmt_affected_rows(st) == 0,
       "same UPDATE again: 0 rows changed");
    jh_stmt_close(st);
    jh_db_prepare(c, "DELETE FROM t WHERE id = ?", &st);
    jh_stmt_bind_i64(st, 0, 999999);
    ok(jh_stmt_execute(st) == 0 && jh_stmt_affected_rows(st) == 0, "DELETE of nothing: 0");
    jh_stmt_close(st);

    is_int(jh_db_commit(c), -EINVAL, "commit without begin: -EINVAL");
    like(jh_last_error(c), "no transaction is open", "  says so");
    is_int(jh_db_rollback(c), 0, "rollback without begin: no-op");
    is_int(jh_db_begin(c), 0, "begin");
    is_int(jh_db_begin(c), -EINVAL, "begin twice: -EINVAL");
    ok(sql(c, "INSERT INTO t (s) VALUES ('rolled-back')") == 0, "insert in txn");
    is_int(sql_int(c, "SELECT COUNT(*) FROM t WHERE s = 'rolled-back'"), 1, "visible inside");
    is_int(jh_db_rollback(c), 0, "rollback");
    is_int(sql_int(c, "SELECT COUNT(*) FROM t WHERE s = 'rolled-back'"), 0, "gone");
    is_int(jh_db_begin(c), 0, "begin again");
    ok(sql(c, "INSERT INTO t (s) VALUES ('committed')") == 0, "insert in txn");
    is_int(jh_db_commit(c), 0, "commit");
    jh__ctx_finish(&cs);
    is_int(run_int("SELECT COUNT(*) FROM t WHERE s = 'committed'"), 1,
           "committed row seen by the next run");

    /* A run that leaves its transaction open. */
    long logsz_before = (long)strlen(slurp(logpath));
    run_start(&cs, p_db, INT64_MAX);
    is_int(jh_db_begin(c), 0, "begin, and the handler forgets to end it");
    ok(sql(c, "INSERT INTO t (s) VALUES ('left-open')") == 0, "insert");
    jh__ctx_finish(&cs);
    like(cs.lasterr, "the run left a transaction open: rolled back", "run end records it");
    const char *log = slurp(logpath) + logsz_before;
    like(log, "level=warn event=db.rollback db=main job=dbtest plugin=db_p", "and logs a warning");
    is_int(run_int("SELECT COUNT(*) FROM t WHERE s = 'left-open'"), 0,
           "its insert was rolled back");
}

static void t_leftovers_reuse(void)
{
    struct jh_ctx cs;
    jh_ctx *c = (jh_ctx *)&cs;
    jh_stmt *a, *b, *d;
    long long base, id1, id2;

    base = run_int("SELECT CAST(VARIABLE_VALUE AS SIGNED) FROM information_schema.GLOBAL_STATUS "
                   "WHERE VARIABLE_NAME = 'PREPARED_STMT_COUNT'");
    ok(base >= 0, "server's prepared statement count: %lld", base);
    run_start(&cs, p_db, INT64_MAX);
    id1 = sql_int(c, "SELECT CONNECTION_ID()");
    jh_db_prepare(c, "SELECT id, s FROM t", &a);
    jh_stmt_execute(a);
    jh_stmt_fetch(a);
    jh_db_prepare(c, "SELECT 1", &b);
    jh_db_prepare(c, "SELECT ?", &d);
    jh_stmt_bind_str(d, 0, "leak me", 7);
    ok(a != NULL && b != NULL && d != NULL, "three statements left open (one mid-result)");
    jh__ctx_finish(&cs);
    ok(jh__ctx_run_state(&cs, JH_RUN_SLOT_DB) == NULL, "run end frees the run's state");
    is_int(run_int("SELECT CAST(VARIABLE_VALUE AS SIGNED) FROM information_schema.GLOBAL_STATUS "
                   "WHERE VARIABLE_NAME = 'PREPARED_STMT_COUNT'"), base,
           "the server holds no more prepared statements than before");

    run_start(&cs, p_db, INT64_MAX);
    ok(sql(c, "SET @jh__leak = 5") == 0, "a run sets a session variable");
    id2 = sql_int(c, "SELECT CONNECTION_ID()");
    jh__ctx_finish(&cs);
    is_int(id2, id1, "the next run reuses the connection (same CONNECTION_ID)");
    run_start(&cs, p_db, INT64_MAX);
    is_int(sql_int(c, "SELECT CONNECTION_ID()"), id1, "and the next");
    is_int(sql_int(c, "SELECT @jh__leak IS NULL"), 1, "session state does not leak between runs");
    jh__ctx_finish(&cs);

    /* The plugin's own handler, through the wrappers compiled into it. */
    const jh_handler *h = jh__plugin_handler(p_db, "ping");
    run_start(&cs, p_db, INT64_MAX);
    is_int(h->fn(c), 0, "plugin handler ping: SELECT ? + 1 reads 42");
    jh__ctx_finish(&cs);
}

static void t_services(void)
{
    struct jh_ctx cs;
    jh_ctx *c = (jh_ctx *)&cs;
    jh_stmt *st = (jh_stmt *)&st;

    run_start(&cs, p_none, INT64_MAX);
    is_int(jh_db_prepare(c, "SELECT 1", &st), -ENOSYS, "undeclared service: prepare -ENOSYS");
    like(jh_last_error(c), "plugin db_none does not declare the db service", "  says so");
    is_int(jh_db_begin(c), -ENOSYS, "begin -ENOSYS");
    is_int(jh_db_commit(c), -ENOSYS, "commit -ENOSYS");
    is_int(jh_db_rollback(c), -ENOSYS, "rollback -ENOSYS");
    const jh_handler *h = jh__plugin_handler(p_none, "ping");
    is_int(h->fn(c), -ENOSYS, "the plugin's handler gets -ENOSYS");
    like(cs.errmsg, "does not declare the db service", "  and its jh_fail shows the reason");
    ok(jh__ctx_run_state(&cs, JH_RUN_SLOT_DB) == NULL, "no run state made");
    jh__ctx_finish(&cs);

    run_start(&cs, p_unbound, INT64_MAX);
    is_int(jh_db_prepare(c, "SELECT 1", &st), -ENOSYS, "declared but not bound: -ENOSYS");
    like(jh_last_error(c), "no db backend bound (set mysql = NAME", "  says what to set");
    jh__ctx_finish(&cs);
}

static void *cancel_later(void *arg)
{
    struct timespec ts = {0, 200 * MS};
    nanosleep(&ts, NULL);
    atomic_store((atomic_int *)arg, 1);
    return NULL;
}

static void t_deadline(void)
{
    struct jh_ctx cs;
    jh_ctx *c = (jh_ctx *)&cs;
    jh_stmt *st = NULL;
    int64_t t0;
    long long cid;

    run_start(&cs, p_db, now_ns() - 1);
    is_int(jh_db_prepare(c, "SELECT 1", &st), -ETIMEDOUT, "deadline passed: prepare -ETIMEDOUT");
    like(jh_last_error(c), "db main: prepare: the run's deadline has passed", "  says so");
    ok(jh__ctx_run_state(&cs, JH_RUN_SLOT_DB) == NULL,
       "  before taking a connection (no round trip)");
    is_int(jh_db_begin(c), -ETIMEDOUT, "begin -ETIMEDOUT");
    jh__ctx_finish(&cs);

    run_start(&cs, p_db, INT64_MAX);
    is_int(jh_db_prepare(c, "INSERT INTO t (s) VALUES ('late')", &st), 0, "prepare in time");
    cs.deadline = now_ns() - 1;
    is_int(jh_stmt_execute(st), -ETIMEDOUT, "deadline passes before execute: -ETIMEDOUT");
    like(jh_last_error(c), "db main: execute: the run's deadline has passed", "  says so");
    jh__ctx_finish(&cs);
    is_int(run_int("SELECT COUNT(*) FROM t WHERE s = 'late'"), 0, "  and it never ran");

    run_start(&cs, p_db, now_ns() + 300 * MS);
    cid = sql_int(c, "SELECT CONNECTION_ID()");
    jh_db_prepare(c, "SELECT SLEEP(5)", &st);
    t0 = mono_ms();
    is_int(jh_stmt_execute(st), -ETIMEDOUT, "SELECT SLEEP(5) with a 300 ms deadline: -ETIMEDOUT");
    int64_t took = mono_ms() - t0;
    ok(took < 2500, "  returned after %lld ms, well before 5 s", (long long)took);
    like(jh_last_error(c), "the query was killed on the server", "  says it was killed");
    jh__ctx_finish(&cs);
    ok(run_int("SELECT CONNECTION_ID()") != cid, "a killed connection is not reused");
    is_int(run_int("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE "
                   "'SELECT SLEEP(5)%'"), 0, "no SLEEP left running on the server");

    /* Cancellation while blocked. */
    atomic_int cancel = 0;
    pthread_t th;
    jh__ctx_init(&cs, &env, jh__plugin_ctx(p_db), "dbtest", "run", next_run_id(), now_ns(),
                 INT64_MAX, &cancel);
    jh_db_prepare(c, "SELECT SLEEP(5)", &st);
    pthread_create(&th, NULL, cancel_later, &cancel);
    t0 = mono_ms();
    is_int(jh_stmt_execute(st), -ECANCELED, "cancelled during SLEEP(5): -ECANCELED");
    took = mono_ms() - t0;
    ok(took < 2500, "  returned after %lld ms", (long long)took);
    pthread_join(th, NULL);
    jh__ctx_finish(&cs);
}

/* Worker threads: each runs many runs; the pool never grows past the
 * number of threads, and every thread's client state is released when it
 * exits (LeakSanitizer checks). */
#define NTHREADS 4
#define NRUNS 40
static long long seen_ids[NTHREADS * NRUNS];

static void *worker(void *arg)
{
    int k = (int)(intptr_t)arg;

    for (int i = 0; i < NRUNS; i++)
        seen_ids[k * NRUNS + i] = run_int("SELECT CONNECTION_ID()");
    return NULL;
}

static void t_threads(void)
{
    pthread_t th[NTHREADS];
    long long distinct[NTHREADS * NRUNS];
    int nd = 0, bad = 0;

    for (int k = 0; k < NTHREADS; k++)
        pthread_create(&th[k], NULL, worker, (void *)(intptr_t)k);
    for (int k = 0; k < NTHREADS; k++)
        pthread_join(th[k], NULL);
    for (int i = 0; i < NTHREADS * NRUNS; i++) {
        int j;
        if (seen_ids[i] <= 0)
            bad++;
        for (j = 0; j < nd && distinct[j] != seen_ids[i]; j++)
            ;
        if (j == nd)
            distinct[nd++] = seen_ids[i];
    }
    is_int(bad, 0, "%d runs on %d threads all succeeded", NTHREADS * NRUNS, NTHREADS);
    ok(nd <= NTHREADS + 1, "they used %d connections (at most one per thread)", nd);
}

/*
 * A real deadlock: two runs on two threads each update rows 1 and 2 of dl
 * inside a transaction, in opposite orders, after a barrier (so each holds
 * its first row when it asks for the second).  InnoDB picks one victim and
 * rolls its whole transaction back: the victim's later statements must not
 * run in autocommit mode, and its commit must not report success.
 */
typedef struct dl_run {
    int k;                 /* 0 or 1: the order of its rows, its tag k+1 */
    pthread_barrier_t *bar;
    int first, second;     /* rc of its two UPDATEs */
    int after;             /* victim: rc of an INSERT after the deadlock */
    char after_err[512];
    char second_err[512];
    int commit;            /* rc of commit */
    char commit_err[512];
    int retry;             /* victim: begin + insert + commit afterwards */
} dl_run;

static int dl_update(jh_ctx *c, int id, int v)
{
    jh_stmt *st;
    int rc = jh_db_prepare(c, "UPDATE dl SET v = ? WHERE id = ?", &st);

    if (rc == 0) {
        jh_stmt_bind_i64(st, 0, v);
        jh_stmt_bind_i64(st, 1, id);
        rc = jh_stmt_execute(st);
        jh_stmt_close(st);
    }
    return rc;
}

static void *dl_main(void *arg)
{
    dl_run *d = arg;
    struct jh_ctx cs;
    jh_ctx *c = (jh_ctx *)&cs;
    int a = d->k == 0 ? 1 : 2, b = d->k == 0 ? 2 : 1;

    run_start(&cs, p_db, INT64_MAX);
    d->first = jh_db_begin(c);
    if (d->first == 0)
        d->first = dl_update(c, a, d->k + 1);
    pthread_barrier_wait(d->bar);
    d->second = dl_update(c, b, d->k + 1);
    snprintf(d->second_err, sizeof(d->second_err), "%s", jh_last_error(c));
    if (d->second != 0) {
        d->after = sql(c, "INSERT INTO dl (id, v) VALUES (100, 100)");
        snprintf(d->after_err, sizeof(d->after_err), "%s", jh_last_error(c));
    }
    d->commit = jh_db_commit(c);
    snprintf(d->commit_err, sizeof(d->commit_err), "%s", jh_last_error(c));
    if (d->second != 0)
        d->retry = jh_db_begin(c) || sql(c, "INSERT INTO dl (id, v) VALUES (200, 200)") ||
                   jh_db_commit(c);
    jh__ctx_finish(&cs);
    return NULL;
}

static void t_deadlock(void)
{
    struct jh_ctx cs;
    jh_ctx *c = (jh_ctx *)&cs;
    pthread_barrier_t bar;
    pthread_t th[2];
    dl_run d[2];
    dl_run *victim = NULL, *winner = NULL;

    run_start(&cs, p_db, INT64_MAX);
    ok(sql(c, "CREATE TABLE dl (id INT PRIMARY KEY, v INT) ENGINE=InnoDB") == 0 &&
           sql(c, "INSERT INTO dl VALUES (1, 0), (2, 0)") == 0,
       "deadlock: table dl with rows 1 and 2");
    jh__ctx_finish(&cs);
    pthread_barrier_init(&bar, NULL, 2);
    for (int k = 0; k < 2; k++) {
        memset(&d[k], 0, sizeof(d[k]));
        d[k].k = k;
        d[k].bar = &bar;
        pthread_create(&th[k], NULL, dl_main, &d[k]);
    }
    for (int k = 0; k < 2; k++)
        pthread_join(th[k], NULL);
    pthread_barrier_destroy(&bar);
    is_int(d[0].first | d[1].first, 0, "  both runs began and updated their first row");
    for (int k = 0; k < 2; k++)
        if (d[k].second != 0)
            victim = &d[k];
        else
            winner = &d[k];
    if (victim == NULL || winner == NULL) {
        ok(0, "  exactly one run was the deadlock victim (%d, %d)", d[0].second, d[1].second);
        return;
    }
    ok(1, "  exactly one run was the deadlock victim (run %d)", victim->k);
    is_int(victim->second, -EIO, "  its UPDATE: -EIO");
    like(victim->second_err, "(1213); the server rolled the transaction back", "  %s",
         victim->second_err);
    is_int(victim->after, -EIO, "  a later statement of its transaction: -EIO, not autocommitted");
    like(victim->after_err, "transaction rolled back by the server: deadlock", "  %s",
         victim->after_err);
    is_int(victim->commit, -EIO, "  its commit: -EIO");
    like(victim->commit_err, "commit: transaction rolled back by the server: deadlock", "  %s",
         victim->commit_err);
    is_int(victim->retry, 0, "  then the run can begin, insert and commit again");
    is_int(winner->commit, 0, "the other run commits");
    run_start(&cs, p_db, INT64_MAX);
    is_int(sql_int(c, winner->k == 0 ? "SELECT COUNT(*) FROM dl WHERE v = 1 AND id IN (1, 2)"
                                     : "SELECT COUNT(*) FROM dl WHERE v = 2 AND id IN (1, 2)"),
           2, "both rows hold the winner's value, none the victim's");
    is_int(sql_int(c, "SELECT COUNT(*) FROM dl WHERE id = 100"), 0,
           "the victim's statement after the deadlock never ran");
    is_int(sql_int(c, "SELECT COUNT(*) FROM dl WHERE id = 200"), 1, "its retry did");
    sql(c, "DROP TABLE dl");
    jh__ctx_finish(&cs);
}

static void t_server_dies(void)
{
    struct jh_ctx cs;
    jh_ctx *c = (jh_ctx *)&cs;
    jh_stmt *st;

    run_start(&cs, p_db, INT64_MAX);
    is_int(jh_db_prepare(c, "SELECT COUNT(*) FROM t", &st), 0, "a run prepares");
    ok(jh_stmt_execute(st) == 0, "and executes");
    is_int(ctl("kill"), 0, "mariadbd killed with SIGKILL");
    int rc = jh_stmt_execute(st);
    is_int(rc, -EIO, "the run's next execute: -EIO");
    like(jh_last_error(c), "db main: execute: ", "  message: %s", jh_last_error(c));
    like(jh_last_error(c), "the next run reconnects", "  says what happens next");
    is_int(jh_db_begin(c), -EIO, "later calls of that run: -EIO");
    like(jh_last_error(c), "lost earlier in this run", "  says why");
    jh__ctx_finish(&cs);

    run_start(&cs, p_db, INT64_MAX);
    is_int(jh_db_prepare(c, "SELECT 1", &st), -EIO, "a run while the server is down: -EIO");
    like(jh_last_error(c), "db main: connect to ", "  connect error: %s", jh_last_error(c));
    ok(strstr(jh_last_error(c), password) == NULL, "  no password in the message");
    jh__ctx_finish(&cs);

    is_int(ctl("restart"), 0, "mariadbd restarted on the same port and socket");
    is_int(run_int("SELECT 41 + 1"), 42, "the next run reconnects and succeeds");
    is_int(run_int("SELECT COUNT(*) FROM t WHERE s = 'committed'"), 1, "committed data survived");

    /* Pooled connections die with a clean stop too: detected, replaced. */
    is_int(ctl("restart"), 0, "restart again (clean stop)");
    is_int(run_int("SELECT 1"), 1, "a pooled connection to the old server is replaced");

    /* A deadline after the restart: the watchdog's own connection is new. */
    int64_t t0 = mono_ms();
    run_start(&cs, p_db, now_ns() + 300 * MS);
    jh_db_prepare(c, "SELECT SLEEP(5)", &st);
    is_int(jh_stmt_execute(st), -ETIMEDOUT, "deadline still enforced after restarts");
    /* Under 1.2 s: by KILL QUERY on a fresh watchdog connection, not by the
     * shutdown() backstop (deadline + 1 s) a stale one would leave it to. */
    ok(mono_ms() - t0 < 1200, "  by KILL QUERY, in %lld ms", (long long)(mono_ms() - t0));
    jh__ctx_finish(&cs);
}

/* A server that stops answering (SIGSTOP): KILL QUERY cannot help, the
 * watchdog shuts the socket down once its own attempt gave up. */
static void t_server_hangs(void)
{
    struct jh_ctx cs;
    jh_ctx *c = (jh_ctx *)&cs;
    jh_stmt *st;
    int64_t t0;

    run_start(&cs, p_db, now_ns() + 400 * MS);
    is_int(jh_db_prepare(c, "SELECT 1", &st), 0, "prepare (server answering)");
    is_int(ctl("pause"), 0, "mariadbd paused with SIGSTOP");
    t0 = mono_ms();
    is_int(jh_stmt_execute(st), -ETIMEDOUT, "execute against a hung server: -ETIMEDOUT");
    /* 400 ms deadline + the watchdog's 2 s connect timeout + 1 s grace. */
    ok(mono_ms() - t0 < 6000, "  bounded: %lld ms", (long long)(mono_ms() - t0));
    jh__ctx_finish(&cs);
    is_int(ctl("resume"), 0, "mariadbd resumed");
    is_int(run_int("SELECT 6 * 7"), 42, "the next run works");

    /* A run that ends past its deadline with a transaction open, while the
     * server hangs: run end makes no round trip, it closes the connection. */
    run_start(&cs, p_db, now_ns() + 1500 * MS);
    ok(jh_db_begin(c) == 0 && sql(c, "INSERT INTO t (s) VALUES ('hung-open')") == 0,
       "a run opens a transaction and inserts");
    is_int(ctl("pause"), 0, "mariadbd paused again");
    /* Past its deadline at run end (jh__ctx_finish clears the context's
     * deadline before the backends' run end: db.c must remember it). */
    while (now_ns() < cs.deadline)
        nanosleep(&(struct timespec){0, 20 * MS}, NULL);
    t0 = mono_ms();
    jh__ctx_finish(&cs);
    ok(mono_ms() - t0 < 1000, "run end past the deadline does not wait for it (%lld ms)",
       (long long)(mono_ms() - t0));
    like(cs.lasterr, "rolled back by closing the connection", "  and says what it did");
    is_int(ctl("resume"), 0, "mariadbd resumed");
    is_int(run_int("SELECT COUNT(*) FROM t WHERE s = 'hung-open'"), 0, "the insert never shows");
}

/* The deadline's overshoot on a hung server is bounded (issue 9.20): a
 * fresh backend, so the watchdog must first open its own connection, which
 * the stopped server never answers.  The run ends within about 1 s of its
 * deadline (the watchdog's connect timeout, then shutdown() at once), and
 * the message says what happened, not that the query was killed. */
static void t_hang_overshoot(const jh__conf_mysql *good)
{
    jh__services s = {0};
    jh__plugin *p;
    jh__db *fresh;
    jh_err e = {0};
    struct jh_ctx cs;
    jh_ctx *c = (jh_ctx *)&cs;
    jh_stmt *st;
    int64_t t0, el;

    if (jh__db_new(good, &fresh, &e) < 0)
        bail("jh__db_new: %s", e.msg);
    p = open_plugin("t/plugins/db_p.so", &s, fresh);
    run_start(&cs, p, now_ns() + 400 * MS);
    is_int(jh_db_prepare(c, "SELECT 2", &st), 0, "fresh backend: prepare (server answering)");
    is_int(ctl("pause"), 0, "mariadbd paused");
    t0 = mono_ms();
    is_int(jh_stmt_execute(st), -ETIMEDOUT, "execute against the hung server: -ETIMEDOUT");
    el = mono_ms() - t0;
    ok(el < 1800, "  within 400 ms + about 1 s: %lld ms", (long long)el);
    like(jh_last_error(c), "the server did not answer", "  says what happened: %s",
         jh_last_error(c));
    ok(strstr(jh_last_error(c), "killed on the server") == NULL, "  and not that it was killed");
    jh__ctx_finish(&cs);
    is_int(ctl("resume"), 0, "mariadbd resumed");
    run_start(&cs, p, INT64_MAX);
    is_int(sql_int(c, "SELECT 6 * 7"), 42, "the backend works again");
    jh__ctx_finish(&cs);
    jh__plugin_unref(p);
    jh__db_unref(fresh);
}

static void t_bad_password(const jh__conf_mysql *good)
{
    jh__conf_mysql conf = *good;
    jh__services s = {0};
    jh__plugin *p;
    jh__db *bad;
    jh_err e = {0};
    struct jh_ctx cs;
    jh_ctx *c = (jh_ctx *)&cs;
    jh_stmt *st;

    conf.password = "Sup3r-s3cret-wr0ng";
    is_int(jh__db_new(&conf, &bad, &e), 0, "jh__db_new does not connect");
    p = open_plugin("t/plugins/db_p.so", &s, bad);
    run_start(&cs, p, INT64_MAX);
    is_int(jh_db_prepare(c, "SELECT 1", &st), -EIO, "wrong password: -EIO");
    like(jh_last_error(c), "Access denied for user 'jh__test'", "  %s", jh_last_error(c));
    ok(strstr(jh_last_error(c), conf.password) == NULL, "  the password is not in it");
    jh__ctx_finish(&cs);
    jh__plugin_unref(p);
    jh__db_unref(bad);
}

int main(void)
{
    const char *sock = getenv("JH_TEST_MYSQL_SOCKET");
    const char *user = getenv("JH_TEST_MYSQL_USER");
    const char *pwfile = getenv("JH_TEST_MYSQL_PASSWORD_FILE");
    const char *dbname = getenv("JH_TEST_MYSQL_DB");
    const char *port = getenv("JH_TEST_MYSQL_PORT");
    char ini[2048];
    jh__conf *conf;
    jh_err e = {0};
    int fd;

    if (sock == NULL || user == NULL || pwfile == NULL || dbname == NULL || port == NULL)
        skip_all("run through t/service/db.sh (needs JH_TEST_MYSQL_*)");
    password = getenv("JH_TEST_MYSQL_PASSWORD");
    plan_lazy();

    /* The section as an operator writes it; TCP to 127.0.0.1, the
     * password from a file. */
    snprintf(ini, sizeof(ini),
             "[mysql main]\nhost = 127.0.0.1\nport = %s\nuser = %s\npassword_file = %s\n"
             "database = %s\nconnect_timeout = 2s\nread_timeout = 10s\n",
             port, user, pwfile, dbname);
    if (jh__conf_load_string("db.ini", ini, &conf, &e) != 0)
        bail("config: %s", e.msg);
    is_int(jh__db_new(jh__conf_find_mysql(conf, "main"), &db, &e), 0, "jh__db_new from [mysql main]");
    is_str(jh__db_name(db), "main", "name");

    /* The host log goes to the server's temp dir (t/db.log is the
     * harness's own log of t/service/db.sh). */
    snprintf(logpath, sizeof(logpath), "%s/host.log",
             getenv("JH_TEST_MYSQL_DIR") ? getenv("JH_TEST_MYSQL_DIR") : ".");
    fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    if (fd < 0)
        bail("open %s", logpath);
    jh__log_new(fd, JH_LOGFMT_LOGFMT, JH_LOG_INFO, &env.log);
    jh__store_new(NULL, NULL, &env.store);
    env.repo = jh__full_repo();

    p_db = open_plugin("t/plugins/db_p.so", &s_db, db);
    p_none = open_plugin("t/plugins/db_none.so", &s_none, db);
    p_unbound = open_plugin("t/plugins/db_p.so", &s_unbound, NULL);
    ok(jh_repo_of((jh_ctx *)&(struct jh_ctx){.api = jh__api_table(), .env = &env})->db ==
           jh__db_api_table(), "the full repository carries the db table");
    ok(jh__db_api_table()->size == sizeof(jh_db_api), "db table size");

    t_types();
    t_injection();
    t_affected_txn();
    t_leftovers_reuse();
    t_services();
    t_deadline();
    t_threads();
    t_deadlock();
    t_bad_password(jh__conf_find_mysql(conf, "main"));
    t_server_hangs();
    t_hang_overshoot(jh__conf_find_mysql(conf, "main"));
    t_server_dies();

    jh__plugin_unref(p_db);
    jh__plugin_unref(p_none);
    jh__plugin_unref(p_unbound);
    jh__db_unref(db);
    jh__store_free(env.store);
    jh__log_free(env.log);
    close(fd);
    jh__conf_free(conf);
    return done_testing();
}
