/*
 * backends.t - binding plugins to backends (host/backends.c through
 * jh__hstate_build): required services, declared services, enabled =
 * false | auto, sharing one object between plugins, keeping it across a
 * reload when its section is unchanged, ABI 1.0 plugins, and what a plugin
 * gets when it calls a service it did not declare.  No server is needed:
 * backends connect on first use only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/ctx.h"
#include "repo/backends.h"
#include "reload.h"
#include "lib/tap.h"

static char base[512];
static jh__host_env env;

static void sh(const char *fmt, const char *a, const char *b)
{
    char cmd[2048];

    snprintf(cmd, sizeof(cmd), fmt, a, b);
    if (system(cmd) != 0)
        bail("failed: %s", cmd);
}

/* A fresh case directory with the given plugins (space-separated names of
 * t/plugins/NAME.so) and one ini file. */
static void setup(const char *plugins, const char *ini)
{
    char list[256], *save = NULL;
    FILE *f;
    char path[1600];

    sh("rm -rf '%s' && mkdir -p '%s/conf.d'", base, base);
    sh("mkdir -p '%s/plugins'%s", base, "");
    snprintf(list, sizeof(list), "%s", plugins);
    for (char *t = strtok_r(list, " ", &save); t != NULL; t = strtok_r(NULL, " ", &save)) {
        char src[600], dst[600];
        snprintf(src, sizeof(src), "%s", tap_build("t/plugins"));
        snprintf(dst, sizeof(dst), "%s/plugins/%s.so", base, t);
        snprintf(path, sizeof(path), "cp '%s/%s.so' '%s'", src, t, dst);
        if (system(path) != 0)
            bail("%s", path);
    }
    snprintf(path, sizeof(path), "%s/conf.d/10-test.ini", base);
    if ((f = fopen(path, "w")) == NULL)
        bail("cannot write %s", path);
    fputs(ini, f);
    fclose(f);
}

/* Build a state from the case directory; returns rc, message in e. */
static int build(const jh__hstate *old, jh__hstate *st, jh_err *e)
{
    char conf_dir[600], plug_dir[600];
    jh__conf *conf;
    int rc;

    snprintf(conf_dir, sizeof(conf_dir), "%s/conf.d", base);
    snprintf(plug_dir, sizeof(plug_dir), "%s/plugins", base);
    memset(e, 0, sizeof(*e));
    if ((rc = jh__conf_load_dir(conf_dir, &conf, e)) < 0)
        return rc;
    return jh__hstate_build(conf, plug_dir, old, &env, NULL, st, e);
}

static const jh__plugin *loaded(const jh__hstate *st, const char *name)
{
    for (size_t i = 0; i < st->n_plugins; i++)
        if (strcmp(jh__plugin_name(st->plugins[i].plugin), name) == 0)
            return st->plugins[i].plugin;
    return NULL;
}

#define MYSQL_MAIN "[mysql main]\nuser = u\ndatabase = d\n"

static void test_required(void)
{
    jh__hstate st;
    jh_err e;
    char want[1024];

    setup("svc_db", "");
    is_int(build(NULL, &st, &e), -ENOENT, "required db not bound: load error");
    snprintf(want, sizeof(want),
             "plugin svc_db (%s/plugins/svc_db.so) requires the db service: bind one with "
             "`mysql = NAME` in [plugin svc_db] and a [mysql NAME] section", base);
    is_str(e.msg, want, "the error names the plugin, its file and what to add");

    setup("svc_db", "[plugin svc_db]\nmysql = nope\n");
    ok(build(NULL, &st, &e) < 0, "binding to a missing section: error");
    like(e.msg, "10-test.ini:2: [plugin svc_db]", "... with file:line");
    like(e.msg, "nope", "... naming the missing section");

    setup("svc_db h_basic", MYSQL_MAIN "[plugin svc_db]\nmysql = main\n"
                                       "[plugin h_basic]\nmysql = main\n");
    ok(build(NULL, &st, &e) < 0, "binding a service the plugin does not declare: error");
    like(e.msg, "[plugin h_basic]: mysql = \"main\": plugin h_basic", "... names the plugin");
    like(e.msg, "does not use the db service", "... and why");
}

