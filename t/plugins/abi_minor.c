/* abi_minor.c - a plugin built for a newer minor than the host's: refused. */
#include <jobhost.h>

static int tick(jh_ctx *ctx) { (void)ctx; return 0; }

static const jh_handler handlers[] = {{"tick", tick, "1s", NULL, NULL}};

JH_EXPORT const jh_plugin_desc jobhost_plugin = {
    .magic = JH_PLUGIN_MAGIC, .abi_major = JH_ABI_MAJOR, .abi_minor = JH_ABI_MINOR + 1,
    .size = sizeof(jh_plugin_desc), .handler_size = sizeof(jh_handler),
    .config_key_size = sizeof(jh_config_key),
    .name = "abi_minor", .handlers = handlers, .n_handlers = 1,
};
