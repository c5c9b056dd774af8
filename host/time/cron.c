/*
 * cron.c - cron expressions: a parser into bitsets, and next() that jumps
 * field by field (month, day, hour, minute, second) with bit scans.  It
 * never steps a second or a minute at a time.
 *
 * Grammar of one field (after OpenBSD cron's comments):
 *   field  = item { "," item }
 *   item   = ( "*" | "?" | value [ "-" value ] ) [ "/" step ]
 *          | "L" [ "-" n ] | "LW" | n "W"        (day-of-month only)
 *          | value "L" | value "#" k             (day-of-week only)
 *   value  = number | name (JAN-DEC, SUN-SAT; any case)
 * `a/s` means a to the field's end by s.  `?` is `*`, day fields only.
 * SUN ending a weekday range is 7 (SAT-SUN = 6-7).
 */
#include "cron.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "duration.h"

#define NS 1000000000LL
#define MAX_YEAR 9999

enum { F_SEC, F_MIN, F_HOUR, F_DOM, F_MON, F_DOW, F_COUNT };

struct jh__cron {
    uint64_t sec, min;      /* bit n = value n */
    uint32_t hour, dom;     /* dom: bit d = day d (1..31) */
    uint16_t mon;           /* bit m = month m (1..12) */
    uint8_t dow;            /* bit w = weekday w (0 = Sunday) */
    uint8_t dow_last;       /* "5L": last such weekday of the month */
    uint8_t dow_nth[7];     /* "5#2": bit k = k-th such weekday */
    uint32_t dom_last;      /* "L-n": bit n = n days before the last day */
    uint32_t dom_w;         /* "15W": bit d = weekday nearest day d */
    uint8_t dom_lw;         /* "LW" */
    uint8_t dom_star, dow_star; /* field started with '*' or '?' */
    uint8_t wall;           /* neither minute nor hour starts with '*' */
    uint8_t has_day_specials;
    uint8_t dow_all;        /* every weekday, no nL / n#k: skip the scan */
    int64_t every;          /* @every, ns; 0 otherwise */
    const jh__tz *tz;
    char text[];            /* the expression as given */
};

static const struct field_info {
    const char *name;
    int lo, hi;
} finfo[F_COUNT] = {
    {"second", 0, 59}, {"minute", 0, 59}, {"hour", 0, 23},
    {"day-of-month", 1, 31}, {"month", 1, 12}, {"day-of-week", 0, 7},
};

static const char *const mon_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                        "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
static const char *const dow_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

typedef struct pctx {
    const char *expr;
    int field;       /* F_* */
    int user_field;  /* 1-based as the user wrote it */
    const char *fstart, *fend;
    jh_err *e;
} pctx;

static int perr(const pctx *p, const char *at, const char *fmt, const char *arg)
{
    char what[160];

    snprintf(what, sizeof(what), fmt, arg);
    return jh__err_set(p->e, -EINVAL, "cron: field %d (%s) \"%.*s\": %s at column %d",
                      p->user_field, finfo[p->field].name, (int)(p->fend - p->fstart),
                      p->fstart, what, (int)(at - p->expr) + 1);
}

static int upper(int c)
{
    return c >= 'a' && c <= 'z' ? c - 32 : c;
}

/* A number or a name; *end past it.  Returns 0 or -EINVAL (nothing there). */
static int parse_value(const pctx *p, const char *s, const char **end, int *out)
{
    int v = 0, n = 0;

    while (s + n < p->fend && s[n] >= '0' && s[n] <= '9' && n < 4)
        v = v * 10 + (s[n++] - '0');
    if (n > 0) {
        *end = s + n;
        *out = v;
        return 0;
    }
    if (p->fend - s >= 3 && (p->field == F_MON || p->field == F_DOW)) {
        const char *const *names = p->field == F_MON ? mon_names : dow_names;
        int count = p->field == F_MON ? 12 : 7;
        for (int i = 0; i < count; i++)
            if (upper(s[0]) == names[i][0] && upper(s[1]) == names[i][1] &&
                upper(s[2]) == names[i][2]) {
                *end = s + 3;
                *out = p->field == F_MON ? i + 1 : i;
                return 0;
            }
    }
    return -EINVAL;
}

