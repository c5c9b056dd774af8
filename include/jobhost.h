/*
 * jobhost.h - the one header a jobhost plugin is written against.
 *
 * A plugin is a shared object that exports exactly one symbol,
 * `jobhost_plugin`, a constant jh_plugin_desc built with JH_PLUGIN_DESC().
 * It never links against the host: every service reaches it through the
 * function table (jh_api) that the first field of each jh_ctx points to,
 * the way Redis modules receive their API.  The inline functions below
 * (jh_log, jh_config, jh_lock_acquire, ...) hide that indirection.
 *
 * ABI rules
 *   - JH_ABI_MAJOR changes only when an existing struct or function changes
 *     meaning.  A plugin built for another major is refused.
 *   - JH_ABI_MINOR grows when something is appended.  A plugin built for a
 *     newer minor than the host is refused; an older one keeps loading.
 *   - Every struct exchanged between host and plugin starts with its size,
 *     so a side built against an older minor only reads what it knows.
 *   - The host checks magic, major, minor and the descriptor size by
 *     reading the ELF file before dlopen(), so no plugin code (not even a
 *     constructor) runs for a plugin that will be refused.
 *
 * Conventions: functions return 0 (or a count) on success and a negative
 * errno-style code on failure.  Times are nanoseconds since the Unix epoch
 * (CLOCK_REALTIME) unless a name says otherwise.  Strings returned by the
 * host belong to the host and stay valid for the duration of the call that
 * received the context (a run, or init).
 */
#ifndef JOBHOST_H
#define JOBHOST_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define JH_ABI_MAJOR 1
#define JH_ABI_MINOR 0

/* "JHPL" read as a little-endian uint32. */
#define JH_PLUGIN_MAGIC 0x4c50484aU

/* The one symbol a plugin exports. */
#define JH_PLUGIN_SYMBOL "jobhost_plugin"

#if defined(__GNUC__)
#define JH_EXPORT __attribute__((visibility("default")))
#define JH_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define JH_EXPORT
#define JH_PRINTF(fmt, args)
#endif

/* Log levels, lowest first. */
enum jh_log_level {
    JH_LOG_DEBUG = 0,
    JH_LOG_INFO = 1,
    JH_LOG_WARN = 2,
    JH_LOG_ERROR = 3
};

/* Opaque per-call context: a run of a handler, or a plugin's init/fini. */
typedef struct jh_ctx jh_ctx;

/* A handler: return 0 on success or a negative errno-style code, and
 * optionally call jh_fail() first to attach a message to the run. */
typedef int (*jh_handler_fn)(jh_ctx *ctx);

/*
 * One entry of a plugin's handler table.  `every` (an interval such as
 * "5s", "1h30m") or `cron` (an expression such as "0 0 2 * * *") is the
 * default schedule used when no [job] in conf.d/ names this handler; leave
 * both NULL for a handler that runs only when configured.  The table is an
 * array whose element size the descriptor records (handler_size), so this
 * struct may grow in later minors.
 */
typedef struct jh_handler {
    const char *name;
    jh_handler_fn fn;
    const char *every;
    const char *cron;
    const char *timezone; /* for `cron`; NULL = the host's zone */
} jh_handler;

/*
 * A configuration key the plugin accepts in its [plugin NAME] section.
 * Keys not declared here are a configuration error (file:line).  A key with
 * `secret` set is never logged or printed by --check.
 */
typedef struct jh_config_key {
    const char *name;
    const char *default_value; /* NULL: no default (jh_config returns NULL) */
    const char *description;
    int secret;
} jh_config_key;

/*
 * The plugin descriptor.  Fill it with JH_PLUGIN_DESC so the header fields
 * are right.  `init` runs once per loaded copy, before any handler, with a
 * context that carries the plugin's configuration; whatever it stores in
 * *state is returned by jh_state() in every run and passed to `fini`.
 * `init` returning non-zero refuses the load (the message attached with
 * jh_fail() is reported).  Both may be NULL.
 */
typedef struct jh_plugin_desc {
    uint32_t magic;        /* JH_PLUGIN_MAGIC */
    uint16_t abi_major;    /* JH_ABI_MAJOR the plugin was built with */
    uint16_t abi_minor;    /* JH_ABI_MINOR the plugin was built with */
    uint32_t size;         /* sizeof(jh_plugin_desc) as built */
    uint32_t handler_size; /* sizeof(jh_handler) as built */
    uint32_t config_key_size; /* sizeof(jh_config_key) as built */
    uint32_t reserved;
    const char *name;      /* [a-z0-9_-]+, unique in the host */
    const char *version;   /* free text, shown in logs */
    int (*init)(jh_ctx *ctx, void **state);
    void (*fini)(jh_ctx *ctx, void *state);
    const jh_handler *handlers;
    size_t n_handlers;
    const jh_config_key *config_keys;
    size_t n_config_keys;
} jh_plugin_desc;

