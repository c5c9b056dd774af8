/*
 * abi10.c - a plugin as built against ABI 1.0's jobhost.h: minor 0 and the
 * 1.0 descriptor size (no `requires`).  A 1.1 host must load it, see no
 * required services, and run it.
 */
#include <stddef.h>

#include <jobhost.h>

static int tick(jh_ctx *ctx)
{
    return jh_lock_acquire(ctx, "abi10", 1000);
}

static const jh_handler handlers[] = {{"tick", tick, "1s", NULL, NULL}};

JH_EXPORT const jh_plugin_desc jobhost_plugin = {
    .magic = JH_PLUGIN_MAGIC, .abi_major = 1, .abi_minor = 0,
    .size = offsetof(jh_plugin_desc, requires), .handler_size = sizeof(jh_handler),
    .config_key_size = sizeof(jh_config_key),
    .name = "abi10", .handlers = handlers, .n_handlers = 1,
    .requires = 0xffffffffu, /* beyond .size: the host must not read it */
};
