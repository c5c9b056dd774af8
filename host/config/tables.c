/*
 * tables.c - the key map's tables: every key of every section kind, with
 * its type, default, field and checks (see keymap.h for the columns).
 *
 * The README's configuration reference documents these rows: each key
 * with the default jh__conf_keys() gives for it, and no other key
 * (t/config/readme_keys.t checks both).  A row's order is the order of
 * "did you mean" ties and of "missing key" checks.
 */
#include "keymap.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "time/cron.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* A row: name, type, default, field, description, then optional columns
 * (designated).  The description is the first variadic argument, so that
 * a row without optional columns is still a valid macro call. */
#define KEY(name_, type_, def_, off_, ...) \
    {.name = (name_), .type = (type_), .def = (def_), .off = (off_), .desc = __VA_ARGS__}

#define MS 1000000LL
#define SEC 1000000000LL

/* ---- [host] ----------------------------------------------------------- */

#define H(f) offsetof(jh__conf_host, f)

static const jh__conf_word log_formats[] = {
    {"logfmt", JH_LOGFMT_LOGFMT}, {"json", JH_LOGFMT_JSON}, {NULL, 0}};
static const jh__conf_word log_levels[] = {
    {"debug", JH_LOG_DEBUG}, {"info", JH_LOG_INFO}, {"warn", JH_LOG_WARN},
    {"error", JH_LOG_ERROR}, {NULL, 0}};
static const jh__conf_word sync_modes[] = {
    {"always", JH_OUTBOX_SYNC_ALWAYS}, {"interval", JH_OUTBOX_SYNC_INTERVAL}, {NULL, 0}};

/* plugins_dir and state_dir stay NULL when not set: the host resolves
 * them (from the conf dir's parent, or -p / -s). */
static const jh__conf_key host_keys[] = {
    KEY("workers", JH_K_INT, "2", H(workers), "worker threads that run handlers",
        .lo = 1, .hi = 256),
    KEY("shutdown_timeout", JH_K_DURATION, "30s", H(shutdown_timeout),
        "how long SIGTERM waits for running jobs", .flags = JH_KF_ZERO),
    KEY("plugins_dir", JH_K_STR, NULL, H(plugins_dir), "where *.so plugins are loaded from",
        .flags = JH_KF_EMPTY, .doc = "`plugins`"),
    KEY("log_format", JH_K_ENUM, "logfmt", H(log_format), "log line format",
        .names = log_formats),
    KEY("log_level", JH_K_ENUM, "info", H(log_level), "least level logged",
        .names = log_levels),
    KEY("state_dir", JH_K_STR, NULL, H(state_dir), "state kept across restarts (the outbox)",
        .doc = "`state`"),
    KEY("outbox_sync", JH_K_ENUM, "always", H(outbox_sync), "when an event send returns",
        .names = sync_modes),
    KEY("outbox_sync_interval", JH_K_DURATION, "5ms", H(outbox_sync_interval),
        "outbox fsync period with outbox_sync = interval", .lo = 1 * MS, .hi = 10 * SEC),
    KEY("event_max_bytes", JH_K_BYTES, "1048576", H(event_max_bytes),
        "largest event payload", .lo = 1, .hi = 64 * 1024 * 1024),
};

/* ---- [plugin NAME]: the host's keys ------------------------------------ */

#define PL(f) offsetof(jh__conf_plugin, f)

/* enabled = auto: load only when every service it requires is bound. */
static const jh__conf_word plugin_auto[] = {{"auto", -1}, {NULL, 0}};

static const jh__conf_key plugin_keys[] = {
    KEY("mysql", JH_K_STR, NULL, PL(mysql), "the [mysql NAME] section its SQL calls use",
        .pos_off = PL(mysql_pos), .ref = JH_CONF_MYSQL),
    KEY("redis", JH_K_STR, NULL, PL(redis), "the [redis NAME] section it uses",
        .pos_off = PL(redis_pos), .ref = JH_CONF_REDIS),
    KEY("events", JH_K_STR, NULL, PL(events), "the [kafka NAME] section its events go to",
        .pos_off = PL(events_pos), .ref = JH_CONF_KAFKA),
    KEY("enabled", JH_K_BOOL, "true", PL(enabled), "whether it loads (or auto)",
        .names = plugin_auto),
    /* Any other key is the plugin's own, checked against its descriptor
     * once it is loaded (jh__conf_check_plugin). */
    KEY("", JH_K_KVLIST, NULL, PL(kv), "the plugin's own keys", .flags = JH_KF_PREFIX,
        .n_off = PL(n_kv)),
};

