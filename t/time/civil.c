/* Calendar arithmetic checked against known dates and a day-by-day walk. */
#include <stdlib.h>

#include "time/civil.h"
#include "time/duration.h"
#include "lib/tap.h"

int main(void)
{
    jh__civil c;
    int64_t ns;
    char buf[64];
    jh_err e;
    int y, m, d;

    plan_lazy();
    is_int(jh__days_from_civil(1970, 1, 1), 0, "epoch is day 0");
    is_int(jh__days_from_civil(2000, 3, 1), 11017, "2000-03-01");
    is_int(jh__days_from_civil(1969, 12, 31), -1, "day before the epoch");
    is_int(jh__weekday(jh__days_from_civil(2026, 11, 22)), 0, "2026-11-22 is a Sunday");
    is_int(jh__days_in_month(2100, 2), 28, "2100 is not a leap year");
    is_int(jh__days_in_month(2000, 2), 29, "2000 is a leap year");
    is_int(jh__days_in_month(2028, 2), 29, "2028 is a leap year");
    jh__secs_to_civil(1795294208, &c);
    ok(c.year == 2026 && c.mon == 11 && c.mday == 21 && c.hour == 20 && c.min == 50 &&
           c.sec == 8, "1795294208 = 2026-11-21T20:50:08Z (got %d-%d-%d %d:%d:%d)",
       c.year, c.mon, c.mday, c.hour, c.min, c.sec);
    is_int(jh__civil_to_secs(&c), 1795294208, "and back");

    /* Walk 1900..2100 day by day: from_days(to_days(x)) == x, weekdays cycle. */
    int bad = 0;
    int64_t day = jh__days_from_civil(1900, 1, 1);
    for (int yy = 1900; yy <= 2100; yy++)
        for (int mm = 1; mm <= 12; mm++)
            for (int dd = 1; dd <= jh__days_in_month(yy, mm); dd++, day++) {
                jh__civil_from_days(day, &y, &m, &d);
                if (y != yy || m != mm || d != dd || jh__days_from_civil(yy, mm, dd) != day)
                    bad++;
            }
    is_int(bad, 0, "round trip for every day 1900-2100");

    ok(jh__duration_parse("1h30m", 0, &ns, &e) == 0 && ns == 5400000000000LL, "1h30m");
    ok(jh__duration_parse("250ms", 0, &ns, &e) == 0 && ns == 250000000LL, "250ms");
    ok(jh__duration_parse("1.5s", 0, &ns, &e) == 0 && ns == 1500000000LL, "1.5s");
    ok(jh__duration_parse("2d", 0, &ns, &e) == 0 && ns == 172800000000000LL, "2d");
    is_int(jh__duration_parse("15908979382594897961s", 0, &ns, &e), -34, "20 digits: out of range, no overflow");
    is_int(jh__duration_parse("5", 0, &ns, &e), -22, "a bare number is refused");
    like(e.msg, "expected a unit", "and says a unit is expected");
    is_int(jh__duration_parse("0s", 0, &ns, &e), -22, "zero refused");
    like(e.msg, "greater than zero", "with why");
    ok(jh__duration_parse("0", 1, &ns, &e) == 0 && ns == 0, "0 allowed when asked");
    is_int(jh__duration_parse("5x", 0, &ns, &e), -22, "unknown unit");
    like(e.msg, "at column 2", "column of the bad unit");
    is_int(jh__duration_parse("999999999h", 0, &ns, &e), -34, "overflow refused");
    jh__duration_format(5400000000000LL, buf, sizeof(buf));
    is_str(buf, "1h30m", "format 1h30m");
    jh__duration_format(250000000LL, buf, sizeof(buf));
    is_str(buf, "250ms", "format 250ms");
    return done_testing();
}
