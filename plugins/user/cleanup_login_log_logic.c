/*
 * cleanup_login_log_logic.c - delete expired login logs in chunks of
 * LOGIN_LOG_CHUNK rows until a chunk comes back short.
 *
 * Each chunk is its own autocommitted statement, so a large backlog never
 * holds row locks (or undo) for long, and a cancelled run keeps what it
 * already deleted.
 */
#include "cleanup_login_log_logic.h"

#include <stdio.h>
#include <string.h>

#include "job_lock_model.h"

void cleanup_login_log_logic_init(struct cleanup_login_log_logic *l, jh_ctx *ctx)
{
    memset(l, 0, sizeof(*l));
    l->ctx = ctx;
    l->cfg = jh_ctx_state(ctx);
}

static int cancelled(struct cleanup_login_log_logic *l)
{
    jh_log(l->ctx, JH_LOG_WARN, "cleanup.cancel", "rows=%lld chunks=%d",
           (long long)l->deleted, l->chunks);
    return jh_fail(l->ctx, -ECANCELED, "cancelled after deleting %lld login_log rows",
                   (long long)l->deleted);
}

static int delete_chunks(struct cleanup_login_log_logic *l)
{
    int64_t n;

    for (;;) {
        if (jh_ctx_cancelled(l->ctx))
            return cancelled(l);
        n = login_log_model_delete_expired(&l->logs, l->cfg->login_log_max_age_s);
        if (n < 0)
            return jh_ctx_cancelled(l->ctx)
                       ? cancelled(l)
                       : jh_fail(l->ctx, (int)n, "delete expired login_log rows: %s",
                                 jh_last_error(l->ctx));
        l->deleted += n;
        l->chunks++;
        if (n < LOGIN_LOG_CHUNK)
            return 0;
    }
}

int cleanup_login_log_logic_cleanup(struct cleanup_login_log_logic *l)
{
    int64_t start = jh_ctx_now(l->ctx);
    char status[128];
    int rc;

    rc = job_lock_acquire(l->ctx, CLEANUP_LOCK_KEY, l->cfg->lock_ttl_ms);
    if (rc == -EBUSY) {
        jh_log(l->ctx, JH_LOG_INFO, "cleanup.skip", "reason=\"already running\" lock_key=%s",
               CLEANUP_LOCK_KEY);
        return 0;
    }
    if (rc < 0)
        return jh_fail(l->ctx, rc, "acquire lock %s: %s", CLEANUP_LOCK_KEY,
                       job_lock_error(l->ctx, rc));
    login_log_model_init(&l->logs, l->ctx);

    rc = delete_chunks(l);

    login_log_model_close(&l->logs);
    snprintf(status, sizeof(status), "%s rows=%lld",
             rc == 0 ? "ok" : rc == -ECANCELED ? "cancelled" : "failed",
             (long long)l->deleted);
    job_status_set(l->ctx, CLEANUP_STATUS_JOB, status, l->cfg->status_ttl_ms);
    job_lock_release(l->ctx, CLEANUP_LOCK_KEY);
    jh_log(l->ctx, rc == 0 ? JH_LOG_INFO : JH_LOG_WARN, "cleanup.finish",
           "result=%s rows=%lld chunks=%d max_age_s=%lld duration_ms=%.1f",
           rc == 0 ? "ok" : rc == -ECANCELED ? "cancelled" : "failed", (long long)l->deleted,
           l->chunks, (long long)l->cfg->login_log_max_age_s,
           (double)(jh_ctx_now(l->ctx) - start) / 1e6);
    return rc;
}
