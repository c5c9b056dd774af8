/*
 * log.c - one event per line, logfmt or JSON, one write(2) per line.
 *
 * This is on the hot path of every run (run.finish is logged for each), so
 * lines are built with hand-written appenders into a stack buffer: no
 * malloc, no stdio, no lock.  A line that does not fit in LINE_MAX bytes is
 * cut at a field boundary and marked truncated=true; it is never split
 * into two lines, so a reader can always trust one line = one event.
 */
#include "log.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "time/civil.h"
#include "jobhost.h"

#define LINE_MAX_ 8192
/* Room kept free for the truncation marker and the newline. */
#define LINE_RESERVE 40

struct jh__logger {
    int fd;
    atomic_int format;
    atomic_int min_level;
    atomic_ullong dropped;
};

static const char *const level_names[] = {"debug", "info", "warn", "error"};

typedef struct line {
    char buf[LINE_MAX_];
    size_t len;
    int json;
    int truncated;
} line;

int jh__log_new(int fd, int format, int min_level, jh__logger **out)
{
    jh__logger *l;

    if (out == NULL || fd < 0)
        return -EINVAL;
    l = calloc(1, sizeof(*l));
    if (l == NULL)
        return -ENOMEM;
    l->fd = fd;
    atomic_init(&l->format, format);
    atomic_init(&l->min_level, min_level);
    atomic_init(&l->dropped, 0);
    *out = l;
    return 0;
}

void jh__log_free(jh__logger *log)
{
    free(log);
}

void jh__log_set_format(jh__logger *log, int format)
{
    atomic_store(&log->format, format);
}

void jh__log_set_level(jh__logger *log, int min_level)
{
    atomic_store(&log->min_level, min_level);
}

int jh__log_enabled(const jh__logger *log, int level)
{
    return log != NULL && level >= atomic_load(&((jh__logger *)log)->min_level);
}

int jh__log_parse_format(const char *s, int *out)
{
    if (s != NULL && strcmp(s, "logfmt") == 0)
        *out = JH_LOGFMT_LOGFMT;
    else if (s != NULL && strcmp(s, "json") == 0)
        *out = JH_LOGFMT_JSON;
    else
        return -EINVAL;
    return 0;
}

int jh__log_parse_level(const char *s, int *out)
{
    for (int i = 0; s != NULL && i < 4; i++)
        if (strcmp(s, level_names[i]) == 0) {
            *out = i;
            return 0;
        }
    return -EINVAL;
}

uint64_t jh__log_dropped(const jh__logger *log)
{
    return atomic_load(&((jh__logger *)log)->dropped);
}

/* ---- appenders ------------------------------------------------------ */

/*
 * Every appender returns 0, or -ENOSPC when the line is full: it then sets
 * l->truncated, and emit() cuts the line back to its last whole field.
 */

static size_t room(const line *l)
{
    return l->len + LINE_RESERVE < sizeof(l->buf) ? sizeof(l->buf) - LINE_RESERVE - l->len : 0;
}