static int check_range(const pctx *p, const char *at, int v)
{
    char r[32];

    if (v >= finfo[p->field].lo && v <= finfo[p->field].hi)
        return 0;
    snprintf(r, sizeof(r), "%d-%d", finfo[p->field].lo, finfo[p->field].hi);
    return perr(p, at, "value out of range %s", r);
}

static void set_bits(jh__cron *c, int field, int lo, int hi, int step)
{
    if (step == 1 && field != F_DOW) {
        /* a plain range is one mask: no loop over its values */
        uint64_t m = (hi - lo == 63 ? ~0ULL : (1ULL << (hi - lo + 1)) - 1) << lo;
        switch (field) {
        case F_SEC: c->sec |= m; break;
        case F_MIN: c->min |= m; break;
        case F_HOUR: c->hour |= (uint32_t)m; break;
        case F_DOM: c->dom |= (uint32_t)m; break;
        case F_MON: c->mon |= (uint16_t)m; break;
        }
        return;
    }
    for (int v = lo; v <= hi; v += step) {
        switch (field) {
        case F_SEC: c->sec |= 1ULL << v; break;
        case F_MIN: c->min |= 1ULL << v; break;
        case F_HOUR: c->hour |= 1U << v; break;
        case F_DOM: c->dom |= 1U << v; break;
        case F_MON: c->mon |= (uint16_t)(1U << v); break;
        case F_DOW: c->dow |= (uint8_t)(1U << (v % 7)); break;
        }
    }
}

/* Day-of-month specials: L, L-n, LW, nW.  *handled is set if the item is
 * one (then the return value says whether it was written right). */
static int parse_dom_special(jh__cron *c, const pctx *p, const char *s, const char *iend,
                             int *handled)
{
    int n, rc = 0;
    const char *q;

    if (upper(*s) == 'L') {
        if (s + 1 == iend) {
            c->dom_last |= 1;
        } else if (s + 2 == iend && upper(s[1]) == 'W') {
            c->dom_lw = 1;
        } else if (s[1] == '-') {
            if (parse_value(p, s + 2, &q, &n) < 0 || q != iend)
                rc = perr(p, s + 2, "%s", "expected a number of days after L-");
            else if (n > 30)
                rc = perr(p, s + 2, "%s", "L-n offset out of range 0-30");
            else
                c->dom_last |= 1U << n;
        } else
            rc = perr(p, s + 1, "%s", "expected L, L-n or LW");
        c->has_day_specials = 1;
        *handled = 1;
        return rc;
    }
    if (iend - s >= 2 && upper(iend[-1]) == 'W') {
        if (parse_value(p, s, &q, &n) < 0 || q != iend - 1)
            rc = perr(p, s, "%s", "expected a day number before W");
        else if ((rc = check_range(p, s, n)) == 0)
            c->dom_w |= 1U << n;
        c->has_day_specials = 1;
        *handled = 1;
    }
    return rc;
}

/* Day-of-week specials: nL, n#k; *handled as above. */
static int parse_dow_special(jh__cron *c, const pctx *p, const char *s, const char *iend,
                             int *handled)
{
    const char *q, *kq;
    int n, k, rc;

    if (parse_value(p, s, &q, &n) < 0 || q >= iend)
        return 0;
    if (upper(*q) == 'L' && q + 1 == iend) {
        if ((rc = check_range(p, s, n)) == 0)
            c->dow_last |= (uint8_t)(1U << (n % 7));
        c->has_day_specials = 1;
        *handled = 1;
        return rc;
    }
    if (*q != '#')
        return 0;
    *handled = 1;
    if ((rc = check_range(p, s, n)) != 0)
        return rc;
    if (parse_value(p, q + 1, &kq, &k) < 0 || kq != iend || k < 1 || k > 5)
        rc = perr(p, q + 1, "%s", "expected #1 to #5 after a weekday");
    else
        c->dow_nth[n % 7] |= (uint8_t)(1U << k);
    c->has_day_specials = 1;
    return rc;
}

/* "*", "?", "a", "a-b", or "a" before a step (a to the field's end): the
 * values an item covers before its step; *end is past them. */
