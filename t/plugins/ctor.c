/*
 * ctor.c - a constructor that creates the file named by $JH_TEST_CTOR_FILE.
 * Built twice: ctor.so with ABI major JH_ABI_MAJOR + 1 (refused: the
 * constructor must not run) and ctor_ok.so with the right major (loaded:
 * proves the constructor does run when the plugin is accepted).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <jobhost.h>

#ifndef CTOR_MAJOR
#define CTOR_MAJOR (JH_ABI_MAJOR + 1)
#endif

__attribute__((constructor)) static void ctor_mark(void)
{
    const char *f = getenv("JH_TEST_CTOR_FILE");
    int fd;

    if (f != NULL && (fd = open(f, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0)
        close(fd);
}

static int tick(jh_ctx *ctx) { (void)ctx; return 0; }

static const jh_handler handlers[] = {{"tick", tick, "1s", NULL, NULL}};

JH_EXPORT const jh_plugin_desc jobhost_plugin = {
    .magic = JH_PLUGIN_MAGIC, .abi_major = CTOR_MAJOR, .abi_minor = 0,
    .size = sizeof(jh_plugin_desc), .handler_size = sizeof(jh_handler),
    .config_key_size = sizeof(jh_config_key),
    .name = "ctor", .handlers = handlers, .n_handlers = 1,
};
