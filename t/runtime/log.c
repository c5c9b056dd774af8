/*
 * log.t - edge cases of the log line formatter (logger.t has the common
 * lines): time and millisecond values at their limits, quoting and UTF-8
 * repair in both formats, RAW fragments that try to forge lines or do not
 * parse, truncation in JSON, level filtering, non-finite doubles.
 * The ts field is replaced by "*" before comparing (its shape is checked).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobhost.h"
#include "runtime/log.h"
#include "lib/tap.h"

static int fds[2];
static char line[16384];
static int nlines;

/* Read the next line; cut ts down to "*" (or "?" if its shape is wrong). */
static const char *next_line(void)
{
    size_t n = 0;
    char c, *v, *end;
    int json;

    while (n < sizeof(line) - 1 && read(fds[0], &c, 1) == 1 && c != '\n')
        line[n++] = c;
    line[n] = '\0';
    nlines++;
    json = line[0] == '{';
    v = strstr(line, json ? "\"ts\":\"" : "ts=");
    if (v == NULL)
        return line;
    v += json ? 6 : 3;
    end = strchr(v, json ? '"' : ' ');
    if (end == NULL)
        return line;
    int shape = end - v == 27 && v[4] == '-' && v[7] == '-' && v[10] == 'T' && v[13] == ':' &&
                v[16] == ':' && v[19] == '.' && v[26] == 'Z';
    memmove(v + 1, end, strlen(end) + 1);
    v[0] = shape ? '*' : '?';
    return line;
}

/* Nothing left to read (the pipe is non-empty only if a line leaked). */
static int pipe_empty(void)
{
    jh__logger *probe;
    /* Write a marker line and check it is the very next one. */
    jh__log_new(fds[1], JH_LOGFMT_LOGFMT, JH_LOG_DEBUG, &probe);
    jh__log_kv(probe, JH_LOG_DEBUG, "marker", NULL, 0);
    jh__log_free(probe);
    return strcmp(next_line(), "ts=* level=debug event=marker") == 0;
}