static int put(line *l, const char *s, size_t n)
{
    if (n > room(l)) {
        l->truncated = 1;
        return -ENOSPC;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
    return 0;
}

static int putc_(line *l, char c)
{
    return put(l, &c, 1);
}

static int put_u64(line *l, uint64_t v, int min_digits)
{
    char tmp[24];
    int n = 0;

    do {
        tmp[sizeof(tmp) - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0 || n < min_digits);
    return put(l, tmp + sizeof(tmp) - n, (size_t)n);
}

static int put_i64(line *l, int64_t v)
{
    int rc;

    if (v < 0) {
        if ((rc = putc_(l, '-')) < 0)
            return rc;
        return put_u64(l, (uint64_t)0 - (uint64_t)v, 1);
    }
    return put_u64(l, (uint64_t)v, 1);
}

/* ns -> "S.ffffff" (six decimals, truncated toward zero to the
 * microsecond, integer arithmetic only); a negative value is printed as
 * minus its magnitude, -1.5 s as -1.500000, and -1 ns as 0.000000 (no -0).
 * The magnitude is taken in uint64_t so INT64_MIN does not overflow. */
static int put_time(line *l, int64_t ns)
{
    uint64_t us = ns < 0 ? ((uint64_t)0 - (uint64_t)ns) / 1000 : (uint64_t)ns / 1000;
    int rc;

    if (ns < 0 && us != 0 && (rc = putc_(l, '-')) < 0)
        return rc;
    if ((rc = put_u64(l, us / 1000000, 1)) < 0 || (rc = putc_(l, '.')) < 0)
        return rc;
    return put_u64(l, us % 1000000, 6);
}

/* ns -> milliseconds with up to three decimals (whole microseconds,
 * truncated toward zero), trailing zeros trimmed: 3100000 -> "3.1",
 * 4000 -> "0.004", 2000000 -> "2", 999 -> "0", -1000 -> "-0.001". */
static int put_ms(line *l, int64_t ns)
{
    int64_t us = ns / 1000;
    int64_t ms = us / 1000, frac = us % 1000;
    char d[4];
    int n = 3, rc;

    if (us < 0) {
        if ((rc = putc_(l, '-')) < 0)
            return rc;
        ms = -ms;
        frac = -frac;
    }
    if ((rc = put_u64(l, (uint64_t)ms, 1)) < 0)
        return rc;
    if (frac == 0)
        return 0;
    d[0] = (char)('0' + frac / 100);
    d[1] = (char)('0' + frac / 10 % 10);
    d[2] = (char)('0' + frac % 10);
    while (n > 0 && d[n - 1] == '0')
        n--;
    if ((rc = putc_(l, '.')) < 0)
        return rc;
    return put(l, d, (size_t)n);
}

static int put_hex_escape(line *l, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
    return put(l, e, sizeof(e));
}

/* Length of a valid UTF-8 sequence at s, or 0 if invalid. */
static int utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (s[0] >= 0xe0 && s[0] <= 0xef) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
            return 0;
        if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f))
            return 0;
        return 3;
    }
    if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
            return 0;
        if ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
            return 0;
        return 4;
    }
    return 0;
}

/* The UTF-8 sequence at *p, or U+FFFD for an invalid byte; advances *p. */
static int put_utf8(line *l, const unsigned char **p, const unsigned char *end)
{
    /* Validate on a zero-padded copy so a sequence cut by the end
     * of the value is never read past it. */
    unsigned char tmp[4] = {0, 0, 0, 0};
    size_t left = (size_t)(end - *p);
    const char *at = (const char *)*p;
    int u;

    memcpy(tmp, *p, left < 4 ? left : 4);
    u = utf8_len(tmp);
    if (u == 0) {
        *p += 1;
        return put(l, "\xef\xbf\xbd", 3);
    }
    *p += u;
    return put(l, at, (size_t)u);
}

/* One byte that is not plain printable ASCII (or a quote or backslash),
 * escaped as the format needs; advances *p past what it wrote. */
static int put_special(line *l, const unsigned char **p, const unsigned char *end, int quote)
{
    unsigned char c = **p;

    if (c == '"' || c == '\\') {
        char e[2] = {'\\', (char)c};
        *p += 1;
        return quote ? put(l, e, 2) : putc_(l, (char)c);
    }
    if (c == '\n' || c == '\t' || c == '\r') {
        char e[2] = {'\\', c == '\n' ? 'n' : c == '\t' ? 't' : 'r'};
        *p += 1;
        return put(l, e, 2);
    }
    if (c < 0x20 || c == 0x7f) {
        *p += 1;
        return put_hex_escape(l, c);
    }
    return put_utf8(l, p, end);
}

/* logfmt quotes an empty value and one with a space, '=', a quote, a
 * backslash or a control character. */
static int needs_quotes(const unsigned char *p, size_t n)
{
    int quote = n == 0;

    for (size_t i = 0; i < n && !quote; i++)
        quote = p[i] <= ' ' || p[i] == '=' || p[i] == '"' || p[i] == '\\' || p[i] == 0x7f;
    return quote;
}

/* A string value, quoted and escaped as the format needs.  Invalid UTF-8
 * becomes U+FFFD so the output is always valid JSON / valid text.
 * Runs of plain printable ASCII (the common case: job names, results) are
 * copied with one memcpy; only the bytes that need care go one by one. */