static void test_bound(void)
{
    jh__hstate st, st2, st3;
    const jh__services *a, *b, *c;
    jh_err e;

    setup("svc_db svc_db2 h_basic",
          MYSQL_MAIN "[plugin svc_db]\nmysql = main\n[plugin svc_db2]\nmysql = main\n");
    if (!ok(build(NULL, &st, &e) == 0, "bound plugins load") ) {
        diag("%s", e.msg);
        return;
    }
    a = jh__plugin_services(loaded(&st, "svc_db"));
    b = jh__plugin_services(loaded(&st, "svc_db2"));
    c = jh__plugin_services(loaded(&st, "h_basic"));
    ok(a != NULL && a->db != NULL && a->redis == NULL, "svc_db: db bound, no redis");
    is_int(a ? a->declared : 0, JH_SVC_DB | JH_SVC_EVENTS, "declared bits from the descriptor");
    ok(a && b && a->db == b->db, "two plugins naming one section share one backend object");
    ok(c != NULL && c->db == NULL && c->declared == 0, "a plugin that needs nothing gets none");

    /* Reload, same files and sections: same copies, same object. */
    is_int(build(&st, &st2, &e), 0, "rebuild with nothing changed");
    ok(st2.n_plugins == 3 && st2.plugins[0].reused && st2.plugins[1].reused,
       "unchanged plugins are reused");
    ok(jh__plugin_services(loaded(&st2, "svc_db"))->db == a->db, "... with the same db object");
    jh__hstate_release(&st);

    /* The [mysql] section changes: new copies bound to a new object. */
    setup("svc_db svc_db2 h_basic",
          MYSQL_MAIN "read_timeout = 7s\n[plugin svc_db]\nmysql = main\n"
                     "[plugin svc_db2]\nmysql = main\n");
    is_int(build(&st2, &st3, &e), 0, "rebuild with [mysql main] changed");
    {
        const jh__plugin *p = loaded(&st3, "svc_db");
        int reused = 0;
        for (size_t i = 0; i < st3.n_plugins; i++)
            if (st3.plugins[i].plugin == p)
                reused = st3.plugins[i].reused;
        ok(!reused, "a plugin bound to a changed section is loaded again");
        ok(jh__plugin_services(p)->db != jh__plugin_services(loaded(&st2, "svc_db"))->db,
           "... with a new db object");
        ok(jh__plugin_services(p)->db == jh__plugin_services(loaded(&st3, "svc_db2"))->db,
           "... still shared by both plugins");
    }
    jh__hstate_release(&st2);
    jh__hstate_release(&st3);
}

static void test_enabled(void)
{
    jh__hstate st;
    jh_err e;

    setup("svc_db h_basic", "[plugin svc_db]\nenabled = false\n"
                            "[job p]\nplugin = svc_db\nhandler = probe\nevery = 1s\n");
    is_int(build(NULL, &st, &e), 0, "enabled = false: no error although db is not bound");
    ok(loaded(&st, "svc_db") == NULL && st.n_skipped == 1, "... the plugin is not loaded");
    for (size_t i = 0; i < st.n_jobs; i++)
        ok(strcmp(st.jobs[i]->name, "p") != 0, "... and its job is not scheduled");
    jh__hstate_release(&st);

    setup("svc_db", "[plugin svc_db]\nenabled = false\n"
                    "[job p]\nplugin = svc_db\nhandler = nope\nevery = 1s\n");
    ok(build(NULL, &st, &e) < 0, "a disabled plugin's jobs are still checked");
    like(e.msg, "unknown handler \"nope\" in plugin \"svc_db\" (handlers: probe)", "... by name");

    setup("svc_db", "[plugin svc_db]\nenabled = auto\n");
    is_int(build(NULL, &st, &e), 0, "enabled = auto without its services: not an error");
    ok(loaded(&st, "svc_db") == NULL && st.n_skipped == 1, "... and not loaded");
    jh__hstate_release(&st);

    setup("svc_db", MYSQL_MAIN "[plugin svc_db]\nenabled = auto\nmysql = main\n");
    is_int(build(NULL, &st, &e), 0, "enabled = auto with its services bound");
    ok(loaded(&st, "svc_db") != NULL, "... loads it");
    jh__hstate_release(&st);
}

