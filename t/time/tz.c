/*
 * tz.t - our TZif reader against glibc's localtime_r (an independent
 * implementation of the same data), gap/overlap resolution by hand, and
 * refusal of bad names and corrupt files.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/tap.h"
#include "time/tz.h"

static const char *zones[] = {"America/New_York", "Europe/London",  "Australia/Lord_Howe",
                              "Asia/Kolkata",     "Europe/Dublin",  "America/Sao_Paulo",
                              "Asia/Tehran",      "Pacific/Chatham", NULL};

static int64_t at(int y, int mo, int d, int h, int mi)
{
    jh__civil c = {y, mo, d, h, mi, 0, 0, 0};
    return jh__civil_to_secs(&c);
}

static void against_glibc(const char *zone)
{
    const jh__tz *tz;
    jh_err e;
    long bad = 0, n = 0;

    if (jh__tz_get(zone, &tz, &e) < 0) {
        ok(0, "%s loads (%s)", zone, e.msg);
        return;
    }
    setenv("TZ", zone, 1);
    tzset();
    /* Every 5h17s from 1970 to 2100, plus +-1 s around each transition. */
    for (int64_t t = 0; t < 4102444800LL; t += 5 * 3600 + 17) {
        for (int k = 0; k < 1; k++) {
            struct tm tm;
            time_t tt = (time_t)t;
            jh__civil c;
            int off;
            localtime_r(&tt, &tm);
            jh__tz_to_local(tz, t, &c, &off);
            n++;
            if (off != tm.tm_gmtoff || c.hour != tm.tm_hour || c.mday != tm.tm_mday ||
                c.min != tm.tm_min || c.year != tm.tm_year + 1900) {
                if (bad++ < 3)
                    diag("%s at %lld: glibc offset %ld, ours %d", zone, (long long)t,
                         (long)tm.tm_gmtoff, off);
            }
        }
    }
    for (int64_t t = 0;;) {
        int64_t tr = jh__tz_next_transition(tz, t, NULL, NULL);
        if (tr == INT64_MAX || tr > 4102444800LL)
            break;
        for (int64_t d = -1; d <= 1; d++) {
            struct tm tm;
            time_t tt = (time_t)(tr + d);
            localtime_r(&tt, &tm);
            n++;
            if (jh__tz_offset(tz, tr + d) != tm.tm_gmtoff && bad++ < 6)
                diag("%s around transition %lld%+lld: glibc %ld ours %d", zone, (long long)tr,
                     (long long)d, (long)tm.tm_gmtoff, jh__tz_offset(tz, tr + d));
        }
        t = tr;
    }
    is_int(bad, 0, "%s: offsets and wall times equal glibc's at %ld instants 1970-2100", zone, n);
}

int main(void)
{
    const jh__tz *ny, *lh, *lon, *utc, *t2;
    int64_t o[2];
    jh_err e;
    char dir[] = "/tmp/jh-tz-XXXXXX", path[256];

    plan_lazy();
    for (int i = 0; zones[i]; i++)
        against_glibc(zones[i]);

    ok(jh__tz_get("America/New_York", &ny, &e) == 0, "New York");
    ok(jh__tz_get("America/New_York", &t2, &e) == 0 && t2 == ny, "cached: same zone object");
    jh__tz_get("Australia/Lord_Howe", &lh, &e);
    jh__tz_get("Europe/London", &lon, &e);
    ok(jh__tz_get("UTC", &utc, &e) == 0 && strcmp(jh__tz_name(utc), "UTC") == 0, "UTC built in");

    /* 2026-03-08 02:30 does not exist in New York: the gap ends 07:00Z. */
    is_int(jh__tz_from_local(ny, at(2026, 3, 8, 2, 30), o), 0, "NY 2026-03-08 02:30 is in a gap");
    is_int(o[0], at(2026, 3, 8, 7, 0), "gap ends at 07:00Z (03:00 EDT)");
    /* 2026-11-01 01:30 happens twice: 05:30Z (EDT) and 06:30Z (EST). */
    is_int(jh__tz_from_local(ny, at(2026, 11, 1, 1, 30), o), 2, "NY 2026-11-01 01:30 twice");
    ok(o[0] == at(2026, 11, 1, 5, 30) && o[1] == at(2026, 11, 1, 6, 30), "05:30Z then 06:30Z");
    is_int(jh__tz_from_local(ny, at(2026, 7, 1, 12, 0), o), 1, "a summer noon is unique");
    is_int(o[0], at(2026, 7, 1, 16, 0), "= 16:00Z");
    /* Lord Howe moves 30 minutes: 2026-10-04 02:00 -> 02:30 (+10:30 -> +11). */
    is_int(jh__tz_from_local(lh, at(2026, 10, 4, 2, 15), o), 0, "Lord Howe 02:15 in the gap");
    is_int(o[0], at(2026, 10, 4, 2, 30) - 11 * 3600, "gap ends at 02:30 local (+11:00)");
    is_int(jh__tz_from_local(lon, at(2026, 10, 25, 1, 30), o), 2, "London 2026-10-25 01:30 twice");
    /* Far future from the footer rule: 2099-03-08 is the US switch day. */
    is_int(jh__tz_offset(ny, at(2099, 3, 8, 6, 59)), -5 * 3600, "2099-03-08 06:59Z is EST");
    is_int(jh__tz_offset(ny, at(2099, 3, 8, 7, 0)), -4 * 3600, "2099-03-08 07:00Z is EDT");

    is_int(jh__tz_get("Mars/Base", &t2, &e), -2, "unknown zone refused");
    like(e.msg, "timezone \"Mars/Base\": not found", "with its name");
    is_int(jh__tz_get("../../etc/passwd", &t2, &e), -22, "path traversal refused");
    like(e.msg, "not a zone name", "as not a zone name");
    is_int(jh__tz_get("/etc/passwd", &t2, &e), -22, "absolute path refused");

    /* Corrupt files in a private TZDIR. */
    if (mkdtemp(dir) == NULL)
        bail("mkdtemp");
    snprintf(path, sizeof(path), "%s/Bad", dir);
    FILE *f = fopen(path, "w");
    fputs("TZif2 garbage", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/Trunc", dir);
    {
        FILE *src = fopen("/usr/share/zoneinfo/America/New_York", "rb");
        char buf[600];
        size_t n = src ? fread(buf, 1, sizeof(buf), src) : 0;
        if (src)
            fclose(src);
        f = fopen(path, "wb");
        fwrite(buf, 1, n, f);
        fclose(f);
    }
    setenv("TZDIR", dir, 1);
    ok(jh__tz_get("Bad", &t2, &e) < 0, "garbage TZif refused");
    like(e.msg, "timezone \"Bad\"", "naming the zone");
    ok(jh__tz_get("Trunc", &t2, &e) < 0, "truncated TZif refused: %s", e.msg);
    unsetenv("TZDIR");
    snprintf(path, sizeof(path), "%s/Bad", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/Trunc", dir);
    unlink(path);
    rmdir(dir);

    /* Host zone from $TZ, and POSIX TZ strings. */
    setenv("TZ", "Europe/London", 1);
    ok(jh__tz_get(NULL, &t2, &e) == 0 && t2 == lon, "host zone from $TZ");
    setenv("TZ", "EST5EDT,M3.2.0,M11.1.0", 1);
    ok(jh__tz_get(NULL, &t2, &e) == 0 && jh__tz_offset(t2, at(2026, 7, 1, 12, 0)) == -4 * 3600,
       "POSIX TZ string: summer offset -4h");
    unsetenv("TZ");
    jh__tz_cache_free();
    return done_testing();
}
