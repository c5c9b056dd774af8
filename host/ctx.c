/*
 * ctx.c - the jh_api table every plugin calls through, and the repository
 * tables backed by the in-process store.
 *
 * Every entry point tolerates bad input from plugin code: a NULL context,
 * key or buffer returns -EINVAL (or NULL / 0), it never crashes the host.
 */
#include "ctx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "plugin.h"

static int64_t ctx_now(const struct jh_ctx *c)
{
    struct timespec ts;

    if (c != NULL && c->env != NULL && c->env->now != NULL)
        return c->env->now(c->env->now_arg);
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static const char *api_job(jh_ctx *c) { return c ? c->job : NULL; }
static const char *api_handler(jh_ctx *c) { return c ? c->handler : NULL; }
static uint64_t api_run_id(jh_ctx *c) { return c ? c->run_id : 0; }
static int64_t api_scheduled(jh_ctx *c) { return c ? c->scheduled : 0; }
static int64_t api_deadline(jh_ctx *c) { return c ? c->deadline : INT64_MAX; }
static int64_t api_now(jh_ctx *c) { return ctx_now(c); }
static void *api_state(jh_ctx *c) { return c ? c->state : NULL; }

static const char *api_plugin(jh_ctx *c)
{
    return c != NULL && c->plugin != NULL ? jh_plugin_name(c->plugin) : NULL;
}

static int api_cancelled(jh_ctx *c)
{
    if (c == NULL)
        return 0;
    if (c->cancel != NULL && atomic_load(c->cancel))
        return 1;
    return c->deadline != INT64_MAX && ctx_now(c) >= c->deadline;
}

static void api_vlog(jh_ctx *c, int level, const char *event, const char *fmt, va_list ap)
{
    jh_kv kv[4];
    size_t n = 0;

    if (c == NULL || c->env == NULL || !jh_log_enabled(c->env->log, level))
        return;
    if (c->job != NULL)
        kv[n++] = JH_KV_S("job", c->job);
    if (c->plugin != NULL)
        kv[n++] = JH_KV_S("plugin", jh_plugin_name(c->plugin));
    if (c->handler != NULL)
        kv[n++] = JH_KV_S("handler", c->handler);
    if (c->run_id != 0)
        kv[n++] = JH_KV_U("run_id", c->run_id);
    jh_log_vf(c->env->log, level, event ? event : "plugin.log", kv, n, fmt, ap);
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
    return jh_plugin_config(c->plugin, key);
}

static const jh_repo *api_repo(jh_ctx *c)
{
    return c != NULL && c->env != NULL ? c->env->repo : NULL;
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
};

const jh_api *jh_api_table(void)
{
    return &api_table;
}

/* ---- repository over the in-process store ---------------------------- */

static jh_store *store_of(jh_ctx *c)
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
static const char *owner_of(struct jh_ctx *c)
{
    static atomic_ullong seq;

    if (c->owner[0] == '\0')
        snprintf(c->owner, sizeof(c->owner), "%ld-%llu-%llu", (long)getpid(),
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

static int lock_acquire(jh_ctx *c, const char *key, int64_t ttl_ms)
{
    jh_store *s = store_of(c);
    int rc;

    if (s == NULL || key == NULL || ttl_ms <= 0)
        return -EINVAL;
    if (held_index(c, key) < 0 && c->n_locks == JH_CTX_MAX_LOCKS)
        return -ENOSPC; /* a run holding more than 8 locks is a bug */
    rc = jh_store_lock_acquire(s, key, owner_of(c), ms_to_ns(ttl_ms));
    if (rc == 0 && held_index(c, key) < 0) {
        char *k = strdup(key);
        if (k == NULL) {
            jh_store_lock_release(s, key, c->owner);
            return -ENOMEM;
        }
        c->locks[c->n_locks++] = k;
    }
    return rc;
}

static int lock_release(jh_ctx *c, const char *key)
{
    jh_store *s = store_of(c);
    int i;

    if (s == NULL || key == NULL)
        return -EINVAL;
    i = held_index(c, key);
    if (i >= 0) {
        free(c->locks[i]);
        c->locks[i] = c->locks[--c->n_locks];
    }
    return jh_store_lock_release(s, key, owner_of(c));
}

static int status_set(jh_ctx *c, const char *job, const char *value, int64_t ttl_ms)
{
    jh_store *s = store_of(c);
    return s == NULL ? -EINVAL : jh_store_status_set(s, job, value, ms_to_ns(ttl_ms));
}

static int status_get(jh_ctx *c, const char *job, char *buf, size_t len)
{
    jh_store *s = store_of(c);
    return s == NULL ? -EINVAL : jh_store_status_get(s, job, buf, len);
}

static int idem_check(jh_ctx *c, const char *id)
{
    jh_store *s = store_of(c);
    return s == NULL ? -EINVAL : jh_store_processed_check(s, id);
}

static int idem_mark(jh_ctx *c, const char *id, int64_t ttl_ms)
{
    jh_store *s = store_of(c);
    return s == NULL ? -EINVAL : jh_store_processed_mark(s, id, ms_to_ns(ttl_ms));
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

const jh_repo *jh_store_repo(void)
{
    return &store_repo;
}

void jh_ctx_init(struct jh_ctx *c, const jh_host_env *env, struct jh_plugin *p,
                 const char *job, const char *handler, uint64_t run_id,
                 int64_t scheduled, int64_t deadline, atomic_int *cancel)
{
    memset(c, 0, offsetof(struct jh_ctx, errmsg));
    c->errmsg[0] = '\0';
    c->api = &api_table;
    c->env = env;
    c->plugin = p;
    c->job = job;
    c->handler = handler;
    c->run_id = run_id;
    c->scheduled = scheduled;
    c->deadline = deadline;
    c->cancel = cancel;
    c->state = p != NULL ? jh_plugin_state(p) : NULL;
    /* c->owner stays "" until the run first touches a lock (owner_of). */
}

void jh_ctx_finish(struct jh_ctx *c)
{
    jh_store *s = store_of(c);

    if (c == NULL)
        return;
    for (int i = 0; i < c->n_locks; i++) {
        if (s != NULL)
            jh_store_lock_release(s, c->locks[i], c->owner);
        free(c->locks[i]);
    }
    c->n_locks = 0;
}