/* ---- [mysql NAME], [redis NAME], [kafka NAME] -------------------------- */

#define MY(f) offsetof(jh__conf_mysql, f)

static const jh__conf_key mysql_keys[] = {
    KEY("host", JH_K_STR, "127.0.0.1", MY(host), "server address"),
    KEY("port", JH_K_INT, "3306", MY(port), "server port", .lo = 1, .hi = 65535),
    KEY("socket", JH_K_STR, NULL, MY(socket), "unix socket; overrides host and port"),
    KEY("user", JH_K_STR, NULL, MY(user), "user name", .flags = JH_KF_REQUIRED),
    KEY("password_file", JH_K_SECRET_FILE, NULL, MY(password), "file holding the password",
        .excl = "password_env"),
    KEY("password_env", JH_K_SECRET_ENV, NULL, MY(password),
        "environment variable holding the password", .excl = "password_file"),
    KEY("database", JH_K_STR, NULL, MY(database), "database", .flags = JH_KF_REQUIRED),
    KEY("charset", JH_K_STR, "utf8mb4", MY(charset), "connection character set"),
    KEY("connect_timeout", JH_K_DURATION, "5s", MY(connect_timeout), "connect timeout"),
    KEY("read_timeout", JH_K_DURATION, "30s", MY(read_timeout), "per server round trip"),
    KEY("write_timeout", JH_K_DURATION, "30s", MY(write_timeout), "per server round trip"),
};

#define RD(f) offsetof(jh__conf_redis, f)

static const jh__conf_key redis_keys[] = {
    KEY("host", JH_K_STR, "127.0.0.1", RD(host), "server address"),
    KEY("port", JH_K_INT, "6379", RD(port), "server port", .lo = 1, .hi = 65535),
    KEY("socket", JH_K_STR, NULL, RD(socket), "unix socket; overrides host and port"),
    KEY("db", JH_K_INT, "0", RD(db), "database number", .lo = 0, .hi = 15),
    KEY("password_file", JH_K_SECRET_FILE, NULL, RD(password), "file holding the password",
        .excl = "password_env"),
    KEY("password_env", JH_K_SECRET_ENV, NULL, RD(password),
        "environment variable holding the password", .excl = "password_file"),
    KEY("prefix", JH_K_STR, "", RD(prefix), "prepended to the keys of the host's tables",
        .flags = JH_KF_EMPTY, .doc = "empty"),
    KEY("connect_timeout", JH_K_DURATION, "2s", RD(connect_timeout), "connect timeout"),
    KEY("timeout", JH_K_DURATION, "2s", RD(timeout), "per command"),
};

#define KF(f) offsetof(jh__conf_kafka, f)

/* rdkafka.<property>: values are passed through verbatim (they may be
 * secrets, such as sasl.password): librdkafka checks them when the
 * producer is built. */
static int kafka_property(jh__conf_parser *p, const jh__conf_key *k, void *sec, const char *key,
                          const char *value)
{
    const char *prop = key + strlen(k->name);

    if (*prop == '\0')
        return jh__conf_fail(p, -EINVAL, "[%s]: \"%s\": missing the property name", p->label,
                             key);
    /* Two spellings of the broker list would disagree on a reload. */
    if (strcmp(prop, "bootstrap.servers") == 0 || strcmp(prop, "metadata.broker.list") == 0)
        return jh__conf_fail(p, -EINVAL, "[%s]: %s: set brokers instead", p->label, key);
    return jh__conf_store(p, k, sec, key, value);
}

static const jh__conf_key kafka_keys[] = {
    KEY("brokers", JH_K_STR, NULL, KF(brokers), "host:port,host:port",
        .flags = JH_KF_REQUIRED),
    KEY("rdkafka.", JH_K_KVLIST, NULL, KF(props), "a librdkafka producer property",
        .flags = JH_KF_PREFIX | JH_KF_SECRET, .n_off = KF(n_props), .doc = "librdkafka's",
        .parse = kafka_property),
};

