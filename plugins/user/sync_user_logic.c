/*
 * sync_user_logic.c - sync pending users in keyset pages.
 *
 * One page = one SELECT, one event per user (keyed by user id) sent as
 * one batch (all or nothing, one outbox fsync for the page), one UPDATE
 * marking exactly the users of the page.  Events go first: a crash
 * or a cancellation between the sends and the UPDATE leaves the users
 * pending, so the next run sends them again (at-least-once, the same as
 * delivery; consumers dedupe on message_id or on the user id).  The other
 * order could mark users whose events were never sent.
 *
 * A user is marked only in the version that was sent: the UPDATE requires
 * (id, updated_at) to still equal what the page's SELECT read (see
 * user_model.h).  A user changed while its page is in flight (say renamed
 * from "A" to "B" after the SELECT read "A") keeps sync_status = 0 and is
 * sent again, with "B", by the next run; without that check the page's
 * UPDATE would mark it synced and "B" would never be sent.
 *
 * Cancellation (shutdown, or the job's timeout) is checked between pages
 * and before each page's batch: a cancelled run stops within one page.
 * A page is marked only once its batch was sent; a page whose batch was
 * sent when the cancellation came is left unmarked, since the database
 * refuses calls once the run is cancelled; its users are sent again next
 * run.
 */
#include "sync_user_logic.h"

#include <stdio.h>
#include <string.h>

#include "job_lock_model.h"

void sync_user_logic_init(struct sync_user_logic *l, jh_ctx *ctx)
{
    memset(l, 0, sizeof(*l));
    l->ctx = ctx;
    l->cfg = jh_ctx_state(ctx);
}

static int cancelled(struct sync_user_logic *l)
{
    return jh_fail(l->ctx, -ECANCELED, "cancelled after %lld users sent, %lld marked synced",
                   (long long)l->sent, (long long)l->marked);
}

/* Send the page's events, then mark the page. */
static int sync_page(struct sync_user_logic *l)
{
    const struct user_batch *b = &l->batch;
    int64_t n;
    int rc;

    if (jh_ctx_cancelled(l->ctx))
        return cancelled(l);
    if ((rc = user_event_send_sync_page(&l->events, b->v, b->n)) < 0)
        return jh_ctx_cancelled(l->ctx)
                   ? cancelled(l)
                   : jh_fail(l->ctx, rc, "send user.sync for users %llu..%llu (%zu events): %s",
                             (unsigned long long)b->v[0].id,
                             (unsigned long long)b->v[b->n - 1].id, b->n,
                             user_event_error(&l->events));
    l->sent += (int64_t)b->n;
    if ((n = user_model_mark_synced(&l->users, b->v, b->n)) < 0)
        return jh_ctx_cancelled(l->ctx) ? cancelled(l)
                                    : jh_fail(l->ctx, (int)n, "mark %zu users synced: %s",
                                              b->n, user_model_error(&l->users));
    l->marked += n;
    /* Fewer rows than users: another writer marked, deleted or changed
     * some of them meanwhile.  Their events were sent anyway (the changed
     * ones stay pending and go again next run); worth knowing. */
    if ((size_t)n != b->n)
        jh_log(l->ctx, JH_LOG_WARN, "sync.mark_short", "users=%zu marked=%lld last_id=%llu",
               b->n, (long long)n, (unsigned long long)b->v[b->n - 1].id);
    return 0;
}

static int sync_pages(struct sync_user_logic *l)
{
    uint64_t last_id = 0;
    int n, rc;

    for (;;) {
        if (jh_ctx_cancelled(l->ctx))
            return cancelled(l);
        n = user_model_find_pending_sync(&l->users, last_id, &l->batch);
        if (n < 0)
            return jh_ctx_cancelled(l->ctx) ? cancelled(l)
                                        : jh_fail(l->ctx, n, "find users to sync after id %llu: %s",
                                                  (unsigned long long)last_id,
                                                  user_model_error(&l->users));
        if (n == 0)
            return 0;
        if ((rc = sync_page(l)) < 0)
            return rc;
        l->batches++;
        last_id = l->batch.v[n - 1].id;
        /* A short page is the last one: saves a query that finds nothing. */
        if ((unsigned)n < l->users.limit)
            return 0;
    }
}

int sync_user_logic_sync_user(struct sync_user_logic *l)
{
    int64_t start = jh_ctx_now(l->ctx);
    char status[128];
    int rc;

    rc = job_lock_acquire(l->ctx, SYNC_USER_LOCK_KEY, SYNC_USER_LOCK_TTL_MS);
    if (rc == -EBUSY) {
        jh_log(l->ctx, JH_LOG_INFO, "sync.skip", "reason=\"already running\" lock_key=%s",
               SYNC_USER_LOCK_KEY);
        return 0;
    }
    if (rc < 0)
        return jh_fail(l->ctx, rc, "acquire lock %s: %s", SYNC_USER_LOCK_KEY,
                       job_lock_error(l->ctx, rc));
    job_status_set(l->ctx, SYNC_USER_STATUS_JOB, "running", l->cfg->status_ttl_ms);
    user_model_init(&l->users, l->ctx, (unsigned)l->cfg->batch_size);
    user_event_init(&l->events, l->ctx, l->cfg->sync_topic, l->cfg->archive_topic);
    user_batch_init(&l->batch);

    rc = sync_pages(l);

    user_batch_free(&l->batch);
    user_event_close(&l->events);
    user_model_close(&l->users);
    snprintf(status, sizeof(status), "%s users=%lld",
             rc == 0 ? "ok" : rc == -ECANCELED ? "cancelled" : "failed",
             (long long)l->marked);
    job_status_set(l->ctx, SYNC_USER_STATUS_JOB, status, l->cfg->status_ttl_ms);
    job_lock_release(l->ctx, SYNC_USER_LOCK_KEY);
    jh_log(l->ctx, rc == 0 ? JH_LOG_INFO : JH_LOG_WARN, "sync.finish",
           "result=%s users=%lld sent=%lld batches=%d queries=%lld duration_ms=%.1f",
           rc == 0 ? "ok" : rc == -ECANCELED ? "cancelled" : "failed", (long long)l->marked,
           (long long)l->sent, l->batches, (long long)l->users.queries,
           (double)(jh_ctx_now(l->ctx) - start) / 1e6);
    return rc;
}
