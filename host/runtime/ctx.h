/*
 * ctx.h - the per-run context handed to handlers, and the jh_api table.
 *
 * struct jh_ctx starts with the api pointer (the public header relies on
 * it).  A run's context lives on the worker's stack or heap for exactly one
 * handler call; init/fini get a context with no job or run id.
 *
 * The context knows no backend (the runtime layer sits below the plugin
 * loader and the repository), in the manner of hiredis's async context
 * calling ac->ev.cleanup(ac->ev.data) without knowing its event library:
 *   - what it needs of its plugin copy is copied in at jh__ctx_init from a
 *     jh__ctx_plugin the plugin layer fills (jh__plugin_ctx);
 *   - the repository tables come ready-made with it: repo/backends.c picks
 *     them when it binds the copy, so no call chooses a backend;
 *   - a backend that keeps state for a run puts it in a run hook slot, and
 *     jh__ctx_finish calls the slot's end function;
 *   - the held locks are released at the end through the lock backend that
 *     took them (jh__lock_impl).
 */
#ifndef JH_CTX_H
#define JH_CTX_H

#include <stdatomic.h>
#include <stdint.h>

#include "jobhost.h"
#include "log.h"
#include "store.h"

/* What every context of one host shares: set up once by the host. */
typedef struct jh__host_env {
    jh__logger *log;
    const jh_repo *repo;       /* for contexts whose plugin brings none */
    jh__store *store;           /* backing in-process store */
    struct jh__events *events;  /* the host's outbox (+ Kafka); NULL in --check */
    jh_now_fn now;             /* ns, CLOCK_REALTIME unless a test injects one */
    void *now_arg;
} jh__host_env;

/* What a context takes from its plugin copy at jh__ctx_init (the plugin
 * layer fills it: jh__plugin_ctx).  All zero: a context of no plugin. */
typedef struct jh__ctx_plugin {
    const char *name;
    /* The value of a declared config key, else its default, else NULL. */
    const char *(*config)(const void *data, const char *key);
    const void *config_data;
    void *state;               /* what the plugin's init returned (NULL in init) */
    const jh_repo *repo;       /* the copy's repository; NULL: env->repo */
    const void *services;      /* the copy's backends: plugin/services.h, opaque here */
} jh__ctx_plugin;

/*
 * A lock backend (the in-process store's here, redis.c's): how a key is
 * taken for `owner` and freed again.  jh__ctx_lock_acquire/_release keep
 * the keys a run holds and, at its end, release them through the backend
 * that took them.
 */
typedef struct jh__lock_impl {
    int (*acquire)(struct jh_ctx *c, const char *key, const char *owner, int64_t ttl_ms);
    int (*release)(struct jh_ctx *c, const char *key, const char *owner);
} jh__lock_impl;

/* A backend's state for one run: jh__ctx_finish calls end(c, data). */
typedef struct jh__run_hook {
    void *data;                /* NULL: the slot is unused */
    void (*end)(struct jh_ctx *c, void *data);
} jh__run_hook;

#define JH_CTX_MAX_LOCKS 8
#define JH_CTX_RUN_HOOKS 2     /* slots: repo/service.h numbers them */
#define JH_CTX_ERRMSG_MAX 512

struct jh_ctx {
    const jh_api *api;         /* must stay first */
    const jh__host_env *env;
    jh__ctx_plugin plugin;     /* copied at init */
    const char *job;           /* NULL in init/fini */
    const char *handler;       /* NULL in init/fini */
    uint64_t run_id;
    int64_t scheduled;         /* ns */
    int64_t deadline;          /* ns, INT64_MAX = none */
    atomic_int *cancel;        /* owned by the scheduler's run; may be NULL */
    char owner[64];            /* lock owner token, "" until first lock use */
    /* held locks, "key\0owner" (the token it was taken with; c->owner
     * changes after an acquire of uncertain outcome), released at run end */
    char *locks[JH_CTX_MAX_LOCKS];
    int n_locks;
    const jh__lock_impl *lock_impl; /* the backend holding `locks` */
    jh__run_hook hooks[JH_CTX_RUN_HOOKS]; /* ended in slot order */
    char errmsg[JH_CTX_ERRMSG_MAX]; /* from jh_fail(), "" if none */
    char lasterr[JH_CTX_ERRMSG_MAX]; /* last failed service call (jh__ctx_error) */
};

/* Record why a service call failed (jh_last_error() shows it); returns
 * `code` so callers can write `return jh__ctx_error(c, -EIO, "...")`. */
int jh__ctx_error(struct jh_ctx *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The host's clock for this context (ns). */
int64_t jh__ctx_now(const struct jh_ctx *c);
/* 0 while the run may go on; -ECANCELED or -ETIMEDOUT (with
 * jh__ctx_error set naming `what`) once cancelled or past its deadline. */
int jh__ctx_check(struct jh_ctx *c, const char *what);

/*
 * Bookkeeping after the end: lock release, job status and idempotency marks
 * still work once a run was cancelled or passed its deadline, so a handler
 * can record how it ended.  A backend whose calls check the run's deadline
 * lifts it (and the cancel flag) for such a call; its own timeout bounds
 * the call instead.  jh__ctx_unlift puts both back and returns `rc`.
 */
typedef struct jh__ctx_lifted {
    int64_t deadline;
    atomic_int *cancel;
} jh__ctx_lifted;

jh__ctx_lifted jh__ctx_lift(struct jh_ctx *c);
int jh__ctx_unlift(struct jh_ctx *c, jh__ctx_lifted l, int rc);

/* The repository's lock table over `impl`: -EINVAL for a NULL context or
 * key (or ttl_ms <= 0), -ENOSPC past JH_CTX_MAX_LOCKS held keys, else what
 * impl returns.  Held keys are released by jh__ctx_finish. */
int jh__ctx_lock_acquire(struct jh_ctx *c, const jh__lock_impl *impl, const char *key,
                        int64_t ttl_ms);
int jh__ctx_lock_release(struct jh_ctx *c, const jh__lock_impl *impl, const char *key);
/* 1 if the run holds `key` (taken through jh__ctx_lock_acquire). */
int jh__ctx_holds(const struct jh_ctx *c, const char *key);

/* The state a backend keeps for this run in hook `slot` (NULL: none yet). */
void *jh__ctx_run_state(const struct jh_ctx *c, int slot);
/* Keep `data` in `slot` until the run ends: jh__ctx_finish then clears the
 * slot and calls end(c, data). */
void jh__ctx_set_run_state(struct jh_ctx *c, int slot, void *data,
                          void (*end)(struct jh_ctx *c, void *data));

const jh_api *jh__api_table(void);

/* The repository tables backed by the in-process store: lock, status and
 * idem only (what ABI 1.0 defined). */
const jh_repo *jh__store_repo(void);

/* Initialise a context for a run or (job == NULL) for init/fini.  `p`
 * (NULL: no plugin) is copied. */
void jh__ctx_init(struct jh_ctx *c, const jh__host_env *env, const jh__ctx_plugin *p,
                 const char *job, const char *handler, uint64_t run_id,
                 int64_t scheduled, int64_t deadline, atomic_int *cancel);

/* End of run: release locks the run still holds (with the deadline
 * lifted), then end the backends' run state in slot order. */
void jh__ctx_finish(struct jh_ctx *c);

#endif
