/*
 * conf_backends.t - the [host] outbox / events keys, [mysql], [redis] and
 * [kafka] sections, the host keys of [plugin] (mysql, redis, events,
 * enabled) and their cross-file references, password_file / password_env,
 * and the *_equal functions.  Every error is checked with its exact
 * "DIR/FILE:LINE: ..." text, and no error may ever contain a password.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/config.h"
#include "outbox/outbox.h"
#include "lib/tap.h"
#include "time/tz.h"

#define SECRET "Zq9-s3cr3t-Xk"   /* must never appear in an error */
#define SECRET_ENV "JH_CONF_TEST_PW"
#define UNSET_ENV "JH_CONF_TEST_UNSET_PW"

static char top[64];   /* temp dir: secrets live here */
static char dir[128];  /* top/conf.d: the configuration directory */

static void put_at(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "w");
    if (f == NULL || fwrite(text, 1, len, f) != len || fclose(f) != 0)
        bail("cannot write %s", path);
}

static void put(const char *name, const char *text)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    put_at(p, text, strlen(text));
}

static void clear(void)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -f %s/*.ini", dir);
    if (system(cmd) != 0)
        bail("rm");
}

/* Replace DIR and TOP in `want` by the temp paths. */
static void expand(const char *want, char *out, size_t len)
{
    size_t o = 0;
    while (*want && o + 1 < len) {
        const char *rep = NULL;
        size_t skip = 0;
        if (strncmp(want, "DIR", 3) == 0)
            rep = dir, skip = 3;
        else if (strncmp(want, "TOP", 3) == 0)
            rep = top, skip = 3;
        if (rep != NULL) {
            o += (size_t)snprintf(out + o, len - o, "%s", rep);
            want += skip;
        } else {
            out[o++] = *want++;
        }
    }
    out[o < len ? o : len - 1] = '\0';
}

static int n_errors_checked;

/* The error text must never contain the secret. */
static void no_secret(const char *msg, const char *name)
{
    n_errors_checked++;
    ok(strstr(msg, SECRET) == NULL, "  %s: the password is not in the message", name);
}

/* Load files (name, text, name, text, ..., NULL) and expect exactly `want`
 * (DIR and TOP expanded). */
static void expect_files(const char *want, const char *name, ...)
{
    jh__conf *c = NULL;
    jh_err e;
    char full[1024];
    va_list ap;

    clear();
    va_start(ap, name);
    for (const char *f; (f = va_arg(ap, const char *)) != NULL;)
        put(f, va_arg(ap, const char *));
    va_end(ap);
    int rc = jh__conf_load_dir(dir, &c, &e);
    expand(want, full, sizeof(full));
    ok(rc < 0, "%s: refused", name);
    is_str(rc < 0 ? e.msg : "(loaded)", full, "  exact message");
    if (rc < 0)
        no_secret(e.msg, name);
    jh__conf_free(c);
}

#define expect_error(text, want, name) expect_files(want, name, "10-x.ini", text, NULL)

static jh__conf *load_ok(const char *name, ...)
{
    jh__conf *c = NULL;
    jh_err e;
    va_list ap;

    clear();
    va_start(ap, name);
    for (const char *f; (f = va_arg(ap, const char *)) != NULL;)
        put(f, va_arg(ap, const char *));
    va_end(ap);
    if (!ok(jh__conf_load_dir(dir, &c, &e) == 0, "%s: loads", name)) {
        diag("%s", e.msg);
        return NULL;
    }
    return c;
}

