/*
 * ctx.t - the jh_api table and the store-backed repository, driven only
 * through the public inline wrappers of jobhost.h on real contexts (what a
 * plugin sees): the table's header, logging with the standard fields,
 * locks held across a run and released by jh__ctx_finish, owner tokens,
 * TTL in ms, the per-run lock limit, status buffers, idempotency,
 * deadline cancellation on a fake clock, tables of an older host, and
 * NULL arguments everywhere.  (repo.t covers the basic flows too.)
 */
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runtime/ctx.h"
#include "lib/tap.h"

#define MS 1000000LL
#define SEC 1000000000LL

static int64_t fake_now = 1795294208LL * SEC;
static int64_t clock_fn(void *arg)
{
    (void)arg;
    return fake_now;
}

static int fds[2];

static const char *next_line(void)
{
    static char line[16384];
    size_t n = 0;
    char c, *sp;

    while (n < sizeof(line) - 1 && read(fds[0], &c, 1) == 1 && c != '\n')
        line[n++] = c;
    line[n] = '\0';
    /* drop "ts=... " (logger.t and log.t check it) */
    sp = strchr(line, ' ');
    return strncmp(line, "ts=", 3) == 0 && sp != NULL ? sp + 1 : line;
}

static void log_vlist(jh_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    jh_api_of(c)->vlog(c, JH_LOG_INFO, NULL, fmt, ap);
    va_end(ap);
}

