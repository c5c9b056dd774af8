/*
 * events_p.c - test plugin of t/service/events.c: requires the events service and
 * has one handler, `emit`, that sends one keyed event the way plugin code
 * does (through jobhost.h's inline wrapper).
 */
#include <jobhost.h>

static int emit(jh_ctx *ctx)
{
    static const char key[] = "plugin-key";
    static const char payload[] = "from the plugin";
    char id[JH_EVENT_ID_LEN];
    int rc = jh_event_send_with_key(ctx, "orders", key, sizeof(key) - 1, payload,
                                    sizeof(payload) - 1, id);

    if (rc < 0)
        return jh_fail(ctx, rc, "emit: %s", jh_last_error(ctx));
    jh_log(ctx, JH_LOG_INFO, "emit.sent", "id=%s", id);
    return 0;
}

static const jh_handler handlers[] = {{"emit", emit, NULL, NULL, NULL}};

JH_PLUGIN_DESC(.name = "events_p", .version = "1", .handlers = handlers,
               .n_handlers = JH_COUNTOF(handlers), .requires = JH_SVC_EVENTS);
