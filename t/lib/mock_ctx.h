/*
 * mock_ctx.h - one mocked jh_ctx for tests of plugin logic (the seeds'
 * "unit tests with a mocked repository").
 *
 * Plugin code sees only jobhost.h, so a mock is a jh_api table behind a
 * struct whose first member is that table's pointer.  This one records
 * what the run logged, failed with, locked and set as status, with a fake
 * clock (1 ms a call) and cancellation on demand.  A test that needs more
 * (a db or events table, its own config) embeds it as the FIRST member of
 * its own struct and fills `repo` / `config`:
 *
 *     struct world { struct mock_ctx ctx; ... };
 *     mock_ctx_init(&w->ctx, &w->cfg);
 *     w->ctx.repo = &my_repo;        (lock/status: mock_lock_api, mock_status_api)
 *     handler((jh_ctx *)(void *)w);
 */
#ifndef JH_T_MOCK_CTX_H
#define JH_T_MOCK_CTX_H

#include <stdint.h>

#include <jobhost.h>

typedef struct mock_ctx {
    const jh_api *api;          /* first, as jobhost.h requires */
    const char *job, *plugin, *handler; /* what jh_ctx_job() & co. return */
    void *state;                /* jh_ctx_state() */
    int64_t *clock;             /* jh_ctx_now() adds 1 ms and returns it; NULL: own_clock */
    int64_t own_clock;
    int cancel;                 /* jh_ctx_cancelled() true while set ... */
    int cancel_after;           /* ... or from this call on (0 = never) */
    int cancel_calls;
    /* jh_config(): NULL = every key unset */
    const char *(*config)(struct mock_ctx *m, const char *key);
    const jh_repo *repo;        /* default: the lock and status tables below */
    /* lock table: acquire returns lock_rc and records key and TTL */
    int lock_rc;
    char lock_key[64];
    int64_t lock_ttl_ms;
    int acquired, released;
    /* status table: set records "job=value" ("job=value ttl=N" with status_ttl) */
    int status_ttl;
    char status[8][96];
    int n_status;
    char log[8192];             /* "event fields\n" per jh_log() */
    char fail[512];             /* jh_fail()'s message */
    char lasterr[256];          /* jh_last_error() */
} mock_ctx;

/* Zero *m and set it up as above; jh_ctx_state() will return `state`. */
void mock_ctx_init(mock_ctx *m, void *state);
/* Forget what was recorded (log, fail, status, lock counts). */
void mock_ctx_clear(mock_ctx *m);

extern const jh_lock_api mock_lock_api;
extern const jh_status_api mock_status_api;

#endif
