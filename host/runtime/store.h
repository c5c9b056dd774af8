/*
 * store.h - the in-process lock / job-status / idempotency store.
 *
 * It backs the repository's lock, status and idem tables when no Redis is
 * configured: single-host semantics, same contract as the Redis backend
 * (issue "repository context").  Thread-safe (one mutex; the critical
 * sections are a hash lookup).  Expiry uses the injected clock, so tests
 * drive TTLs without sleeping; expired entries are dropped lazily on access
 * and by an amortised sweep, so memory stays bounded by live entries.
 */
#ifndef JH_STORE_H
#define JH_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "base/clock.h" /* jh_now_fn */

typedef struct jh__store jh__store;

int jh__store_new(jh_now_fn now, void *now_arg, jh__store **out);
void jh__store_free(jh__store *s);

/* 0: acquired by `owner` for ttl_ns; -EBUSY: held by another live owner.
 * Re-acquiring a lock the same owner holds refreshes its TTL (returns 0). */
int jh__store_lock_acquire(jh__store *s, const char *key, const char *owner, int64_t ttl_ns);
/* 0: released; -ENOENT: not held (or expired); -EPERM: held by another owner. */
int jh__store_lock_release(jh__store *s, const char *key, const char *owner);

/* ttl_ns <= 0: no expiry. */
int jh__store_status_set(jh__store *s, const char *job, const char *value, int64_t ttl_ns);
/* Copies at most len-1 bytes + NUL; returns the value's full length or -ENOENT. */
int jh__store_status_get(jh__store *s, const char *job, char *buf, size_t len);

/* 1 if marked and not expired, 0 if not. */
int jh__store_processed_check(jh__store *s, const char *message_id);
int jh__store_processed_mark(jh__store *s, const char *message_id, int64_t ttl_ns);

/* Live entries (for tests and leak checks); sweeps every expired one. */
size_t jh__store_count(jh__store *s);
/* Entries held, live or expired, without sweeping: shows what the lazy
 * and amortised purges reclaim (tests). */
size_t jh__store_entries(jh__store *s);

#endif
