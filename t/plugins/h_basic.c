/*
 * h_basic.c - test plugin for the host tests (t/host/host.c and the scripts in t/e2e/).
 *
 * Handlers: tick (logs h.tick), slow (sleeps sleep_ms, stops early when
 * cancelled), hang (sleeps sleep_ms ignoring cancellation), fail (returns
 * -EIO with a message), auto (default schedule every 300ms: the implicit
 * job "h_basic.auto").  fini appends "fini MARKER" to fini_file when set;
 * init fails when fail_init = yes.  `inflight` in h.begin is the
 * number of runs of that job (in this copy) executing at that moment.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jobhost.h>

struct st {
    pthread_mutex_t lock;       /* guards the in-flight table */
    struct { char job[64]; int n; } inflight[16];
    char marker[64];
    char fini_file[512];
    long sleep_ms;
};

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Add d to the in-flight count of the run's job; returns the new count. */
static int inflight_add(struct st *s, const char *job, int d)
{
    int i, n = 0;

    pthread_mutex_lock(&s->lock);
    for (i = 0; i < 16 && s->inflight[i].job[0] != '\0'; i++)
        if (strcmp(s->inflight[i].job, job) == 0)
            break;
    if (i < 16) {
        snprintf(s->inflight[i].job, sizeof(s->inflight[i].job), "%s", job);
        n = s->inflight[i].n += d;
    }
    pthread_mutex_unlock(&s->lock);
    return n;
}

static int h_init(jh_ctx *ctx, void **state)
{
    struct st *s;

    if (strcmp(jh_config(ctx, "fail_init"), "yes") == 0)
        return jh_fail(ctx, -EINVAL, "fail_init is set");
    if ((s = calloc(1, sizeof(*s))) == NULL)
        return -ENOMEM;
    pthread_mutex_init(&s->lock, NULL);
    snprintf(s->marker, sizeof(s->marker), "%s", jh_config(ctx, "marker"));
    snprintf(s->fini_file, sizeof(s->fini_file), "%s", jh_config(ctx, "fini_file"));
    s->sleep_ms = strtol(jh_config(ctx, "sleep_ms"), NULL, 10);
    *state = s;
    return 0;
}

static void h_fini(jh_ctx *ctx, void *state)
{
    struct st *s = state;
    FILE *f;

    (void)ctx;
    if (s->fini_file[0] != '\0' && (f = fopen(s->fini_file, "a")) != NULL) {
        fprintf(f, "fini %s\n", s->marker);
        fclose(f);
    }
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static int tick(jh_ctx *ctx)
{
    struct st *s = jh_state(ctx);

    jh_log(ctx, JH_LOG_INFO, "h.tick", "marker=%s", s->marker);
    return 0;
}

static int run_long(jh_ctx *ctx, int obey_cancel)
{
    struct st *s = jh_state(ctx);
    int n = inflight_add(s, jh_ctx_job(ctx), 1), rc = 0;

    jh_log(ctx, JH_LOG_INFO, "h.begin", "marker=%s inflight=%d", s->marker, n);
    for (long t = 0; t < s->sleep_ms; t += 10) {
        if (obey_cancel && jh_cancelled(ctx)) {
            rc = jh_fail(ctx, -ECANCELED, "stopped after %ld ms", t);
            break;
        }
        sleep_ms(10);
    }
    jh_log(ctx, JH_LOG_INFO, "h.end", "marker=%s cancelled=%d", s->marker, jh_cancelled(ctx));
    inflight_add(s, jh_ctx_job(ctx), -1);
    return rc;
}

static int slow(jh_ctx *ctx) { return run_long(ctx, 1); }
static int hang(jh_ctx *ctx) { return run_long(ctx, 0); }

static int fail(jh_ctx *ctx)
{
    return jh_fail(ctx, -EIO, "boom %s", ((struct st *)jh_state(ctx))->marker);
}

static const jh_handler handlers[] = {
    {.name = "tick", .fn = tick},
    {.name = "slow", .fn = slow},
    {.name = "hang", .fn = hang},
    {.name = "fail", .fn = fail},
    {.name = "auto", .fn = tick, .every = "300ms"},
};

static const jh_config_key keys[] = {
    {.name = "marker", .default_value = "m"},
    {.name = "sleep_ms", .default_value = "300"},
    {.name = "fail_init", .default_value = "no"},
    {.name = "fini_file", .default_value = ""},
    {.name = "password", .default_value = "", .secret = 1},
};

JH_PLUGIN_DESC(.name = "h_basic", .version = "1.0", .init = h_init, .fini = h_fini,
               .handlers = handlers, .n_handlers = JH_COUNTOF(handlers),
               .config_keys = keys, .n_config_keys = JH_COUNTOF(keys));
