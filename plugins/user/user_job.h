/*
 * user_job.h - the handlers of `user`: each builds its logic object and
 * calls it (seeds' internal/job/user_job.go).
 */
#ifndef USER_JOB_H
#define USER_JOB_H

#include <jobhost.h>

int user_job_sync_user(jh_ctx *ctx);
int user_job_archive_user(jh_ctx *ctx);
int user_job_cleanup_login_log(jh_ctx *ctx);

#endif
