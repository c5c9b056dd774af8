/*
 * ctx.c - the jh_api table every plugin calls through, the run's lock
 * bookkeeping and run hooks, and the repository tables backed by the
 * in-process store.
 *
 * Every entry point tolerates bad input from plugin code: a NULL context,
 * key or buffer returns -EINVAL (or NULL / 0), it never crashes the host.
 */
#include "ctx.h"

#include <errno.h>
#include <stdarg.h>
#include <sys/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "fatal.h"

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
static void *api_state(jh_ctx *c) { return c ? c->plugin.state : NULL; }
static const char *api_plugin(jh_ctx *c) { return c ? c->plugin.name : NULL; }

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
    if (c->plugin.name != NULL)
        kv[n++] = JH_KV_S("plugin", c->plugin.name);
    if (c->handler != NULL)
        kv[n++] = JH_KV_S("handler", c->handler);
    if (c->run_id != 0)
        kv[n++] = JH_KV_U("run_id", c->run_id);
    jh__log_vplugin(c->env->log, level, event ? event : "plugin.log", kv, n, fmt, ap);
}

static void api_vfail(jh_ctx *c, const char *fmt, va_list ap)
{
    if (c == NULL || fmt == NULL)
        return;
    vsnprintf(c->errmsg, sizeof(c->errmsg), fmt, ap);
}

static const char *api_config(jh_ctx *c, const char *key)
{
    if (c == NULL || c->plugin.config == NULL || key == NULL)
        return NULL;
    return c->plugin.config(c->plugin.config_data, key);
}

/* The copy's repository, picked when its backends were bound; a context
 * of no plugin (or of one bound by hand, in tests) uses the host's. */
static const jh_repo *api_repo(jh_ctx *c)
{
    if (c != NULL && c->plugin.repo != NULL)
        return c->plugin.repo;
    return c != NULL && c->env != NULL ? c->env->repo : NULL;
}

