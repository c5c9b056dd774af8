/*
 * job_lock_model.h - seeds' JobLockModel over the host's lock and status
 * tables (Redis when the host binds one, its in-process store otherwise),
 * so the logic never calls a service table directly.
 */
#ifndef JOB_LOCK_MODEL_H
#define JOB_LOCK_MODEL_H

#include <stdint.h>

#include <jobhost.h>

/* 0: this run holds `key` for ttl_ms; -EBUSY: another owner holds it;
 * another negative code: the lock service failed. */
int job_lock_acquire(jh_ctx *ctx, const char *key, int64_t ttl_ms);
/* A failure other than -ENOENT (the lock expired first) is logged with
 * the host's reason; returns release's code. */
int job_lock_release(jh_ctx *ctx, const char *key);
/* The reason of the failed lock or status call that returned rc: the host's
 * (jh_last_error(), e.g. "redis cache (...): connect: ..."), or strerror's
 * text of rc when the host left none. */
const char *job_lock_error(jh_ctx *ctx, int rc);
/* Set the job's status; a failure is logged (a status is informative, it
 * never fails the run). */
void job_status_set(jh_ctx *ctx, const char *job, const char *value, int64_t ttl_ms);

#endif