static int parse_range(const pctx *p, const char *s, const char *iend, const char **end,
                       int *lo, int *hi)
{
    /* 7 is another name for Sunday: a weekday range written as all of
     * them ends at 6. */
    int last = p->field == F_DOW ? 6 : finfo[p->field].hi, rc;
    const char *q = s;

    if (*q == '*' || *q == '?') {
        if (*q == '?' && p->field != F_DOM && p->field != F_DOW)
            return perr(p, q, "%s", "'?' is allowed only in the day fields");
        *lo = finfo[p->field].lo;
        *hi = last;
        *end = q + 1;
        return 0;
    }
    if (parse_value(p, q, &q, lo) < 0)
        return perr(p, q, "%s", "expected a number, a name or *");
    if ((rc = check_range(p, s, *lo)) != 0)
        return rc;
    *hi = *lo;
    if (q < iend && *q == '-') {
        const char *h = q + 1;
        if (parse_value(p, h, &q, hi) < 0)
            return perr(p, h, "%s", "expected a number or name after '-'");
        if ((rc = check_range(p, h, *hi)) != 0)
            return rc;
        /* SUN ending a weekday range is 7 (SAT-SUN, MON-SUN), as in Vixie
         * cron and croner. */
        if (p->field == F_DOW && *hi == 0 && *lo > 0 && !(*h >= '0' && *h <= '9'))
            *hi = 7;
        if (*hi < *lo)
            return perr(p, s, "%s", "range start is after its end");
    } else if (q < iend && *q == '/')
        *hi = last; /* a/s: from a to the end */
    *end = q;
    return 0;
}

/* An optional "/step" at q; *step is 1 without one. */
static int parse_step(const pctx *p, const char *q, const char *iend, const char **end,
                      int *step)
{
    int values = finfo[p->field].hi - finfo[p->field].lo + 1;
    const char *st = q + 1;
    char r[16];

    *step = 1;
    *end = q;
    if (q >= iend || *q != '/')
        return 0;
    if (parse_value(p, st, end, step) < 0 || *step < 1)
        return perr(p, st, "%s", "expected a step of 1 or more after '/'");
    if (*step > values) {
        snprintf(r, sizeof(r), "%d", values);
        return perr(p, st, "step larger than the field's range (%s values)", r);
    }
    return 0;
}

static int parse_item(jh__cron *c, const pctx *p, const char *s, const char *iend)
{
    int lo, hi, step, rc = 0, handled = 0;
    const char *q = s;

    if (s == iend)
        return perr(p, s, "%s", "empty list item");
    if (p->field == F_DOM)
        rc = parse_dom_special(c, p, s, iend, &handled);
    else if (p->field == F_DOW)
        rc = parse_dow_special(c, p, s, iend, &handled);
    if (handled)
        return rc;
    if ((rc = parse_range(p, s, iend, &q, &lo, &hi)) < 0 ||
        (rc = parse_step(p, q, iend, &q, &step)) < 0)
        return rc;
    if (q != iend) {
        char ch[8];
        snprintf(ch, sizeof(ch), "%c", *q);
        return perr(p, q, "unexpected character '%s'", ch);
    }
    set_bits(c, p->field, lo, hi, step);
    return 0;
}

static int parse_field(jh__cron *c, pctx *p)
{
    const char *s = p->fstart;

    if (p->field == F_DOM)
        c->dom_star = *s == '*' || *s == '?';
    if (p->field == F_DOW)
        c->dow_star = *s == '*' || *s == '?';
    while (s <= p->fend) {
        const char *comma = s;
        while (comma < p->fend && *comma != ',')
            comma++;
        int rc = parse_item(c, p, s, comma);
        if (rc < 0)
            return rc;
        s = comma + 1;
    }
    return 0;
}

/* ---- day matching ---------------------------------------------------- */

/* The days that L, L-n, nW and LW name in a month of dim days whose 1st
 * is weekday wd1 (bit d = day d). */
