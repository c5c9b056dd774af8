#ifndef SYNC_JOB_H
#define SYNC_JOB_H

#include <jobhost.h>

int sync_job_sync_user(jh_ctx *ctx);

#endif
