/*
 * report_logic.c - one report line per watched job, from the job status
 * table of the repository (in-process today, Redis later: same calls).
 */
#include "report_logic.h"

#include <string.h>

void report_logic_init(struct report_logic *l, jh_ctx *ctx)
{
    l->ctx = ctx;
    l->st = jh_ctx_state(ctx);
}

static void report_one(struct report_logic *l, const char *job)
{
    char status[128];
    int n = jh_status_get(l->ctx, job, status, sizeof(status));

    if (n == -ENOENT)
        strcpy(status, "(none)");
    else if (n < 0)
        strcpy(status, "(error)");
    jh_log(l->ctx, JH_LOG_INFO, "report.line", "title=\"%s\" watched=%s status=\"%s\"",
           l->st->title, job, status);
}

int report_logic_summary(struct report_logic *l)
{
    const char *p = l->st->watch;
    int lines = 0;

    while (*p != '\0') {
        char job[128];
        size_t n = strcspn(p, ", ");
        if (n > 0 && n < sizeof(job)) {
            memcpy(job, p, n);
            job[n] = '\0';
            report_one(l, job);
            lines++;
        }
        p += n;
        p += strspn(p, ", ");
    }
    jh_log(l->ctx, JH_LOG_INFO, "report.done", "title=\"%s\" lines=%d", l->st->title, lines);
    return 0;
}
