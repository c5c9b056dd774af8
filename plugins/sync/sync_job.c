/*
 * sync_job.c - the handler: creates the logic object and calls it.
 */
#include "sync_job.h"

#include "sync_logic.h"

int sync_job_sync_user(jh_ctx *ctx)
{
    struct sync_logic l;

    sync_logic_init(&l, ctx);
    return sync_logic_sync_user(&l);
}
