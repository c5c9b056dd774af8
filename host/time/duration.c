#include "duration.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define NS_PER_US 1000LL
#define NS_PER_MS 1000000LL
#define NS_PER_S 1000000000LL
#define MAX_NS (100LL * 366 * 86400 * NS_PER_S)

static const struct unit {
    const char *name;
    int64_t ns;
} units[] = {
    /* longest names first so "ms" is not read as "m" followed by "s" */
    {"ns", 1}, {"us", NS_PER_US}, {"\xc2\xb5s", NS_PER_US}, {"ms", NS_PER_MS},
    {"s", NS_PER_S}, {"m", 60 * NS_PER_S}, {"h", 3600 * NS_PER_S},
    {"d", 86400 * NS_PER_S},
};

static const struct unit *match_unit(const char *p, size_t *len)
{
    const struct unit *best = NULL;
    size_t best_len = 0;

    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        size_t n = strlen(units[i].name);
        if (n > best_len && strncmp(p, units[i].name, n) == 0) {
            best = &units[i];
            best_len = n;
        }
    }
    *len = best_len;
    return best;
}

/* A number with an optional fraction ("90", "1.5", ".25"): whole part,
 * and the first nine decimals as frac / scale.  -ERANGE past MAX_NS. */
typedef struct number {
    int64_t whole, frac, scale;
    int digits;
} number;

static int parse_number(const char **p, number *n)
{
    const char *s = *p;

    *n = (number){0, 0, 1, 0};
    while (*s >= '0' && *s <= '9') {
        /* checked before the multiply: 20 digits overflow int64 */
        if (n->whole > MAX_NS / 10)
            return -ERANGE;
        n->whole = n->whole * 10 + (*s++ - '0');
        n->digits++;
    }
    if (*s == '.')
        for (s++; *s >= '0' && *s <= '9'; s++, n->digits++)
            if (n->scale < 1000000000LL) {
                n->frac = n->frac * 10 + (*s - '0');
                n->scale *= 10;
            }
    *p = s;
    return 0;
}

static int too_big(const char *s, jh_err *e)
{
    return jh__err_set(e, -ERANGE, "duration \"%s\": longer than 100 years", s);
}

/* The sum of the terms of s ("1h30m" = 1h + 30m). */
static int sum_terms(const char *s, int64_t *total, jh_err *e)
{
    const char *p = s;

    while (*p != '\0') {
        number n;
        size_t ulen;
        const struct unit *u;

        if (parse_number(&p, &n) < 0)
            return too_big(s, e);
        if (n.digits == 0)
            return jh__err_set(e, -EINVAL,
                              "duration \"%s\": expected a number at column %d",
                              s, (int)(p - s) + 1);
        u = match_unit(p, &ulen);
        if (u == NULL)
            return jh__err_set(e, -EINVAL,
                              "duration \"%s\": expected a unit (ns, us, ms, s, m, h, d) at column %d",
                              s, (int)(p - s) + 1);
        p += ulen;
        if (n.whole > MAX_NS / u->ns)
            return too_big(s, e);
        *total += n.whole * u->ns + (int64_t)((double)n.frac / (double)n.scale * (double)u->ns);
        if (*total > MAX_NS)
            return too_big(s, e);
    }
    return 0;
}

int jh__duration_parse(const char *s, int allow_zero, int64_t *out_ns, jh_err *e)
{
    int64_t total = 0;
    int rc;

    if (s == NULL || *s == '\0')
        return jh__err_set(e, -EINVAL, "duration \"\": empty, expected e.g. 5s, 250ms, 1h30m");
    if (strcmp(s, "0") != 0 && (rc = sum_terms(s, &total, e)) < 0)
        return rc;
    if (total == 0 && !allow_zero)
        return jh__err_set(e, -EINVAL, "duration \"%s\": must be greater than zero", s);
    *out_ns = total;
    return 0;
}

void jh__duration_format(int64_t ns, char *buf, size_t len)
{
    static const struct unit steps[] = {
        {"d", 86400 * NS_PER_S}, {"h", 3600 * NS_PER_S}, {"m", 60 * NS_PER_S},
        {"s", NS_PER_S}, {"ms", NS_PER_MS}, {"us", NS_PER_US}, {"ns", 1},
    };
    size_t off = 0;

    if (ns <= 0) {
        snprintf(buf, len, "0");
        return;
    }
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]) && ns > 0; i++) {
        int64_t q = ns / steps[i].ns;
        if (q == 0)
            continue;
        ns -= q * steps[i].ns;
        int n = snprintf(buf + off, off < len ? len - off : 0, "%lld%s",
                         (long long)q, steps[i].name);
        if (n > 0)
            off += (size_t)n;
    }
}
