/*
 * user_job.c - handlers: create the logic object and call it.
 */
#include "user_job.h"

#include "archive_user_logic.h"
#include "cleanup_login_log_logic.h"
#include "sync_user_logic.h"

int user_job_sync_user(jh_ctx *ctx)
{
    struct sync_user_logic l;

    sync_user_logic_init(&l, ctx);
    return sync_user_logic_sync_user(&l);
}

int user_job_archive_user(jh_ctx *ctx)
{
    struct archive_user_logic l;

    archive_user_logic_init(&l, ctx);
    return archive_user_logic_archive_user(&l);
}

int user_job_cleanup_login_log(jh_ctx *ctx)
{
    struct cleanup_login_log_logic l;

    cleanup_login_log_logic_init(&l, ctx);
    return cleanup_login_log_logic_cleanup(&l);
}
