/*
 * report_plugin.c - descriptor, config keys, init and fini of `report`.
 *
 * report runs on a 6-field cron schedule (seconds first): by default at
 * second 0 of every minute.  It logs the status other jobs recorded.
 */
#include <stdlib.h>
#include <string.h>

#include <jobhost.h>

#include "report_job.h"
#include "report_logic.h"

static void report_state_free(struct report_state *st)
{
    free(st->title);
    free(st->watch);
    free(st);
}

static int report_init(jh_ctx *ctx, void **state)
{
    struct report_state *st = calloc(1, sizeof(*st));

    /* Config strings live only as long as this call: keep copies. */
    if (st == NULL || (st->title = strdup(jh_config(ctx, "title"))) == NULL ||
        (st->watch = strdup(jh_config(ctx, "watch"))) == NULL) {
        if (st != NULL)
            report_state_free(st);
        return jh_fail(ctx, -ENOMEM, "out of memory");
    }
    *state = st;
    return 0;
}

static void report_fini(jh_ctx *ctx, void *state)
{
    (void)ctx;
    report_state_free(state);
}

static const jh_handler handlers[] = {
    {.name = "summary", .fn = report_job_summary, .cron = "0 */1 * * * *"},
};

static const jh_config_key keys[] = {
    {.name = "title", .default_value = "jobhost report", .description = "report title"},
    {.name = "watch", .default_value = "heartbeat.beat,sync_demo",
     .description = "jobs whose status the report shows, comma separated"},
};

JH_PLUGIN_DESC(.name = "report", .version = "1.0", .init = report_init, .fini = report_fini,
               .handlers = handlers, .n_handlers = JH_COUNTOF(handlers),
               .config_keys = keys, .n_config_keys = JH_COUNTOF(keys));
