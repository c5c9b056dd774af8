/*
 * cron_cli.c - `jobhostd --cron-next 'EXPR' [--tz ZONE] [--from TIME] [-n N]`,
 * so users can see what an expression means before deploying it (like
 * `systemd-analyze calendar`).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "civil.h"
#include "cron.h"

#define NS 1000000000LL

static int num(const char **p, int digits, int *out)
{
    int v = 0;
    for (int i = 0; i < digits; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9')
            return -EINVAL;
        v = v * 10 + (*p)[i] - '0';
    }
    *p += digits;
    *out = v;
    return 0;
}

/* The character *p must be c; steps past it. */
static int expect(const char **p, char c)
{
    return *(*p)++ == c ? 0 : -EINVAL;
}

/* YYYY-MM-DD */
static int parse_date(const char **p, jh__civil *c)
{
    if (num(p, 4, &c->year) < 0 || expect(p, '-') < 0 || num(p, 2, &c->mon) < 0 ||
        expect(p, '-') < 0 || num(p, 2, &c->mday) < 0)
        return -EINVAL;
    return 0;
}

/* [Thh:mm[:ss[.fff]]]: the fraction, in ns, into *frac. */
static int parse_clock(const char **p, jh__civil *c, int64_t *frac)
{
    int64_t scale = NS;

    if (**p != 'T' && **p != ' ')
        return 0;
    (*p)++;
    if (num(p, 2, &c->hour) < 0 || expect(p, ':') < 0 || num(p, 2, &c->min) < 0)
        return -EINVAL;
    if (**p != ':')
        return 0;
    (*p)++;
    if (num(p, 2, &c->sec) < 0)
        return -EINVAL;
    if (**p != '.' && **p != ',')
        return 0;
    for ((*p)++; **p >= '0' && **p <= '9'; (*p)++) {
        scale /= 10;
        *frac += (**p - '0') * scale;
    }
    return 0;
}

/* [Z|+hh[:]mm|-hh[:]mm|+hh|-hh]: *has_off says whether one was given. */
static int parse_offset(const char **p, int *has_off, int *off)
{
    int sign, oh, om = 0;

    if (**p == 'Z') {
        *has_off = 1;
        (*p)++;
        return 0;
    }
    if (**p != '+' && **p != '-')
        return 0;
    sign = *(*p)++ == '-' ? -1 : 1;
    if (num(p, 2, &oh) < 0)
        return -EINVAL;
    if (**p == ':')
        (*p)++;
    if (**p && num(p, 2, &om) < 0)
        return -EINVAL;
    *has_off = 1;
    *off = sign * (oh * 3600 + om * 60);
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
    int64_t frac = 0, local, u[2];
    int has_off = 0, off = 0;

    if (parse_date(&p, &c) < 0 || parse_clock(&p, &c, &frac) < 0 ||
        parse_offset(&p, &has_off, &off) < 0)
        return -EINVAL;
    if (*p != '\0' || c.mon < 1 || c.mon > 12 || c.mday < 1 ||
        c.mday > jh__days_in_month(c.year, c.mon) || c.hour > 23 || c.min > 59 || c.sec > 59)
        return -EINVAL;
    local = jh__civil_to_secs(&c);
    if (has_off) {
        *out = (local - off) * NS + frac;
        return 0;
    }
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

typedef struct cli_args {
    const char *expr, *zone, *from;
    long n;
} cli_args;

/* The arguments into *a; -EINVAL once the reason is on stderr. */
static int parse_args(int argc, char **argv, cli_args *a)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--tz") == 0 && i + 1 < argc)
            a->zone = argv[++i];
        else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
            a->from = argv[++i];
        else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            char *end;
            a->n = strtol(argv[++i], &end, 10);
            if (*end != '\0' || a->n < 1 || a->n > 100000) {
                fprintf(stderr, "jobhostd: -n \"%s\": expected a number from 1 to 100000\n",
                        argv[i]);
                return -EINVAL;
            }
        } else if (a->expr == NULL && argv[i][0] != '-')
            a->expr = argv[i];
        else {
            fprintf(stderr, "jobhostd: --cron-next: unexpected argument \"%s\"\n", argv[i]);
            usage();
            return -EINVAL;
        }
    }
    if (a->expr == NULL) {
        usage();
        return -EINVAL;
    }
    return 0;
}

/* --from, or now; -EINVAL once the reason is on stderr. */
static int start_time(const char *from, const jh__tz *tz, int64_t *t)
{
    if (from == NULL) {
        *t = jh__realtime_ns();
        return 0;
    }
    if (parse_time(from, tz, t) < 0) {
        fprintf(stderr, "jobhostd: --from \"%s\": expected ISO 8601 such as "
                        "2026-03-08T01:59:59, 2026-03-08T01:59:59Z or 2026-03-08T01:59:59-05:00\n",
                from);
        return -EINVAL;
    }
    return 0;
}

/* The next n fire times after t, one a line. */
static void print_next(const jh__cron *c, const jh__tz *tz, int64_t t, long n)
{
    char buf[64];

    for (long i = 0; i < n; i++) {
        if (jh__cron_next(c, t, &t) < 0) {
            fprintf(stderr, "jobhostd: no fire time after this one before year 10000\n");
            break;
        }
        jh__cron_format_time(tz, t, buf, sizeof(buf));
        printf("%s\n", buf);
    }
}

int jh__cron_cli(int argc, char **argv)
{
    cli_args a = {NULL, NULL, NULL, 5};
    const jh__tz *tz;
    jh__cron *c;
    jh_err e;
    int64_t t;

    if (parse_args(argc, argv, &a) < 0)
        return 2;
    if (jh__tz_get(a.zone, &tz, &e) < 0) {
        fprintf(stderr, "jobhostd: %s\n", e.msg);
        return 2;
    }
    if (start_time(a.from, tz, &t) < 0)
        return 2;
    if (jh__cron_parse(a.expr, tz, &c, &e) < 0) {
        fprintf(stderr, "jobhostd: %s\n", e.msg);
        return 2;
    }
    print_next(c, tz, t, a.n);
    jh__cron_free(c);
    return fflush(stdout) == 0 ? 0 : 1;
}