/* ---- [job NAME] -------------------------------------------------------- */

#define J(f) offsetof(jh__conf_job, f)

static const jh__conf_word concurrency_modes[] = {
    {"forbid", JH_CONC_FORBID}, {"allow", JH_CONC_ALLOW}, {NULL, 0}};

/* every and cron also say which of the two the schedule is.  A cron
 * expression is checked once its zone is known (finish.c). */
static int job_schedule(jh__conf_parser *p, const jh__conf_key *k, void *sec, const char *key,
                        const char *value)
{
    int rc = jh__conf_store(p, k, sec, key, value);

    if (rc == 0 && k->type == JH_K_DURATION && ((jh__conf_job *)sec)->every < JH__EVERY_MIN_NS)
        return jh__conf_fail(p, -ERANGE, "[%s]: %s \"%s\": below the minimum of 1ms", p->label,
                             key, value);
    if (rc == 0)
        ((jh__conf_job *)sec)->kind = k->type == JH_K_DURATION ? JH_SCHED_EVERY : JH_SCHED_CRON;
    return rc;
}

/* Its line, for "max_running = 2 needs concurrency = allow" (finish.c). */
static int job_max_running(jh__conf_parser *p, const jh__conf_key *k, void *sec,
                           const char *key, const char *value)
{
    ((jh__conf_job *)sec)->max_running_line = p->line;
    return jh__conf_store(p, k, sec, key, value);
}

static const jh__conf_key job_keys[] = {
    KEY("plugin", JH_K_STR, NULL, J(plugin), "plugin name", .flags = JH_KF_REQUIRED,
        .pos_off = J(plugin_pos)),
    KEY("handler", JH_K_STR, NULL, J(handler), "handler name in that plugin",
        .flags = JH_KF_REQUIRED, .pos_off = J(handler_pos)),
    KEY("every", JH_K_DURATION, NULL, J(every), "fixed interval", .doc = "handler's default",
        .excl = "cron", .pos_off = J(sched_pos), .set_bit = JH_JOB_SET_SCHEDULE,
        .parse = job_schedule),
    KEY("cron", JH_K_STR, NULL, J(cron), "cron expression", .doc = "handler's default",
        .excl = "every", .pos_off = J(sched_pos), .set_bit = JH_JOB_SET_SCHEDULE,
        .parse = job_schedule),
    KEY("timezone", JH_K_STR, NULL, J(timezone), "IANA zone of the cron expression",
        .doc = "host's zone", .pos_off = J(tz_pos), .set_bit = JH_JOB_SET_TIMEZONE),
    KEY("jitter", JH_K_DURATION, "0", J(jitter), "random delay up to this, stable per job",
        .flags = JH_KF_ZERO, .set_bit = JH_JOB_SET_JITTER),
    KEY("run_on_start", JH_K_BOOL, "false", J(run_on_start), "also run once at start",
        .set_bit = JH_JOB_SET_RUN_ON_START),
    KEY("concurrency", JH_K_ENUM, "forbid", J(concurrency), "a tick while a run is in flight",
        .names = concurrency_modes, .set_bit = JH_JOB_SET_CONCURRENCY),
    KEY("max_running", JH_K_INT, "1", J(max_running), "runs at once with concurrency = allow",
        .lo = 1, .hi = 1000000, .expect = "a number >= 1", .set_bit = JH_JOB_SET_MAX_RUNNING,
        .parse = job_max_running),
    KEY("timeout", JH_K_DURATION, NULL, J(timeout), "deadline of a run",
        .set_bit = JH_JOB_SET_TIMEOUT),
    KEY("enabled", JH_K_BOOL, "true", J(enabled), "false: configured but idle",
        .set_bit = JH_JOB_SET_ENABLED),
};

/* ---- the section kinds ------------------------------------------------- */

/* Where the sections of a named kind live in jh__conf. */
#define ARRAY(arr, n, type) \
    .named = 1, .arr_off = offsetof(jh__conf, arr), .n_off = offsetof(jh__conf, n), \
    .elem = sizeof(type), .pos_off = offsetof(type, pos)