#define JH_PLUGIN_DESC_HEADER                                             \
    .magic = JH_PLUGIN_MAGIC, .abi_major = JH_ABI_MAJOR,                  \
    .abi_minor = JH_ABI_MINOR, .size = sizeof(jh_plugin_desc),            \
    .handler_size = sizeof(jh_handler),                                   \
    .config_key_size = sizeof(jh_config_key)

/*
 * Usage:
 *   static const jh_handler handlers[] = {{"tick", tick, "5s", NULL, NULL}};
 *   JH_PLUGIN_DESC(.name = "heartbeat", .version = "1.0",
 *                  .handlers = handlers, .n_handlers = 1);
 */
#define JH_PLUGIN_DESC(...)                                               \
    JH_EXPORT const jh_plugin_desc jobhost_plugin = {JH_PLUGIN_DESC_HEADER, \
                                                     __VA_ARGS__}

#define JH_COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- repository: the services a run can use ------------------------- */

/*
 * Distributed-style lock.  acquire returns 0 when this run now holds `key`
 * for ttl_ms, -EBUSY when someone else holds it.  release frees the lock
 * only if this run still owns it (returns -ENOENT if it expired or was
 * never held, -EPERM if another owner holds it now).  Locks a run still
 * holds when its handler returns are released by the host.
 */
typedef struct jh_lock_api {
    size_t size;
    int (*acquire)(jh_ctx *ctx, const char *key, int64_t ttl_ms);
    int (*release)(jh_ctx *ctx, const char *key);
} jh_lock_api;

/*
 * Job status: a short string per job name with a TTL (ttl_ms <= 0: none).
 * get copies at most len-1 bytes plus NUL into buf and returns the full
 * value length, or -ENOENT.
 */
typedef struct jh_status_api {
    size_t size;
    int (*set)(jh_ctx *ctx, const char *job, const char *value, int64_t ttl_ms);
    int (*get)(jh_ctx *ctx, const char *job, char *buf, size_t len);
} jh_status_api;

/*
 * Message idempotency: check returns 1 if message_id was marked processed
 * and has not expired, 0 if not; mark records it for ttl_ms.
 */
typedef struct jh_idem_api {
    size_t size;
    int (*check)(jh_ctx *ctx, const char *message_id);
    int (*mark)(jh_ctx *ctx, const char *message_id, int64_t ttl_ms);
} jh_idem_api;

/* Defined by ABI 1.1 (database, redis, events backends); NULL until then. */
typedef struct jh_db_api jh_db_api;
typedef struct jh_redis_api jh_redis_api;
typedef struct jh_events_api jh_events_api;

/*
 * The repository: one table per service, shared by every run.  A NULL
 * member means the service is not configured in this host.
 */
typedef struct jh_repo {
    size_t size;
    const jh_db_api *db;
    const jh_redis_api *redis;
    const jh_events_api *events;
    const jh_lock_api *lock;
    const jh_status_api *status;
    const jh_idem_api *idem;
} jh_repo;

/* ---- the host's function table -------------------------------------- */

typedef struct jh_api {
    size_t size;
    uint16_t abi_major, abi_minor;
    const char *(*job)(jh_ctx *ctx);      /* job name; NULL in init/fini */
    const char *(*plugin)(jh_ctx *ctx);   /* plugin name */
    const char *(*handler)(jh_ctx *ctx);  /* handler name; NULL in init */
    uint64_t (*run_id)(jh_ctx *ctx);      /* unique per process; 0 in init */
    int64_t (*scheduled)(jh_ctx *ctx);    /* planned fire time, ns */
    int64_t (*deadline)(jh_ctx *ctx);     /* ns; INT64_MAX: no timeout */
    int (*cancelled)(jh_ctx *ctx);        /* 1 once the run should stop */
    int64_t (*now)(jh_ctx *ctx);          /* host clock, ns */
    void (*vlog)(jh_ctx *ctx, int level, const char *event,
                 const char *fields_fmt, va_list ap);
    void (*vfail)(jh_ctx *ctx, const char *fmt, va_list ap);
    const char *(*config)(jh_ctx *ctx, const char *key);
    void *(*state)(jh_ctx *ctx);
    const jh_repo *(*repo)(jh_ctx *ctx);
} jh_api;

/* The host guarantees that a context starts with this header. */
struct jh_ctx_head_ {
    const jh_api *api;
};

