/*
 * baddesc.c - descriptors the host must refuse after dlopen(), one per
 * build: -DBAD=name (invalid plugin name), dup (a handler twice), nofn
 * (a handler without a function), none (no handlers), dupkey (a config key
 * twice).
 */
#include <jobhost.h>

#define BAD_name 1
#define BAD_dup 2
#define BAD_nofn 3
#define BAD_none 4
#define BAD_dupkey 5
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define WHICH CAT(BAD_, BAD)

static int tick(jh_ctx *ctx) { (void)ctx; return 0; }

static const jh_handler handlers[] = {
    {"tick", tick, "1s", NULL, NULL},
    {WHICH == BAD_dup ? "tick" : "tock", WHICH == BAD_nofn ? NULL : tick, NULL, NULL, NULL},
};

static const jh_config_key keys[] = {
    {"limit", "10", NULL, 0},
    {WHICH == BAD_dupkey ? "limit" : "title", NULL, NULL, 0},
};

JH_PLUGIN_DESC(.name = WHICH == BAD_name ? "Bad Name" : "baddesc",
               .handlers = WHICH == BAD_none ? NULL : handlers,
               .n_handlers = WHICH == BAD_none ? 0 : JH_COUNTOF(handlers),
               .config_keys = keys, .n_config_keys = JH_COUNTOF(keys));
