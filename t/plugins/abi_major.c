/* abi_major.c - a plugin built for jobhost ABI 2.0 (fields set by hand):
 * the host must refuse it before dlopen(). */
#include <jobhost.h>

static int tick(jh_ctx *ctx) { (void)ctx; return 0; }

static const jh_handler handlers[] = {{"tick", tick, "1s", NULL, NULL}};

JH_EXPORT const jh_plugin_desc jobhost_plugin = {
    .magic = JH_PLUGIN_MAGIC, .abi_major = 2, .abi_minor = 0,
    .size = sizeof(jh_plugin_desc), .handler_size = sizeof(jh_handler),
    .config_key_size = sizeof(jh_config_key),
    .name = "abi_major", .handlers = handlers, .n_handlers = 1,
};