static uint32_t dom_special_days(const jh__cron *c, int dim, int wd1)
{
    uint32_t dom = 0;

    for (uint32_t b = c->dom_last; b != 0; b &= b - 1) {
        int d = dim - __builtin_ctz(b);
        if (d >= 1)
            dom |= 1U << d;
    }
    for (uint32_t b = c->dom_w; b != 0; b &= b - 1) {
        int d = __builtin_ctz(b);
        if (d > dim)
            continue;
        int wd = (wd1 + d - 1) % 7;
        if (wd == 6)
            d = d == 1 ? 3 : d - 1;
        else if (wd == 0)
            d = d == dim ? d - 2 : d + 1;
        dom |= 1U << d;
    }
    if (c->dom_lw) {
        int d = dim, wd = (wd1 + dim - 1) % 7;
        d -= wd == 6 ? 1 : wd == 0 ? 2 : 0;
        dom |= 1U << d;
    }
    return dom;
}

/* The days the day-of-week field matches, nL and n#k included. */
static uint32_t dow_days(const jh__cron *c, int dim, int wd1)
{
    uint32_t dow = 0;

    /* Weekday bits: days with weekday w are (w - wd1 + 7) % 7 + 1 + 7k. */
    for (int w = 0; w < 7; w++) {
        int first = (w - wd1 + 7) % 7 + 1;
        uint8_t nth = c->dow_nth[w];
        int last = first + 7 * ((dim - first) / 7);
        if (c->dow & (1U << w))
            for (int d = first; d <= dim; d += 7)
                dow |= 1U << d;
        if (c->dow_last & (1U << w))
            dow |= 1U << last;
        for (int k = 1; k <= 5 && nth; k++)
            if ((nth & (1U << k)) && first + 7 * (k - 1) <= dim)
                dow |= 1U << (first + 7 * (k - 1));
    }
    return dow;
}

/* Bit d set for each day d of the month (1..dim) that matches, given the
 * weekday of the 1st. */
static uint32_t day_mask(const jh__cron *c, int dim, int wd1)
{
    uint32_t all = ((1U << dim) - 1) << 1;
    uint32_t dom = c->dom & all, dow;

    if (c->has_day_specials)
        dom |= dom_special_days(c, dim, wd1);
    if (c->dow_all)
        return (!c->dom_star && !c->dow_star) ? all : dom;
    dow = dow_days(c, dim, wd1);
    /*
     * crontab(5): "if both fields are restricted (i.e., don't start with
     * *), the command will be run when either field matches the current
     * time" - bizarre, but standard.  A field is restricted when it does
     * not start with '*' (or '?'): a day-of-month of "every 5th day" written
     * with a star and a step, with FRI, means Fridays that are the 1st, 6th,
     * 11th... (AND), while `0 0 0 13 * FRI` means every 13th and every
     * Friday (OR), as in Vixie cron and robfig/cron.
     */
    if (!c->dom_star && !c->dow_star)
        return dom | dow;
    return dom & dow;
}

static uint32_t month_days(const jh__cron *c, int y, int m, int *dim)
{
    *dim = jh__days_in_month(y, m);
    return day_mask(c, *dim, jh__weekday(jh__days_from_civil(y, m, 1)));
}

/* Can any day of any month of the expression ever match?  Checked at
 * parse time so next() never searches in vain. */
static int can_fire(const jh__cron *c)
{
    for (int m = 1; m <= 12; m++) {
        if (!(c->mon & (1U << m)))
            continue;
        for (int leap = 0; leap < 2; leap++) {
            int dim = m == 2 ? 28 + leap : jh__days_in_month(2001, m);
            for (int wd1 = 0; wd1 < 7; wd1++)
                if (day_mask(c, dim, wd1) != 0)
                    return 1;
        }
    }
    return 0;
}

/* ---- next ------------------------------------------------------------ */

static int next_bit64(uint64_t set, int from)
{
    uint64_t m = from >= 64 ? 0 : set & (~0ULL << from);
    return m ? __builtin_ctzll(m) : -1;
}

/*
 * The search state: a wall time as civil fields.  A field that moves
 * restarts every field below it at its lowest value (at_*), and a field
 * with no match left steps the one above it (next_*), so the time only
 * ever moves forward.  (`inline` is not decoration here: it lets gcc keep
 * the struct in registers; without it next() was 10% slower.)
 */
