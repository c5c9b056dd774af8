/*
 * svc.c - test plugin for the service binding rules (t/repo/backends.t).
 * Built twice: svc_db.so requires JH_SVC_DB | JH_SVC_EVENTS (name "svc_db"),
 * svc_redis.so requires JH_SVC_REDIS (name "svc_redis").  Handler `probe`
 * calls each ABI 1.1 service once and logs the return codes, so a test can
 * see which calls reach a backend and which are refused.
 */
#include <errno.h>

#include <jobhost.h>

static int probe(jh_ctx *ctx)
{
    jh_stmt *st = NULL;
    const char *argv[] = {"PING"};
    jh_redis_reply *r = NULL;
    int db = jh_db_prepare(ctx, "SELECT 1", &st);
    int rd = jh_redis_command(ctx, 1, argv, NULL, &r);
    int ev = jh_event_send(ctx, "t.probe", "x", 1, NULL);

    jh_log(ctx, JH_LOG_INFO, "svc.probe", "db=%d redis=%d events=%d err=\"%s\"", db, rd, ev,
           jh_last_error(ctx));
    jh_stmt_close(st);
    jh_redis_reply_free(ctx, r);
    return 0;
}

static const jh_handler handlers[] = {
    {.name = "probe", .fn = probe},
};

JH_PLUGIN_DESC(.name = SVC_NAME, .version = "1", .handlers = handlers,
               .n_handlers = JH_COUNTOF(handlers), .requires = SVC_REQ);
