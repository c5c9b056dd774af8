/* noop.so - a plugin whose handler does nothing, for bench/host_bench.sh. */
#include <jobhost.h>

static int noop(jh_ctx *ctx)
{
    (void)ctx;
    return 0;
}

static const jh_handler handlers[] = {{.name = "noop", .fn = noop}};

JH_PLUGIN_DESC(.name = "noop", .version = "1.0", .handlers = handlers,
               .n_handlers = JH_COUNTOF(handlers));
