/*
 * libFuzzer harness for the ELF pre-check (make fuzz-elf, needs clang):
 * any byte string must give a result or an error, never a crash or an
 * out-of-bounds read.  Seeded with the test plugins.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/elfcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so ASan sees any read past the end. */
    unsigned char *buf = malloc(size ? size : 1);
    jh__plugin_head h;
    jh_err e;

    memcpy(buf, data, size);
    if (jh__elf_plugin_head(buf, size, "fuzz.so", &h, &e) == 0)
        jh__plugin_head_check(&h, "fuzz.so", &e);
    free(buf);
    return 0;
}
