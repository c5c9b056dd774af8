/*
 * err.h - one error convention for the whole host.
 *
 * Every function that can fail returns 0 (or a count) on success and a
 * negative errno-style code on failure.  Functions that have something to
 * tell the user also take a `jh_err *` (which may be NULL) and fill it with
 * a message that says what failed, where and why, e.g.
 *   "conf.d/10-report.ini:7: cron: field 3 (hour) \"25\": value out of range 0-23 at column 7"
 */
#ifndef JH_ERR_H
#define JH_ERR_H

#include <stddef.h>

#define JH_ERRMSG_MAX 1024

typedef struct jh_err {
    int code;                 /* negative errno-style code, 0 if none */
    char msg[JH_ERRMSG_MAX];  /* NUL-terminated, "" if none */
} jh_err;

/* Record code and message in *e (if e is not NULL); returns code, so a
 * caller can write `return jh__err_set(e, -EINVAL, "...")`. */
int jh__err_set(jh_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the message already in *e with "prefix: " (e.g. a file:line). */
void jh__err_prefix(jh_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void jh__err_clear(jh_err *e);

#endif