int main(void)
{
    jh__logger *log;

    plan_lazy();
    if (pipe(fds) < 0)
        bail("pipe");
    if (jh__log_new(fds[1], JH_LOGFMT_LOGFMT, JH_LOG_DEBUG, &log) < 0)
        bail("jh__log_new");

    /* --- times: Unix seconds, six decimals, integer arithmetic --- */
    jh__kv t[] = {JH_KV_T("zero", 0), JH_KV_T("a", 999999), JH_KV_T("b", 1795294208999999999LL),
                 JH_KV_T("c", -1), JH_KV_T("d", -1000), JH_KV_T("e", -1500000000LL),
                 JH_KV_T("max", INT64_MAX), JH_KV_T("min", INT64_MIN)};
    jh__log_kv(log, JH_LOG_INFO, "t", t, JH_COUNTOF(t));
    is_str(next_line(),
           "ts=* level=info event=t zero=0.000000 a=0.000999 b=1795294208.999999 c=0.000000 "
           "d=-0.000001 e=-1.500000 max=9223372036.854775 min=-9223372036.854775",
           "times: truncated to the microsecond, no -0, limits do not overflow");

    jh__kv m[] = {JH_KV_MSEC("a", 0), JH_KV_MSEC("b", 999), JH_KV_MSEC("c", 1000),
                 JH_KV_MSEC("d", 3100000), JH_KV_MSEC("e", 1234567891), JH_KV_MSEC("f", -1000),
                 JH_KV_MSEC("g", -2500000), JH_KV_MSEC("h", 10000000),
                 JH_KV_MSEC("min", INT64_MIN)};
    jh__log_kv(log, JH_LOG_INFO, "ms", m, JH_COUNTOF(m));
    is_str(next_line(),
           "ts=* level=info event=ms a=0 b=0 c=0.001 d=3.1 e=1234.567 f=-0.001 g=-2.5 h=10 "
           "min=-9223372036854.775",
           "durations: ms, three decimals at most, trailing zeros trimmed");

    /* --- logfmt quoting --- */
    jh__kv q[] = {JH_KV_S("eq", "a=b"), JH_KV_S("tab", "a\tb"), JH_KV_S("ctl", "a\x01"),
                 JH_KV_S("cr", "a\rb"), JH_KV_S("del", "a\x7f"), JH_KV_S("nul", NULL),
                 JH_KV_S("utf8", "caf\xc3\xa9"), JH_KV_S("bs", "a\\b"), JH_KV_U("u", UINT64_MAX),
                 JH_KV_I("i", INT64_MIN), JH_KV_B("no", 0), JH_KV_D("d", 1.5)};
    jh__log_kv(log, JH_LOG_INFO, "q", q, JH_COUNTOF(q));
    is_str(next_line(),
           "ts=* level=info event=q eq=\"a=b\" tab=\"a\\tb\" ctl=\"a\\u0001\" cr=\"a\\rb\" "
           "del=\"a\\u007f\" nul=\"\" utf8=caf\xc3\xa9 bs=\"a\\\\b\" u=18446744073709551615 "
           "i=-9223372036854775808 no=false d=1.5",
           "logfmt: quoted exactly when needed, escapes, valid UTF-8 kept");

    jh__kv ev[] = {JH_KV_S("k", "v")};
    jh__log_kv(log, JH_LOG_INFO, "two words", ev, 1);
    is_str(next_line(), "ts=* level=info event=\"two words\" k=v", "an event name is quoted too");

    /* --- RAW fragments in logfmt: appended, but never a second line --- */
    jh__kv raw[] = {JH_KV_S("job", "j"), JH_KV_RAWF("rows=3\r\nts=forged level=error\x1b[2J")};
    jh__log_kv(log, JH_LOG_INFO, "r", raw, 2);
    is_str(next_line(), "ts=* level=info event=r job=j rows=3  ts=forged level=error [2J",
           "logfmt RAW: control characters become spaces, so no forged line");
    ok(pipe_empty(), "and nothing else was written (one line per event)");

    /* --- JSON --- */
    jh__log_set_format(log, JH_LOGFMT_JSON);
    jh__kv j[] = {JH_KV_S("q\"k", "a\"b\\c/"), JH_KV_S("ctl", "\x1f\x7f\b\f"),
                 JH_KV_S("cut2", "x\xe2\x82"), JH_KV_S("overlong", "\xc0\xaf"),
                 JH_KV_S("surrogate", "\xed\xa0\x80"), JH_KV_S("emoji", "\xf0\x9f\x98\x80"),
                 JH_KV_S("nul", NULL), JH_KV_D("nan", NAN), JH_KV_D("inf", INFINITY),
                 JH_KV_T("t", -1500000000LL), JH_KV_B("yes", 1)};
    jh__log_kv(log, JH_LOG_WARN, "j", j, JH_COUNTOF(j));
    is_str(next_line(),
           "{\"ts\":\"*\",\"level\":\"warn\",\"event\":\"j\",\"q\\\"k\":\"a\\\"b\\\\c/\","
           "\"ctl\":\"\\u001f\\u007f\\u0008\\u000c\","
           "\"cut2\":\"x\xef\xbf\xbd\xef\xbf\xbd\",\"overlong\":\"\xef\xbf\xbd\xef\xbf\xbd\","
           "\"surrogate\":\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\",\"emoji\":\"\xf0\x9f\x98\x80\","
           "\"nul\":null,\"nan\":null,\"inf\":null,\"t\":-1.500000,\"yes\":true}",
           "JSON: escapes, every invalid UTF-8 byte replaced, no nan/inf");

    jh__kv jr[] = {JH_KV_RAWF("a=\"unterminated \\\"q\\\" b=1")};
    jh__log_kv(log, JH_LOG_INFO, "r", jr, 1);
    is_str(next_line(),
           "{\"ts\":\"*\",\"level\":\"info\",\"event\":\"r\",\"a\":\"unterminated \\\"q\\\" b=1\"}",
           "JSON RAW: an unterminated quote takes the rest as the value");
    jh__kv jr2[] = {JH_KV_RAWF("  n=1 =v \"x\" y=2")};
    jh__log_kv(log, JH_LOG_INFO, "r", jr2, 1);
    is_str(next_line(),
           "{\"ts\":\"*\",\"level\":\"info\",\"event\":\"r\",\"n\":\"1\",\"msg\":\"=v \\\"x\\\" y=2\"}",
           "JSON RAW: the unparseable rest goes into msg");
    jh__kv jr3[] = {JH_KV_RAWF("a=1\nb=\xff")};
    jh__log_kv(log, JH_LOG_INFO, "r", jr3, 1);
    is_str(next_line(),
           "{\"ts\":\"*\",\"level\":\"info\",\"event\":\"r\",\"a\":\"1\\nb=\xef\xbf\xbd\"}",
           "JSON RAW: a newline is escaped inside a value, bad UTF-8 replaced");

    /* --- truncation in JSON: cut at a field, still one valid object --- */
    char *big = malloc(9000);
    memset(big, 'y', 8999);
    big[8999] = '\0';
    jh__kv tr[] = {JH_KV_I("n", 1), JH_KV_S("big", big), JH_KV_I("after", 2)};
    jh__log_kv(log, JH_LOG_INFO, "tr", tr, 3);
    is_str(next_line(), "{\"ts\":\"*\",\"level\":\"info\",\"event\":\"tr\",\"n\":1,\"truncated\":true}",
           "JSON: a line over 8 KiB ends with truncated:true and closes the object");
    /* Many small fields: the cut falls after the last one that fits. */
    jh__kv many[1000];
    for (int i = 0; i < 1000; i++)
        many[i] = JH_KV_S("k", "0123456789");
    jh__log_set_format(log, JH_LOGFMT_LOGFMT);
    jh__log_kv(log, JH_LOG_INFO, "many", many, 1000);
    const char *l = next_line();
    size_t len = strlen(l);
    ok(len < 8192 && len > 8000, "many fields: the line stays under 8 KiB (%zu bytes)", len);
    ok(len > 15 && strcmp(l + len - 15, " truncated=true") == 0 &&
           strncmp(l + len - 28, " k=0123456789", 13) == 0,
       "and ends with a whole field, then truncated=true");
    free(big);

    /* --- level filter --- */
    jh__log_set_level(log, JH_LOG_WARN);
    ok(!jh__log_enabled(log, JH_LOG_INFO) && jh__log_enabled(log, JH_LOG_ERROR),
       "min level warn: info off, error on");
    jh__log_kv(log, JH_LOG_INFO, "hidden", NULL, 0);
    jh__log_kv(log, JH_LOG_DEBUG, "hidden", NULL, 0);
    ok(pipe_empty(), "info and debug lines are not written");
    jh__log_kv(log, 17, "odd", NULL, 0);
    is_str(next_line(), "ts=* level=error event=odd", "an out-of-range level logs as error");
    ok(!jh__log_enabled(NULL, JH_LOG_ERROR), "a NULL logger is never enabled");
    jh__log_kv(NULL, JH_LOG_ERROR, "x", NULL, 0); /* must not crash */
    int v = -1;
    ok(jh__log_parse_level(NULL, &v) < 0 && jh__log_parse_format(NULL, &v) < 0 && v == -1,
       "parsing NULL fails and leaves the output alone");
    jh__logger *none = NULL;
    ok(jh__log_new(-1, 0, 0, &none) == -EINVAL && none == NULL, "a bad fd is refused");
    is_int((long long)jh__log_dropped(log), 0, "no write failed");
    jh__log_free(log);

    /* A write that fails is counted, not fatal. */
    close(fds[0]);
    int devfull[2];
    if (pipe(devfull) == 0) {
        close(devfull[1]);
        if (jh__log_new(devfull[0], 0, 0, &log) == 0) { /* read end: write fails */
            jh__log_kv(log, JH_LOG_ERROR, "x", NULL, 0);
            is_int((long long)jh__log_dropped(log), 1, "a failed write is counted in dropped");
            jh__log_free(log);
        }
        close(devfull[0]);
    }
    close(fds[1]);
    return done_testing();
}
