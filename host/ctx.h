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
#include "store.h"

struct jh_plugin;

/* What every context of one host shares: set up once by the host. */
typedef struct jh_host_env {
    jh_logger *log;
    const jh_repo *repo;       /* lock/status/idem tables over `store` */
    jh_store *store;           /* backing in-process store */
    jh_now_fn now;             /* ns, CLOCK_REALTIME unless a test injects one */
    void *now_arg;
} jh_host_env;

#define JH_CTX_MAX_LOCKS 8
#define JH_CTX_ERRMSG_MAX 512

struct jh_ctx {
    const jh_api *api;         /* must stay first */
    const jh_host_env *env;
    struct jh_plugin *plugin;
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
    char errmsg[JH_CTX_ERRMSG_MAX]; /* from jh_fail(), "" if none */
};

const jh_api *jh_api_table(void);

/* The repository tables backed by the in-process store. */
const jh_repo *jh_store_repo(void);

/* Initialise a context for a run or (job == NULL) for init/fini. */
void jh_ctx_init(struct jh_ctx *c, const jh_host_env *env, struct jh_plugin *p,
                 const char *job, const char *handler, uint64_t run_id,
                 int64_t scheduled, int64_t deadline, atomic_int *cancel);

/* End of run: release locks the run still holds, free what it owns. */
void jh_ctx_finish(struct jh_ctx *c);

#endif
