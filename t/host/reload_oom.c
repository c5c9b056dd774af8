/*
 * reload_oom.t - jh__hstate_commit() when the scheduler runs out of memory:
 * the refusal is returned, the committed state lists what the scheduler
 * really runs, and the next commit tries again.
 *
 * realloc is wrapped (-Wl,--wrap=realloc) to fail while the test says so;
 * a commit allocates with realloc only to grow the scheduler's job heap,
 * which is filled first (jobs added with realloc failing until one is
 * refused).  States are built from t/plugins/h_basic.so as the host does.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reload.h"
#include "repo/backends.h"
#include "runtime/ctx.h"
#include "lib/tap.h"

#define S 1000000000LL

void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);

static int fail_realloc;

void *__wrap_realloc(void *p, size_t n)
{
    if (fail_realloc) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_realloc(p, n);
}

static char base[512];
static jh__host_env env;
static int64_t now = 1767225600LL * S;
static int64_t clock_fn(void *a) { (void)a; return now; }

static int exec_cb(jh__run *r) { (void)r; return 0; }
static void done_cb(jh__run *r) { (void)r; }
static void skip_cb(jh__sjob *j, void *u, int64_t s, const char *why) { (void)j; (void)u; (void)s; (void)why; }
static void release_cb(void *u)
{
    if (u != NULL)
        jh__hjob_unref(u);
}

static const jh__sched_ops ops = {exec_cb, done_cb, skip_cb, release_cb, NULL};

static void sh(const char *cmd)
{
    if (system(cmd) != 0)
        bail("failed: %s", cmd);
}

static void write_ini(const char *text)
{
    char path[600];
    FILE *f;

    snprintf(path, sizeof(path), "%s/conf.d/10-test.ini", base);
    if ((f = fopen(path, "w")) == NULL)
        bail("cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

static void build(const jh__hstate *old, jh__hstate *st)
{
    char conf_dir[600], plug_dir[600];
    jh__conf *conf;
    jh_err e;

    snprintf(conf_dir, sizeof(conf_dir), "%s/conf.d", base);
    snprintf(plug_dir, sizeof(plug_dir), "%s/plugins", base);
    if (jh__conf_load_dir(conf_dir, &conf, &e) < 0 ||
        jh__hstate_build(conf, plug_dir, old, &env, NULL, st, &e) < 0)
        bail("build: %s", e.msg);
}

static jh__hjob *job(const jh__hstate *st, const char *name)
{
    for (size_t i = 0; i < st->n_jobs; i++)
        if (strcmp(st->jobs[i]->name, name) == 0)
            return st->jobs[i];
    bail("no job %s", name);
    return NULL;
}

/* Commit `ini` over *cur, realloc failing or not; *cur becomes the new state. */
static int reload(jh__sched *s, jh__hstate *cur, jh__retired **retired, const char *ini,
                  int fail, jh__diff_counts *dc)
{
    jh__hstate next;
    int rc;

    if (ini != NULL)
        write_ini(ini);
    build(cur, &next);
    fail_realloc = fail;
    rc = jh__hstate_commit(s, cur, &next, retired, dc);
    fail_realloc = 0;
    jh__hstate_release(cur);
    *cur = next;
    return rc;
}

static const char a_off[] = "[job a]\nplugin = h_basic\nhandler = tick\nevery = 1s\n"
                            "enabled = false\n";
static const char a_on[] = "[job a]\nplugin = h_basic\nhandler = tick\nevery = 1s\n";
static const char a_on_b[] = "[job a]\nplugin = h_basic\nhandler = tick\nevery = 1s\n"
                             "[job b]\nplugin = h_basic\nhandler = tick\nevery = 2s\n";

int main(void)
{
    static const jh__sched_spec hourly = {.kind = JH_SCHED_EVERY, .every = 3600 * S,
                                          .enabled = 1, .max_running = 1};
    jh__sched_opts so = {.manual = 1, .ops = &ops, .now = clock_fn};
    int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    jh__retired *retired = NULL;
    jh__diff_counts dc;
    jh__hstate cur;
    jh__sched *s;
    jh__hjob *a;
    char cmd[4096];
    int rc = 0;

    plan_lazy();
    snprintf(base, sizeof(base), "%s/t/reload_oom.dir", tap_builddir());
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s/conf.d' '%s/plugins' && cp '%s' '%s/plugins/'",
             base, base, base, tap_build("t/plugins/h_basic.so"), base);
    sh(cmd);
    if (jh__log_new(null_fd, 0, JH_LOG_WARN, &env.log) < 0 ||
        jh__store_new(NULL, NULL, &env.store) < 0)
        bail("env");
    env.repo = jh__full_repo();
    if (jh__sched_new(&so, &s) < 0 || jh__sched_start(s) < 0)
        bail("sched");

    /* The first commit: a (disabled) and the implicit h_basic.auto. */
    write_ini(a_off);
    build(NULL, &cur);
    if (jh__hstate_commit(s, NULL, &cur, &retired, &dc) < 0)
        bail("first commit");
    fail_realloc = 1;
    while (rc == 0)
        rc = jh__sched_add(s, &hourly, NULL, NULL);
    fail_realloc = 0;

    /* Enabling a needs a heap slot there is no memory for. */
    a = job(&cur, "a");
    is_int(reload(s, &cur, &retired, a_on, 1, &dc), -ENOMEM,
           "update refused by the scheduler: -ENOMEM returned");
    ok(job(&cur, "a") == a && !a->enabled,
       "  the new state keeps the job the scheduler still runs (a, disabled)");
    ok(jh__sched_next_fire(a->sjob) == INT64_MAX, "  which is not armed");
    rc = reload(s, &cur, &retired, NULL, 0, &dc);
    ok(rc == 0 && dc.changed == 1, "the next reload, memory back, applies the update (%d)", rc);
    a = job(&cur, "a");
    ok(a->enabled && jh__sched_next_fire(a->sjob) != INT64_MAX, "  a is enabled and armed");

    /* Adding b with the heap full again. */
    fail_realloc = 1;
    for (rc = 0; rc == 0;)
        rc = jh__sched_add(s, &hourly, NULL, NULL);
    fail_realloc = 0;
    is_int(reload(s, &cur, &retired, a_on_b, 1, &dc), -ENOMEM,
           "add refused by the scheduler: -ENOMEM returned");
    ok(job(&cur, "b")->sjob == NULL, "  b is listed but not scheduled");
    rc = reload(s, &cur, &retired, NULL, 0, &dc);
    ok(rc == 0 && dc.added == 1 && dc.unchanged == 2,
       "the next reload, the same files, adds b (rc %d, added %zu, unchanged %zu)", rc,
       dc.added, dc.unchanged);
    ok(job(&cur, "b")->sjob != NULL && jh__sched_next_fire(job(&cur, "b")->sjob) != INT64_MAX,
       "  b is scheduled");

    for (size_t i = 0; i < cur.n_jobs; i++)
        jh__sched_remove(s, cur.jobs[i]->sjob);
    jh__sched_free(s);
    jh__retired_clear(&retired);
    jh__hstate_release(&cur);
    jh__store_free(env.store);
    jh__log_free(env.log);
    close(null_fd);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    sh(cmd);
    return done_testing();
}
