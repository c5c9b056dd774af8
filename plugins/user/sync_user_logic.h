/*
 * sync_user_logic.h - the sync_user job (seeds' SyncUserLogic): send a
 * user.sync event for every user whose sync_status is 0, then mark them.
 */
#ifndef SYNC_USER_LOGIC_H
#define SYNC_USER_LOGIC_H

#include <stdint.h>

#include <jobhost.h>

#include "user_config.h"
#include "user_event.h"
#include "user_model.h"

#define SYNC_USER_LOCK_KEY "job:sync_user"
#define SYNC_USER_STATUS_JOB "sync_user"
/* The lock outlives any run (the job's timeout is 5m): the TTL only frees
 * it when a host dies holding it. */
#define SYNC_USER_LOCK_TTL_MS (10 * 60 * 1000)

struct sync_user_logic {
    jh_ctx *ctx;
    const struct user_config *cfg;
    struct user_model users;
    struct user_event events;
    struct user_batch batch;
    int64_t sent;      /* events sent */
    int64_t marked;    /* rows set to sync_status = 1 */
    int batches;
};

void sync_user_logic_init(struct sync_user_logic *l, jh_ctx *ctx);
/* 0 (also when another run holds the lock), -ECANCELED when cancelled or
 * past the deadline, or the failing call's code with jh_fail() set. */
int sync_user_logic_sync_user(struct sync_user_logic *l);

#endif
