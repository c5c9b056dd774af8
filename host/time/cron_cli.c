/*
 * cron_cli.c - `jobhostd --cron-next 'EXPR' [--tz ZONE] [--from TIME] [-n N]`,
 * so users can see what an expression means before deploying it (like
 * `systemd-analyze calendar`).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "civil.h"
#include "cron.h"

#define NS 1000000000LL

static int num(const char **p, int digits, int *out)
{
    int v = 0;
    for (int i = 0; i < digits; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9')
            return -1;
        v = v * 10 + (*p)[i] - '0';
    }
    *p += digits;
    *out = v;
    return 0;
}

/*
 * ISO 8601: YYYY-MM-DD[Thh:mm[:ss[.fff]]][Z|+hh:mm|-hh:mm].  Without an
 * offset the time is local time in `tz` (the first occurrence if it is
 * repeated, the end of the gap if it does not exist).
 */
static int parse_time(const char *s, const jh__tz *tz, int64_t *out)
{
    const char *p = s;
    jh__civil c = {0};
    int64_t frac = 0, local;
    int has_off = 0, off = 0;

    if (num(&p, 4, &c.year) || *p++ != '-' || num(&p, 2, &c.mon) || *p++ != '-' ||
        num(&p, 2, &c.mday))
        return -EINVAL;
    if (*p == 'T' || *p == ' ') {
        p++;
        if (num(&p, 2, &c.hour) || *p++ != ':' || num(&p, 2, &c.min))
            return -EINVAL;
        if (*p == ':') {
            p++;
            if (num(&p, 2, &c.sec))
                return -EINVAL;
            if (*p == '.' || *p == ',') {
                int64_t scale = NS;
                p++;
                while (*p >= '0' && *p <= '9') {
                    scale /= 10;
                    frac += (*p++ - '0') * scale;
                }
            }
        }
    }
    if (*p == 'Z') {
        has_off = 1;
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
        if (num(&p, 2, &oh))
            return -EINVAL;
        if (*p == ':')
            p++;
        if (*p && num(&p, 2, &om))
            return -EINVAL;
        has_off = 1;
        off = sign * (oh * 3600 + om * 60);
    }
    if (*p != '\0' || c.mon < 1 || c.mon > 12 || c.mday < 1 ||
        c.mday > jh__days_in_month(c.year, c.mon) || c.hour > 23 || c.min > 59 || c.sec > 59)
        return -EINVAL;
    local = jh__civil_to_secs(&c);
    if (has_off) {
        *out = (local - off) * NS + frac;
        return 0;
    }
    int64_t u[2];
    jh__tz_from_local(tz, local, u);
    *out = u[0] * NS + frac;
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: jobhostd --cron-next 'EXPR' [--tz ZONE] [--from TIME] [-n N]\n"
                    "  TIME is ISO 8601, e.g. 2026-03-08T01:59:59 (local in ZONE) or "
                    "2026-03-08T06:59:59Z\n");
    return 2;
}

int jh__cron_cli(int argc, char **argv)
{
    const char *expr = NULL, *zone = NULL, *from = NULL;
    long n = 5;
    const jh__tz *tz;
    jh__cron *c;
    jh_err e;
    int64_t t;
    char buf[64];

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--tz") == 0 && i + 1 < argc)
            zone = argv[++i];
        else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
            from = argv[++i];
        else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            char *end;
            n = strtol(argv[++i], &end, 10);
            if (*end != '\0' || n < 1 || n > 100000) {
                fprintf(stderr, "jobhostd: -n \"%s\": expected a number from 1 to 100000\n",
                        argv[i]);
                return 2;
            }
        } else if (expr == NULL && argv[i][0] != '-')
            expr = argv[i];
        else {
            fprintf(stderr, "jobhostd: --cron-next: unexpected argument \"%s\"\n", argv[i]);
            return usage();
        }
    }
    if (expr == NULL)
        return usage();
    if (jh__tz_get(zone, &tz, &e) < 0) {
        fprintf(stderr, "jobhostd: %s\n", e.msg);
        return 2;
    }
    if (from == NULL) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        t = (int64_t)ts.tv_sec * NS + ts.tv_nsec;
    } else if (parse_time(from, tz, &t) < 0) {
        fprintf(stderr, "jobhostd: --from \"%s\": expected ISO 8601 such as "
                        "2026-03-08T01:59:59, 2026-03-08T01:59:59Z or 2026-03-08T01:59:59-05:00\n",
                from);
        return 2;
    }
    if (jh__cron_parse(expr, tz, &c, &e) < 0) {
        fprintf(stderr, "jobhostd: %s\n", e.msg);
        return 2;
    }
    for (long i = 0; i < n; i++) {
        if (jh__cron_next(c, t, &t) < 0) {
            fprintf(stderr, "jobhostd: no fire time after this one before year 10000\n");
            break;
        }
        jh__cron_format_time(tz, t, buf, sizeof(buf));
        printf("%s\n", buf);
    }
    jh__cron_free(c);
    return fflush(stdout) == 0 ? 0 : 1;
}
