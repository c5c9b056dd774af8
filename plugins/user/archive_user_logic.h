/*
 * archive_user_logic.h - the archive_user job (seeds' ArchiveUserLogic):
 * a user.archive event for every deleted user, in keyset pages.
 */
#ifndef ARCHIVE_USER_LOGIC_H
#define ARCHIVE_USER_LOGIC_H

#include <stdint.h>

#include <jobhost.h>

#include "user_config.h"
#include "user_event.h"
#include "user_model.h"

#define ARCHIVE_USER_LOCK_KEY "job:archive_user"
#define ARCHIVE_USER_STATUS_JOB "archive_user"

struct archive_user_logic {
    jh_ctx *ctx;
    const struct user_config *cfg;
    struct user_model users;
    struct user_event events;
    struct user_batch batch;
    uint64_t last_id;  /* highest id sent */
    int64_t sent;
    int batches;
};

void archive_user_logic_init(struct archive_user_logic *l, jh_ctx *ctx);
/* 0 (also when another run holds the lock), -ECANCELED after logging how
 * far it got, or the failing call's code with jh_fail() set. */
int archive_user_logic_archive_user(struct archive_user_logic *l);

#endif