static const char *api_last_error(jh_ctx *c)
{
    return c != NULL ? c->lasterr : "";
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

/* ---- the run's locks -------------------------------------------------- */

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

static int held_index(const jh_ctx *c, const char *key)
{
    for (int i = 0; i < c->n_locks; i++)
        if (strcmp(c->locks[i], key) == 0)
            return i;
    return -1;
}

/* A held entry is "key\0owner": the token the key was taken with. */
static const char *held_owner(const jh_ctx *c, int i)
{
    return c->locks[i] + strlen(c->locks[i]) + 1;
}

static char *held_entry(const char *key, const char *owner)
{
    size_t k = strlen(key), o = strlen(owner);
    char *e = malloc(k + o + 2);

    if (e != NULL) {
        memcpy(e, key, k + 1);
        memcpy(e + k + 1, owner, o + 1);
    }
    return e;
}

int jh__ctx_holds(const struct jh_ctx *c, const char *key)
{
    return c != NULL && key != NULL && held_index(c, key) >= 0;
}

jh__ctx_lifted jh__ctx_lift(jh_ctx *c)
{
    jh__ctx_lifted l = {c->deadline, c->cancel};

    c->deadline = INT64_MAX;
    c->cancel = NULL;
    return l;
}

int jh__ctx_unlift(jh_ctx *c, jh__ctx_lifted l, int rc)
{
    c->deadline = l.deadline;
    c->cancel = l.cancel;
    return rc;
}

int jh__ctx_lock_acquire(jh_ctx *c, const jh__lock_impl *impl, const char *key, int64_t ttl_ms)
{
    const char *owner;
    int i, rc;

    if (c == NULL)
        return -EINVAL;
    if (key == NULL)
        return jh__ctx_error(c, -EINVAL, "lock acquire: NULL key");
    if (ttl_ms <= 0)
        return jh__ctx_error(c, -EINVAL, "lock acquire %s: ttl %lld ms must be > 0", key,
                             (long long)ttl_ms);
    if (held_index(c, key) < 0 && c->n_locks == JH_CTX_MAX_LOCKS)
        return jh__ctx_error(c, -ENOSPC, "lock acquire %s: this run already holds %d locks",
                             key, JH_CTX_MAX_LOCKS); /* more than 8 is a bug */
    i = held_index(c, key);
    owner = i >= 0 ? held_owner(c, i) : owner_of(c);
    rc = impl->acquire(c, key, owner, ttl_ms);
    if (rc == 0 && i < 0) {
        char *k = held_entry(key, owner);
        if (k == NULL) {
            impl->release(c, key, owner);
            return jh__ctx_error(c, -ENOMEM, "lock acquire %s: out of memory", key);
        }
        c->locks[c->n_locks++] = k;
        c->lock_impl = impl;
    } else if ((rc == -ETIMEDOUT || rc == -EIO) && i < 0) {
        /* The command may still be applied (a stalled server): the backend
         * deletes that token's key later (redis.c), so the run's next
         * acquire must use a new token. */
        c->owner[0] = '\0';
    }
    return rc;
}

int jh__ctx_lock_release(jh_ctx *c, const jh__lock_impl *impl, const char *key)
{
    int i, rc;

    if (c == NULL)
        return -EINVAL;
    if (key == NULL)
        return jh__ctx_error(c, -EINVAL, "lock release: NULL key");
    i = held_index(c, key);
    rc = impl->release(c, key, i >= 0 ? held_owner(c, i) : owner_of(c));
    /* Forget the lock only once it is surely gone (released, expired or
     * taken over); after a failed release the run end tries again. */
    if (i >= 0 && (rc == 0 || rc == -ENOENT || rc == -EPERM)) {
        free(c->locks[i]);
        c->locks[i] = c->locks[--c->n_locks];
    }
    return rc;
}

/* ---- repository over the in-process store ---------------------------- */

/* The store behind c, or NULL with the reason in jh_last_error(): a
 * context without one, or a NULL argument (`arg`, named `what`). */
static jh__store *store_for(jh_ctx *c, const char *op, const void *arg, const char *what)
{
    if (c == NULL)
        return NULL;
    if (arg == NULL) {
        jh__ctx_error(c, -EINVAL, "%s: NULL %s", op, what);
        return NULL;
    }
    if (c->env == NULL || c->env->store == NULL) {
        jh__ctx_error(c, -EINVAL, "%s: no in-process store in this context", op);
        return NULL;
    }
    return c->env->store;
}

static int64_t ms_to_ns(int64_t ms)
{
    if (ms <= 0)
        return 0;
    return ms > INT64_MAX / 1000000 ? INT64_MAX : ms * 1000000;
}

/* A store call's result, with the reason of an error in jh_last_error(). */
static int store_rc(jh_ctx *c, const char *op, const char *arg, int rc)
{
    if (rc == -ENOMEM)
        return jh__ctx_error(c, rc, "%s %s: out of memory", op, arg);
    if (rc == -EINVAL)
        return jh__ctx_error(c, rc, "%s %s: invalid argument", op, arg);
    return rc;
}

/* Acquire, unlike the other calls, is refused once the run is past its
 * deadline or cancelled (the Redis path checks the same in run_cmd). */
static int store_take(jh_ctx *c, const char *key, const char *owner, int64_t ttl_ms)
{
    jh__store *s = store_for(c, "lock acquire", key, "key");
    char what[300];
    int rc;

    if (s == NULL)
        return -EINVAL;
    snprintf(what, sizeof(what), "lock acquire %s", key);
    if ((rc = jh__ctx_check(c, what)) < 0)
        return rc;
    rc = jh__store_lock_acquire(s, key, owner, ms_to_ns(ttl_ms));
    return store_rc(c, "lock acquire", key, rc);
}

static int store_free(jh_ctx *c, const char *key, const char *owner)
{
    jh__store *s = store_for(c, "lock release", key, "key");
    return s == NULL ? -EINVAL
                     : store_rc(c, "lock release", key, jh__store_lock_release(s, key, owner));
}

static const jh__lock_impl store_locks = {store_take, store_free};

static int lock_acquire(jh_ctx *c, const char *key, int64_t ttl_ms)
{
    return jh__ctx_lock_acquire(c, &store_locks, key, ttl_ms);
}

static int lock_release(jh_ctx *c, const char *key)
{
    return jh__ctx_lock_release(c, &store_locks, key);
}

static int status_set(jh_ctx *c, const char *job, const char *value, int64_t ttl_ms)
{
    jh__store *s = store_for(c, "status set", job, "job");

    if (s != NULL && value == NULL)
        return jh__ctx_error(c, -EINVAL, "status set %s: NULL value", job);
    return s == NULL ? -EINVAL
                     : store_rc(c, "status set", job,
                                jh__store_status_set(s, job, value, ms_to_ns(ttl_ms)));
}

static int status_get(jh_ctx *c, const char *job, char *buf, size_t len)
{
    jh__store *s = store_for(c, "status get", job, "job");

    if (s != NULL && buf == NULL && len > 0)
        return jh__ctx_error(c, -EINVAL, "status get %s: NULL buffer of length %zu", job, len);
    return s == NULL ? -EINVAL
                     : store_rc(c, "status get", job, jh__store_status_get(s, job, buf, len));
}

static int idem_check(jh_ctx *c, const char *id)
{
    jh__store *s = store_for(c, "idem check", id, "message id");
    return s == NULL ? -EINVAL : store_rc(c, "idem check", id, jh__store_processed_check(s, id));
}

static int idem_mark(jh_ctx *c, const char *id, int64_t ttl_ms)
{
    jh__store *s = store_for(c, "idem mark", id, "message id");
    return s == NULL ? -EINVAL
                     : store_rc(c, "idem mark", id,
                                jh__store_processed_mark(s, id, ms_to_ns(ttl_ms)));
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

const jh_repo *jh__store_repo(void)
{
    return &store_repo;
}

/* ---- the run's life ----------------------------------------------------- */

void *jh__ctx_run_state(const struct jh_ctx *c, int slot)
{
    return c != NULL && slot >= 0 && slot < JH_CTX_RUN_HOOKS ? c->hooks[slot].data : NULL;
}

void jh__ctx_set_run_state(struct jh_ctx *c, int slot, void *data,
                          void (*end)(struct jh_ctx *c, void *data))
{
    if (c != NULL && slot >= 0 && slot < JH_CTX_RUN_HOOKS)
        c->hooks[slot] = (jh__run_hook){data, end};
}

void jh__ctx_init(struct jh_ctx *c, const jh__host_env *env, const jh__ctx_plugin *p,
                 const char *job, const char *handler, uint64_t run_id,
                 int64_t scheduled, int64_t deadline, atomic_int *cancel)
{
    memset(c, 0, offsetof(struct jh_ctx, errmsg));
    c->errmsg[0] = '\0';
    c->lasterr[0] = '\0';
    c->api = &api_table;
    c->env = env;
    if (p != NULL)
        c->plugin = *p;
    c->job = job;
    c->handler = handler;
    c->run_id = run_id;
    c->scheduled = scheduled;
    c->deadline = deadline;
    c->cancel = cancel;
    /* What this thread runs, for a crash line (fatal.h). */
    jh__fatal_enter(job, p != NULL ? p->name : NULL, handler, run_id);
    /* c->owner stays "" until the run first touches a lock (owner_of). */
}

/* The run is over: what it still holds is released even when it ended by
 * its deadline or a cancellation (the backends' own timeouts bound these
 * calls instead). */
static void release_held(struct jh_ctx *c)
{
    jh__ctx_lifted l = jh__ctx_lift(c);

    for (int i = 0; i < c->n_locks; i++) {
        c->lock_impl->release(c, c->locks[i], held_owner(c, i));
        free(c->locks[i]);
    }
    c->n_locks = 0;
    /* The backends' run end sees how the run ended (db.c does not wait on
     * a hung server for a run that is past its deadline). */
    jh__ctx_unlift(c, l, 0);
}

void jh__ctx_finish(struct jh_ctx *c)
{
    if (c == NULL)
        return;
    jh__fatal_leave(); /* what follows is host code */
    release_held(c);
    /* Backends last: the lock releases above may have used redis. */
    for (int i = 0; i < JH_CTX_RUN_HOOKS; i++) {
        jh__run_hook h = c->hooks[i];
        if (h.data == NULL)
            continue;
        c->hooks[i] = (jh__run_hook){NULL, NULL};
        h.end(c, h.data);
    }
}
