/*
 * cron_prop.t - properties of next() over random expressions, checked
 * against a brute-force oracle that walks every second:
 *   1. next(next(t)) > next(t);
 *   2. every produced time, formatted back to local fields, matches the
 *      expression (an independent field matcher written here);
 *   3. next(t) is exactly what a second-by-second oracle of the DST rule
 *      gives over a 3-hour window after t (so no matching second is
 *      skipped), for elapsed-time and wall-clock expressions, starting near
 *      the zones' real transitions in 2025-2030.
 * The seed is printed; set JH_SEED to replay.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "time/cron.h"
#include "lib/tap.h"

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

static int matches(const spec *s, const jh__civil *c)
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
    gen_field(f[2], 0, 23, s->hour, (int)(rnd() & 1));
    gen_field(f[3], 1, 28, s->dom, 0);
    if (f[3][0] == '*') { /* star forms cover the whole field, 1-31 */
        int st = f[3][1] == '/' ? atoi(f[3] + 2) : 1;
        for (int v = 1; v <= 31; v++)
            s->dom[v] = (v - 1) % st == 0;
    }
    gen_field(f[4], 1, 12, s->mon, 1);
    gen_field(f[5], 0, 6, s->dow, 0);
    if (rnd() % 2) { /* daily, so transition days are not filtered out */
        strcpy(f[3], "*");
        strcpy(f[4], "*");
        strcpy(f[5], "*");
        for (int v = 0; v <= 31; v++)
            s->dom[v] = v >= 1, s->mon[v] = v >= 1 && v <= 12, s->dow[v] = v <= 6;
    }
    if (rnd() % 3 == 0) { /* hours where the zones tested change offset */
        static const char *const hours[] = {"1", "2", "1-3", "0-2", "2,3", "1,2", "0-1", "3"};
        const char *h = hours[rnd() % 8];
        strcpy(f[2], h);
        memset(s->hour, 0, sizeof(s->hour));
        if (strchr(h, '-'))
            for (int v = h[0] - '0'; v <= h[2] - '0'; v++) s->hour[v] = 1;
        else
            for (const char *q = h; *q; q += q[1] ? 2 : 1) s->hour[*q - '0'] = 1;
    }
    s->dom_star = f[3][0] == '*';
    s->dow_star = f[5][0] == '*';
    s->wall = f[1][0] != '*' && f[2][0] != '*';
    snprintf(s->text, sizeof(s->text), "%s %s %s %s %s %s", f[0], f[1], f[2], f[3], f[4], f[5]);
}

/*
 * Does instant u fire, under the DST rule, decided second by second with
 * nothing from the engine: an elapsed-time job fires when u's local fields
 * match.  A wall-clock job fires when they match at the first instant that
 * shows that wall time, and also at the instant a spring-forward gap ends
 * if any wall time inside the gap matches (coalesced into one run).
 */
static int fires(const spec *s, const jh__tz *tz, int64_t u)
{
    jh__civil lc;
    int off, off_prev = jh__tz_offset(tz, u - 1);

    jh__tz_to_local(tz, u, &lc, &off);
    if (!s->wall)
        return matches(s, &lc);
    if (matches(s, &lc)) {
        /* first occurrence: no earlier instant within a day shows this wall time */
        int64_t w = u + off, seen = 0;
        for (int64_t v = u - 1; v > u - 86400 && !seen; v -= 900)
            for (int64_t x = v; x > v - 900; x--)
                if (x + jh__tz_offset(tz, x) == w) {
                    seen = 1;
                    break;
                }
        if (!seen)
            return 1;
    }
    if (off_prev < off) /* a gap ends at u: wall times [u+off_prev, u+off) never showed */
        for (int64_t w = u + off_prev; w < u + off; w++) {
            jh__civil g;
            jh__secs_to_civil(w, &g);
            if (matches(s, &g))
                return 1;
        }
    return 0;
}

/* A start instant near one of the zone's transitions in 2025-2030 (or a
 * random instant in a zone without any). */
static int64_t pick_start(const jh__tz *tz)
{
    int64_t base = 1735689600 + (int64_t)rint_(0, 6 * 365) * 86400; /* 2025-01-01 + n days */
    int64_t tr = jh__tz_next_transition(tz, base, NULL, NULL);
    if (tr == INT64_MAX || tr > base + 400LL * 86400)
        return base + rint_(0, 86399);
    return tr + rint_(-4 * 3600, 2 * 3600);
}

int main(void)
{
    const char *zones[] = {"UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe",
                           "Asia/Kolkata"};
    const char *seed_env = getenv("JH_SEED");
    int bad_order = 0, bad_match = 0, bad_oracle = 0, n_exprs = 0, n_checked = 0;
    int n_oracle = 0, n_oracle_wall = 0;
    jh_err e;

    rng = seed_env ? strtoull(seed_env, NULL, 10) : 0x9e3779b97f4a7c15ULL ^ (uint64_t)time(NULL);
    if (rng == 0)
        rng = 1;
    diag("seed %llu (replay with JH_SEED)", (unsigned long long)rng);
    plan_lazy();
    for (int it = 0; it < 500; it++) {
        spec s;
        const jh__tz *tz;
        jh__cron *c;
        const char *zone = zones[it % 5];

        gen(&s);
        jh__tz_get(zone, &tz, &e);
        if (jh__cron_parse(s.text, tz, &c, &e) < 0) {
            ok(0, "random expression parses: %s: %s", s.text, e.msg);
            continue;
        }
        n_exprs++;
        int64_t prev = pick_start(tz) * 1000000000LL;
        for (int k = 0; k < 4; k++) {
            int64_t nx;
            if (jh__cron_next(c, prev, &nx) < 0)
                break;
            n_checked++;
            if (nx <= prev)
                bad_order++;
            jh__civil lc;
            jh__tz_to_local(tz, nx / 1000000000LL, &lc, NULL);
            if (!matches(&s, &lc) && !fires(&s, tz, nx / 1000000000LL) && bad_match++ < 3)
                diag("%s in %s: %lld does not match", s.text, zone, (long long)nx);
            /*
             * The oracle walks every second of a 3-hour window after prev:
             * the first instant that fires must be next(prev) exactly, and
             * if none does, next(prev) lies beyond the window.
             */
            int64_t p = prev / 1000000000LL, want = -1;
            for (int64_t u = p + 1; u <= p + 3 * 3600; u++)
                if (fires(&s, tz, u)) {
                    want = u;
                    break;
                }
            n_oracle++;
            n_oracle_wall += s.wall && want >= 0;
            if (want >= 0 ? nx != want * 1000000000LL : nx <= (p + 3 * 3600) * 1000000000LL) {
                if (bad_oracle++ < 5)
                    diag("%s in %s after %lld: next %lld, brute force %lld", s.text, zone,
                         (long long)p, (long long)(nx / 1000000000LL), (long long)want);
            }
            prev = nx;
        }
        jh__cron_free(c);
    }
    is_int(bad_order, 0, "next(next(t)) > next(t) (%d times over %d expressions)", n_checked,
           n_exprs);
    is_int(bad_match, 0, "every produced time matches its expression in local time "
                         "(or is a coalesced gap run)");
    is_int(bad_oracle, 0, "next() equals a second-by-second DST-rule oracle over 3 h "
                          "(%d windows, %d wall-clock fires found)", n_oracle, n_oracle_wall);
    ok(n_checked > 1000, "enough samples (%d)", n_checked);
    ok(n_oracle_wall > 20, "the oracle saw wall-clock fires (%d)", n_oracle_wall);
    jh__tz_cache_free();
    return done_testing();
}
