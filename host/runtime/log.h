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

typedef struct jh_logger jh_logger;

enum jh_log_format { JH_LOGFMT_LOGFMT = 0, JH_LOGFMT_JSON = 1 };

/* Typed field.  JH_KV_TIME prints Unix seconds with six decimals
 * (1795294208.000412, truncated to the microsecond) from a ns value;
 * JH_KV_MS prints a ns value as milliseconds with up to three decimals,
 * truncated to the microsecond, trailing zeros trimmed (3.1, 0.004, 2);
 * JH_KV_RAW is a
 * user-supplied logfmt fragment ("rows=3 msg=\"a b\"") that is appended
 * as is in logfmt and split into fields in JSON. */
enum jh_kv_type {
    JH_KV_STR, JH_KV_INT, JH_KV_UINT, JH_KV_DOUBLE, JH_KV_TIME, JH_KV_MS,
    JH_KV_BOOL, JH_KV_RAW
};

typedef struct jh_kv {
    const char *key;
    int type;
    union {
        const char *s;
        int64_t i;
        uint64_t u;
        double d;
    } v;
} jh_kv;

#define JH_KV_S(k, x) ((jh_kv){.key = (k), .type = JH_KV_STR, .v.s = (x)})
#define JH_KV_I(k, x) ((jh_kv){.key = (k), .type = JH_KV_INT, .v.i = (x)})
#define JH_KV_U(k, x) ((jh_kv){.key = (k), .type = JH_KV_UINT, .v.u = (x)})
#define JH_KV_D(k, x) ((jh_kv){.key = (k), .type = JH_KV_DOUBLE, .v.d = (x)})
#define JH_KV_T(k, x) ((jh_kv){.key = (k), .type = JH_KV_TIME, .v.i = (x)})
#define JH_KV_MSEC(k, x) ((jh_kv){.key = (k), .type = JH_KV_MS, .v.i = (x)})
#define JH_KV_B(k, x) ((jh_kv){.key = (k), .type = JH_KV_BOOL, .v.i = (x)})
#define JH_KV_RAWF(x) ((jh_kv){.key = NULL, .type = JH_KV_RAW, .v.s = (x)})

/* fd is not closed by jh_log_free.  min_level is a JH_LOG_* level. */
int jh_log_new(int fd, int format, int min_level, jh_logger **out);
void jh_log_free(jh_logger *log);
void jh_log_set_format(jh_logger *log, int format);
void jh_log_set_level(jh_logger *log, int min_level);
int jh_log_enabled(const jh_logger *log, int level);

/* Parse "logfmt"/"json" and "debug"/"info"/"warn"/"error". */
int jh_log_parse_format(const char *s, int *out);
int jh_log_parse_level(const char *s, int *out);

/* Write one event with n fields.  Never fails visibly (a failed write
 * is counted in jh_log_dropped()). */
void jh_log_kv(jh_logger *log, int level, const char *event, const jh_kv *kv, size_t n);

/* Convenience: fields as a printf-style logfmt fragment. */
void jh_log_f(jh_logger *log, int level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void jh_log_vf(jh_logger *log, int level, const char *event, const jh_kv *kv,
               size_t n, const char *fmt, va_list ap);

uint64_t jh_log_dropped(const jh_logger *log);

#endif
