/*
 * sync_plugin.c - descriptor, config keys, init and fini of `sync`.
 *
 * The handler `sync_user` declares no default schedule: it runs only as a
 * [job] in conf.d/ (see conf.d/30-sync.ini).
 */
#include <stdlib.h>

#include <jobhost.h>

#include "sync_job.h"
#include "sync_logic.h"

/* A positive integer config value, or a message naming the key. */
static int config_int(jh_ctx *ctx, const char *key, int64_t min, int64_t *out)
{
    const char *v = jh_config(ctx, key);
    char *end;
    long long n = strtoll(v, &end, 10);

    if (*v == '\0' || *end != '\0' || n < min)
        return jh_fail(ctx, -EINVAL, "%s = \"%s\": expected an integer >= %lld", key, v,
                       (long long)min);
    *out = n;
    return 0;
}

static int sync_init(jh_ctx *ctx, void **state)
{
    struct sync_config *c = calloc(1, sizeof(*c));
    int rc;

    if (c == NULL)
        return jh_fail(ctx, -ENOMEM, "out of memory");
    if ((rc = config_int(ctx, "users", 0, &c->users)) < 0 ||
        (rc = config_int(ctx, "batch_size", 1, &c->batch_size)) < 0 ||
        (rc = config_int(ctx, "batch_delay_ms", 0, &c->batch_delay_ms)) < 0 ||
        (rc = config_int(ctx, "lock_ttl_s", 1, &c->lock_ttl_s)) < 0 ||
        (rc = config_int(ctx, "status_ttl_s", 1, &c->status_ttl_s)) < 0) {
        free(c);
        return rc;
    }
    *state = c;
    return 0;
}

static void sync_fini(jh_ctx *ctx, void *state)
{
    (void)ctx;
    free(state);
}

static const jh_handler handlers[] = {
    {.name = "sync_user", .fn = sync_job_sync_user},
};

static const jh_config_key keys[] = {
    {.name = "users", .default_value = "1000", .description = "synthetic users to sync"},
    {.name = "batch_size", .default_value = "100", .description = "users per batch (keyset page)"},
    {.name = "batch_delay_ms", .default_value = "5", .description = "simulated work per batch"},
    {.name = "lock_ttl_s", .default_value = "600", .description = "TTL of the job:sync_demo lock"},
    {.name = "status_ttl_s", .default_value = "3600", .description = "TTL of the job status"},
};

JH_PLUGIN_DESC(.name = "sync", .version = "1.0", .init = sync_init, .fini = sync_fini,
               .handlers = handlers, .n_handlers = JH_COUNTOF(handlers),
               .config_keys = keys, .n_config_keys = JH_COUNTOF(keys));
