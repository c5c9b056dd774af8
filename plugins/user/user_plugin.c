/*
 * user_plugin.c - descriptor, config keys, init and fini of `user`, the
 * seeds' user service: sync users to the user.sync topic, archive deleted
 * users to user.archive, expire old login logs.
 *
 * It requires a database (mysql = NAME in [plugin user]) and events (the
 * host's outbox, and Kafka when events = NAME); locks and job status use
 * Redis when the section binds one and the host's store otherwise.  The
 * tables are in plugins/user/schema.sql.
 */
#include <stdlib.h>
#include <string.h>

#include <jobhost.h>

#include "user_config.h"
#include "user_job.h"

/* An integer config value in [min, max], or a message naming the key. */
static int config_int(jh_ctx *ctx, const char *key, int64_t min, int64_t max, int64_t *out)
{
    const char *v = jh_config(ctx, key);
    char *end;
    long long n;

    errno = 0;
    n = strtoll(v, &end, 10);
    if (*v == '\0' || *end != '\0' || errno != 0 || n < min || n > max)
        return jh_fail(ctx, -EINVAL, "%s = \"%s\": expected an integer from %lld to %lld", key,
                       v, (long long)min, (long long)max);
    *out = n;
    return 0;
}

/* "720h", "1h30m", "90s", "7d": whole units s m h d, summed, in seconds. */
static int parse_duration_s(const char *s, int64_t *out)
{
    int64_t total = 0;

    if (*s == '\0')
        return -EINVAL;
    while (*s != '\0') {
        int64_t n = 0, unit;

        if (*s < '0' || *s > '9')
            return -EINVAL;
        for (; *s >= '0' && *s <= '9'; s++) {
            if (n > (INT64_MAX - 9) / 10)
                return -ERANGE;
            n = n * 10 + (*s - '0');
        }
        switch (*s++) {
        case 's': unit = 1; break;
        case 'm': unit = 60; break;
        case 'h': unit = 3600; break;
        case 'd': unit = 86400; break;
        default: return -EINVAL;
        }
        if (n > (INT64_MAX - total) / unit)
            return -ERANGE;
        total += n * unit;
    }
    *out = total;
    return 0;
}

/* The longest duration a key takes.  The TTLs are kept in milliseconds
 * (seconds * 1000 must not overflow) and a year is beyond any sane TTL or
 * retention, so a larger value is a typo, refused rather than wrapped. */
#define DURATION_MAX_S (365 * 86400LL)

static int config_duration(jh_ctx *ctx, const char *key, int64_t *seconds)
{
    const char *v = jh_config(ctx, key);

    if (parse_duration_s(v, seconds) < 0 || *seconds < 1 || *seconds > DURATION_MAX_S)
        return jh_fail(ctx, -EINVAL,
                       "%s = \"%s\": expected a duration from 1s to 365d (units s m h d, "
                       "e.g. 720h or 1h30m)", key, v);
    return 0;
}

/* A copy of a topic name, [A-Za-z0-9._-]{1,249} as Kafka requires. */
static int config_topic(jh_ctx *ctx, const char *key, char **out)
{
    const char *v = jh_config(ctx, key);
    size_t n = strlen(v);

    if (n == 0 || n > 249 || strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789._-") != n)
        return jh_fail(ctx, -EINVAL, "%s = \"%s\": expected a topic name [A-Za-z0-9._-]{1,249}",
                       key, v);
    if ((*out = strdup(v)) == NULL)
        return jh_fail(ctx, -ENOMEM, "out of memory");
    return 0;
}

static void config_free(struct user_config *c)
{
    if (c == NULL)
        return;
    free(c->sync_topic);
    free(c->archive_topic);
    free(c);
}

static int user_init(jh_ctx *ctx, void **state)
{
    struct user_config *c = calloc(1, sizeof(*c));
    int64_t lock_s = 0, status_s = 0;
    int rc;

    if (c == NULL)
        return jh_fail(ctx, -ENOMEM, "out of memory");
    if ((rc = config_int(ctx, "batch_size", 1, USER_BATCH_MAX, &c->batch_size)) < 0 ||
        (rc = config_duration(ctx, "login_log_max_age", &c->login_log_max_age_s)) < 0 ||
        (rc = config_duration(ctx, "lock_ttl", &lock_s)) < 0 ||
        (rc = config_duration(ctx, "status_ttl", &status_s)) < 0 ||
        (rc = config_topic(ctx, "sync_topic", &c->sync_topic)) < 0 ||
        (rc = config_topic(ctx, "archive_topic", &c->archive_topic)) < 0) {
        config_free(c);
        return rc;
    }
    c->lock_ttl_ms = lock_s * 1000;
    c->status_ttl_ms = status_s * 1000;
    *state = c;
    return 0;
}

static void user_fini(jh_ctx *ctx, void *state)
{
    (void)ctx;
    config_free(state);
}

/* Default schedules (6-field cron, seconds first), overridable by a [job]
 * naming the handler (conf.d/40-user.ini). */
static const jh_handler handlers[] = {
    {.name = "sync_user", .fn = user_job_sync_user, .cron = "0 */5 * * * *"},
    {.name = "archive_user", .fn = user_job_archive_user, .cron = "0 0 3 * * *"},
    {.name = "cleanup_login_log", .fn = user_job_cleanup_login_log, .cron = "0 30 2 * * *"},
};

static const jh_config_key keys[] = {
    {.name = "batch_size", .default_value = "1000",
     .description = "users per keyset page (1-10000)"},
    {.name = "login_log_max_age", .default_value = "720h",
     .description = "cleanup_login_log deletes login_log rows older than this"},
    {.name = "sync_topic", .default_value = "user.sync",
     .description = "topic of the user.sync events"},
    {.name = "archive_topic", .default_value = "user.archive",
     .description = "topic of the user.archive events"},
    {.name = "lock_ttl", .default_value = "1h",
     .description = "TTL of the archive_user and cleanup_login_log locks "
                    "(sync_user's is 10m)"},
    {.name = "status_ttl", .default_value = "24h", .description = "TTL of each job's status"},
};

JH_PLUGIN_DESC(.name = "user", .version = "1.0", .init = user_init, .fini = user_fini,
               .handlers = handlers, .n_handlers = JH_COUNTOF(handlers),
               .config_keys = keys, .n_config_keys = JH_COUNTOF(keys),
               .requires = JH_SVC_DB | JH_SVC_EVENTS);
