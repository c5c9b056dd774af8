/*
 * cron_prop.t - properties of next() over random expressions, checked
 * against a brute-force oracle that walks every second:
 *   1. next(next(t)) > next(t);
 *   2. every produced time, formatted back to local fields, matches the
 *      expression (an independent field matcher written here);
 *   3. no matching second between t and next(t) is skipped (elapsed-time
 *      expressions, any zone), and wall-clock expressions obey the DST rule.
 * The seed is printed; set JH_SEED to replay.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cron.h"
#include "tap.h"

static uint64_t rng;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static int rint_(int lo, int hi) { return lo + (int)(rnd() % (uint64_t)(hi - lo + 1)); }

/* A random simple field (no L/W/#: those the table test covers) and its
 * value set, built independently of the engine's parser. */
static void gen_field(char *out, int lo, int hi, int *set, int dense)
{
    int kind = rint_(0, dense ? 2 : 4);
    memset(set, 0, sizeof(int) * 64);
    if (kind == 0) {
        strcpy(out, "*");
        for (int v = lo; v <= hi; v++) set[v] = 1;
    } else if (kind == 1) {
        int st = rint_(2, (hi - lo) / 2 + 1);
        sprintf(out, "*/%d", st);
        for (int v = lo; v <= hi; v += st) set[v] = 1;
    } else if (kind == 2) {
        int a = rint_(lo, hi), b = rint_(a, hi);
        sprintf(out, "%d-%d", a, b);
        for (int v = a; v <= b; v++) set[v] = 1;
    } else if (kind == 3) {
        int a = rint_(lo, hi), b = rint_(lo, hi);
        sprintf(out, "%d,%d", a, b);
        set[a] = set[b] = 1;
    } else {
        int a = rint_(lo, hi);
        sprintf(out, "%d", a);
        set[a] = 1;
    }
}

typedef struct spec {
    int sec[64], min[64], hour[64], dom[64], mon[64], dow[64];
    int dom_star, dow_star, wall;
    char text[128];
} spec;

static int matches(const spec *s, const jh_civil *c)
{
    int d = s->dom[c->mday], w = s->dow[c->wday];
    int day = (!s->dom_star && !s->dow_star) ? (d || w) : (d && w);
    return s->sec[c->sec] && s->min[c->min] && s->hour[c->hour] && s->mon[c->mon] && day;
}

static void gen(spec *s)
{
    char f[6][20];
    gen_field(f[0], 0, 59, s->sec, 1);
    gen_field(f[1], 0, 59, s->min, 1);
    gen_field(f[2], 0, 23, s->hour, 0);
    gen_field(f[3], 1, 28, s->dom, 0);
    if (f[3][0] == '*') { /* star forms cover the whole field, 1-31 */
        int st = f[3][1] == '/' ? atoi(f[3] + 2) : 1;
        for (int v = 1; v <= 31; v++)
            s->dom[v] = (v - 1) % st == 0;
    }
    gen_field(f[4], 1, 12, s->mon, 1);
    gen_field(f[5], 0, 6, s->dow, 0);
    s->dom_star = f[3][0] == '*';
    s->dow_star = f[5][0] == '*';
    s->wall = f[1][0] != '*' && f[2][0] != '*';
    snprintf(s->text, sizeof(s->text), "%s %s %s %s %s %s", f[0], f[1], f[2], f[3], f[4], f[5]);
}

int main(void)
{
    const char *zones[] = {"UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe"};
    const char *seed_env = getenv("JH_SEED");
    int bad_order = 0, bad_match = 0, bad_skip = 0, n_exprs = 0, n_checked = 0;
    jh_err e;

    rng = seed_env ? strtoull(seed_env, NULL, 10) : 0x9e3779b97f4a7c15ULL ^ (uint64_t)time(NULL);
    if (rng == 0)
        rng = 1;
    diag("seed %llu (replay with JH_SEED)", (unsigned long long)rng);
    plan_lazy();
    /* Start instants around DST changes and ordinary days, 2026-2030. */
    const int64_t starts[] = {1772935200, 1793498400, 1774746000, 1792893600,
                              1775340000, 1791295200, 1800000000, 1900000000};
    for (int it = 0; it < 400; it++) {
        spec s;
        const jh_tz *tz;
        jh_cron *c;
        const char *zone = zones[it % 4];

        gen(&s);
        jh_tz_get(zone, &tz, &e);
        if (jh_cron_parse(s.text, tz, &c, &e) < 0) {
            ok(0, "random expression parses: %s: %s", s.text, e.msg);
            continue;
        }
        n_exprs++;
        int64_t t = (starts[rnd() % 8] + rint_(-7200, 7200)) * 1000000000LL;
        /* brute force over 3 hours from t for elapsed-time expressions */
        int64_t prev = t;
        for (int k = 0; k < 5; k++) {
            int64_t nx;
            if (jh_cron_next(c, prev, &nx) < 0)
                break;
            n_checked++;
            if (nx <= prev)
                bad_order++;
            jh_civil lc;
            jh_tz_to_local(tz, nx / 1000000000LL, &lc, NULL);
            int is_gap_fire = 0;
            if (!matches(&s, &lc)) {
                /* Only allowed for wall-clock jobs fired at the end of a gap. */
                int64_t st, en;
                int off, op, on;
                jh_tz_segment(tz, nx / 1000000000LL, &st, &en, &off, &op, &on);
                is_gap_fire = s.wall && st == nx / 1000000000LL && op < off;
                if (!is_gap_fire && bad_match++ < 3)
                    diag("%s in %s: %lld does not match", s.text, zone, (long long)nx);
            }
            if (!s.wall && nx - prev <= 3LL * 3600 * 1000000000LL) {
                for (int64_t u = prev / 1000000000LL + 1; u < nx / 1000000000LL; u++) {
                    jh_civil uc;
                    jh_tz_to_local(tz, u, &uc, NULL);
                    if (matches(&s, &uc)) {
                        if (bad_skip++ < 3)
                            diag("%s in %s: skipped %lld before %lld", s.text, zone,
                                 (long long)u, (long long)(nx / 1000000000LL));
                        break;
                    }
                }
            }
            prev = nx;
        }
        jh_cron_free(c);
    }
    is_int(bad_order, 0, "next(next(t)) > next(t) (%d times over %d expressions)", n_checked,
           n_exprs);
    is_int(bad_match, 0, "every produced time matches its expression in local time");
    is_int(bad_skip, 0, "no matching second skipped (elapsed-time expressions, brute force)");
    ok(n_checked > 1000, "enough samples (%d)", n_checked);
    jh_tz_cache_free();
    return done_testing();
}
