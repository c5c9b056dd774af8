/*
 * cron.t - the cron engine on hand-derived cases (every syntax form, DST in
 * several zones, leap days, month ends), exact error messages, and the CLI.
 * Expected times were worked out from a calendar and the zone's published
 * transition dates, not from this engine.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "time/cron.h"
#include "lib/tap.h"

static const struct tcase {
    const char *expr, *zone, *from; /* from: UTC, "YYYY-MM-DDThh:mm:ssZ" */
    const char *want[4];
} cases[] = {
    /* basics, 6 and 5 fields */
    {"*/5 * * * * *", "UTC", "2026-01-01T00:00:00Z",
     {"2026-01-01T00:00:05.000+00:00", "2026-01-01T00:00:10.000+00:00"}},
    {"0 0 2 * * *", "UTC", "2026-01-01T02:00:00Z",
     {"2026-01-02T02:00:00.000+00:00", "2026-01-03T02:00:00.000+00:00"}},
    {"30 9 * * 1-5", "UTC", "2026-11-20T10:00:00Z", /* Fri -> Mon */
     {"2026-11-23T09:30:00.000+00:00", "2026-11-24T09:30:00.000+00:00"}},
    {"0 0 9-17/4 * * *", "UTC", "2026-01-01T00:00:00Z",
     {"2026-01-01T09:00:00.000+00:00", "2026-01-01T13:00:00.000+00:00",
      "2026-01-01T17:00:00.000+00:00", "2026-01-02T09:00:00.000+00:00"}},
    {"7/10 * * * * *", "UTC", "2026-01-01T00:00:00Z",
     {"2026-01-01T00:00:07.000+00:00", "2026-01-01T00:00:17.000+00:00"}},
    {"0 0 0 1,15 * *", "UTC", "2026-01-02T00:00:00Z",
     {"2026-01-15T00:00:00.000+00:00", "2026-02-01T00:00:00.000+00:00"}},
    {"0 0 0 * jan-mar SuN", "UTC", "2026-03-28T00:00:00Z",
     {"2026-03-29T00:00:00.000+00:00", "2027-01-03T00:00:00.000+00:00"}},
    {"0 0 0 * * 7", "UTC", "2026-11-22T00:00:00Z", {"2026-11-29T00:00:00.000+00:00"}},
    {"0 0 0 ? * MON", "UTC", "2026-11-22T00:00:00Z", {"2026-11-23T00:00:00.000+00:00"}},
    /* SUN ending a weekday range is 7, as in Vixie cron and croner
     * (2026-12-04 is a Friday) */
    {"0 0 0 * * SAT-SUN", "UTC", "2026-12-04T12:00:00Z",
     {"2026-12-05T00:00:00.000+00:00", "2026-12-06T00:00:00.000+00:00",
      "2026-12-12T00:00:00.000+00:00", "2026-12-13T00:00:00.000+00:00"}},
    {"0 0 0 * * FRI-SUN", "UTC", "2026-12-03T12:00:00Z",
     {"2026-12-04T00:00:00.000+00:00", "2026-12-05T00:00:00.000+00:00",
      "2026-12-06T00:00:00.000+00:00", "2026-12-11T00:00:00.000+00:00"}},
    {"0 0 0 * * 5-7", "UTC", "2026-12-03T12:00:00Z",
     {"2026-12-04T00:00:00.000+00:00", "2026-12-05T00:00:00.000+00:00",
      "2026-12-06T00:00:00.000+00:00", "2026-12-11T00:00:00.000+00:00"}},
    {"0 30 8 * * mon-sun", "UTC", "2026-12-05T09:00:00Z",
     {"2026-12-06T08:30:00.000+00:00", "2026-12-07T08:30:00.000+00:00",
      "2026-12-08T08:30:00.000+00:00", "2026-12-09T08:30:00.000+00:00"}},
    {"0 0 0 * * TUE-SUN/2", "UTC", "2026-12-06T12:00:00Z", /* TUE THU SAT */
     {"2026-12-08T00:00:00.000+00:00", "2026-12-10T00:00:00.000+00:00",
      "2026-12-12T00:00:00.000+00:00", "2026-12-15T00:00:00.000+00:00"}},
    /* L, L-2, W, LW, nL, n#k, in lists */
    {"0 0 0 L * *", "UTC", "2028-02-01T00:00:00Z",
     {"2028-02-29T00:00:00.000+00:00", "2028-03-31T00:00:00.000+00:00"}},
    {"0 0 0 L-2 * *", "UTC", "2026-02-01T00:00:00Z",
     {"2026-02-26T00:00:00.000+00:00", "2026-03-29T00:00:00.000+00:00"}},
    {"0 0 0 15W * *", "UTC", "2026-08-01T00:00:00Z", /* Aug 15 2026 = Sat -> Fri 14 */
     {"2026-08-14T00:00:00.000+00:00", "2026-09-15T00:00:00.000+00:00"}},
    {"0 0 0 1W * *", "UTC", "2026-08-01T00:00:00Z", /* Aug 1 2026 = Sat -> Mon 3 */
     {"2026-08-03T00:00:00.000+00:00", "2026-09-01T00:00:00.000+00:00"}},
    {"0 0 0 LW * *", "UTC", "2026-05-01T00:00:00Z", /* May 31 2026 = Sun -> Fri 29 */
     {"2026-05-29T00:00:00.000+00:00", "2026-06-30T00:00:00.000+00:00"}},
    {"0 0 0 * * FRIL", "UTC", "2026-01-01T00:00:00Z",
     {"2026-01-30T00:00:00.000+00:00", "2026-02-27T00:00:00.000+00:00"}},
    {"0 0 0 * * 5#2", "UTC", "2026-01-01T00:00:00Z",
     {"2026-01-09T00:00:00.000+00:00", "2026-02-13T00:00:00.000+00:00"}},
    {"0 0 0 * * MON#1,FRI#3", "UTC", "2026-01-01T00:00:00Z",
     {"2026-01-05T00:00:00.000+00:00", "2026-01-16T00:00:00.000+00:00"}},
    {"0 0 0 1,L * *", "UTC", "2026-04-02T00:00:00Z",
     {"2026-04-30T00:00:00.000+00:00", "2026-05-01T00:00:00.000+00:00"}},
    /* day-of-month OR day-of-week when both restricted; AND when one starts with * */
    {"0 0 0 13 * FRI", "UTC", "2026-02-01T00:00:00Z",
     {"2026-02-06T00:00:00.000+00:00", "2026-02-13T00:00:00.000+00:00",
      "2026-02-20T00:00:00.000+00:00", "2026-02-27T00:00:00.000+00:00"}},
    {"0 0 0 */5 * FRI", "UTC", "2026-01-01T00:00:00Z", /* Fridays on 1,6,11,16,21,26,31 */
     {"2026-01-16T00:00:00.000+00:00", "2026-02-06T00:00:00.000+00:00",
      "2026-03-06T00:00:00.000+00:00"}},
    /* macros and @every */
    {"@yearly", "UTC", "2026-06-01T00:00:00Z", {"2027-01-01T00:00:00.000+00:00"}},
    {"@monthly", "UTC", "2026-06-01T00:00:00Z", {"2026-07-01T00:00:00.000+00:00"}},
    {"@weekly", "UTC", "2026-11-22T00:00:00Z", {"2026-11-29T00:00:00.000+00:00"}},
    {"@daily", "UTC", "2026-11-22T00:00:00Z", {"2026-11-23T00:00:00.000+00:00"}},
    {"@hourly", "UTC", "2026-11-22T00:30:00Z", {"2026-11-22T01:00:00.000+00:00"}},
    {"@every 1h30m", "UTC", "2026-11-22T00:00:00Z",
     {"2026-11-22T01:30:00.000+00:00", "2026-11-22T03:00:00.000+00:00"}},
    {"@every 250ms", "UTC", "2026-11-22T00:00:00Z",
     {"2026-11-22T00:00:00.250+00:00", "2026-11-22T00:00:00.500+00:00"}},
    /* leap days, month ends, year wrap, far future */
    {"0 0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z",
     {"2028-02-29T00:00:00.000+00:00", "2032-02-29T00:00:00.000+00:00"}},
    {"0 0 0 29 2 *", "UTC", "2096-03-01T00:00:00Z", {"2104-02-29T00:00:00.000+00:00"}},
    {"0 0 0 31 * *", "UTC", "2026-01-31T00:00:00Z",
     {"2026-03-31T00:00:00.000+00:00", "2026-05-31T00:00:00.000+00:00"}},
    {"59 59 23 31 12 *", "UTC", "2026-12-31T23:59:59Z", {"2027-12-31T23:59:59.000+00:00"}},
    {"0 0 0 1 1 *", "UTC", "2098-06-01T00:00:00Z", {"2099-01-01T00:00:00.000+00:00"}},
    /* DST, New York: spring forward 2026-03-08 02:00 EST -> 03:00 EDT */
    {"0 30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z",
     {"2026-03-08T03:00:00.000-04:00", "2026-03-09T02:30:00.000-04:00"}},
    {"0 0,15,30,45 2 * * *", "America/New_York", "2026-03-08T05:00:00Z", /* coalesce */
     {"2026-03-08T03:00:00.000-04:00", "2026-03-09T02:00:00.000-04:00"}},
    {"0 */30 2 * * *", "America/New_York", "2026-03-08T05:00:00Z", /* elapsed: skipped */
     {"2026-03-09T02:00:00.000-04:00"}},
    {"0 0 * * * *", "America/New_York", "2026-03-08T06:30:00Z", /* 02:00 does not exist */
     {"2026-03-08T03:00:00.000-04:00", "2026-03-08T04:00:00.000-04:00"}},
    /* fall back 2026-11-01 02:00 EDT -> 01:00 EST */
    {"0 30 1 * * *", "America/New_York", "2026-10-31T16:00:00Z",
     {"2026-11-01T01:30:00.000-04:00", "2026-11-02T01:30:00.000-05:00"}},
    {"0 */30 * * * *", "America/New_York", "2026-11-01T04:50:00Z",
     {"2026-11-01T01:00:00.000-04:00", "2026-11-01T01:30:00.000-04:00",
      "2026-11-01T01:00:00.000-05:00", "2026-11-01T01:30:00.000-05:00"}},
    {"0 30 1 * * *", "America/New_York", "2026-11-01T06:00:00Z", /* inside 2nd pass */
     {"2026-11-02T01:30:00.000-05:00"}},
    /* New York in later years (second Sunday of March 2030 = 10th) */
    {"0 30 2 10 3 *", "America/New_York", "2030-01-01T00:00:00Z",
     {"2030-03-10T03:00:00.000-04:00", "2031-03-10T02:30:00.000-04:00"}},
    {"0 30 2 * * *", "America/New_York", "2099-03-07T12:00:00Z", /* 2099-03-08 is the day */
     {"2099-03-08T03:00:00.000-04:00"}},
    /* London: 2026-03-29 01:00 GMT -> 02:00 BST; 2026-10-25 02:00 BST -> 01:00 GMT */
    {"0 30 1 * * *", "Europe/London", "2026-03-28T12:00:00Z",
     {"2026-03-29T02:00:00.000+01:00", "2026-03-30T01:30:00.000+01:00"}},
    {"0 30 1 * * *", "Europe/London", "2026-10-24T12:00:00Z",
     {"2026-10-25T01:30:00.000+01:00", "2026-10-26T01:30:00.000+00:00"}},
    {"0 15 * * * *", "Europe/London", "2026-10-24T23:30:00Z",
     {"2026-10-25T01:15:00.000+01:00", "2026-10-25T01:15:00.000+00:00"}},
    /* Lord Howe: 30-minute shift, 2026-10-04 02:00 -> 02:30 (+10:30 -> +11) and
     * 2026-04-05 02:00 -> 01:30 (+11 -> +10:30) */
    {"0 15 2 * * *", "Australia/Lord_Howe", "2026-10-03T12:00:00Z",
     {"2026-10-04T02:30:00.000+11:00", "2026-10-05T02:15:00.000+11:00"}},
    {"0 45 1 * * *", "Australia/Lord_Howe", "2026-04-04T12:00:00Z",
     {"2026-04-05T01:45:00.000+11:00", "2026-04-06T01:45:00.000+10:30"}},
    {"0 */20 * * * *", "Australia/Lord_Howe", "2026-04-04T14:25:00Z",
     {"2026-04-05T01:40:00.000+11:00", "2026-04-05T01:40:00.000+10:30",
      "2026-04-05T02:00:00.000+10:30"}},
    /* no DST */
    {"0 30 2 * * *", "Asia/Kolkata", "2026-03-08T00:00:00Z",
     {"2026-03-09T02:30:00.000+05:30", "2026-03-10T02:30:00.000+05:30"}},
};

