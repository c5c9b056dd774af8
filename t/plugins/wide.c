/*
 * wide.c - tables whose elements are larger than this host's jh_handler and
 * jh_config_key, as a plugin built against a later minor would have (here
 * faked with the current minor).  The host must walk them with the
 * plugin's stride and read only the members it knows.
 */
#include <jobhost.h>

typedef struct wide_handler {
    jh_handler h;
    const char *added_later;
    long more[3];
} wide_handler;

typedef struct wide_key {
    jh_config_key k;
    const char *added_later;
} wide_key;

static int one(jh_ctx *ctx) { (void)ctx; return 1; }
static int two(jh_ctx *ctx) { (void)ctx; return 2; }
static int three(jh_ctx *ctx) { (void)ctx; return 3; }

static const wide_handler handlers[] = {
    {{"one", one, "1s", NULL, NULL}, "x", {1, 1, 1}},
    {{"two", two, NULL, "*/2 * * * * *", NULL}, "y", {2, 2, 2}},
    {{"three", three, NULL, NULL, NULL}, "z", {3, 3, 3}},
};

static const wide_key keys[] = {
    {{"alpha", "a", NULL, 0}, "x"},
    {{"beta", "b", NULL, 1}, "y"},
};

JH_EXPORT const jh_plugin_desc jobhost_plugin = {
    .magic = JH_PLUGIN_MAGIC, .abi_major = JH_ABI_MAJOR, .abi_minor = JH_ABI_MINOR,
    .size = sizeof(jh_plugin_desc), .handler_size = sizeof(wide_handler),
    .config_key_size = sizeof(wide_key),
    .name = "wide", .version = "w",
    .handlers = (const jh_handler *)(const void *)handlers, .n_handlers = 3,
    .config_keys = (const jh_config_key *)(const void *)keys, .n_config_keys = 2,
};
