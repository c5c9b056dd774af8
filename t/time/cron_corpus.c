/*
 * cron_corpus.t - replay every fuzz corpus file (t/fuzz/corpus) through the
 * parser and next(), so inputs the fuzzer once found interesting stay
 * covered by `make check` (under ASan+UBSan in CI).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "time/cron.h"
#include "lib/tap.h"

int main(void)
{
    const char *dir = tap_src("t/fuzz/corpus");
    DIR *d = opendir(dir);
    struct dirent *de;
    const jh__tz *ny;
    int files = 0, parsed = 0, bad = 0;
    jh_err e;

    if (d == NULL)
        bail("cannot open %s", dir);
    plan_lazy();
    jh__tz_get("America/New_York", &ny, &e);
    while ((de = readdir(d)) != NULL) {
        char path[4096], buf[300];
        FILE *f;
        size_t n;
        jh__cron *c;

        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if ((f = fopen(path, "rb")) == NULL)
            continue;
        n = fread(buf, 1, 255, f);
        fclose(f);
        buf[n] = '\0';
        files++;
        if (jh__cron_parse(buf, ny, &c, &e) != 0) {
            /* a refusal must say why, naming cron */
            if (strncmp(e.msg, "cron:", 5) != 0 && bad++ < 3)
                diag("%s: refusal without a cron: message: %s", de->d_name, e.msg);
            continue;
        }
        parsed++;
        int64_t t = 1772935200LL * 1000000000, prev = t;
        for (int k = 0; k < 4 && jh__cron_next(c, t, &t) == 0; k++) {
            if (t <= prev && bad++ < 3)
                diag("%s: next went backwards", de->d_name);
            prev = t;
        }
        jh__cron_free(c);
    }
    closedir(d);
    ok(files >= 50, "replayed %d corpus files (%d parse)", files, parsed);
    is_int(bad, 0, "every refusal explains itself and next() moves forward");
    jh__tz_cache_free();
    return done_testing();
}