static inline const jh_api *jh_api_of(jh_ctx *ctx)
{
    return ((const struct jh_ctx_head_ *)(const void *)ctx)->api;
}

/* True if the host's table has member `m` (it may be older than us). */
#define JH_HAS(tbl, m) \
    ((tbl) != NULL && offsetof(__typeof__(*(tbl)), m) < (tbl)->size && (tbl)->m != NULL)

static inline const char *jh_ctx_job(jh_ctx *c) { return jh_api_of(c)->job(c); }
static inline const char *jh_ctx_plugin(jh_ctx *c) { return jh_api_of(c)->plugin(c); }
static inline const char *jh_ctx_handler(jh_ctx *c) { return jh_api_of(c)->handler(c); }
static inline uint64_t jh_run_id(jh_ctx *c) { return jh_api_of(c)->run_id(c); }
static inline int64_t jh_scheduled(jh_ctx *c) { return jh_api_of(c)->scheduled(c); }
static inline int64_t jh_deadline(jh_ctx *c) { return jh_api_of(c)->deadline(c); }
static inline int jh_cancelled(jh_ctx *c) { return jh_api_of(c)->cancelled(c); }
static inline int64_t jh_now(jh_ctx *c) { return jh_api_of(c)->now(c); }
static inline void *jh_state(jh_ctx *c) { return jh_api_of(c)->state(c); }
static inline const jh_repo *jh_repo_of(jh_ctx *c) { return jh_api_of(c)->repo(c); }

/* The plugin's configuration value for `key` (declared in config_keys),
 * its default if unset, or NULL. */
static inline const char *jh_config(jh_ctx *c, const char *key)
{
    return jh_api_of(c)->config(c, key);
}

/*
 * Log one event.  `fields_fmt` is printf-style and must expand to logfmt
 * pairs, e.g. jh_log(ctx, JH_LOG_INFO, "batch.done", "rows=%d last_id=%lld",
 * n, (long long)id).  Quote values that contain spaces: msg="two words".
 * The host adds ts, level, event, job, plugin, handler and run_id.
 */
static inline void jh_log(jh_ctx *c, int level, const char *event,
                          const char *fields_fmt, ...) JH_PRINTF(4, 5);
static inline void jh_log(jh_ctx *c, int level, const char *event,
                          const char *fields_fmt, ...)
{
    va_list ap;
    va_start(ap, fields_fmt);
    jh_api_of(c)->vlog(c, level, event, fields_fmt, ap);
    va_end(ap);
}

/* Attach a message to a failing run (or init); returns `code` so a
 * handler can write `return jh_fail(ctx, -EIO, "db: %s", why);`. */
static inline int jh_fail(jh_ctx *c, int code, const char *fmt, ...) JH_PRINTF(3, 4);
static inline int jh_fail(jh_ctx *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    jh_api_of(c)->vfail(c, fmt, ap);
    va_end(ap);
    return code;
}

/* Service shortcuts: -ENOSYS when the host has no such service. */
static inline int jh_lock_acquire(jh_ctx *c, const char *key, int64_t ttl_ms)
{
    const jh_repo *r = jh_repo_of(c);
    return r && JH_HAS(r->lock, acquire) ? r->lock->acquire(c, key, ttl_ms) : -ENOSYS;
}
static inline int jh_lock_release(jh_ctx *c, const char *key)
{
    const jh_repo *r = jh_repo_of(c);
    return r && JH_HAS(r->lock, release) ? r->lock->release(c, key) : -ENOSYS;
}
static inline int jh_status_set(jh_ctx *c, const char *job, const char *value,
                                int64_t ttl_ms)
{
    const jh_repo *r = jh_repo_of(c);
    return r && JH_HAS(r->status, set) ? r->status->set(c, job, value, ttl_ms) : -ENOSYS;
}
static inline int jh_status_get(jh_ctx *c, const char *job, char *buf, size_t len)
{
    const jh_repo *r = jh_repo_of(c);
    return r && JH_HAS(r->status, get) ? r->status->get(c, job, buf, len) : -ENOSYS;
}
static inline int jh_processed_check(jh_ctx *c, const char *message_id)
{
    const jh_repo *r = jh_repo_of(c);
    return r && JH_HAS(r->idem, check) ? r->idem->check(c, message_id) : -ENOSYS;
}
static inline int jh_processed_mark(jh_ctx *c, const char *message_id, int64_t ttl_ms)
{
    const jh_repo *r = jh_repo_of(c);
    return r && JH_HAS(r->idem, mark) ? r->idem->mark(c, message_id, ttl_ms) : -ENOSYS;
}

#ifdef __cplusplus
}
#endif

#endif /* JOBHOST_H */
