/*
 * heartbeat_plugin.c - the plugin descriptor (seeds' "job server": the list
 * of {name, schedule, func}), config keys, init and fini.
 *
 * heartbeat proves the host is alive: every 5 s by default (override with
 * a [job] in conf.d/) it logs a beat and sets the job's status.
 */
#include <stdlib.h>
#include <string.h>

#include <jobhost.h>

#include "heartbeat_job.h"
#include "heartbeat_logic.h"

static int heartbeat_init(jh_ctx *ctx, void **state)
{
    struct heartbeat_state *st = calloc(1, sizeof(*st));

    if (st == NULL)
        return jh_fail(ctx, -ENOMEM, "out of memory");
    atomic_init(&st->beats, 0);
    /* Config strings live only as long as this call: keep a copy. */
    if ((st->message = strdup(jh_config(ctx, "message"))) == NULL) {
        free(st);
        return jh_fail(ctx, -ENOMEM, "out of memory");
    }
    *state = st;
    return 0;
}

static void heartbeat_fini(jh_ctx *ctx, void *state)
{
    struct heartbeat_state *st = state;

    jh_log(ctx, JH_LOG_INFO, "heartbeat.fini", "beats=%lu", atomic_load(&st->beats));
    free(st->message);
    free(st);
}

static const jh_handler handlers[] = {
    {.name = "beat", .fn = heartbeat_job_beat, .every = "5s"},
};

static const jh_config_key keys[] = {
    {.name = "message", .default_value = "alive", .description = "text logged with each beat"},
};

JH_PLUGIN_DESC(.name = "heartbeat", .version = "1.0", .init = heartbeat_init,
               .fini = heartbeat_fini, .handlers = handlers,
               .n_handlers = JH_COUNTOF(handlers), .config_keys = keys,
               .n_config_keys = JH_COUNTOF(keys));
