/*
 * abi_size.c - descriptors whose struct sizes are smaller than ABI 1.0's,
 * one per build: -DSMALL=desc, handler or key.
 */
#include <jobhost.h>

#define SMALL_desc 1
#define SMALL_handler 2
#define SMALL_key 3
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define WHICH CAT(SMALL_, SMALL)

static int tick(jh_ctx *ctx) { (void)ctx; return 0; }

static const jh_handler handlers[] = {{"tick", tick, "1s", NULL, NULL}};

JH_EXPORT const jh_plugin_desc jobhost_plugin = {
    .magic = JH_PLUGIN_MAGIC, .abi_major = JH_ABI_MAJOR, .abi_minor = JH_ABI_MINOR,
    .size = WHICH == SMALL_desc ? 40 : sizeof(jh_plugin_desc),
    .handler_size = WHICH == SMALL_handler ? sizeof(void *) : sizeof(jh_handler),
    .config_key_size = WHICH == SMALL_key ? sizeof(void *) : sizeof(jh_config_key),
    .name = "abi_size", .handlers = handlers, .n_handlers = 1,
};