static const jh__conf_section sections[JH_CONF_N_KINDS] = {
    [JH_CONF_HOST] = {JH_CONF_HOST, "host", "[host]", host_keys, N(host_keys),
                      .dup = JH_DUP_FILE_LINE},
    [JH_CONF_PLUGIN] = {JH_CONF_PLUGIN, "plugin", "[plugin NAME]", plugin_keys,
                        N(plugin_keys), ARRAY(plugins, n_plugins, jh__conf_plugin)},
    [JH_CONF_MYSQL] = {JH_CONF_MYSQL, "mysql", "[mysql NAME]", mysql_keys, N(mysql_keys),
                       ARRAY(mysql, n_mysql, jh__conf_mysql)},
    [JH_CONF_REDIS] = {JH_CONF_REDIS, "redis", "[redis NAME]", redis_keys, N(redis_keys),
                       ARRAY(redis, n_redis, jh__conf_redis)},
    /* One librdkafka producer serves every plugin's events; a second
     * cluster would need a second producer and outbox. */
    [JH_CONF_KAFKA] = {JH_CONF_KAFKA, "kafka", "[kafka NAME]", kafka_keys, N(kafka_keys),
                       ARRAY(kafka, n_kafka, jh__conf_kafka), .single = 1,
                       .single_why = "one producer per process",
                       .unknown_hint = " (librdkafka properties are written rdkafka.<property>)"},
    [JH_CONF_JOB] = {JH_CONF_JOB, "job", "[job NAME]", job_keys, N(job_keys),
                     ARRAY(jobs, n_jobs, jh__conf_job), .set_off = J(set), .nonempty = 1,
                     .dup = JH_DUP_BARE},
};

/* parser.sec_seen and jh__conf.host_set_ keep a position per key. */
_Static_assert(N(host_keys) <= N(((jh__conf *)0)->host_set_) &&
                   N(plugin_keys) <= N(((jh__conf_parser *)0)->sec_seen) &&
                   N(mysql_keys) <= N(((jh__conf_parser *)0)->sec_seen) &&
                   N(redis_keys) <= N(((jh__conf_parser *)0)->sec_seen) &&
                   N(kafka_keys) <= N(((jh__conf_parser *)0)->sec_seen) &&
                   N(job_keys) <= N(((jh__conf_parser *)0)->sec_seen),
               "a position per key of a section");

const jh__conf_section *jh__conf_section_of(int kind)
{
    return kind >= 0 && kind < JH_CONF_N_KINDS ? &sections[kind] : NULL;
}

const jh__conf_section *jh__conf_section_named(const char *s, size_t len)
{
    for (size_t i = 0; i < N(sections); i++)
        if (sections[i].named && strlen(sections[i].word) == len &&
            strncmp(s, sections[i].word, len) == 0)
            return &sections[i];
    return NULL;
}

/* ---- the reference ------------------------------------------------------ */

const char *jh__conf_kind_title(int kind)
{
    const jh__conf_section *sd = jh__conf_section_of(kind);

    return sd != NULL ? sd->title : NULL;
}

/* The default as the README writes it. */
static void doc_default(const jh__conf_key *k, char *out, size_t len)
{
    if (k->doc != NULL)
        snprintf(out, len, "%s", k->doc);
    else if (k->flags & JH_KF_REQUIRED)
        snprintf(out, len, "(required)");
    else if (k->def != NULL)
        snprintf(out, len, "`%s`", k->def);
    else
        snprintf(out, len, "none");
}

size_t jh__conf_keys(int kind, jh__conf_keydoc *out, size_t max)
{
    const jh__conf_section *sd = jh__conf_section_of(kind);
    size_t n = 0;

    for (size_t i = 0; sd != NULL && i < sd->n_keys; i++) {
        const jh__conf_key *k = &sd->keys[i];
        if (k->name[0] == '\0') /* a [plugin]'s own keys: its descriptor's */
            continue;
        if (n < max) {
            out[n].name = k->name;
            out[n].prefix = (k->flags & JH_KF_PREFIX) != 0;
            doc_default(k, out[n].def, sizeof(out[n].def));
            out[n].desc = k->desc;
        }
        n++;
    }
    return n;
}
