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

/* The ABI this header describes.  Not user-settable: a plugin gets the ABI
 * of the header it includes (to target an older ABI, build against that
 * version's jobhost.h).  -DJH_ABI_MAJOR=N or -DJH_ABI_MINOR=N with another
 * value stops the build here instead of being silently replaced. */
#if defined(JH_ABI_MAJOR) && JH_ABI_MAJOR != 1
#error "jobhost.h is plugin ABI 1.1 and JH_ABI_MAJOR is predefined to another value: the ABI version is not user-settable (drop -DJH_ABI_MAJOR, or build against the jobhost.h of the ABI you target)"
#endif
#if defined(JH_ABI_MINOR) && JH_ABI_MINOR != 1
#error "jobhost.h is plugin ABI 1.1 and JH_ABI_MINOR is predefined to another value: the ABI version is not user-settable (drop -DJH_ABI_MINOR, or build against the jobhost.h of the ABI you target)"
#endif
#undef JH_ABI_MAJOR
#undef JH_ABI_MINOR
#define JH_ABI_MAJOR 1
#define JH_ABI_MINOR 1

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
    /* ABI 1.1: services the plugin needs (JH_SVC_* bits).  A required
     * service its [plugin] section does not bind is a load error.
     * `requires` is a keyword of C++20, so C++ spells the field requires_
     * (same place, same meaning). */
#ifdef __cplusplus
    uint32_t requires_;
#else
    uint32_t requires;
#endif
    uint32_t reserved2;
} jh_plugin_desc;

/*
 * Services a plugin can require (jh_plugin_desc.requires, ABI 1.1), bound
 * in its section: [plugin user] mysql = main, redis = cache, events = bus.
 * JH_SVC_EVENTS is always satisfied: with no `events =` the host's durable
 * local outbox takes the events (readable with jobhostd --outbox-dump).
 */
enum jh_service {
    JH_SVC_DB = 1u << 0,     /* mysql = NAME, a [mysql NAME] section */
    JH_SVC_REDIS = 1u << 1,  /* redis = NAME, a [redis NAME] section */
    JH_SVC_EVENTS = 1u << 2  /* events = NAME, a [kafka NAME] section */
};

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
 *
 * It defines `jobhost_plugin` with external linkage and, in C++, C
 * linkage (an unmangled name; a namespace-scope const would otherwise be
 * internal).  Fields left out are zero.  C++ needs C++20 for the
 * designated initializers, given in declaration order (name, version,
 * init, fini, handlers, n_handlers, config_keys, n_config_keys,
 * requires_); g++ and clang++ also take them in C++11/14/17 as an
 * extension (a warning under -pedantic).  The rest of this header is
 * plain C++11.
 */
#ifdef __cplusplus
#define JH_DESC_BEGIN_ extern "C" {
#define JH_DESC_END_ }
#define JH_DESC_EXTERN_ extern /* a namespace-scope const is internal */
#else
#define JH_DESC_BEGIN_
#define JH_DESC_END_
#define JH_DESC_EXTERN_
#endif
#if defined(__GNUC__)
/* Fields a designated initializer leaves out are zero on purpose; g++
 * would warn about each one under -Wextra (gcc does not). */
#define JH_DESC_DIAG_PUSH_                                                \
    _Pragma("GCC diagnostic push")                                        \
    _Pragma("GCC diagnostic ignored \"-Wmissing-field-initializers\"")
#define JH_DESC_DIAG_POP_ _Pragma("GCC diagnostic pop")
#else
#define JH_DESC_DIAG_PUSH_
#define JH_DESC_DIAG_POP_
#endif
/* The trailing declaration only takes the caller's semicolon. */
#define JH_PLUGIN_DESC(...)                                               \
    JH_DESC_BEGIN_                                                        \
    JH_EXPORT extern const jh_plugin_desc jobhost_plugin;                 \
    JH_DESC_DIAG_PUSH_                                                    \
    JH_EXPORT JH_DESC_EXTERN_ const jh_plugin_desc jobhost_plugin = {     \
        JH_PLUGIN_DESC_HEADER, __VA_ARGS__};                              \
    JH_DESC_DIAG_POP_                                                     \
    JH_DESC_END_                                                          \
    extern const jh_plugin_desc jobhost_plugin

#define JH_COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- repository: the services a run can use ------------------------- */

/*
 * Repository basics: lock, job status, idempotency.  Lock release, status
 * and idempotency calls keep working after the run was cancelled or passed
 * its deadline (bounded by the backend's own timeout), so a handler can
 * record how it ended; lock acquire does not (-ETIMEDOUT / -ECANCELED).
 *
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

/* ---- ABI 1.1: SQL (MariaDB / MySQL) --------------------------------- */

