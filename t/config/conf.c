/*
 * conf.t - conf.d parsing: defaults, every [job] key, name order, and each
 * error with its exact "DIR/FILE:LINE: ..." text (files written here, so
 * names and line numbers are known).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "time/tz.h"
#include "lib/tap.h"

static char dir[64];

static void put(const char *name, const char *text)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    fputs(text, f);
    fclose(f);
}

static void clear(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -f %s/*", dir);
    if (system(cmd) != 0)
        bail("rm");
}

/* Load dir with one file; expect an error whose text, after "DIR/", is `want`. */
static void expect_error(const char *text, const char *want, const char *name)
{
    jh__conf *c = NULL;
    jh_err e;
    char full[1024];

    clear();
    put("10-x.ini", text);
    int rc = jh__conf_load_dir(dir, &c, &e);
    snprintf(full, sizeof(full), "%s/%s", dir, want);
    ok(rc < 0, "%s: refused", name);
    like(rc < 0 ? e.msg : "(loaded)", full, "  %s", want);
    jh__conf_free(c);
}

int main(void)
{
    jh__conf *c;
    jh_err e;

    plan_lazy();
    snprintf(dir, sizeof(dir), "/tmp/jh-conf-XXXXXX");
    if (mkdtemp(dir) == NULL)
        bail("mkdtemp");

    ok(jh__conf_load_dir(dir, &c, &e) == 0 && c->n_jobs == 0, "an empty dir is an empty config");
    ok(c->host.workers == 2 && c->host.shutdown_timeout == 30000000000LL &&
           c->host.log_format == 0 && c->host.log_level == 1 && c->host.plugins_dir == NULL,
       "defaults: 2 workers, 30s, logfmt, info");
    jh__conf_free(c);

    put("20-b.ini", "[job b]\nplugin = p\nhandler = h\nevery = 1h30m\n");
    put("10-a.ini", "; comment\n[host]\nworkers = 4\nlog_format = json\n\n"
                    "[plugin p]\ntitle = Daily ; inline comment\npassword = s3cret\n\n"
                    "[job a]\nplugin = p\nhandler = h\ncron = 0 30 2 * * *\n"
                    "timezone = America/New_York\njitter = 5s\nrun_on_start = yes\n"
                    "concurrency = allow\nmax_running = 3\ntimeout = 2m\nenabled = off\n");
    put("README.txt", "[not ini]\n");
    if (!ok(jh__conf_load_dir(dir, &c, &e) == 0, "two files load")) {
        diag("%s", e.msg);
        return done_testing();
    }
    is_str(c->jobs[0].name, "a", "10-a.ini before 20-b.ini");
    is_str(c->jobs[1].name, "b", "then b");
    const jh__conf_job *a = &c->jobs[0];
    ok(a->kind == JH_SCHED_CRON && strcmp(a->cron, "0 30 2 * * *") == 0 &&
           strcmp(a->timezone, "America/New_York") == 0,
       "cron and timezone");
    ok(a->jitter == 5000000000LL && a->run_on_start == 1 && a->concurrency == JH_CONC_ALLOW &&
           a->max_running == 3 && a->timeout == 120000000000LL && a->enabled == 0,
       "jitter, run_on_start, concurrency, max_running, timeout, enabled");
    is_int(a->set, JH_JOB_SET_SCHEDULE | JH_JOB_SET_TIMEZONE | JH_JOB_SET_JITTER |
                       JH_JOB_SET_RUN_ON_START | JH_JOB_SET_CONCURRENCY |
                       JH_JOB_SET_MAX_RUNNING | JH_JOB_SET_TIMEOUT | JH_JOB_SET_ENABLED,
           "every key marked as set");
    ok(c->jobs[1].kind == JH_SCHED_EVERY && c->jobs[1].every == 5400000000000LL &&
           c->jobs[1].set == JH_JOB_SET_SCHEDULE && c->jobs[1].enabled == 1,
       "every = 1h30m; defaults elsewhere");
    ok(c->host.workers == 4 && c->host.log_format == 1, "[host] workers and log_format");
    is_int(a->pos.line, 10, "job a's section is at line 10");
    const jh__conf_plugin *p = jh__conf_find_plugin(c, "p");
    ok(p && p->n_kv == 2, "[plugin p] has 2 keys");
    is_str(jh__conf_plugin_get(p, "title")->value, "Daily", "inline comment stripped");

    /* Keys checked against a plugin's declaration; secrets never echoed. */
    jh_config_key keys[] = {{"title", NULL, NULL, 0}, {"password", NULL, NULL, 1}};
    jh_plugin_desc d = {.config_keys = keys, .n_config_keys = 2,
                        .config_key_size = sizeof(jh_config_key)};
    ok(jh__conf_check_plugin(p, &d, &e) == 0, "declared keys pass");
    d.n_config_keys = 1;
    ok(jh__conf_check_plugin(p, &d, &e) < 0, "an undeclared key is refused");
    like(e.msg, "10-a.ini:8: [plugin p]: unknown key \"password\" (p declares: title)",
         "with file:line and what is declared");
    ok(strstr(e.msg, "s3cret") == NULL, "and never the value");
    jh__conf *c2;
    jh__conf_load_dir(dir, &c2, &e);
    ok(jh__conf_plugin_equal(jh__conf_find_plugin(c, "p"), jh__conf_find_plugin(c2, "p")),
       "same section twice: equal");
    ok(!jh__conf_plugin_equal(jh__conf_find_plugin(c, "p"), NULL), "vs none: not equal");
    jh__conf_free(c2);
    jh__conf_free(c);

    expect_error("[jobs x]\n", "10-x.ini:1: unknown section [jobs x]", "unknown section");
    expect_error("[job x]\nplugin = p\nhandler = h\ncronn = * * * * * *\n",
                 "10-x.ini:4: [job x]: unknown key \"cronn\" (did you mean \"cron\"?)",
                 "unknown key with a suggestion");
    expect_error("[job x]\nplugin = p\nhandler = h\nevery = 5\n",
                 "10-x.ini:4: [job x]: every: duration \"5\": expected a unit", "bad duration");
    expect_error("[job x]\nplugin = p\nhandler = h\ncron = 0 0 25 * * *\n",
                 "10-x.ini:4: [job x]: cron: field 3 (hour) \"25\": value out of range 0-23 at column 5",
                 "bad cron");
    expect_error("[job x]\nplugin = p\nhandler = h\ncron = 0 0 2 * * *\ntimezone = Mars/Base\n",
                 "10-x.ini:5: [job x]: timezone \"Mars/Base\": not found", "unknown zone");
    expect_error("[job x]\nplugin = p\nhandler = h\nevery = 1s\ncron = * * * * * *\n",
                 "10-x.ini:5: [job x]: both every and cron set (line 4)", "every and cron");
    expect_error("[job x]\nplugin = p\nhandler = h\nevery = 1s\nmax_running = 2\n",
                 "10-x.ini:5: [job x]: max_running = 2 needs concurrency = allow",
                 "max_running without allow");
    expect_error("[job x]\nplugin = p\nevery = 1s\n",
                 "10-x.ini:1: [job x]: missing key \"handler\"", "missing handler");
    expect_error("[job x]\nplugin = p\nplugin = q\n",
                 "10-x.ini:3: [job x]: duplicate key \"plugin\"", "duplicate key");
    expect_error("[host]\nworkers = 0\n",
                 "10-x.ini:2: [host]: workers \"0\": expected a number from 1 to 256",
                 "workers out of range");
    expect_error("workers = 2\n", "10-x.ini:1: key \"workers\" outside any section",
                 "key outside a section");
    expect_error("[job x]\nplugin = p\n  continued\n",
                 "10-x.ini:3: indented line: continuation lines are not supported",
                 "continuation line");
    expect_error("[job x]\nhandler = h\nplugin = p\nevery = 1s\nrun_on_start = maybe\n",
                 "10-x.ini:5: [job x]: run_on_start \"maybe\": expected true or false",
                 "bad boolean");
    {
        char longline[400];
        memset(longline, 'a', sizeof(longline));
        strcpy(longline, "[job x]\nplugin = ");
        memset(longline + 17, 'p', 300);
        strcpy(longline + 317, "\n");
        expect_error(longline, "10-x.ini:2: line longer than 198 characters", "long line");
    }
    /* Duplicate job across two files names the first place. */
    clear();
    put("10-a.ini", "[job x]\nplugin = p\nhandler = h\n");
    put("20-b.ini", "\n[job x]\nplugin = p\nhandler = h\n");
    ok(jh__conf_load_dir(dir, &c, &e) < 0, "duplicate job refused");
    char want[256];
    snprintf(want, sizeof(want), "%s/20-b.ini:2: [job x]: duplicate job (first defined at %s/10-a.ini:1)",
             dir, dir);
    is_str(e.msg, want, "naming both places");
    ok(jh__conf_load_dir("/nonexistent/conf.d", &c, &e) < 0, "missing dir refused");
    like(e.msg, "/nonexistent/conf.d: cannot open configuration directory", "naming it");
    ok(jh__conf_load_string("inline", "[job s]\nplugin = p\nhandler = h\n", &c, &e) == 0 &&
           c->n_jobs == 1, "load_string");
    jh__conf_free(c);

    /* 100,000 jobs: loads (time reported, not asserted). */
    clear();
    char path[256];
    snprintf(path, sizeof(path), "%s/big.ini", dir);
    FILE *f = fopen(path, "w");
    for (int i = 0; i < 100000; i++)
        fprintf(f, "[job j%d]\nplugin = p\nhandler = h\nevery = 1h\n", i);
    fclose(f);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = jh__conf_load_dir(dir, &c, &e);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ok(rc == 0 && c->n_jobs == 100000, "100,000 jobs load");
    diag("100,000 jobs parsed in %.1f ms",
         (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
    jh__conf_free(c);
    clear();
    rmdir(dir);
    jh__tz_cache_free();
    return done_testing();
}
