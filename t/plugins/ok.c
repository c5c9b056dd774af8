/*
 * ok.c - a well-formed test plugin, built twice (-DOK_VERSION=1 -> ok_v1.so,
 * -DOK_VERSION=2 -> ok_v2.so) so a test can tell whose code runs.
 *
 * init stores an ok_state (ok.h) with the config it saw; handler `version`
 * records this build's OK_VERSION in it; `tick` counts calls; fini writes
 * "fini vN calls=C" to the file named by config `marker`, if set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jobhost.h>

#include "ok.h"

#ifndef OK_VERSION
#define OK_VERSION 1
#endif
#define STR_(x) #x
#define STR(x) STR_(x)

static int ok_init(jh_ctx *ctx, void **state)
{
    ok_state *s = calloc(1, sizeof(*s));
    const char *marker = jh_config(ctx, "marker");

    if (s == NULL)
        return -ENOMEM;
    s->init_version = OK_VERSION;
    snprintf(s->greeting, sizeof(s->greeting), "%s", jh_config(ctx, "greeting"));
    snprintf(s->marker, sizeof(s->marker), "%s", marker ? marker : "");
    *state = s;
    return 0;
}

static void ok_fini(jh_ctx *ctx, void *state)
{
    ok_state *s = state;
    FILE *f;

    (void)ctx;
    if (s->marker[0] != '\0' && (f = fopen(s->marker, "w")) != NULL) {
        fprintf(f, "fini v%d calls=%d\n", OK_VERSION, s->calls);
        fclose(f);
    }
    free(s);
}

static int ok_version(jh_ctx *ctx)
{
    ok_state *s = jh_state(ctx);

    s->last_version = OK_VERSION;
    s->calls++;
    return 0;
}

static int ok_tick(jh_ctx *ctx)
{
    ok_state *s = jh_state(ctx);

    s->calls++;
    return 0;
}

static const jh_handler handlers[] = {
    {"version", ok_version, NULL, NULL, NULL},
    {"tick", ok_tick, "5s", NULL, NULL},
    {"nightly", ok_tick, NULL, "0 0 2 * * *", "UTC"},
};

static const jh_config_key keys[] = {
    {"marker", NULL, "file that fini writes", 0},
    {"greeting", "hello", "a value with a default", 0},
    {"token", NULL, "a secret", 1},
};

JH_PLUGIN_DESC(.name = "ok", .version = "v" STR(OK_VERSION), .init = ok_init, .fini = ok_fini,
               .handlers = handlers, .n_handlers = JH_COUNTOF(handlers),
               .config_keys = keys, .n_config_keys = JH_COUNTOF(keys));
