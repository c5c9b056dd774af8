/*
 * ctx.h - the per-run context handed to handlers, and the jh_api table.
 *
 * struct jh_ctx starts with the api pointer (the public header relies on
 * it).  A run's context lives on the worker's stack or heap for exactly one
 * handler call; init/fini get a context with no job or run id.
 */
#ifndef JH_CTX_H
#define JH_CTX_H

#include <stdatomic.h>
#include <stdint.h>

#include "jobhost.h"
#include "log.h"
#include "services.h"
#include "store.h"

struct jh__plugin;

/* What every context of one host shares: set up once by the host. */
typedef struct jh__host_env {
    jh__logger *log;
    const jh_repo *repo;       /* lock/status/idem tables over `store` */
    jh__store *store;           /* backing in-process store */
    struct jh__events *events;  /* the host's outbox (+ Kafka); NULL in --check */
    jh_now_fn now;             /* ns, CLOCK_REALTIME unless a test injects one */
    void *now_arg;
} jh__host_env;

#define JH_CTX_MAX_LOCKS 8
#define JH_CTX_ERRMSG_MAX 512

struct jh_ctx {
    const jh_api *api;         /* must stay first */
    const jh__host_env *env;
    struct jh__plugin *plugin;
    const char *job;           /* NULL in init/fini */
    const char *handler;       /* NULL in init/fini */
    uint64_t run_id;
    int64_t scheduled;         /* ns */
    int64_t deadline;          /* ns, INT64_MAX = none */
    atomic_int *cancel;        /* owned by the scheduler's run; may be NULL */
    void *state;               /* plugin state (init: NULL until init returns) */
    char owner[64];            /* lock owner token, "" until first lock use */
    char *locks[JH_CTX_MAX_LOCKS]; /* held lock keys, released at end of run */
    int n_locks;
    struct jh__db_run *db_run;  /* db.c's per-run state, NULL until first use */
    struct jh__redis_run *redis_run; /* redis.c's, likewise */
    char errmsg[JH_CTX_ERRMSG_MAX]; /* from jh_fail(), "" if none */
    char lasterr[JH_CTX_ERRMSG_MAX]; /* last failed service call (jh__ctx_error) */
};

/* The backends of the context's plugin (NULL: none attached). */
const jh__services *jh__ctx_services(const struct jh_ctx *c);
/* Record why a service call failed (jh_last_error() shows it); returns
 * `code` so callers can write `return jh__ctx_error(c, -EIO, "...")`. */
int jh__ctx_error(struct jh_ctx *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * 0 if the context's plugin declared `svc` (a JH_SVC_* bit) in its
 * descriptor and the host bound a backend for it; else -ENOSYS with
 * jh__ctx_error naming the plugin and what is missing.
 */
int jh__ctx_need(struct jh_ctx *c, unsigned svc);
/* The host's clock for this context (ns). */
int64_t jh__ctx_now(const struct jh_ctx *c);
/* 0 while the run may go on; -ECANCELED or -ETIMEDOUT (with
 * jh__ctx_error set naming `what`) once cancelled or past its deadline. */
int jh__ctx_check(struct jh_ctx *c, const char *what);

const jh_api *jh__api_table(void);

/* The repository tables backed by the in-process store (ABI 1.0 only). */
const jh_repo *jh__store_repo(void);
/* All tables: lock/status/idem (store, or redis when bound), db, redis,
 * events.  What a running host hands to plugins. */
const jh_repo *jh__full_repo(void);

/* Initialise a context for a run or (job == NULL) for init/fini. */
void jh__ctx_init(struct jh_ctx *c, const jh__host_env *env, struct jh__plugin *p,
                 const char *job, const char *handler, uint64_t run_id,
                 int64_t scheduled, int64_t deadline, atomic_int *cancel);

/* End of run: release locks the run still holds, free what it owns. */
void jh__ctx_finish(struct jh_ctx *c);

#endif
