/*
 * log.h - one line per event to a file descriptor, logfmt or JSON.
 *
 *   ts=2026-11-22T12:00:00.000123Z level=info event=run.finish job=tick ...
 *   {"ts":"2026-11-22T12:00:00.000123Z","level":"info","event":"run.finish",...}
 *
 * Thread-safe: each line is formatted into a private buffer and written
 * with one write(2), so lines from different threads never interleave.
 * Values are quoted (logfmt: "..." with \" \\ \n escapes; JSON: string
 * escapes) when they need it.  Lines longer than 8 KiB are truncated with
 * a `truncated=true` field, never split.
 */
#ifndef JH_LOG_H
#define JH_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "config/values.h" /* enum jh__log_format */

typedef struct jh__logger jh__logger;

/* Typed field.  JH_KV_TIME prints Unix seconds with six decimals
 * (1795294208.000412, truncated to the microsecond) from a ns value;
 * JH_KV_MS prints a ns value as milliseconds with up to three decimals,
 * truncated to the microsecond, trailing zeros trimmed (3.1, 0.004, 2);
 * JH_KV_RAW is a
 * user-supplied logfmt fragment ("rows=3 msg=\"a b\"") that is appended
 * as is in logfmt and split into fields in JSON. */
enum jh__kv_type {
    JH_KV_STR, JH_KV_INT, JH_KV_UINT, JH_KV_DOUBLE, JH_KV_TIME, JH_KV_MS,
    JH_KV_BOOL, JH_KV_RAW
};

typedef struct jh__kv {
    const char *key;
    int type;
    union {
        const char *s;
        int64_t i;
        uint64_t u;
        double d;
    } v;
} jh__kv;

#define JH_KV_S(k, x) ((jh__kv){.key = (k), .type = JH_KV_STR, .v.s = (x)})
#define JH_KV_I(k, x) ((jh__kv){.key = (k), .type = JH_KV_INT, .v.i = (x)})
#define JH_KV_U(k, x) ((jh__kv){.key = (k), .type = JH_KV_UINT, .v.u = (x)})
#define JH_KV_D(k, x) ((jh__kv){.key = (k), .type = JH_KV_DOUBLE, .v.d = (x)})
#define JH_KV_T(k, x) ((jh__kv){.key = (k), .type = JH_KV_TIME, .v.i = (x)})
#define JH_KV_MSEC(k, x) ((jh__kv){.key = (k), .type = JH_KV_MS, .v.i = (x)})
#define JH_KV_B(k, x) ((jh__kv){.key = (k), .type = JH_KV_BOOL, .v.i = (x)})
#define JH_KV_RAWF(x) ((jh__kv){.key = NULL, .type = JH_KV_RAW, .v.s = (x)})

/* fd is not closed by jh__log_free.  min_level is a JH_LOG_* level. */
int jh__log_new(int fd, int format, int min_level, jh__logger **out);
void jh__log_free(jh__logger *log);
void jh__log_set_format(jh__logger *log, int format);
void jh__log_set_level(jh__logger *log, int min_level);
int jh__log_enabled(const jh__logger *log, int level);

/* Parse "logfmt"/"json" and "debug"/"info"/"warn"/"error". */
int jh__log_parse_format(const char *s, int *out);
int jh__log_parse_level(const char *s, int *out);

/* Write one event with n fields.  Never fails visibly (a failed write
 * is counted in jh__log_dropped()). */
void jh__log_kv(jh__logger *log, int level, const char *event, const jh__kv *kv, size_t n);

/* Convenience: fields as a printf-style logfmt fragment. */
void jh__log_f(jh__logger *log, int level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void jh__log_vf(jh__logger *log, int level, const char *event, const jh__kv *kv,
               size_t n, const char *fmt, va_list ap);

/* The same for a plugin's fragment (jh_log): parsed into pairs and written
 * back as fields of the format, values quoted and escaped, so it cannot
 * split or forge a field; a key that a standard field (ts level event job
 * plugin handler run_id truncated) or one of kv has is renamed plugin.KEY;
 * what does not parse as key=value goes into msg. */
void jh__log_vplugin(jh__logger *log, int level, const char *event, const jh__kv *kv,
                    size_t n, const char *fmt, va_list ap);

uint64_t jh__log_dropped(const jh__logger *log);

/* The fd and whether the format is JSON (async-signal-safe: fatal.c). */
int jh__log_fd(const jh__logger *log);
int jh__log_json(const jh__logger *log);

#endif