/*
 * A prepared statement of one run.  The SQL text is fixed at prepare time
 * and values travel only as typed parameters (no API builds SQL from
 * strings).  Parameter and column indexes start at 0.  A statement belongs
 * to the run that prepared it: the host closes whatever the run left open,
 * and rolls back a transaction the handler left open.  Values returned by
 * the getters stay valid until the next fetch, execute or close.
 *
 * Errors: a negative errno-style code; jh_last_error(ctx) has the text
 * ("db main: execute: Duplicate entry '7' for key 'PRIMARY' (1062)").
 *   -EINVAL  misuse: NULL argument, index out of range, wrong type, an
 *            unbound parameter, SQL the server refuses at prepare (syntax),
 *            begin inside a transaction, commit outside one
 *   -ENOSYS  the plugin did not bind a [mysql] section (mysql = NAME)
 *   -ETIMEDOUT / -ECANCELED  the run's deadline passed / it was cancelled
 *   -EIO     the server refused the statement at execute (a duplicate key,
 *            ...) or the connection failed (reconnected next run)
 *   -ENODATA a getter on a NULL value (check jh_stmt_is_null first)
 */
typedef struct jh_stmt jh_stmt;

typedef struct jh_db_api {
    size_t size;
    int (*prepare)(jh_ctx *ctx, const char *sql, jh_stmt **out);
    int (*bind_i64)(jh_stmt *st, unsigned idx, int64_t v);
    int (*bind_u64)(jh_stmt *st, unsigned idx, uint64_t v);
    int (*bind_double)(jh_stmt *st, unsigned idx, double v);
    int (*bind_str)(jh_stmt *st, unsigned idx, const char *v, size_t len);
    int (*bind_blob)(jh_stmt *st, unsigned idx, const void *v, size_t len);
    int (*bind_null)(jh_stmt *st, unsigned idx);
    /* Run it with the values bound; a result set is then ready for fetch. */
    int (*execute)(jh_stmt *st);
    /* 1: a row is current; 0: no more rows; < 0: error. */
    int (*fetch)(jh_stmt *st);
    int (*column_count)(jh_stmt *st);
    /* 1 if the current row's column is NULL, 0 if not, < 0 on misuse. */
    int (*is_null)(jh_stmt *st, unsigned col);
    /* Integer columns (any width, signed or not) into int64/uint64
     * (-ERANGE if it does not fit); floating and DECIMAL columns into
     * double; get_str gives any non-NULL column as text (blobs as their
     * bytes), NUL-terminated, with its length. */
    int (*get_i64)(jh_stmt *st, unsigned col, int64_t *v);
    int (*get_u64)(jh_stmt *st, unsigned col, uint64_t *v);
    int (*get_double)(jh_stmt *st, unsigned col, double *v);
    int (*get_str)(jh_stmt *st, unsigned col, const char **v, size_t *len);
    /* Of the last execute: rows changed (INSERT/UPDATE/DELETE) and the
     * AUTO_INCREMENT id it generated. */
    int64_t (*affected_rows)(jh_stmt *st);
    uint64_t (*insert_id)(jh_stmt *st);
    void (*close)(jh_stmt *st);
    int (*begin)(jh_ctx *ctx);
    int (*commit)(jh_ctx *ctx);
    int (*rollback)(jh_ctx *ctx);
} jh_db_api;

/* The host guarantees that a statement starts with this header. */
struct jh_stmt_head_ {
    const jh_db_api *api;
};

/* ---- ABI 1.1: Redis --------------------------------------------------- */

/* Reply types; the values are hiredis's REDIS_REPLY_*. */
enum jh_redis_type {
    JH_REDIS_STRING = 1,
    JH_REDIS_ARRAY = 2,
    JH_REDIS_INTEGER = 3,
    JH_REDIS_NIL = 4,
    JH_REDIS_STATUS = 5,
    JH_REDIS_ERROR = 6
};

/* A reply, owned by the host: free it with jh_redis_reply_free (the host
 * frees what a run leaves).  str holds len bytes plus a NUL for STRING,
 * STATUS and ERROR. */
typedef struct jh_redis_reply {
    int type;
    long long integer;
    size_t len;
    const char *str;
    size_t elements;
    struct jh_redis_reply **element;
} jh_redis_reply;

/*
 * command: one binary-safe command (argv[i] is argvlen[i] bytes; argvlen
 * NULL means every argument is a C string) on the run's connection.
 * Returns 0 with *out set (a Redis error is a reply of type JH_REDIS_ERROR),
 * or a negative code with no reply: -ENOSYS (no redis bound), -EINVAL,
 * -ETIMEDOUT, -ECANCELED, -EIO (connection lost; the next call reconnects).
 * The configured key prefix is NOT added to raw commands: prefix() gives
 * it.  The lock / status / idempotency tables add it themselves.
 */
