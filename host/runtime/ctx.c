/*
 * ctx.c - the jh_api table every plugin calls through, and the repository
 * tables backed by the in-process store.
 *
 * Every entry point tolerates bad input from plugin code: a NULL context,
 * key or buffer returns -EINVAL (or NULL / 0), it never crashes the host.
 */
#include "ctx.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "repo/db.h"
#include "repo/events.h"
#include "plugin/plugin.h"
#include "repo/redis.h"

int64_t jh__ctx_now(const struct jh_ctx *c)
{
    if (c != NULL && c->env != NULL && c->env->now != NULL)
        return c->env->now(c->env->now_arg);
    return jh__realtime_ns();
}

static const char *api_job(jh_ctx *c) { return c ? c->job : NULL; }
static const char *api_handler(jh_ctx *c) { return c ? c->handler : NULL; }
static uint64_t api_run_id(jh_ctx *c) { return c ? c->run_id : 0; }
static int64_t api_scheduled(jh_ctx *c) { return c ? c->scheduled : 0; }
static int64_t api_deadline(jh_ctx *c) { return c ? c->deadline : INT64_MAX; }
static int64_t api_now(jh_ctx *c) { return jh__ctx_now(c); }
static void *api_state(jh_ctx *c) { return c ? c->state : NULL; }

static const char *api_plugin(jh_ctx *c)
{
    return c != NULL && c->plugin != NULL ? jh__plugin_name(c->plugin) : NULL;
}

static int api_cancelled(jh_ctx *c)
{
    if (c == NULL)
        return 0;
    if (c->cancel != NULL && atomic_load(c->cancel))
        return 1;
    return c->deadline != INT64_MAX && jh__ctx_now(c) >= c->deadline;
}

static void api_vlog(jh_ctx *c, int level, const char *event, const char *fmt, va_list ap)
{
    jh__kv kv[4];
    size_t n = 0;

    if (c == NULL || c->env == NULL || !jh__log_enabled(c->env->log, level))
        return;
    if (c->job != NULL)
        kv[n++] = JH_KV_S("job", c->job);
    if (c->plugin != NULL)
        kv[n++] = JH_KV_S("plugin", jh__plugin_name(c->plugin));
    if (c->handler != NULL)
        kv[n++] = JH_KV_S("handler", c->handler);
    if (c->run_id != 0)
        kv[n++] = JH_KV_U("run_id", c->run_id);
    jh__log_vf(c->env->log, level, event ? event : "plugin.log", kv, n, fmt, ap);
}

static void api_vfail(jh_ctx *c, const char *fmt, va_list ap)
{
    if (c == NULL || fmt == NULL)
        return;
    vsnprintf(c->errmsg, sizeof(c->errmsg), fmt, ap);
}

static const char *api_config(jh_ctx *c, const char *key)
{
    if (c == NULL || c->plugin == NULL || key == NULL)
        return NULL;
    return jh__plugin_config(c->plugin, key);
}

static const jh_repo *api_repo(jh_ctx *c)
{
    return c != NULL && c->env != NULL ? c->env->repo : NULL;
}

static const char *api_last_error(jh_ctx *c)
{
    return c != NULL ? c->lasterr : "";
}

const jh__services *jh__ctx_services(const struct jh_ctx *c)
{
    return c != NULL ? jh__plugin_services(c->plugin) : NULL;
}

int jh__ctx_error(struct jh_ctx *c, int code, const char *fmt, ...)
{
    va_list ap;

    if (c == NULL)
        return code;
    va_start(ap, fmt);
    vsnprintf(c->lasterr, sizeof(c->lasterr), fmt, ap);
    va_end(ap);
    return code;
}

int jh__ctx_check(struct jh_ctx *c, const char *what)
{
    if (c == NULL)
        return -EINVAL;
    if (c->cancel != NULL && atomic_load(c->cancel))
        return jh__ctx_error(c, -ECANCELED, "%s: the run was cancelled", what);
    if (c->deadline != INT64_MAX && jh__ctx_now(c) >= c->deadline)
        return jh__ctx_error(c, -ETIMEDOUT, "%s: the run's deadline has passed", what);
    return 0;
}

