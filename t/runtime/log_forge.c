/*
 * log_forge.t - a plugin's jh_log() fields cannot forge the standard ones
 * nor split a field, in logfmt and in JSON: exact lines, written through
 * the public jh_log() on a real run context.  A key a standard field has
 * is renamed plugin.KEY; values are re-quoted and escaped by the host.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runtime/ctx.h"
#include "lib/tap.h"

static int fds[2];

/* The next line with its ts value cut out ("ts=* ..." / {"ts":"*",...). */
static const char *next_line(void)
{
    static char line[16384];
    size_t n = 0;
    char c, *v, *end;
    int json;

    while (n < sizeof(line) - 1 && read(fds[0], &c, 1) == 1 && c != '\n')
        line[n++] = c;
    line[n] = '\0';
    json = line[0] == '{';
    v = strstr(line, json ? "\"ts\":\"" : "ts=");
    if (v != NULL && (end = strchr(v += json ? 6 : 3, json ? '"' : ' ')) != NULL) {
        memmove(v + 1, end, strlen(end) + 1);
        v[0] = '*';
    }
    return line;
}

static const char *const forge = "job=override level=fake";
static const char *const quote = "note=%s";
static const char *const quote_v = "x\" run_id=1 handler=\"h";
static const char *const nl_v = "a\nts=forged event=fake";

int main(void)
{
    jh__host_env env = {0};
    struct jh_ctx a;
    jh_ctx *c = (jh_ctx *)&a;

    plan_lazy();
    if (pipe(fds) < 0)
        bail("pipe");
    jh__log_new(fds[1], JH_LOGFMT_LOGFMT, JH_LOG_INFO, &env.log);
    jh__ctx_init(&a, &env, NULL, "sync", "run", 7, 0, INT64_MAX, NULL);

    jh_log(c, JH_LOG_INFO, "x", "%s", forge);
    is_str(next_line(),
           "ts=* level=info event=x job=sync handler=run run_id=7 plugin.job=override "
           "plugin.level=fake",
           "logfmt: job= and level= from a plugin are renamed plugin.job, plugin.level");
    jh_log(c, JH_LOG_INFO, "x", quote, quote_v);
    is_str(next_line(),
           "ts=* level=info event=x job=sync handler=run run_id=7 note=\"x\\\"\" "
           "plugin.run_id=1 plugin.handler=h",
           "logfmt: a quote in a value is escaped; what follows cannot be a standard field");
    jh_log(c, JH_LOG_INFO, "x", "note=\"%s\" rows=%d", nl_v, 3);
    is_str(next_line(),
           "ts=* level=info event=x job=sync handler=run run_id=7 "
           "note=\"a\\nts=forged event=fake\" rows=3",
           "logfmt: a newline inside a quoted value is escaped, one field, one line");
    jh_log(c, JH_LOG_INFO, "x", quote, nl_v);
    is_str(next_line(),
           "ts=* level=info event=x job=sync handler=run run_id=7 note=a plugin.ts=forged "
           "plugin.event=fake",
           "logfmt: a bare newline separates fields, and those are renamed");
    jh_log(c, JH_LOG_INFO, "x", "a=1 oops \"x\" level=y");
    is_str(next_line(),
           "ts=* level=info event=x job=sync handler=run run_id=7 a=1 "
           "msg=\"oops \\\"x\\\" level=y\"",
           "logfmt: the unparseable rest is one escaped msg value");
    jh_log(c, JH_LOG_INFO, "x", "plugin=p truncated=true title=\"two words\" n=2");
    is_str(next_line(),
           "ts=* level=info event=x job=sync handler=run run_id=7 plugin.plugin=p "
           "plugin.truncated=true title=\"two words\" n=2",
           "logfmt: plugin and truncated are reserved too; ordinary fields unchanged");

    jh__log_set_format(env.log, JH_LOGFMT_JSON);
    jh_log(c, JH_LOG_INFO, "x", "%s", forge);
    is_str(next_line(),
           "{\"ts\":\"*\",\"level\":\"info\",\"event\":\"x\",\"job\":\"sync\",\"handler\":\"run\","
           "\"run_id\":7,\"plugin.job\":\"override\",\"plugin.level\":\"fake\"}",
           "JSON: no second job or level key");
    jh_log(c, JH_LOG_INFO, "x", quote, quote_v);
    is_str(next_line(),
           "{\"ts\":\"*\",\"level\":\"info\",\"event\":\"x\",\"job\":\"sync\",\"handler\":\"run\","
           "\"run_id\":7,\"note\":\"x\\\"\",\"plugin.run_id\":\"1\",\"plugin.handler\":\"h\"}",
           "JSON: a quote in a value forges no run_id or handler");
    jh_log(c, JH_LOG_INFO, "x", quote, nl_v);
    is_str(next_line(),
           "{\"ts\":\"*\",\"level\":\"info\",\"event\":\"x\",\"job\":\"sync\",\"handler\":\"run\","
           "\"run_id\":7,\"note\":\"a\",\"plugin.ts\":\"forged\",\"plugin.event\":\"fake\"}",
           "JSON: nor a newline a ts or event");
    jh__log_free(env.log);
    close(fds[0]);
    close(fds[1]);
    return done_testing();
}