typedef struct jh_redis_api {
    size_t size;
    int (*command)(jh_ctx *ctx, int argc, const char *const *argv,
                   const size_t *argvlen, jh_redis_reply **out);
    void (*reply_free)(jh_ctx *ctx, jh_redis_reply *r);
    const char *(*prefix)(jh_ctx *ctx);
} jh_redis_api;

/* ---- ABI 1.1: events -------------------------------------------------- */

/*
 * Events go through the host's durable outbox and on to Kafka when the
 * plugin binds one (events = NAME).  Each call returns 0 once the event is
 * safely recorded ([host] outbox_sync), not when Kafka has it; delivery is
 * at-least-once and in order per key.  Every event carries a unique
 * `message_id` header for consumers' idempotency; pass a buffer of
 * JH_EVENT_ID_LEN bytes as id_out to learn it (or NULL).
 * send: no key (the partitioner spreads events).  send_with_key: the same
 * key goes to the same partition, in order.  send_delayed: delivered no
 * earlier than delay_ms from now; the delay survives a host restart.
 * Topics are [A-Za-z0-9._-]{1,249}; keys and payloads are bytes, carried
 * verbatim.  -EMSGSIZE above [host] event_max_bytes; -EINVAL on misuse;
 * -ESHUTDOWN once the host is shutting down.
 *
 * send_batch: n events in one call, all or nothing: every one is checked
 * first, then all are recorded with one write and one fsync, so a job
 * sending a page of 1,000 events pays for one fsync, not 1,000.  The
 * array's element size is passed (JH_EVENT_MSG_SIZE) so the struct can
 * grow.  Events of one key keep their array order.
 */
#define JH_EVENT_ID_LEN 33 /* 32 hex digits + NUL */

typedef struct jh_event_msg {
    const char *topic;
    const void *key;      /* NULL: no key */
    size_t keylen;
    const void *payload;
    size_t len;
    int64_t delay_ms;     /* 0: at once */
    char *id_out;         /* NULL, or JH_EVENT_ID_LEN bytes */
} jh_event_msg;

#define JH_EVENT_MSG_SIZE sizeof(jh_event_msg)

typedef struct jh_events_api {
    size_t size;
    int (*send)(jh_ctx *ctx, const char *topic, const void *payload, size_t len,
                char *id_out);
    int (*send_with_key)(jh_ctx *ctx, const char *topic, const void *key,
                         size_t keylen, const void *payload, size_t len,
                         char *id_out);
    int (*send_delayed)(jh_ctx *ctx, const char *topic, const void *key,
                        size_t keylen, const void *payload, size_t len,
                        int64_t delay_ms, char *id_out);
    int (*send_batch)(jh_ctx *ctx, const jh_event_msg *msgs, size_t n, size_t msg_size);
} jh_events_api;

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
    /* ABI 1.1: the text of the last failed service call of this run. */
    const char *(*last_error)(jh_ctx *ctx);
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

/*
 * Names.  jh_ctx_<field>() reads a field of the call's context;
 * jh_<table>_<verb>() calls a repository table (jh_lock_acquire,
 * jh_status_set, jh_idem_check, jh_db_prepare, jh_event_send, ...); jh_log,
 * jh_fail and jh_config are the three everyday verbs.
 */
