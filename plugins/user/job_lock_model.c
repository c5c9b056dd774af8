/*
 * job_lock_model.c - locks and job status for the user plugin.
 */
#include "job_lock_model.h"

#include <string.h>

int job_lock_acquire(jh_ctx *ctx, const char *key, int64_t ttl_ms)
{
    return jh_lock_acquire(ctx, key, ttl_ms);
}

const char *job_lock_error(jh_ctx *ctx, int rc)
{
    const char *e = jh_last_error(ctx);

    return e != NULL && e[0] != '\0' ? e : strerror(-rc);
}

int job_lock_release(jh_ctx *ctx, const char *key)
{
    int rc = jh_lock_release(ctx, key);

    if (rc < 0 && rc != -ENOENT)
        jh_log(ctx, JH_LOG_WARN, "lock.release_fail", "lock_key=%s rc=%d error=\"%s\"", key, rc,
               job_lock_error(ctx, rc));
    return rc;
}

void job_status_set(jh_ctx *ctx, const char *job, const char *value, int64_t ttl_ms)
{
    int rc = jh_status_set(ctx, job, value, ttl_ms);

    if (rc < 0)
        jh_log(ctx, JH_LOG_WARN, "status.fail", "status_job=%s rc=%d error=\"%s\"", job, rc,
               job_lock_error(ctx, rc));
}
