/*
 * clock.h - the two system clocks the host reads, in nanoseconds.
 *
 * CLOCK_REALTIME is wall time (schedules, log timestamps, TTLs, event
 * times); CLOCK_MONOTONIC is for waits and timeouts that a clock step must
 * not stretch or cut short.  Code that a test drives with an injected clock
 * takes a jh_now_fn instead (store.h, ctx.h, sched.h).
 */
#ifndef JH_CLOCK_H
#define JH_CLOCK_H

#include <stdint.h>
#include <time.h>

/* now(arg) returns the current time in ns; NULL = CLOCK_REALTIME. */
typedef int64_t (*jh_now_fn)(void *arg);

static inline int64_t jh__clock_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t jh__realtime_ns(void)
{
    return jh__clock_ns(CLOCK_REALTIME);
}

static inline int64_t jh__monotonic_ns(void)
{
    return jh__clock_ns(CLOCK_MONOTONIC);
}

#endif
