#ifndef REPORT_JOB_H
#define REPORT_JOB_H

#include <jobhost.h>

int report_job_summary(jh_ctx *ctx);

#endif
