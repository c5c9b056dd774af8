/*
 * sync_repo.h - the sync plugin's repository layer (seeds' xredis
 * JobLockModel + a user model).  The logic calls these and never the
 * repository tables directly, so a test or another backend swaps one file.
 */
#ifndef SYNC_REPO_H
#define SYNC_REPO_H

#include <stddef.h>
#include <stdint.h>

#include <jobhost.h>

/* 1: acquired; 0: someone else holds it; < 0: error. */
int sync_repo_acquire_lock(jh_ctx *ctx, const char *key, int64_t ttl_s);
/* Release and set status log a failure (with the host's reason) and
 * return its code; neither fails the run. */
int sync_repo_release_lock(jh_ctx *ctx, const char *key);
int sync_repo_set_status(jh_ctx *ctx, const char *job, const char *status, int64_t ttl_s);
/* The host's reason for the failed call that returned rc (jh_last_error()),
 * or strerror's text when it left none. */
const char *sync_repo_error(jh_ctx *ctx, int rc);

/*
 * Users to sync, by keyset pagination: up to `limit` ids greater than
 * `after_id`, ascending, into ids[].  Returns the count (0 at the end).
 * The source here is synthetic (ids 1..total, every 7th already synced):
 * the shape, not the data, is the example.
 */
int sync_repo_find_pending(jh_ctx *ctx, int64_t total, int64_t after_id, int64_t *ids,
                           size_t limit);

#endif
