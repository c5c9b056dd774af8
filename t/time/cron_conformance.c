/*
 * cron_conformance.t - t/data/cron_cases.tsv against the engine: one TAP
 * test per row (expression, zone, from, expected next times).  The table
 * comes from croner and from hand derivation (tools/gen_cron_cases.mjs),
 * never from this engine.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "time/cron.h"
#include "lib/tap.h"

static int64_t parse_utc(const char *s)
{
    int y, mo, d, h, mi, se;
    jh__civil c;
    if (sscanf(s, "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &se) != 6)
        return INT64_MIN;
    c = (jh__civil){y, mo, d, h, mi, se, 0, 0};
    return jh__civil_to_secs(&c) * 1000000000LL;
}

int main(void)
{
    FILE *f = fopen(tap_src("t/data/cron_cases.tsv"), "r");
    char line[2048];
    int lineno = 0;

    if (f == NULL)
        bail("cannot open %s", tap_src("t/data/cron_cases.tsv"));
    plan_lazy();
    while (fgets(line, sizeof(line), f) != NULL) {
        char *col[5], *save = NULL, got[512] = "", buf[64];
        const jh__tz *tz;
        jh__cron *c;
        jh_err e;
        int n = 0;

        lineno++;
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        for (char *p = strtok_r(line, "\t", &save); p && n < 5; p = strtok_r(NULL, "\t", &save))
            col[n++] = p;
        if (n != 5) {
            ok(0, "line %d: 5 tab-separated columns", lineno);
            continue;
        }
        int64_t t = parse_utc(col[2]);
        if (jh__tz_get(col[1], &tz, &e) < 0 || jh__cron_parse(col[0], tz, &c, &e) < 0) {
            ok(0, "line %d: \"%s\" in %s: %s", lineno, col[0], col[1], e.msg);
            continue;
        }
        int want_n = 1;
        for (const char *p = col[3]; *p; p++)
            want_n += *p == ' ';
        for (int k = 0; k < want_n; k++) {
            if (jh__cron_next(c, t, &t) < 0)
                break;
            jh__cron_format_time(tz, t, buf, sizeof(buf));
            if (k)
                strcat(got, " ");
            strcat(got, buf);
        }
        is_str(got, col[3], "line %d (%s): \"%s\" in %s after %s", lineno, col[4], col[0],
               col[1], col[2]);
        jh__cron_free(c);
    }
    fclose(f);
    jh__tz_cache_free();
    return done_testing();
}
