/*
 * redis.h - the Redis service: one [redis NAME] backend over hiredis.
 *
 * Connections are pooled like db.h's: a run takes one on first use and
 * gives it back at its end; a failed connection is dropped and the next
 * call opens a new one.  Every call's socket timeout is the smaller of the
 * section's timeout and what is left before the run's deadline.
 *
 * Besides the raw command table (jh__redis_api_table) this backs the
 * repository's lock / job status / idempotency tables of a plugin copy
 * bound to a redis (jh__redis_repo; repo/backends.c picks it at bind time),
 * with the same semantics as store.h:
 *   lock:    SET prefix+"lock:"+key owner NX PX ttl; release is one Lua
 *            script that deletes the key only if it still holds `owner`
 *            (the seeds' plain DEL could free another host's lock).
 *   status:  SET prefix+"status:"+job value [PX ttl] / GET.
 *   idem:    SET prefix+"processed:"+id 1 PX ttl / EXISTS.
 * Return values follow store.h (0, -EBUSY, -ENOENT, -EPERM, ...), plus
 * -EIO / -ETIMEDOUT / -ECANCELED with jh__ctx_error() set.
 */
#ifndef JH_REDIS_H
#define JH_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "base/err.h"
#include "jobhost.h"

typedef struct jh__redis jh__redis;
struct jh_ctx;

int jh__redis_new(const jh__conf_redis *conf, jh__redis **out, jh_err *e);
void jh__redis_ref(jh__redis *r);
void jh__redis_unref(jh__redis *r);
const char *jh__redis_name(const jh__redis *r);

const jh_redis_api *jh__redis_api_table(void);

int jh__redis_lock_acquire(struct jh_ctx *c, const char *key, const char *owner, int64_t ttl_ms);
int jh__redis_lock_release(struct jh_ctx *c, const char *key, const char *owner);
int jh__redis_status_set(struct jh_ctx *c, const char *job, const char *value, int64_t ttl_ms);
int jh__redis_status_get(struct jh_ctx *c, const char *job, char *buf, size_t len);
int jh__redis_processed_check(struct jh_ctx *c, const char *message_id);
int jh__redis_processed_mark(struct jh_ctx *c, const char *message_id, int64_t ttl_ms);

/* The lock / status / idem tables over the context's bound redis (db,
 * redis and events NULL): jh__store_repo's counterpart.  Status, idem and
 * lock release run with the run's deadline lifted (see jh__ctx_lift). */
const jh_repo *jh__redis_repo(void);

#endif
