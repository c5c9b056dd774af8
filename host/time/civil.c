/*
 * Calendar arithmetic after Howard Hinnant's "chrono-Compatible Low-Level
 * Date Algorithms": eras of 400 years make every step integer-exact and
 * branch-light, which matters because the cron engine calls these in its
 * hot path.
 */
#include "civil.h"

int64_t jh__days_from_civil(int year, int mon, int mday)
{
    int64_t y = (int64_t)year - (mon <= 2);
    int64_t era = jh__floordiv(y, 400);
    int64_t yoe = y - era * 400;                                  /* [0, 399] */
    int64_t mp = (mon + 9) % 12;                                  /* Mar = 0 */
    int64_t doy = (153 * mp + 2) / 5 + mday - 1;                  /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;          /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

void jh__civil_from_days(int64_t days, int *year, int *mon, int *mday)
{
    int64_t z = days + 719468;
    int64_t era = jh__floordiv(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    *year = (int)(yoe + era * 400 + (m <= 2));
    *mon = (int)m;
    *mday = (int)d;
}

int jh__is_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int jh__days_in_month(int year, int mon)
{
    static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30,
                                          31, 31, 30, 31, 30, 31};
    return mon == 2 ? 28 + jh__is_leap(year) : dim[mon - 1];
}

int jh__weekday(int64_t days)
{
    /* 1970-01-01 was a Thursday (4). */
    return (int)jh__floormod(days + 4, 7);
}

int64_t jh__civil_to_secs(const jh__civil *c)
{
    return jh__days_from_civil(c->year, c->mon, c->mday) * 86400 +
           c->hour * 3600 + c->min * 60 + c->sec;
}

void jh__secs_to_civil(int64_t secs, jh__civil *out)
{
    int64_t days = jh__floordiv(secs, 86400);
    int64_t rem = secs - days * 86400;

    jh__civil_from_days(days, &out->year, &out->mon, &out->mday);
    out->hour = (int)(rem / 3600);
    out->min = (int)(rem / 60 % 60);
    out->sec = (int)(rem % 60);
    out->wday = jh__weekday(days);
    out->yday = (int)(days - jh__days_from_civil(out->year, 1, 1));
}
