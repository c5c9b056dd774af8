/*
 * tap.h - a tiny TAP producer for the C tests (after c-tap-harness).
 *
 *   plan(3);  or  plan_lazy();  ... done_testing();
 *   ok(cond, "name %d", i);  is_int(got, want, "name");
 *   is_str(got, want, "name");  like(got, "substring", "name");
 *   skip_all("no redis-server");  diag("note %s", x);  bail("cannot start");
 *
 * The exit status is non-zero when any test failed or the plan is off.
 * Paths: tap_srcdir() / tap_builddir() give the top source and build dirs
 * (from $top_srcdir / $top_builddir, set by `make check`; "." otherwise).
 */
#ifndef JH_TAP_H
#define JH_TAP_H

#include <stdint.h>

void plan(int n);
void plan_lazy(void);
int done_testing(void);   /* prints the plan if lazy; returns exit status */

int ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int is_int(long long got, long long want, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int is_str(const char *got, const char *want, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Passes when `got` contains `needle`. */
int like(const char *got, const char *needle, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void skip(const char *reason, ...) __attribute__((format(printf, 1, 2)));
void skip_all(const char *reason, ...) __attribute__((format(printf, 1, 2), noreturn));
void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void bail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

const char *tap_srcdir(void);
const char *tap_builddir(void);
/* Path under srcdir/builddir in a static rotating buffer (4 slots). */
const char *tap_src(const char *rel);
const char *tap_build(const char *rel);

int tap_failed(void);

#endif
