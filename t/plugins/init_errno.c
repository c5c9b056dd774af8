/* init_errno.c - init fails with a bare error code and no message. */
#include <jobhost.h>

static int errno_init(jh_ctx *ctx, void **state)
{
    (void)ctx;
    (void)state;
    return -ECONNREFUSED;
}

static int tick(jh_ctx *ctx) { (void)ctx; return 0; }

static const jh_handler handlers[] = {{"tick", tick, "1s", NULL, NULL}};

JH_PLUGIN_DESC(.name = "init_errno", .init = errno_init, .handlers = handlers,
               .n_handlers = JH_COUNTOF(handlers));
