/*
 * heartbeat_job.c - the handler (seeds' "job" layer): it only creates the
 * logic object and calls it.
 */
#include "heartbeat_job.h"

#include "heartbeat_logic.h"

int heartbeat_job_beat(jh_ctx *ctx)
{
    struct heartbeat_logic l;

    heartbeat_logic_init(&l, ctx);
    return heartbeat_logic_beat(&l);
}