static const char *svc_name(unsigned svc)
{
    return svc == JH_SVC_DB ? "db" : svc == JH_SVC_REDIS ? "redis" : "events";
}

static const char *svc_key(unsigned svc)
{
    return svc == JH_SVC_DB ? "mysql" : svc == JH_SVC_REDIS ? "redis" : "events";
}

int jh__ctx_need(struct jh_ctx *c, unsigned svc)
{
    const jh__services *s = jh__ctx_services(c);
    const char *name = c != NULL ? api_plugin(c) : NULL;
    const void *be;

    if (c == NULL)
        return -EINVAL;
    if (s == NULL || !(s->declared & svc))
        return jh__ctx_error(c, -ENOSYS,
                            "plugin %s does not declare the %s service (add JH_SVC_%s to "
                            ".requires in its descriptor)",
                            name ? name : "?", svc_name(svc),
                            svc == JH_SVC_DB ? "DB" : svc == JH_SVC_REDIS ? "REDIS" : "EVENTS");
    be = svc == JH_SVC_DB ? (const void *)s->db
         : svc == JH_SVC_REDIS ? (const void *)s->redis : (const void *)s->events;
    if (be == NULL && svc == JH_SVC_EVENTS)
        return jh__ctx_error(c, -ENOSYS, "plugin %s: the events service is not open in this "
                            "process (jobhostd --check leaves the outbox alone)",
                            name ? name : "?");
    if (be == NULL)
        return jh__ctx_error(c, -ENOSYS, "plugin %s: no %s backend bound (set %s = NAME in "
                            "[plugin %s])", name ? name : "?", svc_name(svc), svc_key(svc),
                            name ? name : "?");
    return 0;
}

static const jh_api api_table = {
    .size = sizeof(jh_api),
    .abi_major = JH_ABI_MAJOR,
    .abi_minor = JH_ABI_MINOR,
    .job = api_job,
    .plugin = api_plugin,
    .handler = api_handler,
    .run_id = api_run_id,
    .scheduled = api_scheduled,
    .deadline = api_deadline,
    .cancelled = api_cancelled,
    .now = api_now,
    .vlog = api_vlog,
    .vfail = api_vfail,
    .config = api_config,
    .state = api_state,
    .repo = api_repo,
    .last_error = api_last_error,
};

const jh_api *jh__api_table(void)
{
    return &api_table;
}

/* ---- repository over the in-process store ---------------------------- */

static jh__store *store_of(jh_ctx *c)
{
    return c != NULL && c->env != NULL ? c->env->store : NULL;
}

static int64_t ms_to_ns(int64_t ms)
{
    if (ms <= 0)
        return 0;
    return ms > INT64_MAX / 1000000 ? INT64_MAX : ms * 1000000;
}

/*
 * The lock owner token, made on first use so runs that take no lock pay
 * nothing for it.  It must differ between any two contexts that ever exist
 * (init contexts all have run id 0 and may reuse a stack address), and
 * between hosts sharing a lock backend later: pid + run id + a process-wide
 * sequence number.
 */
static uint64_t process_nonce(void)
{
    static atomic_ullong nonce;
    unsigned long long v = atomic_load(&nonce);

    /* Random, so two hosts with the same pid (containers) still differ. */
    while (v == 0) {
        unsigned long long r = 0;
        if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
            r = (unsigned long long)jh__ctx_now(NULL) ^ ((unsigned long long)getpid() << 32);
        r |= 1;
        if (atomic_compare_exchange_strong(&nonce, &v, r))
            v = r;
    }
    return v;
}

static const char *owner_of(struct jh_ctx *c)
{
    static atomic_ullong seq;

    if (c->owner[0] == '\0')
        snprintf(c->owner, sizeof(c->owner), "%016llx-%ld-%llu-%llu",
                 (unsigned long long)process_nonce(), (long)getpid(),
                 (unsigned long long)c->run_id,
                 (unsigned long long)atomic_fetch_add(&seq, 1) + 1);
    return c->owner;
}