typedef struct wall {
    int year, mon, day, hour, min, sec;
    int dim;        /* days in the month `mon` */
} wall;

static inline void at_sec(wall *w, int v) { w->sec = v; }
static inline void at_min(wall *w, int v) { w->min = v, w->sec = 0; }
static inline void at_hour(wall *w, int v) { w->hour = v, at_min(w, 0); }
static inline void at_day(wall *w, int v) { w->day = v, at_hour(w, 0); }
static inline void at_mon(wall *w, int v) { w->mon = v, at_day(w, 1); }

static inline void next_year(wall *w) { w->year++, at_mon(w, 1); }
static inline void next_mon(wall *w) { w->mon < 12 ? at_mon(w, w->mon + 1) : next_year(w); }
static inline void next_day(wall *w) { w->day < w->dim ? at_day(w, w->day + 1) : next_mon(w); }
static inline void next_hour(wall *w) { w->hour < 23 ? at_hour(w, w->hour + 1) : next_day(w); }
static inline void next_min(wall *w) { w->min < 59 ? at_min(w, w->min + 1) : next_hour(w); }

/* Move *field to its next value in `set` at or after the current one
 * (with at(), which restarts the fields below).  Returns 0 when there is
 * none: up() has then stepped the field above, and the search goes on. */
static inline int fit(wall *w, int *field, uint64_t set, void (*at)(wall *, int),
                      void (*up)(wall *))
{
    int v = next_bit64(set, *field);

    if (v < 0) {
        up(w);
        return 0;
    }
    if (v != *field)
        at(w, v);
    return 1;
}

/*
 * The first wall time >= `local` (seconds, civil fields as if UTC) whose
 * fields match.  Returns 0, or -ERANGE past year MAX_YEAR.
 */
static int next_local(const jh__cron *c, int64_t local, int64_t *out)
{
    jh__civil t;
    wall w;

    jh__secs_to_civil(local, &t);
    w = (wall){t.year, t.mon, t.mday, t.hour, t.min, t.sec, 0};
    for (int guard = 0; guard < 5000; guard++) {
        if (w.year > MAX_YEAR)
            return -ERANGE;
        if (!fit(&w, &w.mon, c->mon, at_mon, next_year))
            continue;
        uint32_t days = month_days(c, w.year, w.mon, &w.dim);
        if (fit(&w, &w.day, days, at_day, next_mon) &&
            fit(&w, &w.hour, c->hour, at_hour, next_day) &&
            fit(&w, &w.min, c->min, at_min, next_hour) &&
            fit(&w, &w.sec, c->sec, at_sec, next_min)) {
            *out = jh__days_from_civil(w.year, w.mon, w.day) * 86400 + w.hour * 3600 +
                   w.min * 60 + w.sec;
            return 0;
        }
    }
    return -ERANGE;
}

/*
 * Daylight saving time (the rule cron(8) documents for Vixie cron and
 * cronie, applied at one-second resolution):
 *   - A job is *wall-clock* when neither its minute nor its hour field
 *     starts with '*'.  A wall-clock time that falls in a spring-forward
 *     gap fires once, at the first instant after the gap (several skipped
 *     times coalesce into that one run); a wall-clock time that occurs
 *     twice in a fall-back fires only on its first occurrence.
 *   - Every other job follows elapsed time: times that do not exist are
 *     skipped and repeated times fire in both passes.
 * Implementation: walk the zone's constant-offset periods.  Inside one
 * period local time is UTC plus a constant, so the first matching wall
 * time maps to exactly one instant; if it lies beyond the period, the
 * search continues in the next period (gap times are thus skipped, and
 * repeated times are found again in the second pass) - unless the job is
 * wall-clock, where a match inside a gap fires at the gap's end, and a
 * match in the repeated part of a period after a fall-back is skipped.
 */
