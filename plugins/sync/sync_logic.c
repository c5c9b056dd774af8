/*
 * sync_logic.c - sync users in batches, one run at a time.
 *
 * The seeds' shape: take the lock "job:sync_demo" with a TTL (the TTL
 * frees it if this process dies mid-run) and return quietly when another
 * run holds it; record "running" then the outcome as the job status; walk
 * the pending users by keyset pagination (id > last_id), checking for
 * cancellation (timeout, shutdown) before each batch; log the duration.
 */
#include "sync_logic.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sync_repo.h"

#define SYNC_LOCK_KEY "job:sync_demo"
#define SYNC_STATUS_JOB "sync_demo"

void sync_logic_init(struct sync_logic *l, jh_ctx *ctx)
{
    l->ctx = ctx;
    l->cfg = jh_ctx_state(ctx);
}

static void simulate_work(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};

    if (ms > 0)
        nanosleep(&ts, NULL);
}

/* The batch loop; *synced counts users done. */
static int sync_batches(struct sync_logic *l, int64_t *synced, int *batches)
{
    int64_t *ids = malloc((size_t)l->cfg->batch_size * sizeof(*ids));
    int64_t last_id = 0;
    int n, rc = 0;

    if (ids == NULL)
        return jh_fail(l->ctx, -ENOMEM, "out of memory");
    for (;;) {
        if (jh_ctx_cancelled(l->ctx)) {
            rc = jh_fail(l->ctx, -ECANCELED, "cancelled after %lld users", (long long)*synced);
            break;
        }
        n = sync_repo_find_pending(l->ctx, l->cfg->users, last_id, ids,
                                   (size_t)l->cfg->batch_size);
        if (n <= 0)
            break;
        simulate_work(l->cfg->batch_delay_ms); /* "update each user" */
        *synced += n;
        (*batches)++;
        last_id = ids[n - 1];
    }
    free(ids);
    return rc;
}

int sync_logic_sync_user(struct sync_logic *l)
{
    int64_t start = jh_ctx_now(l->ctx), synced = 0;
    int batches = 0, rc;
    char status[96];

    rc = sync_repo_acquire_lock(l->ctx, SYNC_LOCK_KEY, l->cfg->lock_ttl_s);
    if (rc < 0)
        return jh_fail(l->ctx, rc, "acquire lock %s failed: %s", SYNC_LOCK_KEY,
                       sync_repo_error(l->ctx, rc));
    if (rc == 0) {
        jh_log(l->ctx, JH_LOG_INFO, "sync.skip", "reason=\"already running\" lock_key=%s",
               SYNC_LOCK_KEY);
        return 0;
    }
    sync_repo_set_status(l->ctx, SYNC_STATUS_JOB, "running", l->cfg->status_ttl_s);
    rc = sync_batches(l, &synced, &batches);
    snprintf(status, sizeof(status), "%s users=%lld", rc == 0 ? "done" : "failed",
             (long long)synced);
    sync_repo_set_status(l->ctx, SYNC_STATUS_JOB, status, l->cfg->status_ttl_s);
    sync_repo_release_lock(l->ctx, SYNC_LOCK_KEY);
    jh_log(l->ctx, JH_LOG_INFO, "sync.finish", "users=%lld batches=%d duration_ms=%.1f",
           (long long)synced, batches, (double)(jh_ctx_now(l->ctx) - start) / 1e6);
    return rc;
}