static void test_host(void)
{
    jh__conf *c;
    jh_err e;

    ok(jh__conf_load_string("empty", "", &c, &e) == 0, "empty configuration");
    ok(c->host.state_dir == NULL, "state_dir default: not set");
    is_int(c->host.outbox_sync, JH_OUTBOX_SYNC_ALWAYS, "outbox_sync default: always");
    ok(c->host.outbox_sync_interval == 5000000, "outbox_sync_interval default: 5ms");
    ok(c->host.event_max_bytes == 1048576, "event_max_bytes default: 1048576");
    ok(c->n_mysql == 0 && c->n_redis == 0 && c->n_kafka == 0, "no backends by default");
    jh__conf_free(c);

    c = load_ok("[host] new keys", "10-x.ini",
                "[host]\nstate_dir = /var/lib/jobhost\noutbox_sync = interval\n"
                "outbox_sync_interval = 250ms\nevent_max_bytes = 67108864\n",
                NULL);
    if (c != NULL) {
        is_str(c->host.state_dir, "/var/lib/jobhost", "state_dir");
        is_int(c->host.outbox_sync, JH_OUTBOX_SYNC_INTERVAL, "outbox_sync = interval");
        ok(c->host.outbox_sync_interval == 250000000, "outbox_sync_interval = 250ms");
        ok(c->host.event_max_bytes == 67108864, "event_max_bytes = 64 MiB (the maximum)");
    }
    jh__conf_free(c);
    c = load_ok("[host] bounds", "10-x.ini",
                "[host]\noutbox_sync = always\noutbox_sync_interval = 1ms\nevent_max_bytes = 1\n",
                NULL);
    if (c != NULL)
        ok(c->host.outbox_sync == JH_OUTBOX_SYNC_ALWAYS &&
               c->host.outbox_sync_interval == 1000000 && c->host.event_max_bytes == 1,
           "always, 1ms and 1 byte are accepted");
    jh__conf_free(c);
    c = load_ok("[host] interval upper bound", "10-x.ini", "[host]\noutbox_sync_interval = 10s\n",
                NULL);
    if (c != NULL)
        ok(c->host.outbox_sync_interval == 10000000000LL, "10s accepted");
    jh__conf_free(c);

    expect_error("[host]\noutbox_sync = sometimes\n",
                 "DIR/10-x.ini:2: [host]: outbox_sync \"sometimes\": expected always or interval",
                 "bad outbox_sync");
    expect_error("[host]\noutbox_sync_interval = 999us\n",
                 "DIR/10-x.ini:2: [host]: outbox_sync_interval \"999us\": expected 1ms to 10s",
                 "outbox_sync_interval below 1ms");
    expect_error("[host]\n\noutbox_sync_interval = 10001ms\n",
                 "DIR/10-x.ini:3: [host]: outbox_sync_interval \"10001ms\": expected 1ms to 10s",
                 "outbox_sync_interval above 10s");
    expect_error("[host]\noutbox_sync_interval = 5\n",
                 "DIR/10-x.ini:2: [host]: outbox_sync_interval: duration \"5\": expected a unit "
                 "(ns, us, ms, s, m, h, d) at column 2",
                 "outbox_sync_interval without a unit");
    expect_error("[host]\nevent_max_bytes = 0\n",
                 "DIR/10-x.ini:2: [host]: event_max_bytes \"0\": expected a number of bytes from "
                 "1 to 67108864",
                 "event_max_bytes 0");
    expect_error("[host]\nevent_max_bytes = 67108865\n",
                 "DIR/10-x.ini:2: [host]: event_max_bytes \"67108865\": expected a number of "
                 "bytes from 1 to 67108864",
                 "event_max_bytes above 64 MiB");
    expect_error("[host]\nevent_max_bytes = 1k\n",
                 "DIR/10-x.ini:2: [host]: event_max_bytes \"1k\": expected a number of bytes "
                 "from 1 to 67108864",
                 "event_max_bytes with a suffix");
    expect_error("[host]\nstate_dir =\n", "DIR/10-x.ini:2: [host]: state_dir: empty value",
                 "empty state_dir");
    expect_error("[host]\nstate_dri = /x\n",
                 "DIR/10-x.ini:2: [host]: unknown key \"state_dri\" (did you mean \"state_dir\"?)",
                 "misspelt state_dir");
    expect_files("DIR/20-b.ini:2: [host]: duplicate key \"event_max_bytes\" (first set at "
                 "DIR/10-a.ini:2)",
                 "event_max_bytes in two files", "10-a.ini", "[host]\nevent_max_bytes = 10\n",
                 "20-b.ini", "[host]\nevent_max_bytes = 20\n", NULL);
    expect_files("DIR/20-b.ini:3: [host]: duplicate key \"outbox_sync_interval\" (first set at "
                 "DIR/10-a.ini:4)",
                 "outbox_sync_interval in two files", "10-a.ini",
                 "[host]\nworkers = 2\n\noutbox_sync_interval = 2ms\n", "20-b.ini",
                 "[host]\nstate_dir = s\noutbox_sync_interval = 2ms\n", NULL);
}