/* Reload semantics of the host keys of [plugin] (review findings). */
static void test_reload_bindings(void)
{
    jh__hstate s1, s2, s3;
    jh_err e;

    setup("h_basic", "[redis cache]\nport = 1\n");
    if (build(NULL, &s1, &e) < 0)
        bail("%s", e.msg);
    setup("h_basic", "[redis cache]\nport = 1\n[plugin h_basic]\nenabled = false\n");
    is_int(build(&s1, &s2, &e), 0, "reload adding [plugin h_basic] enabled = false");
    ok(loaded(&s2, "h_basic") == NULL && s2.n_skipped == 1,
       "... really disables the running plugin (a section of host keys only counts)");
    jh__hstate_release(&s2);
    setup("h_basic", "[redis cache]\nport = 1\n[plugin h_basic]\nredis = cache\n");
    is_int(build(&s1, &s2, &e), 0, "reload adding redis = cache to a plugin with no section");
    ok(loaded(&s2, "h_basic") != NULL && jh__plugin_services(loaded(&s2, "h_basic"))->redis,
       "... loads it again, bound to redis");
    ok(!s2.plugins[0].reused, "... (not the old copy)");
    jh__hstate_release(&s1);
    jh__hstate_release(&s2);

    /* A copy reused by a reload keeps its object in the set: a plugin
     * added by the next reload on the same section shares it. */
    setup("svc_db", MYSQL_MAIN "[plugin svc_db]\nmysql = main\n");
    if (build(NULL, &s1, &e) < 0 || build(&s1, &s2, &e) < 0)
        bail("%s", e.msg);
    jh__hstate_release(&s1);
    setup("svc_db svc_db2", MYSQL_MAIN "[plugin svc_db]\nmysql = main\n"
                                       "[plugin svc_db2]\nmysql = main\n");
    is_int(build(&s2, &s3, &e), 0, "second reload adds svc_db2 on the same section");
    ok(jh__plugin_services(loaded(&s3, "svc_db2"))->db ==
           jh__plugin_services(loaded(&s3, "svc_db"))->db,
       "... and shares the reused copy's db object (one pool per section)");
    jh__hstate_release(&s2);
    jh__hstate_release(&s3);
}

static void test_abi10(void)
{
    jh__hstate st;
    jh_err e;

    setup("abi10", "");
    if (!ok(build(NULL, &st, &e) == 0, "a plugin built for ABI 1.0 loads in a 1.1 host"))
        diag("%s", e.msg);
    else {
        const jh__plugin *p = loaded(&st, "abi10");
        ok(p != NULL && jh__plugin_desc_of(p)->requires == 0,
           "its descriptor is read up to its own size (requires = 0)");
        jh__hstate_release(&st);
    }
}

/* A plugin calling a service it did not declare gets -ENOSYS and a reason. */
static void test_undeclared_call(void)
{
    jh__hstate st;
    jh_err e;
    struct jh_ctx c;
    jh_stmt *stmt = NULL;
    const jh__plugin *p;

    setup("svc_redis", "[redis cache]\nport = 1\n[plugin svc_redis]\nredis = cache\n");
    if (!ok(build(NULL, &st, &e) == 0, "svc_redis loads")) {
        diag("%s", e.msg);
        return;
    }
    p = loaded(&st, "svc_redis");
    jh__ctx_init(&c, &env, jh__plugin_ctx(p), "j", "probe", 1, 0, INT64_MAX, NULL);
    is_int(jh_db_prepare(&c, "SELECT 1", &stmt), -ENOSYS, "db from a plugin that did not "
                                                          "declare it: -ENOSYS");
    ok(stmt == NULL, "... and no statement");
    like(jh_last_error(&c), "plugin svc_redis does not declare the db service",
         "... with the reason in jh_last_error");
    is_int(jh_event_send(&c, "t", "x", 1, NULL), -ENOSYS, "events undeclared: -ENOSYS");
    jh__ctx_finish(&c);
    jh__hstate_release(&st);
}

int main(void)
{
    int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

    snprintf(base, sizeof(base), "%s/t/backends.dir", tap_builddir());
    if (jh__log_new(null_fd, 0, JH_LOG_WARN, &env.log) < 0 ||
        jh__store_new(NULL, NULL, &env.store) < 0)
        bail("env");
    env.repo = jh__full_repo();
    plan_lazy();
    test_required();
    test_bound();
    test_enabled();
    test_reload_bindings();
    test_abi10();
    test_undeclared_call();
    jh__store_free(env.store);
    jh__log_free(env.log);
    close(null_fd);
    sh("rm -rf '%s'%s", base, "");
    return done_testing();
}