static inline const char *jh_ctx_job(jh_ctx *c) { return jh_api_of(c)->job(c); }
static inline const char *jh_ctx_plugin(jh_ctx *c) { return jh_api_of(c)->plugin(c); }
static inline const char *jh_ctx_handler(jh_ctx *c) { return jh_api_of(c)->handler(c); }
static inline uint64_t jh_ctx_run_id(jh_ctx *c) { return jh_api_of(c)->run_id(c); }
static inline int64_t jh_ctx_scheduled(jh_ctx *c) { return jh_api_of(c)->scheduled(c); }
static inline int64_t jh_ctx_deadline(jh_ctx *c) { return jh_api_of(c)->deadline(c); }
static inline int jh_ctx_cancelled(jh_ctx *c) { return jh_api_of(c)->cancelled(c); }
static inline int64_t jh_ctx_now(jh_ctx *c) { return jh_api_of(c)->now(c); }
static inline void *jh_ctx_state(jh_ctx *c) { return jh_api_of(c)->state(c); }
static inline const jh_repo *jh_ctx_repo(jh_ctx *c) { return jh_api_of(c)->repo(c); }

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
    const jh_repo *r = jh_ctx_repo(c);
    return r && JH_HAS(r->lock, acquire) ? r->lock->acquire(c, key, ttl_ms) : -ENOSYS;
}
static inline int jh_lock_release(jh_ctx *c, const char *key)
{
    const jh_repo *r = jh_ctx_repo(c);
    return r && JH_HAS(r->lock, release) ? r->lock->release(c, key) : -ENOSYS;
}
static inline int jh_status_set(jh_ctx *c, const char *job, const char *value,
                                int64_t ttl_ms)
{
    const jh_repo *r = jh_ctx_repo(c);
    return r && JH_HAS(r->status, set) ? r->status->set(c, job, value, ttl_ms) : -ENOSYS;
}
static inline int jh_status_get(jh_ctx *c, const char *job, char *buf, size_t len)
{
    const jh_repo *r = jh_ctx_repo(c);
    return r && JH_HAS(r->status, get) ? r->status->get(c, job, buf, len) : -ENOSYS;
}
static inline int jh_idem_check(jh_ctx *c, const char *message_id)
{
    const jh_repo *r = jh_ctx_repo(c);
    return r && JH_HAS(r->idem, check) ? r->idem->check(c, message_id) : -ENOSYS;
}
static inline int jh_idem_mark(jh_ctx *c, const char *message_id, int64_t ttl_ms)
{
    const jh_repo *r = jh_ctx_repo(c);
    return r && JH_HAS(r->idem, mark) ? r->idem->mark(c, message_id, ttl_ms) : -ENOSYS;
}

/* "" when the host is older than ABI 1.1 or nothing failed. */
static inline const char *jh_last_error(jh_ctx *c)
{
    const jh_api *a = jh_api_of(c);
    const char *m = JH_HAS(a, last_error) ? a->last_error(c) : NULL;
    return m != NULL ? m : "";
}

/* ---- ABI 1.1 shortcuts: -ENOSYS when the host lacks the service ------ */

#define JH_REPO_CALL_(c, tbl, m, ...)                                      \
    do {                                                                    \
        const jh_repo *r_ = jh_ctx_repo(c);                                  \
        return r_ && offsetof(jh_repo, tbl) < r_->size && JH_HAS(r_->tbl, m) \
                   ? r_->tbl->m(__VA_ARGS__)                                \
                   : -ENOSYS;                                               \
    } while (0)

static inline int jh_db_prepare(jh_ctx *c, const char *sql, jh_stmt **out)
{ JH_REPO_CALL_(c, db, prepare, c, sql, out); }
static inline int jh_db_begin(jh_ctx *c) { JH_REPO_CALL_(c, db, begin, c); }
static inline int jh_db_commit(jh_ctx *c) { JH_REPO_CALL_(c, db, commit, c); }
static inline int jh_db_rollback(jh_ctx *c) { JH_REPO_CALL_(c, db, rollback, c); }

#define JH_STMT_API_(st) (((const struct jh_stmt_head_ *)(const void *)(st))->api)
static inline int jh_stmt_bind_i64(jh_stmt *st, unsigned i, int64_t v)
{ return st ? JH_STMT_API_(st)->bind_i64(st, i, v) : -EINVAL; }
static inline int jh_stmt_bind_u64(jh_stmt *st, unsigned i, uint64_t v)
{ return st ? JH_STMT_API_(st)->bind_u64(st, i, v) : -EINVAL; }
static inline int jh_stmt_bind_double(jh_stmt *st, unsigned i, double v)
{ return st ? JH_STMT_API_(st)->bind_double(st, i, v) : -EINVAL; }
static inline int jh_stmt_bind_str(jh_stmt *st, unsigned i, const char *v, size_t len)
{ return st ? JH_STMT_API_(st)->bind_str(st, i, v, len) : -EINVAL; }
static inline int jh_stmt_bind_blob(jh_stmt *st, unsigned i, const void *v, size_t len)
{ return st ? JH_STMT_API_(st)->bind_blob(st, i, v, len) : -EINVAL; }
static inline int jh_stmt_bind_null(jh_stmt *st, unsigned i)
{ return st ? JH_STMT_API_(st)->bind_null(st, i) : -EINVAL; }
static inline int jh_stmt_execute(jh_stmt *st)
{ return st ? JH_STMT_API_(st)->execute(st) : -EINVAL; }
static inline int jh_stmt_fetch(jh_stmt *st)
{ return st ? JH_STMT_API_(st)->fetch(st) : -EINVAL; }
static inline int jh_stmt_column_count(jh_stmt *st)
{ return st ? JH_STMT_API_(st)->column_count(st) : -EINVAL; }
static inline int jh_stmt_is_null(jh_stmt *st, unsigned col)
{ return st ? JH_STMT_API_(st)->is_null(st, col) : -EINVAL; }
static inline int jh_stmt_get_i64(jh_stmt *st, unsigned col, int64_t *v)
{ return st ? JH_STMT_API_(st)->get_i64(st, col, v) : -EINVAL; }
static inline int jh_stmt_get_u64(jh_stmt *st, unsigned col, uint64_t *v)
{ return st ? JH_STMT_API_(st)->get_u64(st, col, v) : -EINVAL; }
static inline int jh_stmt_get_double(jh_stmt *st, unsigned col, double *v)
{ return st ? JH_STMT_API_(st)->get_double(st, col, v) : -EINVAL; }
static inline int jh_stmt_get_str(jh_stmt *st, unsigned col, const char **v, size_t *len)
{ return st ? JH_STMT_API_(st)->get_str(st, col, v, len) : -EINVAL; }
static inline int64_t jh_stmt_affected_rows(jh_stmt *st)
{ return st ? JH_STMT_API_(st)->affected_rows(st) : -EINVAL; }
static inline uint64_t jh_stmt_insert_id(jh_stmt *st)
{ return st ? JH_STMT_API_(st)->insert_id(st) : 0; }
static inline void jh_stmt_close(jh_stmt *st)
{ if (st) JH_STMT_API_(st)->close(st); }