static int next_zoned(const jh__cron *c, int64_t u0, int64_t *out)
{
    for (int guard = 0; guard < 100000; guard++) {
        int64_t start, end, cand;
        int off, off_prev, off_next, rc;

        jh__tz_segment(c->tz, u0, &start, &end, &off, &off_prev, &off_next);
        if (c->wall && start != INT64_MIN && off_prev > off && u0 - start < off_prev - off) {
            /* second pass of repeated wall times: already fired in the first */
            u0 = start + (off_prev - off);
            continue;
        }
        rc = next_local(c, u0 + off, &cand);
        if (rc < 0)
            return rc;
        if (end == INT64_MAX || cand - off < end) {
            *out = cand - off;
            return 0;
        }
        if (c->wall && off_next > off && cand < end + off_next) {
            *out = end; /* in the gap: fire once, when the gap ends */
            return 0;
        }
        /*
         * The match is beyond this period.  Jump close to it instead of
         * walking every period in between: no instant in [end, cand - off -
         * 3 days) can show a matching wall time, because its wall time lies
         * between local(u0) and cand (offsets differ by < 3 days), where
         * cand is the first match.  The one exception is a fall-back at
         * `end`, whose repeated times may lie below local(u0): step there.
         */
        if (off_next < off || cand - off - 3 * 86400 <= end)
            u0 = end;
        else
            u0 = cand - off - 3 * 86400;
    }
    return -ERANGE;
}

int jh__cron_next(const jh__cron *c, int64_t after_ns, int64_t *next_ns)
{
    int64_t u0, out;
    int rc;

    if (c == NULL || next_ns == NULL)
        return -EINVAL;
    if (c->every > 0) {
        if (after_ns > INT64_MAX - c->every)
            return -ERANGE;
        *next_ns = after_ns + c->every;
        return 0;
    }
    u0 = jh__floordiv(after_ns, NS) + 1;
    if (c->tz == NULL || jh__tz_next_transition(c->tz, INT64_MIN / 2, NULL, NULL) == INT64_MAX) {
        int off = c->tz ? jh__tz_offset(c->tz, 0) : 0;
        rc = next_local(c, u0 + off, &out);
        out -= off;
    } else
        rc = next_zoned(c, u0, &out);
    if (rc < 0)
        return rc;
    if (out > INT64_MAX / NS)
        return -ERANGE;
    *next_ns = out * NS;
    return 0;
}

/* ---- parse ----------------------------------------------------------- */

static const struct macro {
    const char *name, *expr;
} macros[] = {
    {"@yearly", "0 0 0 1 1 *"}, {"@annually", "0 0 0 1 1 *"}, {"@monthly", "0 0 0 1 * *"},
    {"@weekly", "0 0 0 * * 0"}, {"@daily", "0 0 0 * * *"},    {"@midnight", "0 0 0 * * *"},
    {"@hourly", "0 0 * * * *"},
};

