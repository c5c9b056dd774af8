/*
 * h_ver.c - built twice (H_VER=1 -> h_ver1.so, H_VER=2 -> h_ver2.so), both
 * declaring plugin "h_ver", to test that a replaced .so really runs the new
 * code and that an in-flight run finishes on the old one.
 *
 * Handler `run` (default every 200ms): logs h.ver.begin ver=N, sleeps
 * sleep_ms (config, ignoring cancellation), logs h.ver.end ver=N.  fini
 * appends "fini vN" to fini_file when set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jobhost.h>

#ifndef H_VER
#define H_VER 1
#endif
#define STR_(x) #x
#define STR(x) STR_(x)

struct st {
    long sleep_ms;
    char fini_file[512];
};

static int v_init(jh_ctx *ctx, void **state)
{
    struct st *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return -ENOMEM;
    s->sleep_ms = strtol(jh_config(ctx, "sleep_ms"), NULL, 10);
    snprintf(s->fini_file, sizeof(s->fini_file), "%s", jh_config(ctx, "fini_file"));
    *state = s;
    return 0;
}

static void v_fini(jh_ctx *ctx, void *state)
{
    struct st *s = state;
    FILE *f;

    (void)ctx;
    if (s->fini_file[0] != '\0' && (f = fopen(s->fini_file, "a")) != NULL) {
        fprintf(f, "fini v%d\n", H_VER);
        fclose(f);
    }
    free(s);
}

static int run(jh_ctx *ctx)
{
    struct st *s = jh_state(ctx);
    struct timespec ts = {.tv_sec = s->sleep_ms / 1000,
                          .tv_nsec = (s->sleep_ms % 1000) * 1000000L};

    jh_log(ctx, JH_LOG_INFO, "h.ver.begin", "ver=%d", H_VER);
    if (s->sleep_ms > 0)
        nanosleep(&ts, NULL);
    jh_log(ctx, JH_LOG_INFO, "h.ver.end", "ver=%d", H_VER);
    return 0;
}

static const jh_handler handlers[] = {
    {.name = "run", .fn = run, .every = "200ms"},
};

static const jh_config_key keys[] = {
    {.name = "sleep_ms", .default_value = "0"},
    {.name = "fini_file", .default_value = ""},
};

JH_PLUGIN_DESC(.name = "h_ver", .version = STR(H_VER), .init = v_init, .fini = v_fini,
               .handlers = handlers, .n_handlers = JH_COUNTOF(handlers),
               .config_keys = keys, .n_config_keys = JH_COUNTOF(keys));
