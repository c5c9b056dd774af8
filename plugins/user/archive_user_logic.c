/*
 * archive_user_logic.c - send every deleted user to the archive topic.
 *
 * Each page's events go out as one batch (all or nothing, one outbox
 * fsync); cancellation is checked between pages.  Nothing is written
 * back: the consumer owns the archive (and, when it has one, removing the
 * row), so a run that stops half-way is simply repeated in full next
 * time; events carry the user id as key and consumers treat a repeated id
 * as already archived.
 */
#include "archive_user_logic.h"

#include <stdio.h>
#include <string.h>

#include "job_lock_model.h"

void archive_user_logic_init(struct archive_user_logic *l, jh_ctx *ctx)
{
    memset(l, 0, sizeof(*l));
    l->ctx = ctx;
    l->cfg = jh_ctx_state(ctx);
}

static int cancelled(struct archive_user_logic *l)
{
    jh_log(l->ctx, JH_LOG_WARN, "archive.cancel", "users=%lld batches=%d last_id=%llu",
           (long long)l->sent, l->batches, (unsigned long long)l->last_id);
    return jh_fail(l->ctx, -ECANCELED, "cancelled after %lld users archived (last id %llu)",
                   (long long)l->sent, (unsigned long long)l->last_id);
}

static int archive_pages(struct archive_user_logic *l)
{
    int n, rc;

    for (;;) {
        if (jh_ctx_cancelled(l->ctx))
            return cancelled(l);
        n = user_model_find_deleted_after(&l->users, l->last_id, &l->batch);
        if (n < 0)
            return jh_ctx_cancelled(l->ctx)
                       ? cancelled(l)
                       : jh_fail(l->ctx, n, "find deleted users after id %llu: %s",
                                 (unsigned long long)l->last_id, user_model_error(&l->users));
        if (n > 0) {
            if (jh_ctx_cancelled(l->ctx))
                return cancelled(l);
            rc = user_event_send_archive_page(&l->events, l->batch.v, (size_t)n);
            if (rc < 0)
                return jh_ctx_cancelled(l->ctx)
                           ? cancelled(l)
                           : jh_fail(l->ctx, rc, "send user.archive for users %llu..%llu "
                                     "(%d events): %s", (unsigned long long)l->batch.v[0].id,
                                     (unsigned long long)l->batch.v[n - 1].id, n,
                                     user_event_error(&l->events));
            l->sent += n;
            l->last_id = l->batch.v[n - 1].id;
            l->batches++;
        }
        if ((unsigned)n < l->users.limit)
            return 0;
    }
}

int archive_user_logic_archive_user(struct archive_user_logic *l)
{
    int64_t start = jh_ctx_now(l->ctx);
    char status[128];
    int rc;

    rc = job_lock_acquire(l->ctx, ARCHIVE_USER_LOCK_KEY, l->cfg->lock_ttl_ms);
    if (rc == -EBUSY) {
        jh_log(l->ctx, JH_LOG_INFO, "archive.skip", "reason=\"already running\" lock_key=%s",
               ARCHIVE_USER_LOCK_KEY);
        return 0;
    }
    if (rc < 0)
        return jh_fail(l->ctx, rc, "acquire lock %s: %s", ARCHIVE_USER_LOCK_KEY,
                       job_lock_error(l->ctx, rc));
    job_status_set(l->ctx, ARCHIVE_USER_STATUS_JOB, "running", l->cfg->status_ttl_ms);
    user_model_init(&l->users, l->ctx, (unsigned)l->cfg->batch_size);
    user_event_init(&l->events, l->ctx, l->cfg->sync_topic, l->cfg->archive_topic);
    user_batch_init(&l->batch);

    rc = archive_pages(l);

    user_batch_free(&l->batch);
    user_event_close(&l->events);
    user_model_close(&l->users);
    snprintf(status, sizeof(status), "%s users=%lld",
             rc == 0 ? "ok" : rc == -ECANCELED ? "cancelled" : "failed", (long long)l->sent);
    job_status_set(l->ctx, ARCHIVE_USER_STATUS_JOB, status, l->cfg->status_ttl_ms);
    job_lock_release(l->ctx, ARCHIVE_USER_LOCK_KEY);
    jh_log(l->ctx, rc == 0 ? JH_LOG_INFO : JH_LOG_WARN, "archive.finish",
           "result=%s users=%lld batches=%d queries=%lld duration_ms=%.1f",
           rc == 0 ? "ok" : rc == -ECANCELED ? "cancelled" : "failed", (long long)l->sent,
           l->batches, (long long)l->users.queries, (double)(jh_ctx_now(l->ctx) - start) / 1e6);
    return rc;
}