static inline int jh_redis_command(jh_ctx *c, int argc, const char *const *argv,
                                   const size_t *argvlen, jh_redis_reply **out)
{ JH_REPO_CALL_(c, redis, command, c, argc, argv, argvlen, out); }
static inline void jh_redis_reply_free(jh_ctx *c, jh_redis_reply *r)
{
    const jh_repo *rp = jh_ctx_repo(c);
    if (rp && offsetof(jh_repo, redis) < rp->size && JH_HAS(rp->redis, reply_free))
        rp->redis->reply_free(c, r);
}
static inline const char *jh_redis_prefix(jh_ctx *c)
{
    const jh_repo *rp = jh_ctx_repo(c);
    return rp && JH_HAS(rp->redis, prefix) ? rp->redis->prefix(c) : NULL;
}

static inline int jh_event_send(jh_ctx *c, const char *topic, const void *payload,
                                size_t len, char *id_out)
{ JH_REPO_CALL_(c, events, send, c, topic, payload, len, id_out); }
static inline int jh_event_send_with_key(jh_ctx *c, const char *topic, const void *key,
                                         size_t keylen, const void *payload, size_t len,
                                         char *id_out)
{ JH_REPO_CALL_(c, events, send_with_key, c, topic, key, keylen, payload, len, id_out); }
static inline int jh_event_send_delayed(jh_ctx *c, const char *topic, const void *key,
                                        size_t keylen, const void *payload, size_t len,
                                        int64_t delay_ms, char *id_out)
{
    JH_REPO_CALL_(c, events, send_delayed, c, topic, key, keylen, payload, len, delay_ms,
                  id_out);
}

static inline int jh_event_send_batch(jh_ctx *c, const jh_event_msg *msgs, size_t n)
{ JH_REPO_CALL_(c, events, send_batch, c, msgs, n, JH_EVENT_MSG_SIZE); }

/*
 * The names of ABI 1.0 and 1.1, kept as aliases for every 1.x plugin (they
 * go only with a new major): jh_run_id = jh_ctx_run_id, jh_processed_check
 * = jh_idem_check, and so on.
 */
static inline uint64_t jh_run_id(jh_ctx *c) { return jh_ctx_run_id(c); }
static inline int64_t jh_scheduled(jh_ctx *c) { return jh_ctx_scheduled(c); }
static inline int64_t jh_deadline(jh_ctx *c) { return jh_ctx_deadline(c); }
static inline int jh_cancelled(jh_ctx *c) { return jh_ctx_cancelled(c); }
static inline int64_t jh_now(jh_ctx *c) { return jh_ctx_now(c); }
static inline void *jh_state(jh_ctx *c) { return jh_ctx_state(c); }
static inline const jh_repo *jh_repo_of(jh_ctx *c) { return jh_ctx_repo(c); }
static inline int jh_processed_check(jh_ctx *c, const char *message_id)
{
    return jh_idem_check(c, message_id);
}
static inline int jh_processed_mark(jh_ctx *c, const char *message_id, int64_t ttl_ms)
{
    return jh_idem_mark(c, message_id, ttl_ms);
}

#ifdef __cplusplus
}
#endif

#endif /* JOBHOST_H */
