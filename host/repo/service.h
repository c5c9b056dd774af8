/*
 * service.h - what every service call checks, shared by the backends
 * (db, redis, events) and the binding (backends.c) above them.
 */
#ifndef JH_SERVICE_H
#define JH_SERVICE_H

#include "plugin/services.h"
#include "runtime/ctx.h"

/* The backends of the context's plugin (NULL: none attached). */
const jh__services *jh__ctx_services(const struct jh_ctx *c);
/*
 * 0 if the context's plugin declared `svc` (a JH_SVC_* bit) in its
 * descriptor and the host bound a backend for it; else -ENOSYS with
 * jh__ctx_error naming the plugin and what is missing.
 */
int jh__ctx_need(struct jh_ctx *c, unsigned svc);

/* The run hook slots (runtime/ctx.h) of the backends that keep state for
 * a run; jh__ctx_finish ends them in this order, after the lock releases
 * (which may use redis). */
enum jh__run_slot { JH_RUN_SLOT_DB = 0, JH_RUN_SLOT_REDIS = 1, JH_RUN_SLOTS };

#endif
