/*
 * h_crash.c - test plugin that takes the host down (t/e2e/crash.sh).
 *
 * Handlers: segv (writes through a NULL pointer), abort (calls abort()),
 * exit (calls exit(7)).  With `in_init = segv|abort|exit` its init does
 * the same instead.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <jobhost.h>

/* Not instrumented: a sanitizer build must fault here, not report first. */
__attribute__((no_sanitize("undefined", "address")))
static int die(const char *how)
{
    if (strcmp(how, "segv") == 0) {
        volatile int *volatile p = NULL; /* a store the compiler must do */
        *p = 1;
    } else if (strcmp(how, "abort") == 0) {
        abort();
    } else if (strcmp(how, "exit") == 0) {
        exit(7);
    }
    return 0;
}

static int c_init(jh_ctx *ctx, void **state)
{
    *state = NULL;
    return die(jh_config(ctx, "in_init"));
}

static int segv(jh_ctx *ctx) { (void)ctx; return die("segv"); }
static int do_abort(jh_ctx *ctx) { (void)ctx; return die("abort"); }
static int do_exit(jh_ctx *ctx) { (void)ctx; return die("exit"); }

static const jh_handler handlers[] = {
    {.name = "segv", .fn = segv},
    {.name = "abort", .fn = do_abort},
    {.name = "exit", .fn = do_exit},
};

static const jh_config_key keys[] = {
    {.name = "in_init", .default_value = ""},
};

JH_PLUGIN_DESC(.name = "h_crash", .version = "1.0", .init = c_init,
               .handlers = handlers, .n_handlers = JH_COUNTOF(handlers),
               .config_keys = keys, .n_config_keys = JH_COUNTOF(keys));
