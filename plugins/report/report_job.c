/*
 * report_job.c - the handler: creates the logic object and calls it.
 */
#include "report_job.h"

#include "report_logic.h"

int report_job_summary(jh_ctx *ctx)
{
    struct report_logic l;

    report_logic_init(&l, ctx);
    return report_logic_summary(&l);
}
