/* logger.t - exact log lines in logfmt and JSON (ts checked by shape). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobhost.h"
#include "runtime/log.h"
#include "lib/tap.h"

static int fds[2];
static char line[16384];

/* Read one line from the pipe and cut the ts value out:
 * "ts=2026-...Z level=..." -> "ts=* level=...". */
static const char *next_line(void)
{
    size_t n = 0;
    char c;
    while (n < sizeof(line) - 1 && read(fds[0], &c, 1) == 1 && c != '\n')
        line[n++] = c;
    line[n] = '\0';
    char *ts = strstr(line, "ts=");
    int json = 0;
    if (ts == NULL && (ts = strstr(line, "\"ts\":\"")) != NULL)
        json = 1;
    if (ts != NULL) {
        char *v = ts + (json ? 6 : 3);
        char *end = strchr(v, json ? '"' : ' ');
        /* shape: YYYY-MM-DDThh:mm:ss.uuuuuuZ */
        int shape = end && end - v == 27 && v[4] == '-' && v[10] == 'T' && v[19] == '.' &&
                    v[26] == 'Z';
        if (!shape)
            diag("bad ts in: %s", line);
        memmove(v + 1, end, strlen(end) + 1);
        v[0] = shape ? '*' : '?';
    }
    return line;
}

int main(void)
{
    jh__logger *log;

    plan_lazy();
    if (pipe(fds) < 0)
        bail("pipe");
    ok(jh__log_new(fds[1], JH_LOGFMT_LOGFMT, JH_LOG_INFO, &log) == 0, "logger");
    jh__kv kv[] = {JH_KV_S("job", "tick"), JH_KV_U("run_id", 42),
                  JH_KV_T("scheduled", 1795294208000000000LL),
                  JH_KV_T("started", 1795294208000412345LL), JH_KV_MSEC("duration_ms", 3100000),
                  JH_KV_S("result", "ok")};
    jh__log_kv(log, JH_LOG_INFO, "run.finish", kv, 6);
    is_str(next_line(),
           "ts=* level=info event=run.finish job=tick run_id=42 scheduled=1795294208.000000 "
           "started=1795294208.000412 duration_ms=3.1 result=ok",
           "run.finish in logfmt");
    jh__kv q[] = {JH_KV_S("a", "two words"), JH_KV_S("b", ""), JH_KV_S("c", "x=\"y\"\\"),
                 JH_KV_S("d", "line1\nline2"), JH_KV_S("e", "bad\xff"), JH_KV_I("f", -5),
                 JH_KV_MSEC("g", 4000), JH_KV_MSEC("h", 2000000), JH_KV_T("i", -1500000000LL),
                 JH_KV_B("j", 1)};
    jh__log_kv(log, JH_LOG_WARN, "q", q, 10);
    is_str(next_line(),
           "ts=* level=warn event=q a=\"two words\" b=\"\" c=\"x=\\\"y\\\"\\\\\" "
           "d=\"line1\\nline2\" e=bad\xef\xbf\xbd f=-5 g=0.004 h=2 i=-1.500000 j=true",
           "quoting, escaping, invalid UTF-8, ms and negative times");
    jh__log_kv(log, JH_LOG_DEBUG, "hidden", NULL, 0);
    jh__log_f(log, JH_LOG_ERROR, "user", "rows=%d msg=\"a b\"\nforged=1", 3);
    is_str(next_line(), "ts=* level=error event=user rows=3 msg=\"a b\" forged=1",
           "debug filtered out; a user fragment cannot start a new line");

    jh__log_set_format(log, JH_LOGFMT_JSON);
    jh__log_kv(log, JH_LOG_INFO, "run.finish", kv, 6);
    is_str(next_line(),
           "{\"ts\":\"*\",\"level\":\"info\",\"event\":\"run.finish\",\"job\":\"tick\","
           "\"run_id\":42,\"scheduled\":1795294208.000000,\"started\":1795294208.000412,"
           "\"duration_ms\":3.1,\"result\":\"ok\"}",
           "run.finish in JSON");
    jh__log_f(log, JH_LOG_INFO, "user", "rows=%d note=\"a \\\"b\\\"\" oops no-equals here", 3);
    is_str(next_line(),
           "{\"ts\":\"*\",\"level\":\"info\",\"event\":\"user\",\"rows\":\"3\","
           "\"note\":\"a \\\"b\\\"\",\"msg\":\"oops no-equals here\"}",
           "JSON: fragment split into fields, the unparseable rest into msg");
    jh__kv bad[] = {JH_KV_S("k", "ctl\x01\xc3")};
    jh__log_kv(log, JH_LOG_INFO, "e", bad, 1);
    is_str(next_line(), "{\"ts\":\"*\",\"level\":\"info\",\"event\":\"e\",\"k\":\"ctl\\u0001\xef\xbf\xbd\"}",
           "JSON: control characters escaped, invalid UTF-8 replaced");

    jh__log_set_format(log, JH_LOGFMT_LOGFMT);
    char *big = malloc(10000);
    memset(big, 'x', 9999);
    big[9999] = '\0';
    jh__kv t[] = {JH_KV_S("small", "1"), JH_KV_S("big", big)};
    jh__log_kv(log, JH_LOG_INFO, "trunc", t, 2);
    is_str(next_line(), "ts=* level=info event=trunc small=1 truncated=true",
           "a line over 8 KiB is cut at a field and marked, still one line");
    free(big);

    int v;
    ok(jh__log_parse_format("json", &v) == 0 && v == JH_LOGFMT_JSON, "parse json");
    ok(jh__log_parse_format("xml", &v) < 0, "refuse xml");
    ok(jh__log_parse_level("warn", &v) == 0 && v == JH_LOG_WARN, "parse warn");
    ok(jh__log_parse_level("loud", &v) < 0, "refuse loud");
    is_int((long long)jh__log_dropped(log), 0, "nothing dropped");
    jh__log_free(log);
    close(fds[0]);
    close(fds[1]);
    return done_testing();
}
