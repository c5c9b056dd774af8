/*
 * cron_bench - next() and parse throughput.
 *   bench/cron_bench [seconds-per-case]     (default 1)
 * Prints `next expr="..." tz=ZONE ops_per_sec=N` and `parse ops_per_sec=N`.
 * Each next() starts where the previous one ended (chained), which is how
 * the scheduler calls it; the chain restarts every 100,000 calls so the
 * search does not run out of years.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "time/cron.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    static const char *exprs[] = {"*/5 * * * * *", "0 0 2 * * *", "0 0 0 29 2 *", "0 30 2 * * *"};
    static const char *zones[] = {"UTC", "America/New_York"};
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    const int64_t start = 1767225600LL * 1000000000; /* 2026-01-01 */
    volatile int64_t sink = 0;
    jh_err e;

    for (int z = 0; z < 2; z++)
        for (int i = 0; i < 4; i++) {
            const jh__tz *tz;
            jh__cron *c;
            long ops = 0;
            double t0, t1;
            int64_t t = start;

            jh__tz_get(zones[z], &tz, &e);
            if (jh__cron_parse(exprs[i], tz, &c, &e) < 0) {
                fprintf(stderr, "%s\n", e.msg);
                return 1;
            }
            t0 = now_s();
            do {
                for (int k = 0; k < 100000; k++) {
                    if (jh__cron_next(c, t, &t) < 0)
                        t = start;
                    if ((k & 0xffff) == 0xffff)
                        t = start; /* keep far-future searches out of it */
                }
                ops += 100000;
                t1 = now_s();
            } while (t1 - t0 < secs);
            sink += t;
            printf("next expr=\"%s\" tz=%s ops_per_sec=%.0f\n", exprs[i], zones[z],
                   ops / (t1 - t0));
            jh__cron_free(c);
        }
    {
        long ops = 0;
        double t0 = now_s(), t1;
        do {
            for (int k = 0; k < 10000; k++) {
                jh__cron *c;
                if (jh__cron_parse(exprs[k & 3], NULL, &c, &e) == 0)
                    jh__cron_free(c);
            }
            ops += 10000;
            t1 = now_s();
        } while (t1 - t0 < secs);
        printf("parse ops_per_sec=%.0f\n", ops / (t1 - t0));
    }
    jh__tz_cache_free();
    return sink == 42 ? 1 : 0;
}
