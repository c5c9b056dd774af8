/*
 * host.c - end-to-end tests of the embeddable host with real test plugins
 * (t/plugins/h_basic.so, h_ver1.so, h_ver2.so) on a real libuv loop.
 *
 * Each case builds a private directory (conf.d/, plugins/, log), runs the
 * host for a while and checks what the log says.  Timing bounds are wide:
 * what is asserted is counts and planned times (`scheduled`, which the
 * scheduler computes, so spacing is exact), not speed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <uv.h>

#include "host.h"
#include "reload.h"
#include "lib/tap.h"
#include "time/tz.h"

static char base[256];
static int case_no;
static uv_loop_t *loop;

/* ---- files ---------------------------------------------------------- */

static const char *path_in(const char *rel)
{
    static char buf[4][512];
    static int slot;
    char *p = buf[slot++ % 4];

    snprintf(p, 512, "%s/%s", base, rel);
    return p;
}

static void write_file(const char *rel, const char *text)
{
    char tmp[600];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path_in(rel));
    if ((f = fopen(tmp, "w")) == NULL)
        bail("cannot write %s", tmp);
    fputs(text, f);
    fclose(f);
    if (rename(tmp, path_in(rel)) != 0)
        bail("rename %s", tmp);
}

/* Deploy the safe way: copy next to it, then rename into place. */
static void install_plugin(const char *built, const char *name)
{
    char src[512], tmp[600], buf[65536];
    FILE *in, *out;
    size_t n;

    snprintf(src, sizeof(src), "%s", tap_build(built));
    snprintf(tmp, sizeof(tmp), "%s/plugins/.%s.new", base, name);
    if ((in = fopen(src, "rb")) == NULL || (out = fopen(tmp, "wb")) == NULL)
        bail("cannot copy %s", src);
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        fwrite(buf, 1, n, out);
    fclose(in);
    fclose(out);
    snprintf(buf, sizeof(buf), "%s/plugins/%s", base, name);
    if (rename(tmp, buf) != 0)
        bail("rename %s", tmp);
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *s;
    long n;

    if (f == NULL)
        return strdup("");
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    s = malloc((size_t)n + 1);
    n = (long)fread(s, 1, (size_t)n, f);
    s[n] = '\0';
    fclose(f);
    return s;
}

static void rm_rf(const char *dir)
{
    char cmd[600];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        diag("cannot remove %s", dir);
}

/* A fresh case directory with conf.d/ and plugins/. */
static void new_case(void)
{
    snprintf(base, sizeof(base), "%s/t/host.dir/%d", tap_builddir(), ++case_no);
    rm_rf(base);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s/conf.d' '%s/plugins'", base, base);
    if (system(cmd) != 0)
        bail("mkdir %s", base);
}

/* ---- log lines ------------------------------------------------------ */

/* Lines of `log` containing every needle (NULL-terminated list). */
static int count_lines(const char *log, const char *n1, const char *n2, const char *n3)
{
    int count = 0;
    const char *p = log;

    while (*p != '\0') {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char *line = strndup(p, len);
        if ((!n1 || strstr(line, n1)) && (!n2 || strstr(line, n2)) && (!n3 || strstr(line, n3)))
            count++;
        free(line);
        p += len + (e != NULL);
    }
    return count;
}

/* Offset of the first line at or after `from` containing both needles
 * (n2 may be NULL), or -1. */
static long find_line(const char *log, long from, const char *n1, const char *n2)
{
    const char *p = log + from;

    while (*p != '\0') {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char *line = strndup(p, len);
        int hit = strstr(line, n1) && (!n2 || strstr(line, n2));
        free(line);
        if (hit)
            return (long)(p - log);
        p += len + (e != NULL);
    }
    return -1;
}

/* "scheduled=1795294208.000412" -> microseconds, for lines with both needles. */
static int scheduled_us(const char *log, const char *n1, const char *n2, long long *out, int max)
{
    int n = 0;
    const char *p = log;

    while (*p != '\0' && n < max) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char *line = strndup(p, len);
        const char *s;
        long long sec, us;
        if (strstr(line, n1) && strstr(line, n2) && (s = strstr(line, " scheduled=")) &&
            sscanf(s, " scheduled=%lld.%6lld", &sec, &us) == 2)
            out[n++] = sec * 1000000 + us;
        free(line);
        p += len + (e != NULL);
    }
    return n;
}

/* ---- running a host ------------------------------------------------- */

struct runner {
    jh_host *h;
    int log_fd;
    int stopped;
    int left;
};

