/* init_fail.c - init attaches a message and refuses the load. */
#include <jobhost.h>

static int fail_init(jh_ctx *ctx, void **state)
{
    (void)state;
    return jh_fail(ctx, -EINVAL, "api_key is required (set it in [plugin %s])",
                   jh_ctx_plugin(ctx));
}

/* Must never run: init failed. */
static void fail_fini(jh_ctx *ctx, void *state)
{
    (void)ctx;
    (void)state;
    __builtin_trap();
}

static int tick(jh_ctx *ctx) { (void)ctx; return 0; }

static const jh_handler handlers[] = {{"tick", tick, "1s", NULL, NULL}};

JH_PLUGIN_DESC(.name = "init_fail", .version = "1", .init = fail_init, .fini = fail_fini,
               .handlers = handlers, .n_handlers = JH_COUNTOF(handlers));