static const jh__services *redis_bound(jh_ctx *c)
{
    const jh__services *s = jh__ctx_services(c);
    return s != NULL && s->redis != NULL ? s : NULL;
}

static int held_index(const jh_ctx *c, const char *key)
{
    for (int i = 0; i < c->n_locks; i++)
        if (strcmp(c->locks[i], key) == 0)
            return i;
    return -1;
}

/*
 * Bookkeeping after the end: lock release, job status and idempotency marks
 * still work once a run was cancelled or passed its deadline, so a handler
 * can record how it ended (status "cancelled", the lock freed for the next
 * run).  Redis calls check the run's deadline, so it is lifted for the call
 * and the section's own timeout bounds it instead.  Lock acquire keeps the
 * deadline: a run that is over must not start new work.
 */
struct lifted {
    int64_t deadline;
    atomic_int *cancel;
};

static struct lifted lift(jh_ctx *c)
{
    struct lifted l = {c->deadline, c->cancel};

    c->deadline = INT64_MAX;
    c->cancel = NULL;
    return l;
}

static int restore(jh_ctx *c, struct lifted l, int rc)
{
    c->deadline = l.deadline;
    c->cancel = l.cancel;
    return rc;
}

/* Run `call` with the run's deadline lifted (in this order: C leaves the
 * order of function arguments open, so no restore(c, lift(c), call)). */
#define RETURN_LIFTED(c, call)                                             \
    do {                                                                   \
        struct lifted l_ = lift(c);                                        \
        int rc_ = (call);                                                  \
        return restore((c), l_, rc_);                                      \
    } while (0)

static int release_one(jh_ctx *c, const char *key)
{
    if (redis_bound(c))
        RETURN_LIFTED(c, jh__redis_lock_release(c, key, owner_of(c)));
    return jh__store_lock_release(store_of(c), key, owner_of(c));
}

static int lock_acquire(jh_ctx *c, const char *key, int64_t ttl_ms)
{
    jh__store *s = store_of(c);
    int rc;

    if ((s == NULL && !redis_bound(c)) || key == NULL || ttl_ms <= 0)
        return -EINVAL;
    if (held_index(c, key) < 0 && c->n_locks == JH_CTX_MAX_LOCKS)
        return -ENOSPC; /* a run holding more than 8 locks is a bug */
    if (redis_bound(c))
        rc = jh__redis_lock_acquire(c, key, owner_of(c), ttl_ms);
    else
        rc = jh__store_lock_acquire(s, key, owner_of(c), ms_to_ns(ttl_ms));
    if (rc == 0 && held_index(c, key) < 0) {
        char *k = strdup(key);
        if (k == NULL) {
            release_one(c, key);
            return -ENOMEM;
        }
        c->locks[c->n_locks++] = k;
    }
    return rc;
}

static int lock_release(jh_ctx *c, const char *key)
{
    jh__store *s = store_of(c);
    int i, rc;

    if ((s == NULL && !redis_bound(c)) || key == NULL)
        return -EINVAL;
    rc = release_one(c, key);
    /* Forget the lock only once it is surely gone (released, expired or
     * taken over); after a failed release the run end tries again. */
    i = held_index(c, key);
    if (i >= 0 && (rc == 0 || rc == -ENOENT || rc == -EPERM)) {
        free(c->locks[i]);
        c->locks[i] = c->locks[--c->n_locks];
    }
    return rc;
}

static int status_set(jh_ctx *c, const char *job, const char *value, int64_t ttl_ms)
{
    jh__store *s = store_of(c);
    if (redis_bound(c))
        RETURN_LIFTED(c, jh__redis_status_set(c, job, value, ttl_ms));
    return s == NULL ? -EINVAL : jh__store_status_set(s, job, value, ms_to_ns(ttl_ms));
}