static const char *skip_blanks(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* The blank-separated fields of body, at most 7 (7 = too many). */
static int split_fields(const char *body, const char *fs[7], const char *fe[7])
{
    const char *s = body;
    int n = 0;

    while (n < 7 && *(s = skip_blanks(s)) != '\0') {
        fs[n] = s;
        while (*s && *s != ' ' && *s != '\t')
            s++;
        fe[n++] = s;
    }
    return n;
}

/* What next() wants to know about the parsed fields, decided once. */
static void derive(jh__cron *c, const char *const *fs, int base)
{
    c->wall = *fs[base == F_SEC ? 1 : 0] != '*' && *fs[base == F_SEC ? 2 : 1] != '*';
    c->dow_all = c->dow == 0x7f && c->dow_last == 0 &&
                 !(c->dow_nth[0] | c->dow_nth[1] | c->dow_nth[2] | c->dow_nth[3] |
                   c->dow_nth[4] | c->dow_nth[5] | c->dow_nth[6]);
}

static int parse_fields(jh__cron *c, const char *expr, const char *body, jh_err *e)
{
    const char *fs[7], *fe[7];
    int n = split_fields(body, fs, fe);
    int base = n == 5 ? F_MIN : F_SEC;

    if (n != 5 && n != 6)
        return jh__err_set(e, -EINVAL,
                          "cron: \"%s\": expected 6 fields (sec min hour day month weekday) "
                          "or 5 (min hour day month weekday), got %d%s",
                          expr, n, n == 7 ? " or more" : "");
    if (n == 5)
        c->sec = 1;
    for (int i = 0; i < n; i++) {
        pctx p = {expr, base + i, i + 1, fs[i], fe[i], e};
        int rc = parse_field(c, &p);
        if (rc < 0)
            return rc;
    }
    derive(c, fs, base);
    if (!can_fire(c))
        return jh__err_set(e, -EINVAL,
                          "cron: \"%s\": can never fire: no day matches the day-of-month and "
                          "day-of-week fields in the months given",
                          expr);
    return 0;
}

/* "@every DURATION", from just after "@every". */
static int parse_every(jh__cron *c, const char *expr, const char *d, jh_err *e)
{
    jh_err de;
    int rc = jh__duration_parse(skip_blanks(d), 0, &c->every, &de);

    if (rc < 0)
        return jh__err_set(e, rc, "cron: \"%s\": @every: %s", expr, de.msg);
    if (c->every < JH__EVERY_MIN_NS)
        return jh__err_set(e, -EINVAL, "cron: \"%s\": @every: below the minimum of 1ms", expr);
    return 0;
}

/* "@every D" or one of the macros, alone on the line. */
static int parse_macro(jh__cron *c, const char *expr, const char *body, jh_err *e)
{
    if (strncmp(body, "@every", 6) == 0 && (body[6] == ' ' || body[6] == '\t'))
        return parse_every(c, expr, body + 6, e);
    for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++) {
        size_t ml = strlen(macros[i].name);
        if (strncmp(body, macros[i].name, ml) == 0 &&
            (body[ml] == '\0' || body[ml] == ' ' || body[ml] == '\t')) {
            if (*skip_blanks(body + ml) != '\0')
                break;
            return parse_fields(c, expr, macros[i].expr, e);
        }
    }
    return jh__err_set(e, -EINVAL,
                      "cron: \"%s\": unknown macro (expected @yearly, @annually, @monthly, "
                      "@weekly, @daily, @midnight, @hourly or @every DURATION)",
                      expr);
}

int jh__cron_parse(const char *expr, const jh__tz *tz, jh__cron **out, jh_err *e)
{
    size_t len;
    jh__cron *c;
    const char *body;
    int rc;

    if (expr == NULL || out == NULL)
        return jh__err_set(e, -EINVAL, "cron: no expression");
    len = strlen(expr);
    if (len > 1024)
        return jh__err_set(e, -EINVAL, "cron: expression longer than 1024 characters");
    c = calloc(1, sizeof(*c) + len + 1);
    if (c == NULL)
        return jh__err_set(e, -ENOMEM, "cron: out of memory");
    memcpy(c->text, expr, len + 1);
    c->tz = tz;
    body = skip_blanks(expr);
    if (*body == '\0')
        rc = jh__err_set(e, -EINVAL, "cron: empty expression");
    else if (*body == '@')
        rc = parse_macro(c, expr, body, e);
    else
        rc = parse_fields(c, expr, body, e);
    if (rc < 0) {
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void jh__cron_free(jh__cron *c)
{
    free(c);
}

int jh__cron_every(const jh__cron *c, int64_t *every_ns)
{
    if (c == NULL || c->every == 0)
        return 0;
    if (every_ns)
        *every_ns = c->every;
    return 1;
}

const jh__tz *jh__cron_tz(const jh__cron *c)
{
    return c ? c->tz : NULL;
}

const char *jh__cron_text(const jh__cron *c)
{
    return c ? c->text : NULL;
}

int jh__cron_equal(const jh__cron *a, const jh__cron *b)
{
    if (a == b)
        return 1;
    if (a == NULL || b == NULL)
        return 0;
    return a->tz == b->tz && strcmp(a->text, b->text) == 0;
}

void jh__cron_format_time(const jh__tz *tz, int64_t ns, char *buf, size_t len)
{
    int64_t s = jh__floordiv(ns, NS);
    int ms = (int)((ns - s * NS) / 1000000);
    int off;
    jh__civil c;

    jh__tz_to_local(tz, s, &c, &off);
    int a = off < 0 ? -off : off;
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03d%c%02d:%02d", c.year, c.mon, c.mday,
             c.hour, c.min, c.sec, ms, off < 0 ? '-' : '+', a / 3600, a / 60 % 60);
}
