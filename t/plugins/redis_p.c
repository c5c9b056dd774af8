/*
 * redis_p.c - test plugin for the Redis service (t/service/redis.c, t/service/redis.sh).
 *
 * Declares JH_SVC_REDIS.  Handler "once" fires at most once per scheduled
 * tick across every host sharing the Redis: SET prefix+"once:"+job+":"+
 * scheduled-ms NX PX 60000 on the raw command table (a lock would not do:
 * the host releases a run's locks when it ends, so a slower host would
 * take the same tick afterwards).  It logs redis_p.fired or
 * redis_p.skipped with the tick.
 */
#include <stdio.h>
#include <string.h>

#include <jobhost.h>

static int once(jh_ctx *ctx)
{
    char key[512], tick[32];
    const char *argv[6];
    jh_redis_reply *r = NULL;
    const char *pfx = jh_redis_prefix(ctx);
    long long ms = (long long)(jh_scheduled(ctx) / 1000000);
    int rc, fired;

    snprintf(tick, sizeof(tick), "%lld", ms);
    snprintf(key, sizeof(key), "%sonce:%s:%s", pfx ? pfx : "", jh_ctx_job(ctx), tick);
    argv[0] = "SET";
    argv[1] = key;
    argv[2] = "1";
    argv[3] = "NX";
    argv[4] = "PX";
    argv[5] = "60000";
    rc = jh_redis_command(ctx, 6, argv, NULL, &r);
    if (rc < 0)
        return jh_fail(ctx, rc, "once: %s", jh_last_error(ctx));
    fired = r->type == JH_REDIS_STATUS;
    jh_redis_reply_free(ctx, r);
    jh_log(ctx, JH_LOG_INFO, fired ? "redis_p.fired" : "redis_p.skipped", "tick=%s", tick);
    return 0;
}

static const jh_handler handlers[] = {{"once", once, NULL, NULL, NULL}};

JH_PLUGIN_DESC(.name = "redis_p", .version = "1", .handlers = handlers,
               .n_handlers = JH_COUNTOF(handlers), .requires = JH_SVC_REDIS);