static void test_sections(void)
{
    jh__conf *c;

    c = load_ok("backend defaults", "10-x.ini",
                "[mysql main]\nuser = app\ndatabase = appdb\n\n[redis cache]\n\n"
                "[kafka bus]\nbrokers = 127.0.0.1:9092\n",
                NULL);
    if (c != NULL) {
        const jh__conf_mysql *m = jh__conf_find_mysql(c, "main");
        const jh__conf_redis *r = jh__conf_find_redis(c, "cache");
        const jh__conf_kafka *k = jh__conf_find_kafka(c, "bus");
        ok(m != NULL && c->n_mysql == 1 && m == &c->mysql[0], "find_mysql");
        ok(r != NULL && c->n_redis == 1 && r == &c->redis[0], "find_redis");
        ok(k != NULL && c->n_kafka == 1 && k == &c->kafka[0], "find_kafka");
        ok(jh__conf_find_mysql(c, "cache") == NULL && jh__conf_find_redis(c, "main") == NULL &&
               jh__conf_find_kafka(c, "main") == NULL && jh__conf_find_mysql(c, NULL) == NULL &&
               jh__conf_find_mysql(NULL, "main") == NULL,
           "find_*: unknown names, NULL");
        if (m != NULL) {
            is_str(m->host, "127.0.0.1", "mysql host default");
            is_int(m->port, 3306, "mysql port default");
            ok(m->socket == NULL && m->password == NULL, "mysql socket, password: none");
            is_str(m->user, "app", "mysql user");
            is_str(m->database, "appdb", "mysql database");
            is_str(m->charset, "utf8mb4", "mysql charset default");
            ok(m->connect_timeout == 5000000000LL, "mysql connect_timeout default 5s");
            ok(m->read_timeout == 30000000000LL && m->write_timeout == 30000000000LL,
               "mysql read/write_timeout default 30s");
            is_int(m->pos.line, 1, "mysql section position");
        }
        if (r != NULL) {
            is_str(r->host, "127.0.0.1", "redis host default");
            is_int(r->port, 6379, "redis port default");
            ok(r->socket == NULL && r->password == NULL, "redis socket, password: none");
            is_int(r->db, 0, "redis db default");
            is_str(r->prefix, "", "redis prefix default");
            ok(r->connect_timeout == 2000000000LL && r->timeout == 2000000000LL,
               "redis timeouts default 2s");
            is_int(r->pos.line, 5, "redis section position");
        }
        if (k != NULL) {
            is_str(k->brokers, "127.0.0.1:9092", "kafka brokers");
            ok(k->n_props == 0 && k->props == NULL, "kafka: no properties");
        }
    }
    jh__conf_free(c);

    c = load_ok("every backend key", "10-x.ini",
                "[mysql main]\nhost = db.local\nport = 3307\nsocket = /run/mysqld.sock\n"
                "user = app\ndatabase = appdb\ncharset = latin1\nconnect_timeout = 1s\n"
                "read_timeout = 2s\nwrite_timeout = 3s\n"
                "[redis cache]\nhost = 127.0.0.2\nport = 6380\nsocket = /run/redis.sock\n"
                "db = 15\nprefix = app:\nconnect_timeout = 100ms\ntimeout = 250ms\n"
                "[kafka bus]\nbrokers = 127.0.0.1:9092,127.0.0.1:9093\n"
                "rdkafka.acks = all\nrdkafka.linger.ms = 5\nrdkafka.client.id =\n",
                NULL);
    if (c != NULL) {
        const jh__conf_mysql *m = &c->mysql[0];
        const jh__conf_redis *r = &c->redis[0];
        const jh__conf_kafka *k = &c->kafka[0];
        ok(strcmp(m->host, "db.local") == 0 && m->port == 3307 &&
               strcmp(m->socket, "/run/mysqld.sock") == 0 && strcmp(m->charset, "latin1") == 0,
           "mysql host, port, socket, charset");
        ok(m->connect_timeout == 1000000000LL && m->read_timeout == 2000000000LL &&
               m->write_timeout == 3000000000LL,
           "mysql timeouts");
        ok(strcmp(r->host, "127.0.0.2") == 0 && r->port == 6380 &&
               strcmp(r->socket, "/run/redis.sock") == 0 && r->db == 15 &&
               strcmp(r->prefix, "app:") == 0,
           "redis host, port, socket, db, prefix");
        ok(r->connect_timeout == 100000000LL && r->timeout == 250000000LL, "redis timeouts");
        is_str(k->brokers, "127.0.0.1:9092,127.0.0.1:9093", "kafka brokers list");
        is_int((int)k->n_props, 3, "three rdkafka properties");
        if (k->n_props == 3) {
            ok(strcmp(k->props[0].key, "acks") == 0 && strcmp(k->props[0].value, "all") == 0,
               "rdkafka.acks -> acks = all (prefix stripped)");
            ok(strcmp(k->props[1].key, "linger.ms") == 0 && strcmp(k->props[1].value, "5") == 0,
               "rdkafka.linger.ms -> linger.ms");
            ok(strcmp(k->props[2].key, "client.id") == 0 && strcmp(k->props[2].value, "") == 0,
               "an empty property value is passed through");
            is_int(k->props[1].pos.line, 22, "property position");
        }
    }
    jh__conf_free(c);

    /* Section-level errors. */
    expect_error("[mysql main]\nuser = u\n",
                 "DIR/10-x.ini:1: [mysql main]: missing key \"database\"", "mysql without database");
    expect_error("\n[mysql main]\ndatabase = d\n",
                 "DIR/10-x.ini:2: [mysql main]: missing key \"user\"", "mysql without user");
    expect_error("[kafka bus]\nrdkafka.acks = all\n",
                 "DIR/10-x.ini:1: [kafka bus]: missing key \"brokers\"", "kafka without brokers");
    expect_error("[mysql]\n", "DIR/10-x.ini:1: [mysql]: missing name (expected [mysql NAME])",
                 "mysql section without a name");
    expect_error("[redis a/b]\n",
                 "DIR/10-x.ini:1: [redis a/b]: bad redis name \"a/b\" (use letters, digits, _ . -)",
                 "bad redis name");
    expect_error("[postgres main]\n",
                 "DIR/10-x.ini:1: unknown section [postgres main] (expected [host], [plugin NAME], "
                 "[job NAME], [mysql NAME], [redis NAME] or [kafka NAME])",
                 "unknown section lists the new ones");
    expect_error("[redis r]\n[redis r]\n",
                 "DIR/10-x.ini:2: [redis r]: duplicate section (first at DIR/10-x.ini:1)",
                 "duplicate redis section");
    expect_files("DIR/20-b.ini:3: [mysql m]: duplicate section (first at DIR/10-a.ini:1)",
                 "duplicate mysql section across files", "10-a.ini",
                 "[mysql m]\nuser = u\ndatabase = d\n", "20-b.ini", "\n\n[mysql m]\n", NULL);
    c = load_ok("same name for a mysql and a redis section", "10-x.ini",
                "[mysql main]\nuser = u\ndatabase = d\n[redis main]\n", NULL);
    jh__conf_free(c);
    expect_files("DIR/20-b.ini:1: [kafka two]: only one [kafka] section is supported (one "
                 "producer per process; [kafka one] is at DIR/10-a.ini:2)",
                 "a second kafka section", "10-a.ini", "\n[kafka one]\nbrokers = 127.0.0.1:1\n",
                 "20-b.ini", "[kafka two]\nbrokers = 127.0.0.1:2\n", NULL);
    expect_error("[kafka one]\nbrokers = 127.0.0.1:1\n[kafka one]\n",
                 "DIR/10-x.ini:3: [kafka one]: duplicate section (first at DIR/10-x.ini:1)",
                 "kafka section twice");

    /* Key-level errors. */
    expect_error("[mysql main]\nuser = u\ndatabse = d\n",
                 "DIR/10-x.ini:3: [mysql main]: unknown key \"databse\" (did you mean "
                 "\"database\"?)",
                 "misspelt mysql key");
    expect_error("[mysql main]\nuser = u\npassword = " SECRET "\n",
                 "DIR/10-x.ini:3: [mysql main]: unknown key \"password\"", "a literal password");
    expect_error("[redis r]\ndatabase = 1\n", "DIR/10-x.ini:2: [redis r]: unknown key \"database\"",
                 "unknown redis key");
    expect_error("[redis r]\nprefx = a\n",
                 "DIR/10-x.ini:2: [redis r]: unknown key \"prefx\" (did you mean \"prefix\"?)",
                 "misspelt redis key");
    expect_error("[kafka k]\nbrokers = 127.0.0.1:1\nacks = all\n",
                 "DIR/10-x.ini:3: [kafka k]: unknown key \"acks\" (librdkafka properties are "
                 "written rdkafka.<property>)",
                 "a bare librdkafka property");
    expect_error("[kafka k]\nbroker = 127.0.0.1:1\n",
                 "DIR/10-x.ini:2: [kafka k]: unknown key \"broker\" (did you mean \"brokers\"?)",
                 "misspelt brokers");
    expect_error("[kafka k]\nbrokers = 127.0.0.1:1\nrdkafka. = x\n",
                 "DIR/10-x.ini:3: [kafka k]: \"rdkafka.\": missing the property name",
                 "rdkafka. without a property");
    expect_error("[kafka k]\nbrokers = 127.0.0.1:1\nrdkafka.bootstrap.servers = 127.0.0.1:2\n",
                 "DIR/10-x.ini:3: [kafka k]: rdkafka.bootstrap.servers: set brokers instead",
                 "bootstrap.servers through rdkafka.");
    expect_error("[kafka k]\nbrokers = 127.0.0.1:1\nrdkafka.sasl.password = " SECRET
                 "\nrdkafka.sasl.password = " SECRET "\n",
                 "DIR/10-x.ini:4: [kafka k]: duplicate key \"rdkafka.sasl.password\" (first set "
                 "at line 3)",
                 "duplicate rdkafka property");
    expect_error("[kafka k]\nbrokers = 127.0.0.1:1\nbrokers = 127.0.0.1:2\n",
                 "DIR/10-x.ini:3: [kafka k]: duplicate key \"brokers\" (first set at line 2)",
                 "duplicate brokers");
    expect_error("[kafka k]\nbrokers =\n", "DIR/10-x.ini:2: [kafka k]: brokers: empty value",
                 "empty brokers");
    expect_error("[mysql main]\nuser = u\nport = 3306\nport = 3307\n",
                 "DIR/10-x.ini:4: [mysql main]: duplicate key \"port\" (first set at line 3)",
                 "duplicate mysql key");
    expect_error("[mysql main]\nport = 0\n",
                 "DIR/10-x.ini:2: [mysql main]: port \"0\": expected a number from 1 to 65535",
                 "mysql port 0");
    expect_error("[redis r]\nport = 65536\n",
                 "DIR/10-x.ini:2: [redis r]: port \"65536\": expected a number from 1 to 65535",
                 "redis port 65536");
    expect_error("[redis r]\ndb = 16\n",
                 "DIR/10-x.ini:2: [redis r]: db \"16\": expected a number from 0 to 15",
                 "redis db 16");
    expect_error("[redis r]\ndb = -1\n",
                 "DIR/10-x.ini:2: [redis r]: db \"-1\": expected a number from 0 to 15",
                 "redis db -1");
    expect_error("[mysql main]\nread_timeout = 0\n",
                 "DIR/10-x.ini:2: [mysql main]: read_timeout: duration \"0\": must be greater than zero",
                 "zero read_timeout");
    expect_error("[redis r]\ntimeout = soon\n",
                 "DIR/10-x.ini:2: [redis r]: timeout: duration \"soon\": expected a number at column 1",
                 "bad redis timeout");
    expect_error("[mysql main]\nuser =\n", "DIR/10-x.ini:2: [mysql main]: user: empty value",
                 "empty user");
    expect_error("[redis r]\nhost =\n", "DIR/10-x.ini:2: [redis r]: host: empty value",
                 "empty redis host");
    c = load_ok("an empty redis prefix", "10-x.ini", "[redis r]\nprefix =\n", NULL);
    if (c != NULL)
        is_str(c->redis[0].prefix, "", "  is allowed");
    jh__conf_free(c);
}

