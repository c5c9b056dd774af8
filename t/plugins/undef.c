/* undef.c - a valid descriptor, but the object needs a function nobody
 * defines: dlopen(RTLD_NOW) fails and its message must reach the user. */
#include <jobhost.h>

extern int jh_test_no_such_function(void);

static int tick(jh_ctx *ctx)
{
    (void)ctx;
    return jh_test_no_such_function();
}

static const jh_handler handlers[] = {{"tick", tick, "1s", NULL, NULL}};

JH_PLUGIN_DESC(.name = "undef", .handlers = handlers, .n_handlers = JH_COUNTOF(handlers));
