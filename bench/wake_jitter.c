/*
 * wake_jitter - how late a plain nanosleep(100 us) wakes on this machine,
 * with no jobhost code: the floor under any lateness figure.
 *   cc -O2 bench/wake_jitter.c -o wake_jitter && ./wake_jitter
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <time.h>

int main(void)
{
    struct timespec a, b, r = {0, 100000};
    int64_t max = 0;
    long over2 = 0;

    for (int i = 0; i < 100000; i++) {
        clock_gettime(CLOCK_MONOTONIC, &a);
        nanosleep(&r, NULL);
        clock_gettime(CLOCK_MONOTONIC, &b);
        int64_t d = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec) - 100000;
        if (d > max)
            max = d;
        if (d > 2000000)
            over2++;
    }
    printf("nanosleep(100us) x100000: max oversleep %.2f ms, %ld over 2 ms\n", max / 1e6, over2);
    return 0;
}
