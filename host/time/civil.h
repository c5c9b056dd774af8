/*
 * civil.h - proleptic Gregorian calendar arithmetic, no time zones.
 *
 * Pure functions (no globals, no locale, no libc time functions), exact for
 * years 1..9999.  Days are counted from 1970-01-01 (day 0).
 */
#ifndef JH_CIVIL_H
#define JH_CIVIL_H

#include <stdint.h>

typedef struct jh__civil {
    int year;   /* e.g. 2026 */
    int mon;    /* 1-12 */
    int mday;   /* 1-31 */
    int hour;   /* 0-23 */
    int min;    /* 0-59 */
    int sec;    /* 0-59 */
    int wday;   /* 0-6, 0 = Sunday */
    int yday;   /* 0-365 */
} jh__civil;

int64_t jh__days_from_civil(int year, int mon, int mday);
void jh__civil_from_days(int64_t days, int *year, int *mon, int *mday);
int jh__is_leap(int year);
int jh__days_in_month(int year, int mon);
int jh__weekday(int64_t days); /* 0 = Sunday */

/* Seconds since the epoch <-> civil fields, with no zone (i.e. UTC, or a
 * "local epoch" when the caller has already applied an offset). */
int64_t jh__civil_to_secs(const jh__civil *c);
void jh__secs_to_civil(int64_t secs, jh__civil *out);

/* Floor division helpers that are correct for negative numerators. */
static inline int64_t jh__floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
static inline int64_t jh__floormod(int64_t a, int64_t b)
{
    return a - jh__floordiv(a, b) * b;
}

#endif