static const struct ecase {
    const char *expr, *msg;
} errors[] = {
    {"0 0 25 * * *", "cron: field 3 (hour) \"25\": value out of range 0-23 at column 5"},
    {"0 0 0 * * * *", "expected 6 fields"},
    {"0 0", "got 2"},
    {"", "cron: empty expression"},
    {"60 * * * * *", "cron: field 1 (second) \"60\": value out of range 0-59 at column 1"},
    {"0 0 17-9 * * *", "cron: field 3 (hour) \"17-9\": range start is after its end at column 5"},
    {"0 */0 * * * *", "expected a step of 1 or more after '/' at column 5"},
    {"0 0 0 * FOO *", "cron: field 5 (month) \"FOO\": expected a number, a name or * at column 9"},
    {"0 0 0 ? * * ", NULL},
    {"0 0 ? * * *", "'?' is allowed only in the day fields"},
    {"0 0 0 * * FRI#6", "expected #1 to #5 after a weekday"},
    {"0 0 0 L-31 * *", "L-n offset out of range 0-30"},
    {"0 0 0 30 2 *", "can never fire"},
    {"0 0 0 31 4,6,9,11 *", "can never fire"},
    {"0 0 0 1,,2 * *", "empty list item"},
    {"0 0 0 1x * *", "unexpected character 'x' at column 8"},
    {"@fortnightly", "unknown macro"},
    {"@every 5", "@every: duration \"5\""},
    {"@every 999us", "cron: \"@every 999us\": @every: below the minimum of 1ms"},
    {"@every 1ns", "@every: below the minimum of 1ms"},
    {"0 0 12 * * 8", "value out of range 0-7"},
    {"0 0 0 * * SAT-FRI", "range start is after its end"},
    {"0 0 0 * * 5-0", "range start is after its end"}, /* only the name SUN is 7 */
};

