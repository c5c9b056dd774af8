#include "tap.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int planned = -1;
static int lazy;
static int count;
static int failed;

void plan(int n)
{
    planned = n;
    printf("1..%d\n", n);
    fflush(stdout);
}

void plan_lazy(void)
{
    lazy = 1;
}

int done_testing(void)
{
    if (lazy)
        printf("1..%d\n", count);
    else if (planned >= 0 && planned != count) {
        diag("planned %d tests but ran %d", planned, count);
        failed++;
    }
    fflush(stdout);
    return failed ? 1 : 0;
}

static int vresult(int cond, const char *fmt, va_list ap)
{
    count++;
    printf("%s %d - ", cond ? "ok" : "not ok", count);
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    if (!cond)
        failed++;
    return cond;
}

int ok(int cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vresult(cond, fmt, ap);
    va_end(ap);
    return cond;
}

int is_int(long long got, long long want, const char *fmt, ...)
{
    va_list ap;
    int cond = got == want;
    va_start(ap, fmt);
    vresult(cond, fmt, ap);
    va_end(ap);
    if (!cond)
        diag("     got: %lld\n#   wanted: %lld", got, want);
    return cond;
}

int is_str(const char *got, const char *want, const char *fmt, ...)
{
    va_list ap;
    int cond = (got == NULL || want == NULL) ? got == want : strcmp(got, want) == 0;
    va_start(ap, fmt);
    vresult(cond, fmt, ap);
    va_end(ap);
    if (!cond)
        diag("     got: \"%s\"\n#   wanted: \"%s\"", got ? got : "(null)",
             want ? want : "(null)");
    return cond;
}

int like(const char *got, const char *needle, const char *fmt, ...)
{
    va_list ap;
    int cond = got != NULL && needle != NULL && strstr(got, needle) != NULL;
    va_start(ap, fmt);
    vresult(cond, fmt, ap);
    va_end(ap);
    if (!cond)
        diag("     got: \"%s\"\n#   wanted a string containing: \"%s\"",
             got ? got : "(null)", needle ? needle : "(null)");
    return cond;
}

void skip(const char *reason, ...)
{
    va_list ap;
    count++;
    printf("ok %d # skip ", count);
    va_start(ap, reason);
    vprintf(reason, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

void skip_all(const char *reason, ...)
{
    va_list ap;
    printf("1..0 # skip ");
    va_start(ap, reason);
    vprintf(reason, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    exit(0);
}

void diag(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    printf("# ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

void bail(const char *fmt, ...)
{
    va_list ap;
    printf("Bail out! ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    exit(255);
}

const char *tap_srcdir(void)
{
    const char *d = getenv("top_srcdir");
    return d && *d ? d : ".";
}

const char *tap_builddir(void)
{
    const char *d = getenv("top_builddir");
    return d && *d ? d : ".";
}

static const char *join(const char *dir, const char *rel)
{
    static char bufs[4][4096];
    static int slot;
    char *b = bufs[slot++ % 4];
    snprintf(b, sizeof(bufs[0]), "%s/%s", dir, rel);
    return b;
}

const char *tap_src(const char *rel)
{
    return join(tap_srcdir(), rel);
}

const char *tap_build(const char *rel)
{
    return join(tap_builddir(), rel);
}

int tap_failed(void)
{
    return failed;
}