static int status_get(jh_ctx *c, const char *job, char *buf, size_t len)
{
    jh__store *s = store_of(c);
    if (redis_bound(c))
        RETURN_LIFTED(c, jh__redis_status_get(c, job, buf, len));
    return s == NULL ? -EINVAL : jh__store_status_get(s, job, buf, len);
}

static int idem_check(jh_ctx *c, const char *id)
{
    jh__store *s = store_of(c);
    if (redis_bound(c))
        RETURN_LIFTED(c, jh__redis_processed_check(c, id));
    return s == NULL ? -EINVAL : jh__store_processed_check(s, id);
}

static int idem_mark(jh_ctx *c, const char *id, int64_t ttl_ms)
{
    jh__store *s = store_of(c);
    if (redis_bound(c))
        RETURN_LIFTED(c, jh__redis_processed_mark(c, id, ttl_ms));
    return s == NULL ? -EINVAL : jh__store_processed_mark(s, id, ms_to_ns(ttl_ms));
}

static const jh_lock_api lock_api = {sizeof(jh_lock_api), lock_acquire, lock_release};
static const jh_status_api status_api = {sizeof(jh_status_api), status_set, status_get};
static const jh_idem_api idem_api = {sizeof(jh_idem_api), idem_check, idem_mark};
static const jh_repo store_repo = {
    .size = sizeof(jh_repo),
    .lock = &lock_api,
    .status = &status_api,
    .idem = &idem_api,
};

/* ABI 1.1: the same three tables plus SQL, Redis and events.  Each of the
 * new tables checks per call that the plugin declared and bound the
 * service (jh__ctx_need), so one static repository serves every plugin. */
static jh_repo full_repo;
static pthread_once_t full_repo_once = PTHREAD_ONCE_INIT;

static void full_repo_init(void)
{
    full_repo = store_repo;
    full_repo.db = jh__db_api_table();
    full_repo.redis = jh__redis_api_table();
    full_repo.events = jh__events_api_table();
}

const jh_repo *jh__full_repo(void)
{
    pthread_once(&full_repo_once, full_repo_init);
    return &full_repo;
}

const jh_repo *jh__store_repo(void)
{
    return &store_repo;
}

void jh__ctx_init(struct jh_ctx *c, const jh__host_env *env, struct jh__plugin *p,
                 const char *job, const char *handler, uint64_t run_id,
                 int64_t scheduled, int64_t deadline, atomic_int *cancel)
{
    memset(c, 0, offsetof(struct jh_ctx, errmsg));
    c->errmsg[0] = '\0';
    c->lasterr[0] = '\0';
    c->api = &api_table;
    c->env = env;
    c->plugin = p;
    c->job = job;
    c->handler = handler;
    c->run_id = run_id;
    c->scheduled = scheduled;
    c->deadline = deadline;
    c->cancel = cancel;
    c->state = p != NULL ? jh__plugin_state(p) : NULL;
    /* c->owner stays "" until the run first touches a lock (owner_of). */
}

void jh__ctx_finish(struct jh_ctx *c)
{
    jh__store *s = store_of(c);

    if (c == NULL)
        return;
    /* The run is over: what it still holds is released even when it ended
     * by its deadline or a cancellation (the backends' own timeouts bound
     * these calls instead). */
    int64_t deadline = c->deadline;
    atomic_int *cancel = c->cancel;

    c->deadline = INT64_MAX;
    c->cancel = NULL;
    for (int i = 0; i < c->n_locks; i++) {
        if (redis_bound(c))
            jh__redis_lock_release(c, c->locks[i], c->owner);
        else if (s != NULL)
            jh__store_lock_release(s, c->locks[i], c->owner);
        free(c->locks[i]);
    }
    c->n_locks = 0;
    /* The backends' run end sees how the run ended (db.c does not wait on
     * a hung server for a run that is past its deadline). */
    c->deadline = deadline;
    c->cancel = cancel;
    /* Backends last: the lock releases above may have used redis. */
    if (c->db_run != NULL)
        jh__db_run_end(c);
    if (c->redis_run != NULL)
        jh__redis_run_end(c);
}
