#ifndef HEARTBEAT_JOB_H
#define HEARTBEAT_JOB_H

#include <jobhost.h>

int heartbeat_job_beat(jh_ctx *ctx);

#endif