static int put_str(line *l, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    int quote = l->json || needs_quotes(p, n);
    int rc;

    if (quote && (rc = putc_(l, '"')) < 0)
        return rc;
    while (p < end) {
        const unsigned char *run = p;

        while (p < end && *p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
            p++;
        if (p > run && (rc = put(l, (const char *)run, (size_t)(p - run))) < 0)
            return rc;
        if (p < end && (rc = put_special(l, &p, end, quote)) < 0)
            return rc;
    }
    return quote ? putc_(l, '"') : 0;
}

static int put_key(line *l, const char *key, size_t n)
{
    int rc;

    if (l->json) {
        if ((rc = putc_(l, ',')) < 0 || (rc = put_str(l, key, n)) < 0)
            return rc;
        return putc_(l, ':');
    }
    if ((rc = putc_(l, ' ')) < 0 || (rc = put(l, key, n)) < 0)
        return rc;
    return putc_(l, '=');
}

/* "2026-11-22T12:00:00.000123Z": each civil field, then the character
 * that follows it. */
static void put_ts(line *l, int64_t ns)
{
    static const char after[] = "--T::.";
    jh__civil c;
    int64_t s = jh__floordiv(ns, 1000000000);
    int64_t us = (ns - s * 1000000000) / 1000;

    jh__secs_to_civil(s, &c);
    const int field[6] = {c.year, c.mon, c.mday, c.hour, c.min, c.sec};
    for (int i = 0; i < 6; i++) {
        put_u64(l, (uint64_t)field[i], i == 0 ? 4 : 2);
        putc_(l, after[i]);
    }
    put_u64(l, (uint64_t)us, 6);
    putc_(l, 'Z');
}

/* logfmt RAW: as is, control characters made spaces (see put_raw). */
static void put_raw_logfmt(line *l, const char *s)
{
    if (putc_(l, ' ') < 0)
        return;
    for (; *s; s++) {
        char c = (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s;
        if (putc_(l, c) < 0)
            return;
    }
}

/* A quoted RAW value from just after its opening quote: its unescaped
 * bytes into val (at most cap - 1), *n its length.  Returns the position
 * after the closing quote, or the end of s if it was never closed. */
static const char *unquote(const char *s, char *val, size_t cap, size_t *n)
{
    *n = 0;
    while (*s && *s != '"' && *n < cap - 1) {
        if (*s == '\\' && s[1]) {
            s++;
            val[(*n)++] = *s == 'n' ? '\n' : *s == 't' ? '\t' : *s;
        } else
            val[(*n)++] = *s;
        s++;
    }
    return *s == '"' ? s + 1 : s;
}

/* JSON RAW: split into fields, the unparseable rest into "msg". */
static void put_raw_json(line *l, const char *s)
{
    char val[LINE_MAX_];

    while (*s) {
        const char *k, *v;
        size_t kl, vl;

        while (*s == ' ')
            s++;
        if (*s == '\0')
            break;
        k = s;
        while (*s && *s != '=' && *s != ' ' && *s != '"')
            s++;
        kl = (size_t)(s - k);
        if (*s != '=' || kl == 0) {
            if (put_key(l, "msg", 3) == 0)
                put_str(l, k, strlen(k));
            return;
        }
        s++;
        if (*s == '"') {
            s = unquote(s + 1, val, sizeof(val), &vl);
            v = val;
        } else {
            v = s;
            while (*s && *s != ' ')
                s++;
            vl = (size_t)(s - v);
        }
        if (put_key(l, k, kl) < 0 || put_str(l, v, vl) < 0)
            return;
    }
}

/*
 * A user fragment "k=v k2=\"a b\"".  In logfmt it is appended after
 * sanitising control characters (so a plugin cannot forge a second line);
 * in JSON it is split into fields, and whatever does not parse goes into a
 * "msg" field so the line stays valid JSON.
 */
static void put_raw(line *l, const char *s)
{
    if (s == NULL || *s == '\0')
        return;
    if (l->json)
        put_raw_json(l, s);
    else
        put_raw_logfmt(l, s);
}

/* ---- a plugin's fragment: parsed, checked, re-emitted ---------------- */

/* Keys a plugin's fragment cannot take: the standard fields of every line
 * and of a plugin's lines (and the truncation marker).  Keys of the line's
 * own fields are reserved too (plugin_key_taken). */
static const char *const reserved_keys[] = {
    "ts", "level", "event", "job", "plugin", "handler", "run_id", "truncated",
};

#define PLUGIN_PREFIX "plugin."

static int key_eq(const char *key, const char *k, size_t kl)
{
    return key != NULL && strlen(key) == kl && memcmp(key, k, kl) == 0;
}

static int plugin_key_taken(const char *k, size_t kl, const jh__kv *kv, size_t n)
{
    for (size_t i = 0; i < JH_COUNTOF(reserved_keys); i++)
        if (key_eq(reserved_keys[i], k, kl))
            return 1;
    for (size_t i = 0; i < n; i++)
        if (kv[i].type != JH_KV_RAW && key_eq(kv[i].key, k, kl))
            return 1;
    return 0;
}

/* A key byte: printable ASCII but not '=', a quote or a backslash. */
static int plugin_key_char(unsigned char c)
{
    return c > ' ' && c < 0x7f && c != '=' && c != '"' && c != '\\';
}

static int plugin_space(unsigned char c)
{
    return c <= ' ' || c == 0x7f;
}

/* One key, renamed plugin.KEY when it is taken. */
static int put_plugin_key(line *l, const char *k, size_t kl, int taken)
{
    char kb[64];

    if (!taken || kl + sizeof(PLUGIN_PREFIX) > sizeof(kb))
        return put_key(l, k, kl);
    memcpy(kb, PLUGIN_PREFIX, sizeof(PLUGIN_PREFIX) - 1);
    memcpy(kb + sizeof(PLUGIN_PREFIX) - 1, k, kl);
    return put_key(l, kb, kl + sizeof(PLUGIN_PREFIX) - 1);
}

/*
 * A plugin's "k=v k2=\"a b\"" in either format: split into pairs
 * (whitespace and control characters separate them outside quotes), each
 * written back as a field of this format, so its values are quoted and
 * escaped like the host's own and cannot split or forge a field.  A key
 * that a standard field or this line's own field has is renamed plugin.KEY;
 * whatever does not parse as key=value goes, escaped, into "msg".
 */
static void put_plugin(line *l, const char *s, const jh__kv *kv, size_t n)
{
    char val[LINE_MAX_];

    while (s != NULL && *s) {
        const char *k, *v;
        size_t kl, vl;

        while (*s && plugin_space((unsigned char)*s))
            s++;
        for (k = s; plugin_key_char((unsigned char)*s); s++)
            ;
        kl = (size_t)(s - k);
        if (*k == '\0' || *s != '=' || kl == 0) {
            if (*k != '\0' && put_key(l, "msg", 3) == 0)
                put_str(l, k, strlen(k));
            return;
        }
        if (*++s == '"') {
            s = unquote(s + 1, val, sizeof(val), &vl);
            v = val;
        } else {
            for (v = s; *s && !plugin_space((unsigned char)*s); s++)
                ;
            vl = (size_t)(s - v);
        }
        if (put_plugin_key(l, k, kl, plugin_key_taken(k, kl, kv, n)) < 0 ||
            put_str(l, v, vl) < 0)
            return;
    }
}

static int put_double(line *l, double v)
{
    char d[40];
    int n;

    /* JSON has no inf or nan: those become null there. */
    if (l->json && !isfinite(v))
        return put(l, "null", 4);
    n = snprintf(d, sizeof(d), "%.6g", v);
    return put(l, d, n > 0 ? (size_t)n : 0);
}

static void put_kv(line *l, const jh__kv *kv)
{
    if (kv->type == JH_KV_RAW) {
        put_raw(l, kv->v.s);
        return;
    }
    if (kv->key == NULL || put_key(l, kv->key, strlen(kv->key)) < 0)
        return;
    switch (kv->type) {
    case JH_KV_STR:
        if (kv->v.s == NULL)
            put(l, l->json ? "null" : "\"\"", l->json ? 4 : 2);
        else
            put_str(l, kv->v.s, strlen(kv->v.s));
        break;
    case JH_KV_INT:
        put_i64(l, kv->v.i);
        break;
    case JH_KV_UINT:
        put_u64(l, kv->v.u, 1);
        break;
    case JH_KV_TIME:
        put_time(l, kv->v.i);
        break;
    case JH_KV_MS:
        put_ms(l, kv->v.i);
        break;
    case JH_KV_BOOL:
        put(l, kv->v.i ? "true" : "false", kv->v.i ? 4 : 5);
        break;
    case JH_KV_DOUBLE:
        put_double(l, kv->v.d);
        break;
    default:
        put(l, l->json ? "null" : "?", l->json ? 4 : 1);
    }
}

/* ---- lines ----------------------------------------------------------- */

/* ts, level and event: the fields every line starts with. */
static void put_head(line *l, int level, const char *event)
{
    put(l, l->json ? "{\"ts\":\"" : "ts=", l->json ? 7 : 3);
    put_ts(l, jh__realtime_ns());
    put(l, l->json ? "\",\"level\":\"" : " level=", l->json ? 11 : 7);
    put(l, level_names[level], strlen(level_names[level]));
    if (l->json)
        putc_(l, '"');
    put_key(l, "event", 5);
    put_str(l, event ? event : "", event ? strlen(event) : 0);
}

/* Close the line; a truncated one is first cut back to `good`, the end of
 * its last whole field (the reserve guarantees room for the marker). */
static void end_line(line *l, size_t good)
{
    if (l->truncated) {
        const char *m = l->json ? ",\"truncated\":true" : " truncated=true";
        l->len = good;
        memcpy(l->buf + l->len, m, strlen(m));
        l->len += strlen(m);
    }
    if (l->json)
        l->buf[l->len++] = '}';
    l->buf[l->len++] = '\n';
}

/* raw: a trusted fragment (the host's own), or with `plugin` set one from
 * a plugin (put_plugin). */
static void emit(jh__logger *log, int level, const char *event, const jh__kv *kv,
                 size_t n, const char *raw, int plugin)
{
    line l;
    size_t good;

    l.len = 0;
    l.truncated = 0;
    l.json = atomic_load(&log->format) == JH_LOGFMT_JSON;
    if (level < JH_LOG_DEBUG || level > JH_LOG_ERROR)
        level = JH_LOG_ERROR;
    put_head(&l, level, event);
    good = l.len;
    for (size_t i = 0; i < n && !l.truncated; i++) {
        put_kv(&l, &kv[i]);
        if (!l.truncated)
            good = l.len;
    }
    if (raw != NULL && !l.truncated) {
        if (plugin)
            put_plugin(&l, raw, kv, n);
        else
            put_raw(&l, raw);
        if (!l.truncated)
            good = l.len;
    }
    end_line(&l, good);
    /* One write: lines from different threads never interleave (a pipe or
     * file with O_APPEND takes it whole). */
    if (write(log->fd, l.buf, l.len) != (ssize_t)l.len)
        atomic_fetch_add(&log->dropped, 1);
}

void jh__log_kv(jh__logger *log, int level, const char *event, const jh__kv *kv, size_t n)
{
    if (!jh__log_enabled(log, level))
        return;
    emit(log, level, event, kv, n, NULL, 0);
}

static void log_vf(jh__logger *log, int level, const char *event, const jh__kv *kv,
                   size_t n, int plugin, const char *fmt, va_list ap)
{
    char raw[LINE_MAX_];

    if (!jh__log_enabled(log, level))
        return;
    raw[0] = '\0';
    if (fmt != NULL)
        vsnprintf(raw, sizeof(raw), fmt, ap);
    emit(log, level, event, kv, n, raw, plugin);
}

void jh__log_vf(jh__logger *log, int level, const char *event, const jh__kv *kv,
               size_t n, const char *fmt, va_list ap)
{
    log_vf(log, level, event, kv, n, 0, fmt, ap);
}

void jh__log_vplugin(jh__logger *log, int level, const char *event, const jh__kv *kv,
                    size_t n, const char *fmt, va_list ap)
{
    log_vf(log, level, event, kv, n, 1, fmt, ap);
}

void jh__log_f(jh__logger *log, int level, const char *event, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    jh__log_vf(log, level, event, NULL, 0, fmt, ap);
    va_end(ap);
}

int jh__log_fd(const jh__logger *log)
{
    return log->fd;
}

int jh__log_json(const jh__logger *log)
{
    return atomic_load(&((jh__logger *)log)->format) == JH_LOGFMT_JSON;
}
