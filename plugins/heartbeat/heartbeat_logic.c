/*
 * heartbeat_logic.c - count a beat, record it as the job's status in the
 * repository, log it.
 */
#include "heartbeat_logic.h"

#include <stdio.h>

void heartbeat_logic_init(struct heartbeat_logic *l, jh_ctx *ctx)
{
    l->ctx = ctx;
    l->st = jh_ctx_state(ctx);
}

int heartbeat_logic_beat(struct heartbeat_logic *l)
{
    unsigned long n = atomic_fetch_add(&l->st->beats, 1) + 1;
    int64_t late_us = (jh_ctx_now(l->ctx) - jh_ctx_scheduled(l->ctx)) / 1000;
    char status[64];
    int rc;

    /* Repository use: the status a report (or an operator) can read. */
    snprintf(status, sizeof(status), "beat %lu", n);
    if ((rc = jh_status_set(l->ctx, jh_ctx_job(l->ctx), status, 60 * 1000)) < 0)
        return jh_fail(l->ctx, rc, "status_set failed");
    jh_log(l->ctx, JH_LOG_INFO, "heartbeat.beat", "n=%lu late_us=%lld msg=\"%s\"", n,
           (long long)late_us, l->st->message);
    return 0;
}