static int64_t parse_utc(const char *s)
{
    int y, mo, d, h, mi, se;
    jh__civil c;
    sscanf(s, "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &se);
    c = (jh__civil){y, mo, d, h, mi, se, 0, 0};
    return jh__civil_to_secs(&c) * 1000000000LL;
}

int main(void)
{
    jh_err e;
    jh__cron *c;

    plan_lazy();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct tcase *k = &cases[i];
        const jh__tz *tz;
        char got[256] = "", buf[64];
        char want[256] = "";
        int64_t t = parse_utc(k->from);

        if (jh__tz_get(k->zone, &tz, &e) < 0 || jh__cron_parse(k->expr, tz, &c, &e) < 0) {
            ok(0, "%s in %s: %s", k->expr, k->zone, e.msg);
            continue;
        }
        for (int j = 0; j < 4 && k->want[j]; j++) {
            if (jh__cron_next(c, t, &t) < 0)
                break;
            jh__cron_format_time(tz, t, buf, sizeof(buf));
            strcat(got, buf);
            strcat(got, " ");
            strcat(want, k->want[j]);
            strcat(want, " ");
        }
        is_str(got, want, "\"%s\" in %s after %s", k->expr, k->zone, k->from);
        jh__cron_free(c);
    }
    for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
        int rc = jh__cron_parse(errors[i].expr, NULL, &c, &e);
        if (errors[i].msg == NULL) {
            ok(rc == 0, "\"%s\" parses", errors[i].expr);
            if (rc == 0)
                jh__cron_free(c);
            continue;
        }
        if (!ok(rc == -22, "\"%s\" is refused", errors[i].expr) && rc == 0)
            jh__cron_free(c);
        like(e.msg, errors[i].msg, "  with: %s", errors[i].msg);
    }

    /* wall-clock flag and equality */
    jh__cron *a, *b;
    jh__cron_parse("0 0 2 * * *", NULL, &a, &e);
    jh__cron_parse("0 0 2 * * *", NULL, &b, &e);
    ok(jh__cron_equal(a, b), "same text, same zone: equal");
    jh__cron_free(b);
    jh__cron_parse("0 0 3 * * *", NULL, &b, &e);
    ok(!jh__cron_equal(a, b), "different text: not equal");
    jh__cron_free(a);
    jh__cron_free(b);
    int64_t ev;
    jh__cron_parse("@every 250ms", NULL, &a, &e);
    ok(jh__cron_every(a, &ev) == 1 && ev == 250000000, "@every reports its interval");
    jh__cron_free(a);

    /* The CLI, stdout captured in a temp file. */
    char path[] = "/tmp/jh-cron-cli-XXXXXX", out[512] = "";
    int fd = mkstemp(path), saved = dup(1), rc;
    char *argv[] = {"0 30 2 * * *", "--tz", "America/New_York", "--from",
                    "2026-03-07T12:00:00", "-n", "3", NULL};
    fflush(stdout);
    dup2(fd, 1);
    rc = jh__cron_cli(7, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    lseek(fd, 0, SEEK_SET);
    out[read(fd, out, sizeof(out) - 1)] = '\0';
    close(fd);
    unlink(path);
    is_int(rc, 0, "--cron-next exits 0");
    is_str(out, "2026-03-08T03:00:00.000-04:00\n2026-03-09T02:30:00.000-04:00\n"
                "2026-03-10T02:30:00.000-04:00\n", "--cron-next prints the next 3 in ISO 8601");
    char *bad[] = {"0 0 25 * * *", NULL};
    is_int(jh__cron_cli(1, bad), 2, "a bad expression exits 2");
    char *badfrom[] = {"* * * * * *", "--from", "yesterday", NULL};
    is_int(jh__cron_cli(3, badfrom), 2, "a bad --from exits 2");
    jh__tz_cache_free();
    return done_testing();
}
