/*
 * config.h - conf.d/ *.ini files, read in name order with inih, validated strictly.
 *
 * Sections: [host], [plugin NAME], [job NAME], [mysql NAME], [redis NAME],
 * [kafka NAME]; their keys are the key map's tables (tables.c).  Every error
 * carries file:line ("conf.d/20-jobs.ini:14: [job report]: unknown key
 * \"cronn\"").
 * Everything that can be checked without loading plugins is checked here
 * (syntax, durations, cron expressions and time zones, duplicates, the keys
 * of every section but a plugin's own); what needs the plugins (unknown
 * plugin or handler, keys a plugin does not declare) is checked by
 * jh__conf_check_plugin() and by the host when it builds the schedule.
 *
 * The result is an immutable snapshot; a reload parses a new one and keeps
 * the old one until the new state is committed.
 */
#ifndef JH_CONFIG_H
#define JH_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "jobhost.h"
#include "values.h"

/* A source position, for error messages. */
typedef struct jh__conf_pos {
    const char *file; /* path as given (dir + "/" + name); owned by the conf */
    int line;
} jh__conf_pos;

typedef struct jh__conf_kv {
    const char *key;
    const char *value;
    jh__conf_pos pos;
} jh__conf_kv;

typedef struct jh__conf_host {
    int workers;               /* [host] workers = 2 (1..256) */
    int64_t shutdown_timeout;  /* [host] shutdown_timeout = 30s */
    const char *plugins_dir;   /* [host] plugins_dir, NULL if not set */
    const char *state_dir;     /* [host] state_dir, NULL if not set (the host
                                * resolves it like plugins_dir: "state") */
    int outbox_sync;           /* [host] outbox_sync = always | interval
                                * (JH_OUTBOX_SYNC_*, values.h) */
    int64_t outbox_sync_interval; /* [host] outbox_sync_interval = 5ms */
    int64_t event_max_bytes;   /* [host] event_max_bytes = 1048576 (1..64 MiB) */
    int log_format;            /* [host] log_format = logfmt | json (JH_LOGFMT_*) */
    int log_level;             /* [host] log_level = info (JH_LOG_*) */
    jh__conf_pos pos;           /* of the [host] section, or file NULL */
} jh__conf_host;

typedef struct jh__conf_plugin {
    const char *name;
    jh__conf_kv *kv;            /* the plugin's own keys, in file order (the
                                * host keys below are not in it) */
    size_t n_kv;
    jh__conf_pos pos;           /* of the section header */
    /* Host keys of a [plugin] section: backends it binds by section name
     * (NULL = none) and whether it loads at all. */
    const char *mysql, *redis, *events;
    jh__conf_pos mysql_pos, redis_pos, events_pos;
    int enabled;               /* enabled = true (1) | false (0) | auto (-1):
                                * auto loads it only when every service it
                                * requires is bound */
} jh__conf_plugin;

/* [mysql NAME]: a MariaDB / MySQL server.  Timeouts in ns. */
typedef struct jh__conf_mysql {
    const char *name;
    const char *host;          /* default "127.0.0.1" */
    int port;                  /* default 3306 */
    const char *socket;        /* unix socket; overrides host/port */
    const char *user;          /* required */
    const char *password;      /* from password_file / password_env; NULL =
                                * none.  A secret: never logged or printed */
    const char *database;      /* required */
    const char *charset;       /* default "utf8mb4" */
    int64_t connect_timeout;   /* default 5s */
    int64_t read_timeout;      /* default 30s */
    int64_t write_timeout;     /* default 30s */
    jh__conf_pos pos;
} jh__conf_mysql;

/* [redis NAME] */
typedef struct jh__conf_redis {
    const char *name;
    const char *host;          /* default "127.0.0.1" */
    int port;                  /* default 6379 */
    const char *socket;        /* unix socket; overrides host/port */
    int db;                    /* default 0 */
    const char *password;      /* password_file / password_env; secret */
    const char *prefix;        /* key prefix, default "" */
    int64_t connect_timeout;   /* default 2s */
    int64_t timeout;           /* per command, default 2s */
    jh__conf_pos pos;
} jh__conf_redis;

/* [kafka NAME]: brokers plus rdkafka.<property> = value pass-through. */
typedef struct jh__conf_kafka {
    const char *name;
    const char *brokers;       /* required, "host:port,host:port" */
    jh__conf_kv *props;         /* key without the "rdkafka." prefix */
    size_t n_props;
    jh__conf_pos pos;
} jh__conf_kafka;

enum jh__sched_kind { JH_SCHED_NONE = 0, JH_SCHED_EVERY = 1, JH_SCHED_CRON = 2 };
enum jh__concurrency { JH_CONC_FORBID = 0, JH_CONC_ALLOW = 1 };

/* Bits of jh__conf_job.set: which keys the ini set explicitly, so values
 * not set can be taken from the handler's defaults. */
enum {
    JH_JOB_SET_SCHEDULE = 1 << 0, /* every or cron */
    JH_JOB_SET_TIMEZONE = 1 << 1,
    JH_JOB_SET_JITTER = 1 << 2,
    JH_JOB_SET_RUN_ON_START = 1 << 3,
    JH_JOB_SET_CONCURRENCY = 1 << 4,
    JH_JOB_SET_MAX_RUNNING = 1 << 5,
    JH_JOB_SET_TIMEOUT = 1 << 6,
    JH_JOB_SET_ENABLED = 1 << 7,
};

