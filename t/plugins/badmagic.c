/* badmagic.c - exports `jobhost_plugin` but with the wrong magic. */
#include <jobhost.h>

static int tick(jh_ctx *ctx) { (void)ctx; return 0; }

static const jh_handler handlers[] = {{"tick", tick, "1s", NULL, NULL}};

JH_EXPORT const jh_plugin_desc jobhost_plugin = {
    .magic = 0xdeadbeefU, .abi_major = JH_ABI_MAJOR, .abi_minor = JH_ABI_MINOR,
    .size = sizeof(jh_plugin_desc), .handler_size = sizeof(jh_handler),
    .config_key_size = sizeof(jh_config_key),
    .name = "badmagic", .handlers = handlers, .n_handlers = 1,
};
