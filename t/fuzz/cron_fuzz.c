/*
 * cron_fuzz.c - libFuzzer target for the cron parser and next().
 *   make fuzz-cron            (needs clang; see mk/cron.am)
 *   ./t/fuzz/cron_fuzz -max_total_time=600 t/fuzz/corpus
 * Any parsed expression is also run through next() from several instants
 * in a DST zone, so the search code is fuzzed too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "time/cron.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const jh__tz *zones[3];
    static const int64_t from[] = {0, 1772935200LL * 1000000000, 1793498400LL * 1000000000,
                                   4102444800LL * 1000000000, -86400LL * 1000000000};
    char buf[256];
    jh__cron *c;
    jh_err e;

    if (zones[0] == NULL) {
        jh__tz_get("UTC", &zones[0], &e);
        jh__tz_get("America/New_York", &zones[1], &e);
        jh__tz_get("Australia/Lord_Howe", &zones[2], &e);
    }
    if (size >= sizeof(buf))
        size = sizeof(buf) - 1;
    memcpy(buf, data, size);
    buf[size] = '\0';
    if (jh__cron_parse(buf, zones[size % 3], &c, &e) != 0)
        return 0;
    for (size_t i = 0; i < sizeof(from) / sizeof(from[0]); i++) {
        int64_t t = from[i];
        for (int k = 0; k < 4; k++)
            if (jh__cron_next(c, t, &t) != 0)
                break;
    }
    jh__cron_free(c);
    return 0;
}