typedef struct jh__conf_job {
    const char *name;
    const char *plugin;        /* required */
    const char *handler;       /* required */
    int kind;                  /* JH_SCHED_*; NONE = take the handler's default */
    int64_t every;             /* ns, kind == EVERY */
    const char *cron;          /* kind == CRON; already validated */
    const char *timezone;      /* NULL = host zone; already validated */
    int64_t jitter;            /* ns, 0 = none */
    int run_on_start;          /* default 0 */
    int concurrency;           /* default JH_CONC_FORBID */
    int max_running;           /* default 1; >1 only with allow */
    int64_t timeout;           /* ns, 0 = none */
    int enabled;               /* default 1 */
    unsigned set;              /* JH_JOB_SET_* */
    jh__conf_pos pos;           /* of the section header */
    jh__conf_pos plugin_pos;    /* of the plugin = line */
    jh__conf_pos handler_pos;   /* of the handler = line */
    jh__conf_pos sched_pos;     /* of the every/cron line */
    jh__conf_pos tz_pos;        /* of the timezone line */
    int max_running_line;
} jh__conf_job;

typedef struct jh__conf {
    const char *dir;
    jh__conf_host host;
    jh__conf_plugin *plugins;   /* in file order */
    size_t n_plugins;
    jh__conf_job *jobs;         /* in file order */
    size_t n_jobs;
    jh__conf_mysql *mysql;      /* in file order */
    size_t n_mysql;
    jh__conf_redis *redis;
    size_t n_redis;
    jh__conf_kafka *kafka;      /* at most one (one producer per process) */
    size_t n_kafka;
    /* private: arena that owns every string above; where each [host] key
     * was set */
    void *arena_;
    jh__conf_pos host_set_[16];
} jh__conf;

/* Read dir/ *.ini in name order (strcmp of file names; other files are
 * ignored, a missing or empty directory is an empty configuration).
 * Each *.ini must be a regular file (or a symlink to one) of at most
 * JH__CONF_FILE_MAX bytes: a FIFO, a device or a directory is refused at
 * once, without reading (or blocking on) it.
 * Returns 0 or a negative code with the first error in *e. */
#define JH__CONF_FILE_MAX (16 << 20)
int jh__conf_load_dir(const char *dir, jh__conf **out, jh_err *e);
/* Same, from one in-memory ini text named `name` (for tests, embedding). */
int jh__conf_load_string(const char *name, const char *text, jh__conf **out, jh_err *e);
void jh__conf_free(jh__conf *c);

/* Free the [job] array once its contents have been copied out (the host
 * keeps a snapshot for [host] and [plugin] only): ~200 bytes a job. */
void jh__conf_drop_jobs(jh__conf *c);

const jh__conf_plugin *jh__conf_find_plugin(const jh__conf *c, const char *name);
const jh__conf_mysql *jh__conf_find_mysql(const jh__conf *c, const char *name);
const jh__conf_redis *jh__conf_find_redis(const jh__conf *c, const char *name);
const jh__conf_kafka *jh__conf_find_kafka(const jh__conf *c, const char *name);
/* Deep equality of two backend sections (a reload keeps the backend, and
 * its open connections, when its section is unchanged). */
int jh__conf_mysql_equal(const jh__conf_mysql *a, const jh__conf_mysql *b);
int jh__conf_redis_equal(const jh__conf_redis *a, const jh__conf_redis *b);
int jh__conf_kafka_equal(const jh__conf_kafka *a, const jh__conf_kafka *b);
const jh__conf_kv *jh__conf_plugin_get(const jh__conf_plugin *p, const char *key);

/* Check a [plugin] section against the keys the plugin declares:
 * "conf.d/10-x.ini:4: [plugin report]: unknown key \"colour\" (report declares: title, limit)". */
int jh__conf_check_plugin(const jh__conf_plugin *p, const jh_plugin_desc *d, jh_err *e);

/* Deep equality of two plugin sections (same keys and values, any order);
 * a reload keeps a plugin's loaded copy only if this holds and its file is
 * unchanged. */
int jh__conf_plugin_equal(const jh__conf_plugin *a, const jh__conf_plugin *b);

/* ---- the key reference (what the README's tables document) ---------- */

/* Section kinds, in the README's order. */
enum jh__conf_kind {
    JH_CONF_HOST,
    JH_CONF_PLUGIN,
    JH_CONF_MYSQL,
    JH_CONF_REDIS,
    JH_CONF_KAFKA,
    JH_CONF_JOB,
    JH_CONF_N_KINDS
};

/* One key of a section, as documented. */
typedef struct jh__conf_keydoc {
    const char *name;   /* "connect_timeout"; a prefix ends in '.' ("rdkafka.") */
    int prefix;         /* the key is any name starting with `name` */
    char def[48];       /* the default: "`5s`", "none", "(required)", "empty", ... */
    const char *desc;
} jh__conf_keydoc;

/* The section heading of a kind ("[mysql NAME]"), NULL if kind is out of
 * range. */
const char *jh__conf_kind_title(int kind);
/* The keys of a kind, in table order, into out[0..max); returns how many
 * there are.  A [plugin]'s own keys (its descriptor's) are not among them. */
size_t jh__conf_keys(int kind, jh__conf_keydoc *out, size_t max);

#endif
