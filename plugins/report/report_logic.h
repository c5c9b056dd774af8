/*
 * report_logic.h - the report's business logic: read what other jobs left
 * in the repository's job status and log a short summary.
 */
#ifndef REPORT_LOGIC_H
#define REPORT_LOGIC_H

#include <jobhost.h>

struct report_state {
    char *title;         /* copy of the `title` config value */
    char *watch;         /* copy of `watch`: job names, comma separated */
};

struct report_logic {
    jh_ctx *ctx;
    const struct report_state *st;
};

void report_logic_init(struct report_logic *l, jh_ctx *ctx);
int report_logic_summary(struct report_logic *l);

#endif