static void test_passwords(void)
{
    char path[128], want[512];
    jh__conf *c;
    jh_err e;

    /* password_file: one trailing newline stripped, and only one. */
    snprintf(path, sizeof(path), "%s/db.pw", top);
    put_at(path, SECRET "\n", strlen(SECRET) + 1);
    char ini[1024];
    snprintf(ini, sizeof(ini),
             "[mysql main]\nuser = u\ndatabase = d\npassword_file = %s\n"
             "[redis r]\npassword_file = %s\n",
             path, path);
    c = load_ok("password_file", "10-x.ini", ini, NULL);
    if (c != NULL) {
        is_str(c->mysql[0].password, SECRET, "mysql password read, newline stripped");
        is_str(c->redis[0].password, SECRET, "redis password read, newline stripped");
    }
    jh__conf_free(c);
    put_at(path, SECRET "\n\n", strlen(SECRET) + 2);
    c = load_ok("password_file with two newlines", "10-x.ini", ini, NULL);
    if (c != NULL)
        is_str(c->mysql[0].password, SECRET "\n", "only one newline stripped");
    jh__conf_free(c);
    put_at(path, SECRET "\r\n", strlen(SECRET) + 2);
    c = load_ok("password_file with CRLF", "10-x.ini", ini, NULL);
    if (c != NULL)
        is_str(c->mysql[0].password, SECRET, "a CRLF counts as one newline");
    jh__conf_free(c);
    put_at(path, SECRET, strlen(SECRET));
    c = load_ok("password_file without a newline", "10-x.ini", ini, NULL);
    if (c != NULL)
        is_str(c->mysql[0].password, SECRET, "kept whole");
    jh__conf_free(c);
    put_at(path, SECRET "\n", strlen(SECRET) + 1);

    /* Relative: from the directory holding the conf dir (TOP/conf.d -> TOP). */
    c = load_ok("relative password_file", "10-x.ini",
                "[mysql main]\nuser = u\ndatabase = d\npassword_file = db.pw\n", NULL);
    if (c != NULL)
        is_str(c->mysql[0].password, SECRET, "db.pw taken from the conf dir's parent");
    jh__conf_free(c);

    /* password_env */
    setenv(SECRET_ENV, SECRET, 1);
    unsetenv(UNSET_ENV);
    c = load_ok("password_env", "10-x.ini",
                "[mysql main]\nuser = u\ndatabase = d\npassword_env = " SECRET_ENV
                "\n[redis r]\npassword_env = " SECRET_ENV "\n",
                NULL);
    if (c != NULL) {
        is_str(c->mysql[0].password, SECRET, "mysql password from the environment");
        is_str(c->redis[0].password, SECRET, "redis password from the environment");
    }
    jh__conf_free(c);

    /* Errors: never the content. */
    expect_error("[mysql main]\nuser = u\ndatabase = d\npassword_env = " UNSET_ENV "\n",
                 "DIR/10-x.ini:4: [mysql main]: password_env \"" UNSET_ENV "\": variable not set",
                 "unset password_env");
    expect_error("[redis r]\npassword_file = /nonexistent/jh.pw\n",
                 "DIR/10-x.ini:2: [redis r]: password_file \"/nonexistent/jh.pw\": cannot open: "
                 "No such file or directory",
                 "missing password_file");
    expect_error("[redis r]\npassword_file = missing.pw\n",
                 "DIR/10-x.ini:2: [redis r]: password_file \"TOP/missing.pw\": cannot open: No "
                 "such file or directory",
                 "missing relative password_file names the resolved path");
    snprintf(ini, sizeof(ini), "[redis r]\npassword_file = %s\n", top);
    snprintf(want, sizeof(want),
             "DIR/10-x.ini:2: [redis r]: password_file \"TOP\": not a regular file");
    expect_error(ini, want, "a directory as password_file");
    {
        /* A FIFO with no writer: refused at once, not a hang. */
        char fifo[600];
        snprintf(fifo, sizeof(fifo), "%s/pw.fifo", top);
        unlink(fifo);
        if (mkfifo(fifo, 0600) != 0)
            bail("mkfifo %s", fifo);
        snprintf(ini, sizeof(ini), "[redis r]\npassword_file = pw.fifo\n");
        expect_error(ini,
                     "DIR/10-x.ini:2: [redis r]: password_file \"TOP/pw.fifo\": not a regular "
                     "file",
                     "a FIFO as password_file is refused without blocking");
        unlink(fifo);
    }
    snprintf(ini, sizeof(ini), "[mysql main]\npassword_file = %s\npassword_env = " SECRET_ENV "\n",
             path);
    expect_error(ini,
                 "DIR/10-x.ini:3: [mysql main]: both password_file and password_env set (line 2): "
                 "choose one",
                 "password_file and password_env");
    snprintf(ini, sizeof(ini), "[redis r]\npassword_env = " SECRET_ENV "\npassword_file = %s\n",
             path);
    expect_error(ini,
                 "DIR/10-x.ini:3: [redis r]: both password_file and password_env set (line 2): "
                 "choose one",
                 "password_env then password_file");
    expect_error("[mysql main]\npassword_env =\n",
                 "DIR/10-x.ini:2: [mysql main]: password_env: empty value", "empty password_env");

    /* Secrets loaded, then an error later in the same section. */
    snprintf(ini, sizeof(ini), "[mysql main]\npassword_file = %s\nuser = u\nport = x\n", path);
    expect_error(ini, "DIR/10-x.ini:4: [mysql main]: port \"x\": expected a number from 1 to 65535",
                 "an error after a password was read");
    snprintf(ini, sizeof(ini), "[mysql main]\npassword_file = %s\npassword_file = %s\n", path,
             path);
    expect_error(ini,
                 "DIR/10-x.ini:3: [mysql main]: duplicate key \"password_file\" (first set at "
                 "line 2)",
                 "password_file twice");
    expect_error("[mysql main]\npassword_env = " SECRET_ENV "\nuser = u\n",
                 "DIR/10-x.ini:1: [mysql main]: missing key \"database\"",
                 "missing key after a password");

    /* A file holding a NUL, or far too long: refused, content not shown. */
    char big[5000];
    memset(big, 'x', sizeof(big));
    memcpy(big, SECRET, strlen(SECRET));
    put_at(path, big, sizeof(big));
    snprintf(ini, sizeof(ini), "[redis r]\npassword_file = %s\n", path);
    expect_error(ini, "DIR/10-x.ini:2: [redis r]: password_file \"TOP/db.pw\": longer than 4096 "
                      "bytes",
                 "oversized password_file");
    put_at(path, SECRET "\0x", strlen(SECRET) + 2);
    expect_error(ini, "DIR/10-x.ini:2: [redis r]: password_file \"TOP/db.pw\": contains a NUL "
                      "byte",
                 "password_file with a NUL byte");

    /* Permission denied.  Root reads anything, so as root the load runs in
     * a child that has dropped to nobody. */
    put_at(path, SECRET "\n", strlen(SECRET) + 1);
    chmod(path, 0);
    expand("DIR/10-x.ini:2: [redis r]: password_file \"TOP/db.pw\": cannot open: Permission "
           "denied", want, sizeof(want));
    clear();
    put("10-x.ini", ini);
    if (geteuid() != 0) {
        ok(jh__conf_load_dir(dir, &c, &e) < 0, "unreadable password_file: refused");
        is_str(e.msg, want, "  exact message");
    } else {
        int fds[2];
        char got[1024] = "";
        pid_t pid;
        chmod(top, 0755);
        chmod(dir, 0755);
        if (pipe(fds) != 0 || (pid = fork()) < 0)
            bail("pipe/fork");
        if (pid == 0) {
            close(fds[0]);
            if (setgid(65534) != 0 || setuid(65534) != 0)
                _exit(3);
            c = NULL;
            int rc = jh__conf_load_dir(dir, &c, &e);
            jh__conf_free(c);
            const char *m = rc < 0 ? e.msg : "(loaded)";
            _exit(write(fds[1], m, strlen(m)) == (ssize_t)strlen(m) ? 0 : 4);
        }
        close(fds[1]);
        ssize_t n = read(fds[0], got, sizeof(got) - 1);
        got[n > 0 ? n : 0] = '\0';
        close(fds[0]);
        int st;
        waitpid(pid, &st, 0);
        ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "unreadable password_file (as nobody): ran");
        is_str(got, want, "  exact message");
        chmod(top, 0700);
        chmod(dir, 0700);
    }
    chmod(path, 0600);

    /* The loaded password never shows in a message about a plugin either. */
    ok(jh__conf_load_string("s.ini", "[mysql m]\nuser = u\ndatabase = d\npassword_env = "
                           SECRET_ENV "\n[plugin p]\nmysql = n\n", &c, &e) < 0,
       "load_string: dangling reference");
    is_str(e.msg, "s.ini:6: [plugin p]: mysql = \"n\": no [mysql n] section (did you mean \"m\"?)",
           "  exact message, with a hint");
    no_secret(e.msg, "dangling reference");
    unlink(path);
}