static int start_host(struct runner *r, jh_err *e)
{
    jh_host_opts o = {0};

    memset(r, 0, sizeof(*r));
    r->log_fd = open(path_in("log"), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    o.conf_dir = path_in("conf.d");
    o.plugins_dir = path_in("plugins");
    o.loop = loop;
    o.log_fd = r->log_fd;
    if (jh_host_new(&o, &r->h, e) < 0) {
        close(r->log_fd);
        return -1;
    }
    return jh_host_start(r->h);
}

static void stop_timer_cb(uv_timer_t *t)
{
    (void)t;
    uv_stop(loop);
}

static void run_for(int ms)
{
    uv_timer_t t;

    uv_timer_init(loop, &t);
    uv_timer_start(&t, stop_timer_cb, (uint64_t)ms, 0);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

/* Run until the log has a line with both needles or ms pass; 1 if found. */
static int run_until(const char *needle, const char *n2, int ms)
{
    for (int waited = 0; waited < ms; waited += 20) {
        char *log = read_all(path_in("log"));
        int found = find_line(log, 0, needle, n2) >= 0;
        free(log);
        if (found)
            return 1;
        run_for(20);
    }
    return 0;
}

static void stopped_cb(jh_host *h, int left, void *arg)
{
    struct runner *r = arg;

    (void)h;
    r->stopped = 1;
    r->left = left;
}

static void stop_host(struct runner *r)
{
    jh_host_stop(r->h, stopped_cb, r);
    for (int i = 0; i < 1000 && !r->stopped; i++)
        uv_run(loop, UV_RUN_ONCE);
    jh_host_free(r->h);
    uv_run(loop, UV_RUN_NOWAIT);
    uv_run(loop, UV_RUN_NOWAIT);
    close(r->log_fd);
}

/* ---- cases ---------------------------------------------------------- */

/* Start-up must fail with a message containing each needle. */
static void expect_start_error(const char *what, const char *n1, const char *n2)
{
    struct runner r;
    jh_err e = {0};
    int rc = start_host(&r, &e);

    ok(rc < 0, "%s: start-up fails", what);
    if (rc == 0)
        stop_host(&r);
    like(e.msg, n1, "%s: message names %s", what, n1);
    if (n2)
        like(e.msg, n2, "%s: message says %s", what, n2);
}

static void test_config_errors(void)
{
    new_case();
    install_plugin("t/plugins/h_basic.so", "h_basic.so");
    write_file("conf.d/20-jobs.ini", "[job x]\nplugin = nope\nhandler = tick\nevery = 1s\n");
    expect_start_error("unknown plugin", "20-jobs.ini:2: [job x]: unknown plugin \"nope\"",
                       "(loaded: h_basic)");

    write_file("conf.d/20-jobs.ini", "[job x]\nplugin = h_basic\nhandler = tock\nevery = 1s\n");
    expect_start_error("unknown handler", "20-jobs.ini:3: [job x]: unknown handler \"tock\"",
                       "tick, slow, hang, fail, auto");

    write_file("conf.d/20-jobs.ini", "[job x]\nplugin = h_basic\nhandler = tick\n");
    expect_start_error("no schedule", "20-jobs.ini:1: [job x]: no schedule", NULL);

    write_file("conf.d/20-jobs.ini", "[job x]\nplugin = h_basic\nhandler = tick\nevery = 1s\n");
    write_file("conf.d/30-more.ini", "\n[job x]\nplugin = h_basic\nhandler = tick\nevery = 2s\n");
    expect_start_error("duplicate job", "30-more.ini:2", "x");
    unlink(path_in("conf.d/30-more.ini"));

    write_file("conf.d/10-p.ini", "[plugin nope]\n");
    expect_start_error("section for no plugin", "10-p.ini:1: [plugin nope]: no such plugin",
                       NULL);

    write_file("conf.d/10-p.ini", "[plugin h_basic]\ncolour = red\n");
    expect_start_error("undeclared plugin key", "10-p.ini:2", "colour");

    write_file("conf.d/10-p.ini", "[plugin h_basic]\nfail_init = yes\n");
    expect_start_error("init failing", "h_basic", "fail_init is set");
    unlink(path_in("conf.d/10-p.ini"));

    write_file("conf.d/20-jobs.ini",
               "[job h_basic.auto]\nplugin = h_basic\nhandler = tick\nevery = 1s\n");
    expect_start_error("implicit name taken", "h_basic.auto", "implicit");

    write_file("conf.d/20-jobs.ini", "");
    install_plugin("t/plugins/h_basic.so", "zz_copy.so");
    expect_start_error("same plugin twice", "both declare plugin \"h_basic\"", "zz_copy.so");
    rm_rf(base);
}

static void test_check(void)
{
    jh_host_opts o = {0};
    jh_err e = {0};
    char *out = NULL;
    size_t len = 0;
    FILE *f;
    int rc;

    new_case();
    install_plugin("t/plugins/h_basic.so", "h_basic.so");
    write_file("conf.d/20-jobs.ini",
               "[job nightly]\nplugin = h_basic\nhandler = tick\ncron = 0 30 2 * * *\n"
               "timezone = UTC\n\n[job idle]\nplugin = h_basic\nhandler = tick\n"
               "every = 1s\nenabled = false\n");
    o.conf_dir = path_in("conf.d");
    o.plugins_dir = path_in("plugins");
    o.log_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    f = open_memstream(&out, &len);
    rc = jh_host_check(&o, f, &e);
    fclose(f);
    is_int(rc, 0, "--check: good configuration passes (%s)", e.msg);
    like(out, "3 jobs", "--check: counts the implicit job too");
    like(out, "h_basic.auto", "--check: lists the implicit job");
    like(out, "every 300ms", "--check: shows the handler's default schedule");
    like(out, "cron 0 30 2 * * * (UTC)", "--check: shows a cron schedule and its zone");
    like(out, "T02:30:00.000+00:00", "--check: prints the next fire time");
    like(out, "disabled", "--check: marks a disabled job");
    free(out);

    write_file("conf.d/20-jobs.ini", "[job x]\nplugin = h_basic\nhandler = tick\ncron = 0 0 25 * * *\n");
    out = NULL;
    f = open_memstream(&out, &len);
    rc = jh_host_check(&o, f, &e);
    fclose(f);
    ok(rc < 0, "--check: bad cron fails");
    like(e.msg, "20-jobs.ini:4", "--check: error has file:line (%s)", e.msg);
    free(out);
    close(o.log_fd);
    rm_rf(base);
}

static void test_firing(void)
{
    struct runner r;
    jh_err e = {0};
    char *log;

    new_case();
    install_plugin("t/plugins/h_basic.so", "h_basic.so");
    /* enough workers that the slow jobs never hold up `t` */
    write_file("conf.d/10-p.ini", "[host]\nworkers = 8\n\n"
                                  "[plugin h_basic]\nmarker = fire\nsleep_ms = 350\n");
    write_file("conf.d/20-jobs.ini",
               "[job t]\nplugin = h_basic\nhandler = tick\nevery = 100ms\n\n"
               "[job forbid]\nplugin = h_basic\nhandler = slow\nevery = 100ms\n\n"
               "[job allow]\nplugin = h_basic\nhandler = hang\nevery = 100ms\n"
               "concurrency = allow\nmax_running = 3\n\n"
               "[job to]\nplugin = h_basic\nhandler = slow\nevery = 1h\nrun_on_start = true\n"
               "timeout = 100ms\n\n"
               "[job f]\nplugin = h_basic\nhandler = fail\nevery = 250ms\n");
    if (start_host(&r, &e) < 0) {
        ok(0, "firing: host starts (%s)", e.msg);
        return;
    }
    run_for(1200);
    stop_host(&r);
    log = read_all(path_in("log"));
    int n = count_lines(log, "event=run.finish", "job=t ", NULL);
    ok(n >= 6 && n <= 14, "interval 100ms over 1.2 s: %d runs", n);
    /* (one may be cut short by the stop: result=cancelled) */
    ok(count_lines(log, "event=run.finish", "job=t ", "result=ok") >= n - 1,
       "with result=ok");
    ok(count_lines(log, "event=run.finish", "job=t ", "duration_ms=") == n &&
           count_lines(log, "event=run.finish", "job=t ", "started=") == n &&
           count_lines(log, "event=run.finish", "job=t ", "run_id=") == n,
       "run.finish carries run_id, started and duration_ms");
    ok(count_lines(log, "event=run.finish", "handler=tick", "plugin=h_basic") >= n,
       "run.finish names plugin and handler");
    ok(count_lines(log, "event=h.tick", "marker=fire", "job=t ") >= n,
       "handler log lines carry the job and the plugin's config");
    ok(count_lines(log, "event=run.skip", "job=forbid ", "reason=running") >= 3,
       "forbid: ticks during a run are skipped with reason=running");
    ok(count_lines(log, "event=h.begin", "job=forbid ", "inflight=2") == 0,
       "forbid: runs never overlap");
    ok(count_lines(log, "event=h.begin", "job=allow ", "inflight=2") >= 1,
       "allow: runs overlap (inflight=2 seen)");
    ok(count_lines(log, "event=h.begin", "job=allow ", "inflight=4") == 0,
       "allow: never more than max_running at once");
    ok(count_lines(log, "event=run.finish", "job=to ", "result=timeout") == 1,
       "timeout: the run is recorded as result=timeout");
    ok(count_lines(log, "event=h.end", "cancelled=1", NULL) >= 1,
       "timeout: the handler saw jh_cancelled()");
    ok(count_lines(log, "event=run.finish", "job=f ", "error=\"boom fire\"") >= 2,
       "error: result=error with the handler's message");
    ok(count_lines(log, "event=run.finish", "job=f ", "result=error") >= 2,
       "error: result=error");
    ok(count_lines(log, "event=run.finish", "job=h_basic.auto ", "result=ok") >= 2,
       "implicit job PLUGIN.HANDLER runs on the handler's default");
    ok(count_lines(log, "event=host.ready", "jobs=6", "plugins=1") == 1, "host.ready logged");
    ok(count_lines(log, "event=plugin.load", "plugin=h_basic", "abi=1.1") == 1,
       "plugin.load logged with its ABI");
    ok(count_lines(log, "event=host.stop", NULL, NULL) == 1, "host.stop logged");
    ok(count_lines(log, "password", NULL, NULL) == 0, "no secret key in the log");
    free(log);
    rm_rf(base);
}

/* One worker held by a run that ignores its timeout: run.overdue names
 * it once, and the starved job's ticks say reason=queued. */
static void test_overdue(void)
{
    struct runner r;
    jh_err e = {0};
    char *log;

    new_case();
    install_plugin("t/plugins/h_basic.so", "h_basic.so");
    write_file("conf.d/10-p.ini", "[host]\nworkers = 1\n\n"
                                  "[plugin h_basic]\nmarker = od\nsleep_ms = 1300\n");
    write_file("conf.d/20-jobs.ini",
               "[job hog]\nplugin = h_basic\nhandler = hang\nevery = 1h\nrun_on_start = true\n"
               "timeout = 100ms\n\n"
               "[job beat]\nplugin = h_basic\nhandler = tick\nevery = 100ms\n");
    if (start_host(&r, &e) < 0) {
        ok(0, "overdue: host starts (%s)", e.msg);
        return;
    }
    run_until("event=run.finish", "job=beat ", 3000);
    stop_host(&r);
    log = read_all(path_in("log"));
    ok(count_lines(log, "level=warn event=run.overdue job=hog plugin=h_basic handler=hang run_id=1 ",
                   NULL, NULL) == 1,
       "overdue: one run.overdue for the hog's run");
    /* waiting for the worker: beat's run and the implicit h_basic.auto's */
    ok(count_lines(log, "event=run.overdue", "timeout_ms=100 over_ms=1", "state=running queued=2") == 1,
       "overdue: with its timeout, how long over, and the runs waiting for the worker");
    ok(count_lines(log, "event=run.skip", "job=beat ", "reason=queued") >= 5,
       "overdue: the starved job's ticks are skipped with reason=queued");
    is_int(count_lines(log, "event=run.skip", "job=beat ", "reason=running"), 0,
           "overdue: never reason=running while its run waits");
    free(log);
    rm_rf(base);
}

static void test_reload_plugins(void)
{
    struct runner r;
    jh_err e = {0};
    char *log;
    long mark;

    new_case();
    install_plugin("t/plugins/h_basic.so", "h_basic.so");
    write_file("conf.d/20-jobs.ini", "[job t]\nplugin = h_basic\nhandler = tick\nevery = 100ms\n");
    if (start_host(&r, &e) < 0) {
        ok(0, "reload: host starts (%s)", e.msg);
        return;
    }
    run_for(300);

    /* add */
    install_plugin("t/plugins/h_ver1.so", "h_ver.so");
    is_int(jh_host_reload(r.h, &e), 0, "reload adding a plugin succeeds (%s)", e.msg);
    run_for(500);
    log = read_all(path_in("log"));
    ok(count_lines(log, "event=reload.ok", "added=1", "unchanged=2") == 1,
       "reload.ok counts: added=1 unchanged=2");
    ok(count_lines(log, "event=h.ver.end", "ver=1", NULL) >= 1, "the added plugin runs");
    free(log);

    /* replace: same path, new code */
    install_plugin("t/plugins/h_ver2.so", "h_ver.so");
    is_int(jh_host_reload(r.h, &e), 0, "reload replacing a plugin succeeds (%s)", e.msg);
    log = read_all(path_in("log"));
    mark = (long)strlen(log);
    free(log);
    run_for(500);
    log = read_all(path_in("log"));
    ok(count_lines(log + mark, "event=h.ver.end", "ver=2", NULL) >= 1,
       "the replaced .so really runs the new code");
    ok(count_lines(log + mark, "event=h.ver.begin", "ver=1", NULL) == 0,
       "and no longer the old code");
    ok(count_lines(log, "event=reload.ok", "changed=1", "unchanged=2") == 1,
       "reload.ok counts the replaced plugin's job as changed");
    ok(count_lines(log, "event=plugin.unload", "plugin=h_ver", NULL) == 1,
       "the old copy is unloaded");
    free(log);

    /* remove */
    unlink(path_in("plugins/h_ver.so"));
    is_int(jh_host_reload(r.h, &e), 0, "reload removing a plugin succeeds (%s)", e.msg);
    log = read_all(path_in("log"));
    mark = (long)strlen(log);
    free(log);
    run_for(500);
    log = read_all(path_in("log"));
    ok(count_lines(log, "event=reload.ok", "removed=1", NULL) == 1, "reload.ok counts removed=1");
    ok(count_lines(log + mark, "event=h.ver", NULL, NULL) == 0, "the removed plugin no longer runs");
    ok(count_lines(log + mark, "event=run.finish", "job=t ", NULL) >= 2, "other jobs keep running");
    ok(count_lines(log, "event=plugin.unload", "plugin=h_ver", NULL) == 2,
       "the removed copy is unloaded");
    free(log);

    /* bad reloads keep the old state */
    write_file("conf.d/20-jobs.ini", "[job t]\nplugin = h_basic\nhandler = tick\nevery = 100ms\n"
                                     "[job broken\n");
    ok(jh_host_reload(r.h, &e) < 0, "reload with a broken ini fails");
    write_file("conf.d/20-jobs.ini", "[job t]\nplugin = h_basic\nhandler = tick\nevery = 100ms\n");
    write_file("conf.d/10-p.ini", "[plugin h_basic]\nfail_init = yes\n");
    ok(jh_host_reload(r.h, &e) < 0, "reload with an init that fails fails");
    like(e.msg, "fail_init is set", "the cause is reported");
    log = read_all(path_in("log"));
    mark = (long)strlen(log);
    free(log);
    run_for(500);
    log = read_all(path_in("log"));
    ok(count_lines(log, "event=reload.failed", "20-jobs.ini:", NULL) == 1,
       "reload.failed logged with file:line");
    ok(count_lines(log, "event=reload.failed", "fail_init is set", NULL) == 1,
       "reload.failed logged with init's message");
    ok(count_lines(log + mark, "event=run.finish", "job=t ", "result=ok") >= 2,
       "after failed reloads the old jobs keep firing");
    ok(count_lines(log + mark, "event=plugin.unload", "plugin=h_basic", NULL) == 0,
       "the old plugin copy was not touched");
    free(log);
    stop_host(&r);
    rm_rf(base);
}

static void test_inflight_old_code(void)
{
    struct runner r;
    jh_err e = {0};
    char *log, *fini;
    long reload_at, end1, v2;

    new_case();
    install_plugin("t/plugins/h_ver1.so", "h_ver.so");
    write_file("conf.d/10-p.ini", "[plugin h_ver]\nsleep_ms = 700\n");
    {
        char ini[700];
        snprintf(ini, sizeof(ini), "[plugin h_ver]\nsleep_ms = 700\nfini_file = %s\n",
                 path_in("fini"));
        write_file("conf.d/10-p.ini", ini);
    }
    if (start_host(&r, &e) < 0) {
        ok(0, "in-flight: host starts (%s)", e.msg);
        return;
    }
    ok(run_until("event=h.ver.begin", NULL, 2000), "v1 run started");
    install_plugin("t/plugins/h_ver2.so", "h_ver.so");
    is_int(jh_host_reload(r.h, &e), 0, "replace while a run is in flight (%s)", e.msg);
    fini = read_all(path_in("fini"));
    is_str(fini, "", "the old copy is not finalized while its run is in flight");
    free(fini);
    run_until("event=h.ver.begin", "ver=2", 3000);
    run_for(1000);
    stop_host(&r);
    log = read_all(path_in("log"));
    reload_at = find_line(log, 0, "event=reload.ok", NULL);
    end1 = find_line(log, reload_at < 0 ? 0 : reload_at, "event=h.ver.end", "ver=1");
    v2 = find_line(log, 0, "event=h.ver.end", "ver=2");
    ok(reload_at > 0 && end1 > reload_at, "the in-flight v1 run finished after the reload");
    ok(v2 > 0, "v2 ran");
    long unload = find_line(log, 0, "event=plugin.unload", "version=1");
    ok(unload > end1 && end1 > 0, "v1 was unloaded only after its run finished");
    fini = read_all(path_in("fini"));
    like(fini, "fini v1", "v1's fini ran");
    like(fini, "fini v2", "v2's fini ran at stop");
    free(fini);
    free(log);
    rm_rf(base);
}

static void reload_tick(uv_timer_t *t)
{
    struct runner *r = t->data;
    static int i;
    char ini[200];
    jh_err e;

    /* Each reload changes something else: the other job's schedule and
     * h_ver's config (so h_ver is a new copy each time). */
    i++;
    snprintf(ini, sizeof(ini), "[job other]\nplugin = h_basic\nhandler = tick\nevery = %ds\n", 1 + i % 2);
    write_file("conf.d/30-other.ini", ini);
    snprintf(ini, sizeof(ini), "[plugin h_ver]\nsleep_ms = %d\n", i % 2);
    write_file("conf.d/10-p.ini", ini);
    if (jh_host_reload(r->h, &e) < 0)
        diag("reload: %s", e.msg);
}

static void check_spacing(const char *log, const char *job, int min, int max)
{
    long long t[256];
    int n = scheduled_us(log, "event=run.finish", job, t, 256), bad = 0;

    for (int i = 1; i < n; i++)
        /* `scheduled` is planned on the monotonic clock and printed in
         * wall time: allow a few microseconds of conversion noise.  A
         * reset phase, a missed or a doubled fire is off by far more. */
        if (llabs(t[i] - t[i - 1] - 200000) > 1000) {
            if (bad++ < 3)
                diag("%s: fire %d at +%lld us after the previous one", job, i, t[i] - t[i - 1]);
        }
    ok(n >= min && n <= max, "%s: %d fires in 3 s of reloads", job, n);
    is_int(bad, 0, "%s: every fire 200 ms after the previous one (phase kept)", job);
}

static void test_phase(void)
{
    struct runner r;
    jh_err e = {0};
    uv_timer_t t;
    char *log;

    new_case();
    install_plugin("t/plugins/h_basic.so", "h_basic.so");
    install_plugin("t/plugins/h_ver1.so", "h_ver.so");
    write_file("conf.d/20-jobs.ini", "[job keep]\nplugin = h_basic\nhandler = tick\nevery = 200ms\n");
    if (start_host(&r, &e) < 0) {
        ok(0, "phase: host starts (%s)", e.msg);
        return;
    }
    uv_timer_init(loop, &t);
    t.data = &r;
    uv_timer_start(&t, reload_tick, 150, 150);
    run_for(3000);
    uv_timer_stop(&t);
    uv_close((uv_handle_t *)&t, NULL);
    unsigned long reloads = jh_host_reloads(r.h);
    stop_host(&r);
    ok(reloads >= 15, "%lu reloads in 3 s", reloads);
    log = read_all(path_in("log"));
    ok(count_lines(log, "event=reload.ok", NULL, NULL) >= 15, "they all succeeded");
    check_spacing(log, "job=keep ", 13, 16);
    check_spacing(log, "job=h_ver.run ", 13, 16);
    free(log);
    rm_rf(base);
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int n = 0;

    if (d == NULL)
        return -1;
    while ((de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

static void test_many_reloads(void)
{
    struct runner r;
    jh_err e = {0};
    int fds0, fds1, failed = 0;
    char ini[200];
    char *log;

    new_case();
    install_plugin("t/plugins/h_basic.so", "h_basic.so");
    write_file("conf.d/20-jobs.ini", "[job t]\nplugin = h_basic\nhandler = tick\nevery = 1h\n");
    if (start_host(&r, &e) < 0) {
        ok(0, "many reloads: host starts (%s)", e.msg);
        return;
    }
    run_for(10);
    fds0 = count_fds();
    uint64_t t0 = uv_hrtime();
    for (int i = 0; i < 1000; i++) {
        /* A new [plugin] value each time: every reload loads a new copy
         * and unloads the previous one. */
        snprintf(ini, sizeof(ini), "[plugin h_basic]\nmarker = m%d\n", i);
        write_file("conf.d/10-p.ini", ini);
        if (jh_host_reload(r.h, &e) < 0 && failed++ == 0)
            diag("reload %d: %s", i, e.msg);
        if (i % 50 == 0)
            uv_run(loop, UV_RUN_NOWAIT);
    }
    diag("1000 reloads (each loading and unloading a plugin copy) in %.2f s",
         (double)(uv_hrtime() - t0) / 1e9);
    run_for(50);
    fds1 = count_fds();
    is_int(failed, 0, "1000 reloads that each replace a plugin copy succeed");
    is_int(fds1, fds0, "no file descriptor leaked (%d before, %d after)", fds0, fds1);
    stop_host(&r);
    log = read_all(path_in("log"));
    is_int(count_lines(log, "event=plugin.unload", NULL, NULL), 1001,
           "every copy was unloaded (the leak check is LSan at exit)");
    free(log);
    rm_rf(base);
}

static void test_coalesce(void)
{
    struct runner r;
    jh_err e = {0};

    new_case();
    install_plugin("t/plugins/h_basic.so", "h_basic.so");
    if (start_host(&r, &e) < 0) {
        ok(0, "coalesce: host starts (%s)", e.msg);
        return;
    }
    for (int i = 0; i < 5; i++)
        jh_host_request_reload(r.h);
    run_for(100);
    is_int((long long)jh_host_reloads(r.h), 1, "5 requests before the loop runs: one reload");
    jh_host_request_reload(r.h);
    run_for(100);
    is_int((long long)jh_host_reloads(r.h), 2, "a later request: one more");
    stop_host(&r);
    rm_rf(base);
}

static void test_reload_host_keys(void)
{
    struct runner r;
    jh_err e = {0};
    char *log;
    long mark;

    new_case();
    install_plugin("t/plugins/h_basic.so", "h_basic.so");
    write_file("conf.d/20-jobs.ini", "[job t]\nplugin = h_basic\nhandler = tick\nevery = 100ms\n");
    if (start_host(&r, &e) < 0) {
        ok(0, "host keys: host starts (%s)", e.msg);
        return;
    }
    run_for(300);
    write_file("conf.d/00-host.ini", "[host]\nlog_level = debug\nworkers = 3\n");
    is_int(jh_host_reload(r.h, &e), 0, "reload changing [host] keys (%s)", e.msg);
    log = read_all(path_in("log"));
    mark = (long)strlen(log);
    free(log);
    run_for(300);
    stop_host(&r);
    log = read_all(path_in("log"));
    ok(count_lines(log, "event=run.start", NULL, NULL) == count_lines(log + mark, "event=run.start", NULL, NULL) &&
           count_lines(log, "event=run.start", "job=t ", NULL) >= 1,
       "log_level = debug applies from the reload on (run.start lines)");
    ok(count_lines(log, "event=reload.note", "configured=3", NULL) == 1,
       "a workers change is reported as needing a restart");
    free(log);
    rm_rf(base);
}

/* The events service takes its settings at start only: a reload that
 * changes them fails, says why, and changes nothing. */
static void test_reload_events_settings(void)
{
    struct runner r;
    jh_err e = {0};
    char *log;
    struct stat sb;

    new_case();
    install_plugin("t/plugins/h_basic.so", "h_basic.so");
    write_file("conf.d/20-jobs.ini", "[job t]\nplugin = h_basic\nhandler = tick\nevery = 100ms\n");
    if (start_host(&r, &e) < 0) {
        ok(0, "events settings: host starts (%s)", e.msg);
        return;
    }
    ok(stat(path_in("state/outbox"), &sb) == 0 && S_ISDIR(sb.st_mode),
       "the outbox is created in state/ beside the conf dir");
    write_file("conf.d/00-host.ini", "[kafka bus]\nbrokers = 127.0.0.1:1\n");
    ok(jh_host_reload(r.h, &e) < 0, "reload adding [kafka] fails");
    like(e.msg, "[kafka] changed", "... naming what changed");
    like(e.msg, "restart jobhostd to apply", "... and what to do");
    write_file("conf.d/00-host.ini", "[host]\noutbox_sync = interval\n");
    ok(jh_host_reload(r.h, &e) < 0, "reload changing outbox_sync fails");
    like(e.msg, "[host] outbox_sync changed", "... naming the key");
    write_file("conf.d/00-host.ini", "");
    is_int(jh_host_reload(r.h, &e), 0, "back to the settings it started with: reload ok");
    run_for(250);
    stop_host(&r);
    log = read_all(path_in("log"));
    ok(count_lines(log, "event=reload.failed", "restart jobhostd", NULL) == 2,
       "both refusals logged as reload.failed");
    ok(count_lines(log, "event=run.finish", "job=t ", NULL) >= 1, "the job kept running");
    ok(count_lines(log, "event=host.stop", "events_undelivered=0", NULL) == 1,
       "host.stop reports the outbox drained");
    free(log);
    rm_rf(base);
}

static void test_shutdown(void)
{
    struct runner r;
    jh_err e = {0};
    char ini[700], *log, *fini;

    new_case();
    install_plugin("t/plugins/h_basic.so", "h_basic.so");
    snprintf(ini, sizeof(ini),
             "[host]\nshutdown_timeout = 10s\n\n[plugin h_basic]\nmarker = sd\nsleep_ms = 600\n"
             "fini_file = %s\n\n[job long]\nplugin = h_basic\nhandler = hang\nevery = 1h\n"
             "run_on_start = true\n",
             path_in("fini"));
    write_file("conf.d/10-p.ini", ini);
    if (start_host(&r, &e) < 0) {
        ok(0, "shutdown: host starts (%s)", e.msg);
        return;
    }
    ok(run_until("event=h.begin", NULL, 2000), "the long run started");
    stop_host(&r);
    is_int(r.left, 0, "stop waited for the running job");
    log = read_all(path_in("log"));
    long end = find_line(log, 0, "event=h.end", NULL);
    long stop = find_line(log, 0, "event=host.stop", NULL);
    ok(end > 0 && stop > end, "the run ended before host.stop");
    ok(count_lines(log, "event=h.end", "cancelled=1", NULL) == 1,
       "the running context was cancelled");
    fini = read_all(path_in("fini"));
    is_str(fini, "fini sd\n", "fini ran once");
    free(fini);
    free(log);
    rm_rf(base);
}

/* A run outlives shutdown_timeout (issue 9.16): its plugin is abandoned
 * and named, while a plugin with nothing running gets its fini and
 * plugin.unload.  In a child that then _exits as jobhostd does (the
 * abandoned run and what it uses are never freed). */
static void test_shutdown_abandon(void)
{
    char ini[900], *log, *fini, *left;
    int status;
    pid_t pid;

    new_case();
    install_plugin("t/plugins/h_basic.so", "h_basic.so");
    install_plugin("t/plugins/h_ver1.so", "h_ver.so");
    snprintf(ini, sizeof(ini),
             "[host]\nshutdown_timeout = 300ms\n\n[plugin h_basic]\nmarker = ab\nsleep_ms = 3000\n"
             "fini_file = %s\n\n[job long]\nplugin = h_basic\nhandler = hang\nevery = 1h\n"
             "run_on_start = true\n\n[plugin h_ver]\nfini_file = %s\n",
             path_in("fini_basic"), path_in("fini_ver"));
    write_file("conf.d/10-p.ini", ini);
    fflush(stdout);
    if ((pid = fork()) == 0) {
        struct runner r;
        jh_err e = {0};
        char buf[32];
        uv_loop_fork(loop);
        if (start_host(&r, &e) < 0 || !run_until("event=h.begin", NULL, 2000))
            _exit(2);
        jh_host_stop(r.h, stopped_cb, &r);
        for (int i = 0; i < 1000 && !r.stopped; i++)
            uv_run(loop, UV_RUN_ONCE);
        snprintf(buf, sizeof(buf), "%d", r.stopped ? r.left : -1);
        write_file("left", buf);
        _exit(0);
    }
    waitpid(pid, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "abandon: the host started and stopped");
    left = read_all(path_in("left"));
    is_str(left, "1", "stop gave up on the run after shutdown_timeout");
    free(left);
    fini = read_all(path_in("fini_ver"));
    is_str(fini, "fini v1\n", "the plugin with nothing running got its fini");
    free(fini);
    fini = read_all(path_in("fini_basic"));
    is_str(fini, "", "the abandoned one did not (its run still uses it)");
    free(fini);
    log = read_all(path_in("log"));
    ok(count_lines(log, "event=plugin.unload", "plugin=h_ver ", NULL) == 1,
       "plugin.unload logged for it");
    ok(count_lines(log, "event=plugin.abandoned", "plugin=h_basic ", NULL) == 1,
       "plugin.abandoned names the other");
    free(log);
    rm_rf(base);
}

static void test_plugins_dir_rule(void)
{
    static const struct {
        const char *conf_dir, *ini, *opt, *want;
    } cases[] = {
        {"conf.d", NULL, NULL, "plugins"},
        {"conf.d", "lib", NULL, "lib"},
        {"conf.d", "lib", "/opt/p", "/opt/p"},
        {"/etc/jobhost/conf.d", "plugins", NULL, "/etc/jobhost/plugins"},
        {"/etc/jobhost/conf.d/", "plugins", NULL, "/etc/jobhost/plugins"},
        {"a/conf.d", "../x", NULL, "a/../x"},
        {"a/conf.d", "/abs", NULL, "/abs"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        jh__conf c;
        memset(&c, 0, sizeof(c));
        c.host.plugins_dir = cases[i].ini;
        char *got = jh__hstate_plugins_dir(cases[i].conf_dir, &c, cases[i].opt);
        is_str(got, cases[i].want, "plugins dir for -c %s, plugins_dir %s, -p %s",
               cases[i].conf_dir, cases[i].ini ? cases[i].ini : "(unset)",
               cases[i].opt ? cases[i].opt : "(unset)");
        free(got);
    }
}

int main(void)
{
    plan_lazy();
    test_plugins_dir_rule();
    loop = uv_default_loop();
    test_config_errors();
    test_check();
    test_firing();
    test_overdue();
    test_reload_plugins();
    test_reload_host_keys();
    test_reload_events_settings();
    test_inflight_old_code();
    test_phase();
    test_shutdown();
    test_shutdown_abandon();
    test_many_reloads();
    test_coalesce(); /* last: runs with an empty conf.d, no ini at all */
    uv_loop_close(loop);
    jh__tz_cache_free();
    return done_testing();
}