int main(void)
{
    jh__host_env env = {0};
    struct jh_ctx a, b, c0;
    jh_ctx *ca = (jh_ctx *)&a, *cb = (jh_ctx *)&b;
    const jh_api *api = jh__api_table();
    char buf[8];

    plan_lazy();
    if (pipe(fds) < 0)
        bail("pipe");
    jh__log_new(fds[1], JH_LOGFMT_LOGFMT, JH_LOG_INFO, &env.log);
    jh__store_new(clock_fn, NULL, &env.store);
    env.repo = jh__store_repo();
    env.now = clock_fn;

    /* --- the table itself --- */
    is_int((long long)api->size, (long long)sizeof(jh_api), "api size");
    ok(api->abi_major == JH_ABI_MAJOR && api->abi_minor == JH_ABI_MINOR, "api ABI version");
    ok(JH_HAS(api, job) && JH_HAS(api, plugin) && JH_HAS(api, handler) && JH_HAS(api, run_id) &&
           JH_HAS(api, scheduled) && JH_HAS(api, deadline) && JH_HAS(api, cancelled) &&
           JH_HAS(api, now) && JH_HAS(api, vlog) && JH_HAS(api, vfail) && JH_HAS(api, config) &&
           JH_HAS(api, state) && JH_HAS(api, repo),
       "every member present");
    const jh_repo *r = jh__store_repo();
    ok(r->size == sizeof(jh_repo) && r->lock->size == sizeof(jh_lock_api) &&
           r->status->size == sizeof(jh_status_api) && r->idem->size == sizeof(jh_idem_api) &&
           r->db == NULL && r->redis == NULL && r->events == NULL,
       "repo tables sized; no db/redis/events without a server");

    jh__ctx_init(&a, &env, NULL, "sync", "run", 7, fake_now, fake_now + 30 * SEC, NULL);
    jh__ctx_init(&b, &env, NULL, "sync", "run", 8, fake_now, INT64_MAX, NULL);
    is_str(jh_ctx_job(ca), "sync", "job");
    is_str(jh_ctx_handler(ca), "run", "handler");
    ok(jh_ctx_plugin(ca) == NULL, "no plugin: NULL name");
    ok(jh_config(ca, "dsn") == NULL, "no plugin: no config");
    is_int((long long)jh_run_id(ca), 7, "run id");
    ok(jh_scheduled(ca) == fake_now && jh_deadline(ca) == fake_now + 30 * SEC, "scheduled, deadline");
    ok(jh_state(ca) == NULL, "no state");
    ok(jh_repo_of(ca) == jh__store_repo(), "repo");

    /* --- logging --- */
    jh_log(ca, JH_LOG_INFO, "batch.done", "rows=%d note=\"%s\"", 3, "a b");
    is_str(next_line(), "level=info event=batch.done job=sync handler=run run_id=7 rows=3 note=\"a b\"",
           "jh_log: standard fields, then the plugin's fragment");
    jh_log(ca, JH_LOG_DEBUG, "noise", "x=1");
    jh_log(ca, JH_LOG_WARN, "evil", "a=1\nts=x level=error event=forged");
    is_str(next_line(),
           "level=warn event=evil job=sync handler=run run_id=7 a=1 plugin.ts=x plugin.level=error "
           "plugin.event=forged",
           "debug filtered; a newline in the fragment does not start a line");
    log_vlist(ca, NULL);
    is_str(next_line(), "level=info event=plugin.log job=sync handler=run run_id=7",
           "NULL event and format: logged as plugin.log, no crash");

    /* --- jh_fail --- */
    is_int(jh_fail(ca, -EIO, "db: %s", "down"), -EIO, "jh_fail returns its code");
    is_str(a.errmsg, "db: down", "message kept on the context");
    char longmsg[2000];
    memset(longmsg, 'm', sizeof(longmsg) - 1);
    longmsg[sizeof(longmsg) - 1] = '\0';
    jh_fail(ca, -1, "%s", longmsg);
    is_int((long long)strlen(a.errmsg), JH_CTX_ERRMSG_MAX - 1, "a long message is truncated, terminated");

    /* --- locks --- */
    is_int(jh_lock_acquire(ca, "L", 1500), 0, "a takes L for 1500 ms");
    is_int(jh_lock_acquire(cb, "L", 1500), -EBUSY, "b: busy");
    fake_now += 1499 * MS;
    is_int(jh_lock_acquire(cb, "L", 1500), -EBUSY, "b at +1499 ms: busy (ms -> ns)");
    fake_now += 1 * MS;
    is_int(jh_lock_acquire(cb, "L", 60000), 0, "b at +1500 ms: expired, b takes it");
    is_int(jh_lock_release(ca, "L"), -EPERM, "a's release of b's lock: -EPERM");
    is_int(jh_lock_acquire(ca, "L", 1000), -EBUSY, "it stays b's");
    is_int(jh_lock_acquire(cb, "M", 60000), 0, "b takes M too");
    is_int(jh_lock_acquire(cb, "M", 60000), 0, "b re-takes M (refresh, held once)");
    is_int(b.n_locks, 2, "b remembers two locks");
    jh__ctx_finish(&b);
    is_int((long long)jh__store_count(env.store), 0, "jh__ctx_finish released both");
    is_int(jh_lock_acquire(ca, "L", 1000), 0, "so a gets L");
    fake_now += 1000 * MS;
    is_int(jh_lock_release(ca, "L"), -ENOENT, "released after its TTL: -ENOENT");
    is_int(a.n_locks, 0, "and no longer remembered");

    /* Owner tokens: two init contexts (run id 0) at the same address are
     * still different owners. */
    jh__ctx_init(&c0, &env, NULL, NULL, NULL, 0, 0, INT64_MAX, NULL);
    is_int(jh_lock_acquire((jh_ctx *)&c0, "init", 60000), 0, "an init context takes a lock");
    struct jh_ctx saved = c0;
    jh__ctx_init(&c0, &env, NULL, NULL, NULL, 0, 0, INT64_MAX, NULL);
    is_int(jh_lock_acquire((jh_ctx *)&c0, "init", 60000), -EBUSY,
           "a new context at the same address is another owner");
    jh__ctx_finish(&c0);
    jh__ctx_finish(&saved);
    is_int((long long)jh__store_count(env.store), 0, "finish of the first releases it");

    char key[16];
    int rc = 0;
    for (int i = 0; i < JH_CTX_MAX_LOCKS; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        rc |= jh_lock_acquire(ca, key, 60000);
    }
    is_int(rc, 0, "%d locks in one run", JH_CTX_MAX_LOCKS);
    is_int(jh_lock_acquire(ca, "one-more", 60000), -ENOSPC, "one more: -ENOSPC");
    is_int(jh_lock_acquire(ca, "k0", 60000), 0, "refreshing a held one still works");
    is_int(jh_lock_acquire(cb, "one-more", 60000), 0, "the refused key was not taken");
    jh__ctx_finish(&b);
    jh__ctx_finish(&a);
    is_int((long long)jh__store_count(env.store), 0, "all released at finish");
    jh__ctx_finish(&a); /* twice: harmless */
    jh__ctx_finish(NULL);

    /* --- status and idempotency --- */
    jh__ctx_init(&a, &env, NULL, "sync", "run", 9, fake_now, INT64_MAX, NULL);
    is_int(jh_status_set(ca, "sync", "synced 12345 users", 0), 0, "status set");
    is_int(jh_status_get(cb, "sync", buf, sizeof(buf)), 18, "full length returned");
    is_str(buf, "synced ", "7 bytes + NUL in an 8-byte buffer");
    is_int(jh_status_get(cb, "sync", buf, 0), 18, "len 0: length only");
    is_int(jh_status_set(ca, "s2", "v", 250), 0, "250 ms status");
    fake_now += 250 * MS;
    is_int(jh_status_get(ca, "s2", buf, sizeof(buf)), -ENOENT, "gone after 250 ms");
    is_int(jh_processed_mark(ca, "msg-9", 100), 0, "mark for 100 ms");
    is_int(jh_processed_check(cb, "msg-9"), 1, "another run sees it");
    fake_now += 100 * MS;
    is_int(jh_processed_check(cb, "msg-9"), 0, "expired");

    /* --- cancellation --- */
    atomic_int cancel = 0;
    jh__ctx_init(&a, &env, NULL, "sync", "run", 10, fake_now, fake_now + 2 * SEC, &cancel);
    ok(!jh_cancelled(ca), "before the deadline: running");
    fake_now += 2 * SEC - 1;
    ok(!jh_cancelled(ca), "1 ns before: running");
    fake_now += 1;
    ok(jh_cancelled(ca), "at the deadline: cancelled");
    ok(jh_now(ca) == fake_now, "jh_now is the host's (injected) clock");
    jh__ctx_init(&a, &env, NULL, "sync", "run", 11, fake_now, INT64_MAX, &cancel);
    ok(!jh_cancelled(ca), "no deadline, flag clear: running");
    atomic_store(&cancel, 1);
    ok(jh_cancelled(ca), "the host's cancel flag");

    /* --- NULL arguments: -EINVAL, never a crash --- */
    is_int(jh_lock_acquire(ca, NULL, 10), -EINVAL, "lock: NULL key");
    is_int(jh_lock_acquire(ca, "k", 0), -EINVAL, "lock: ttl 0");
    is_int(jh_lock_release(ca, NULL), -EINVAL, "release: NULL key");
    is_int(jh_status_set(ca, NULL, "v", 0), -EINVAL, "status: NULL job");
    is_int(jh_status_set(ca, "j", NULL, 0), -EINVAL, "status: NULL value");
    is_int(jh_status_get(ca, NULL, buf, sizeof(buf)), -EINVAL, "status get: NULL job");
    is_int(jh_status_get(ca, "sync", NULL, 8), -EINVAL, "status get: NULL buffer");
    is_int(jh_processed_check(ca, NULL), -EINVAL, "check: NULL id");
    is_int(jh_processed_mark(ca, NULL, 1), -EINVAL, "mark: NULL id");
    ok(jh_config(ca, NULL) == NULL, "config: NULL key");
    ok(api->job(NULL) == NULL && api->cancelled(NULL) == 0 && api->repo(NULL) == NULL &&
           api->run_id(NULL) == 0 && api->state(NULL) == NULL,
       "a NULL context: empty answers");
    is_int(r->lock->acquire(NULL, "k", 10), -EINVAL, "repo on a NULL context: -EINVAL");
    is_int(r->status->get(NULL, "k", buf, sizeof(buf)), -EINVAL, "status on a NULL context");
    is_int(r->idem->check(NULL, "k"), -EINVAL, "idem on a NULL context");
    jh__host_env noenv = {0};
    jh__ctx_init(&b, &noenv, NULL, "j", "h", 1, 0, INT64_MAX, NULL);
    is_int(jh_lock_acquire(cb, "k", 10), -ENOSYS, "a host with no repository: -ENOSYS");
    jh_log(cb, JH_LOG_ERROR, "x", "y=1"); /* no logger: silently nothing */

    /* --- an older host: smaller tables --- */
    jh_repo old_repo = *jh__store_repo();
    old_repo.idem = NULL; /* a host with no idempotency service */
    env.repo = &old_repo;
    is_int(jh_processed_check(ca, "m"), -ENOSYS, "repo without idem: -ENOSYS");
    is_int(jh_status_set(ca, "j", "v", 0), 0, "status still served");
    jh_status_api old_status = *jh__store_repo()->status;
    old_status.size = offsetof(jh_status_api, get);
    old_repo.status = &old_status;
    is_int(jh_status_get(ca, "j", buf, sizeof(buf)), -ENOSYS, "status table without get: -ENOSYS");
    jh_api old_api = *api;
    old_api.size = offsetof(jh_api, repo);
    ok(JH_HAS(&old_api, config) && !JH_HAS(&old_api, repo), "JH_HAS on an older api table");
    old_api.config = NULL;
    ok(!JH_HAS(&old_api, config), "JH_HAS: a NULL member is absent");
    env.repo = jh__store_repo();

    jh__ctx_finish(&a);
    jh__ctx_finish(&b);
    jh__store_free(env.store);
    jh__log_free(env.log);
    close(fds[0]);
    close(fds[1]);
    return done_testing();
}