static void test_plugin_keys(void)
{
    jh__conf *c;

    c = load_ok("plugin host keys", "10-x.ini",
                "[plugin user]\ntitle = t\nmysql = main\nredis = cache\nevents = bus\n"
                "enabled = auto\nlimit = 5\n"
                "[plugin off]\nenabled = false\n[plugin on]\nenabled = yes\n[plugin plain]\n"
                "[mysql main]\nuser = u\ndatabase = d\n[redis cache]\n"
                "[kafka bus]\nbrokers = 127.0.0.1:1\n",
                NULL);
    if (c != NULL) {
        const jh__conf_plugin *p = jh__conf_find_plugin(c, "user");
        ok(p != NULL && p->n_kv == 2, "only the plugin's own keys are in kv");
        ok(jh__conf_plugin_get(p, "mysql") == NULL && jh__conf_plugin_get(p, "redis") == NULL &&
               jh__conf_plugin_get(p, "events") == NULL && jh__conf_plugin_get(p, "enabled") == NULL,
           "mysql, redis, events, enabled are not plugin keys");
        ok(jh__conf_plugin_get(p, "title") != NULL && jh__conf_plugin_get(p, "limit") != NULL,
           "title and limit are");
        is_str(p->mysql, "main", "mysql = main");
        is_str(p->redis, "cache", "redis = cache");
        is_str(p->events, "bus", "events = bus");
        ok(p->mysql_pos.line == 3 && p->redis_pos.line == 4 && p->events_pos.line == 5 &&
               strstr(p->mysql_pos.file, "10-x.ini") != NULL,
           "positions of mysql, redis, events");
        is_int(p->enabled, -1, "enabled = auto is -1");
        is_int(jh__conf_find_plugin(c, "off")->enabled, 0, "enabled = false is 0");
        is_int(jh__conf_find_plugin(c, "on")->enabled, 1, "enabled = yes is 1");
        const jh__conf_plugin *pl = jh__conf_find_plugin(c, "plain");
        ok(pl->enabled == 1 && pl->mysql == NULL && pl->redis == NULL && pl->events == NULL &&
               pl->mysql_pos.file == NULL,
           "defaults: enabled, no backends");

        /* Only undeclared own keys are refused: host keys need no declaration. */
        jh_config_key keys[] = {{"title", NULL, NULL, 0}, {"limit", NULL, NULL, 0}};
        jh_plugin_desc d = {.config_keys = keys, .n_config_keys = 2,
                            .config_key_size = sizeof(jh_config_key)};
        jh_err e;
        ok(jh__conf_check_plugin(p, &d, &e) == 0, "check_plugin ignores the host keys");
    }
    jh__conf_free(c);

    /* A misspelt host key is a plugin key the plugin does not declare. */
    c = load_ok("misspelt host key", "10-x.ini", "[plugin user]\ntitle = t\nmysq = main\n", NULL);
    if (c != NULL) {
        jh_config_key keys[] = {{"title", NULL, NULL, 0}};
        jh_plugin_desc d = {.config_keys = keys, .n_config_keys = 1,
                            .config_key_size = sizeof(jh_config_key)};
        jh_err e;
        char want[512];
        ok(jh__conf_check_plugin(&c->plugins[0], &d, &e) < 0, "mysq refused by check_plugin");
        expand("DIR/10-x.ini:3: [plugin user]: unknown key \"mysq\" (user declares: title) "
               "(did you mean \"mysql\"?)", want, sizeof(want));
        is_str(e.msg, want, "  with a hint to the host key");
    }
    jh__conf_free(c);

    /* Order across files does not matter. */
    c = load_ok("references to later files", "10-plugins.ini",
                "[plugin user]\nmysql = main\nredis = cache\nevents = bus\n", "50-redis.ini",
                "[redis cache]\nport = 6390\n", "90-db.ini",
                "[mysql main]\nuser = u\ndatabase = d\n[kafka bus]\nbrokers = 127.0.0.1:1\n", NULL);
    if (c != NULL) {
        const jh__conf_plugin *p = jh__conf_find_plugin(c, "user");
        ok(jh__conf_find_mysql(c, p->mysql) != NULL && jh__conf_find_redis(c, p->redis)->port == 6390,
           "resolved after every file is read");
    }
    jh__conf_free(c);

    expect_files("DIR/40-user.ini:3: [plugin user]: mysql = \"main\": no [mysql main] section",
                 "missing mysql section", "40-user.ini", "[plugin user]\ntitle = x\nmysql = main\n",
                 NULL);
    expect_files("DIR/40-user.ini:2: [plugin user]: redis = \"cahce\": no [redis cahce] section "
                 "(did you mean \"cache\"?)",
                 "missing redis section, with a hint", "40-user.ini",
                 "[plugin user]\nredis = cahce\n", "50-r.ini", "[redis cache]\n", NULL);
    expect_files("DIR/40-user.ini:2: [plugin user]: events = \"bus\": no [kafka bus] section",
                 "missing kafka section", "40-user.ini", "[plugin user]\nevents = bus\n", NULL);
    expect_files("DIR/40-user.ini:2: [plugin user]: mysql = \"cache\": no [mysql cache] section",
                 "a redis section does not satisfy mysql", "40-user.ini",
                 "[plugin user]\nmysql = cache\n", "50-r.ini", "[redis cache]\n", NULL);
    expect_error("[plugin p]\nenabled = maybe\n",
                 "DIR/10-x.ini:2: [plugin p]: enabled \"maybe\": expected true, false or auto",
                 "bad enabled");
    expect_error("[plugin p]\nmysql = a\nmysql = b\n",
                 "DIR/10-x.ini:3: [plugin p]: duplicate key \"mysql\" (first set at line 2)",
                 "mysql twice in a plugin");
    expect_error("[plugin p]\nenabled = true\nenabled = false\n",
                 "DIR/10-x.ini:3: [plugin p]: duplicate key \"enabled\" (first set at line 2)",
                 "enabled twice");
    expect_error("[plugin p]\nevents =\n", "DIR/10-x.ini:2: [plugin p]: events: empty value",
                 "empty events");
}

static void test_equal(void)
{
    jh__conf *a, *b;
    jh_err e;
    const char *base = "[mysql m]\nuser = u\ndatabase = d\npassword_env = " SECRET_ENV "\n"
                       "[redis r]\nprefix = x:\npassword_env = " SECRET_ENV "\n"
                       "[kafka k]\nbrokers = 127.0.0.1:1\nrdkafka.acks = all\nrdkafka.linger.ms = 5\n"
                       "[plugin p]\nmysql = m\nredis = r\nevents = k\ntitle = t\n";
    /* Same settings, other order and positions. */
    const char *moved = "\n\n[plugin p]\ntitle = t\nevents = k\nredis = r\nmysql = m\n"
                        "[kafka k]\nrdkafka.linger.ms = 5\nrdkafka.acks = all\n"
                        "brokers = 127.0.0.1:1\n"
                        "[redis r]\npassword_env = " SECRET_ENV "\nprefix = x:\n"
                        "[mysql m]\npassword_env = " SECRET_ENV "\ndatabase = d\nuser = u\n";

    setenv(SECRET_ENV, SECRET, 1);
    if (jh__conf_load_string("a.ini", base, &a, &e) < 0 ||
        jh__conf_load_string("b.ini", moved, &b, &e) < 0)
        bail("equal: %s", e.msg);
    ok(jh__conf_mysql_equal(&a->mysql[0], &b->mysql[0]), "mysql: same settings are equal");
    ok(jh__conf_redis_equal(&a->redis[0], &b->redis[0]), "redis: same settings are equal");
    ok(jh__conf_kafka_equal(&a->kafka[0], &b->kafka[0]), "kafka: properties in any order");
    ok(jh__conf_plugin_equal(&a->plugins[0], &b->plugins[0]), "plugin: same keys and backends");
    ok(jh__conf_mysql_equal(NULL, NULL) && !jh__conf_mysql_equal(&a->mysql[0], NULL) &&
           !jh__conf_redis_equal(NULL, &a->redis[0]) && !jh__conf_kafka_equal(&a->kafka[0], NULL),
       "NULL equals only NULL");
    jh__conf_free(b);

    /* The password alone differs. */
    setenv(SECRET_ENV, SECRET "2", 1);
    if (jh__conf_load_string("b.ini", base, &b, &e) < 0)
        bail("equal: %s", e.msg);
    ok(!jh__conf_mysql_equal(&a->mysql[0], &b->mysql[0]), "mysql: another password differs");
    ok(!jh__conf_redis_equal(&a->redis[0], &b->redis[0]), "redis: another password differs");
    jh__conf_free(b);
    setenv(SECRET_ENV, SECRET, 1);

    static const struct {
        const char *from, *to, *what;
        int kind; /* 0 mysql, 1 redis, 2 kafka, 3 plugin */
    } changes[] = {
        {"user = u", "user = v", "mysql user", 0},
        {"database = d", "database = d\nport = 3307", "mysql port", 0},
        {"database = d", "database = d\nhost = localhost", "mysql host", 0},
        {"database = d", "database = d\nsocket = /s", "mysql socket", 0},
        {"database = d", "database = d\ncharset = utf8", "mysql charset", 0},
        {"database = d", "database = e", "mysql database", 0},
        {"database = d", "database = d\nconnect_timeout = 6s", "mysql connect_timeout", 0},
        {"database = d", "database = d\nread_timeout = 6s", "mysql read_timeout", 0},
        {"database = d", "database = d\nwrite_timeout = 6s", "mysql write_timeout", 0},
        {"database = d\npassword_env = " SECRET_ENV, "database = d", "mysql without password", 0},
        {"prefix = x:", "prefix = y:", "redis prefix", 1},
        {"prefix = x:", "prefix = x:\ndb = 1", "redis db", 1},
        {"prefix = x:", "prefix = x:\nport = 1", "redis port", 1},
        {"prefix = x:", "prefix = x:\nhost = h", "redis host", 1},
        {"prefix = x:", "prefix = x:\nsocket = /s", "redis socket", 1},
        {"prefix = x:", "prefix = x:\ntimeout = 1s", "redis timeout", 1},
        {"prefix = x:", "prefix = x:\nconnect_timeout = 1s", "redis connect_timeout", 1},
        {"brokers = 127.0.0.1:1", "brokers = 127.0.0.1:2", "kafka brokers", 2},
        {"rdkafka.acks = all", "rdkafka.acks = 1", "kafka property value", 2},
        {"rdkafka.acks = all", "rdkafka.acks = all\nrdkafka.x = 1", "kafka property added", 2},
        {"rdkafka.acks = all", "rdkafka.ack = all", "kafka property renamed", 2},
        {"title = t", "title = u", "plugin key value", 3},
        {"title = t", "title = t\nenabled = auto", "plugin enabled", 3},
        {"redis = r\n", "", "plugin redis unbound", 3},
        {"events = k\n", "", "plugin events unbound", 3},
        {"mysql = m\n", "", "plugin mysql unbound", 3},
    };
    for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
        char text[1024];
        const char *at = strstr(base, changes[i].from);
        if (at == NULL)
            bail("equal: %s not in base", changes[i].from);
        snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - base), base, changes[i].to,
                 at + strlen(changes[i].from));
        if (jh__conf_load_string("b.ini", text, &b, &e) < 0)
            bail("equal %s: %s", changes[i].what, e.msg);
        int eq = changes[i].kind == 0   ? jh__conf_mysql_equal(&a->mysql[0], &b->mysql[0])
                 : changes[i].kind == 1 ? jh__conf_redis_equal(&a->redis[0], &b->redis[0])
                 : changes[i].kind == 2 ? jh__conf_kafka_equal(&a->kafka[0], &b->kafka[0])
                                        : jh__conf_plugin_equal(&a->plugins[0], &b->plugins[0]);
        ok(!eq, "%s changed: not equal", changes[i].what);
        jh__conf_free(b);
    }
    jh__conf_free(a);

    /* A plugin with no section compares like an empty, enabled one. */
    ok(jh__conf_load_string("c.ini", "[plugin p]\n[plugin q]\nenabled = false\n"
                           "[plugin r]\nredis = x\n[redis x]\n", &a, &e) == 0, "sections");
    ok(jh__conf_plugin_equal(&a->plugins[0], NULL), "empty section == no section");
    ok(!jh__conf_plugin_equal(NULL, &a->plugins[1]), "disabled != no section");
    ok(!jh__conf_plugin_equal(&a->plugins[2], NULL), "bound redis != no section");
    jh__conf_free(a);
}

int main(void)
{
    plan_lazy();
    snprintf(top, sizeof(top), "/tmp/jh-confb-XXXXXX");
    if (mkdtemp(top) == NULL)
        bail("mkdtemp");
    snprintf(dir, sizeof(dir), "%s/conf.d", top);
    if (mkdir(dir, 0700) != 0)
        bail("mkdir %s", dir);

    test_host();
    test_sections();
    test_passwords();
    test_plugin_keys();
    test_equal();
    diag("%d error messages checked for the password", n_errors_checked);
    ok(n_errors_checked > 40, "the secret check ran on every error (%d)", n_errors_checked);

    clear();
    rmdir(dir);
    rmdir(top);
    unsetenv(SECRET_ENV);
    jh__tz_cache_free();
    return done_testing();
}
