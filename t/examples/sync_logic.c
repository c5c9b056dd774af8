/*
 * host_sync.c - the sync example's logic layer against a mocked context
 * and repository (the seeds' "unit tests with a mocked repository").
 *
 * The logic only sees jobhost.h: the mock is a jh_api table whose lock and
 * status services record what they were asked, with a fake clock and a
 * cancellation that turns true after a chosen number of checks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jobhost.h>

#include "sync_logic.h"
#include "lib/tap.h"

struct mock {
    const jh_api *api;          /* first, as jobhost.h requires */
    struct sync_config cfg;
    int64_t clock;
    int cancel_after;           /* jh_cancelled() true from this call on; 0 = never */
    int cancel_calls;
    int lock_rc;                /* what acquire returns */
    int acquired, released;
    char lock_key[64];
    int64_t lock_ttl_ms;
    char status[8][64];
    int n_status;
    char events[2048];
    char fail[256];
};

static struct mock *M(jh_ctx *c) { return (struct mock *)(void *)c; }

static const char *m_job(jh_ctx *c) { (void)c; return "sync_user"; }
static const char *m_plugin(jh_ctx *c) { (void)c; return "sync"; }
static const char *m_handler(jh_ctx *c) { (void)c; return "sync_user"; }
static uint64_t m_run_id(jh_ctx *c) { (void)c; return 1; }
static int64_t m_scheduled(jh_ctx *c) { (void)c; return 0; }
static int64_t m_deadline(jh_ctx *c) { (void)c; return INT64_MAX; }
static int64_t m_now(jh_ctx *c) { return M(c)->clock += 1000000; /* 1 ms a call */ }
static void *m_state(jh_ctx *c) { return &M(c)->cfg; }
static const char *m_config(jh_ctx *c, const char *k) { (void)c; (void)k; return NULL; }

static int m_cancelled(jh_ctx *c)
{
    struct mock *m = M(c);

    return m->cancel_after > 0 && ++m->cancel_calls >= m->cancel_after;
}

static void m_vlog(jh_ctx *c, int level, const char *event, const char *fmt, va_list ap)
{
    struct mock *m = M(c);
    size_t off = strlen(m->events);

    (void)level;
    off += (size_t)snprintf(m->events + off, sizeof(m->events) - off, "%s ", event);
    if (off < sizeof(m->events))
        off += (size_t)vsnprintf(m->events + off, sizeof(m->events) - off, fmt, ap);
    if (off + 1 < sizeof(m->events))
        strcat(m->events, "\n");
}

static void m_vfail(jh_ctx *c, const char *fmt, va_list ap)
{
    vsnprintf(M(c)->fail, sizeof(M(c)->fail), fmt, ap);
}

static int m_acquire(jh_ctx *c, const char *key, int64_t ttl_ms)
{
    struct mock *m = M(c);

    snprintf(m->lock_key, sizeof(m->lock_key), "%s", key);
    m->lock_ttl_ms = ttl_ms;
    if (m->lock_rc == 0)
        m->acquired++;
    return m->lock_rc;
}

static int m_release(jh_ctx *c, const char *key)
{
    (void)key;
    M(c)->released++;
    return 0;
}

static int m_status_set(jh_ctx *c, const char *job, const char *value, int64_t ttl_ms)
{
    struct mock *m = M(c);

    (void)ttl_ms;
    if (m->n_status < 8)
        snprintf(m->status[m->n_status++], 64, "%s=%s", job, value);
    return 0;
}

static int m_status_get(jh_ctx *c, const char *job, char *buf, size_t len)
{
    (void)c, (void)job, (void)buf, (void)len;
    return -ENOENT;
}

static const jh_lock_api lock_api = {sizeof(jh_lock_api), m_acquire, m_release};
static const jh_status_api status_api = {sizeof(jh_status_api), m_status_set, m_status_get};
static const jh_repo repo = {.size = sizeof(jh_repo), .lock = &lock_api, .status = &status_api};

static const jh_repo *m_repo(jh_ctx *c) { (void)c; return &repo; }

static const jh_api api = {
    .size = sizeof(jh_api), .abi_major = JH_ABI_MAJOR, .abi_minor = JH_ABI_MINOR,
    .job = m_job, .plugin = m_plugin, .handler = m_handler, .run_id = m_run_id,
    .scheduled = m_scheduled, .deadline = m_deadline, .cancelled = m_cancelled,
    .now = m_now, .vlog = m_vlog, .vfail = m_vfail, .config = m_config,
    .state = m_state, .repo = m_repo,
};

static struct mock *mock_new(void)
{
    struct mock *m = calloc(1, sizeof(*m));

    m->api = &api;
    /* 20 users, every 7th already synced: 18 to do, in pages of 5 */
    m->cfg = (struct sync_config){.users = 20, .batch_size = 5, .batch_delay_ms = 0,
                                  .lock_ttl_s = 600, .status_ttl_s = 3600};
    return m;
}

static int run(struct mock *m)
{
    struct sync_logic l;

    sync_logic_init(&l, (jh_ctx *)(void *)m);
    return sync_logic_sync_user(&l);
}

int main(void)
{
    struct mock *m;
    int rc;

    plan_lazy();

    m = mock_new();
    rc = run(m);
    is_int(rc, 0, "a full run succeeds");
    is_str(m->lock_key, "job:sync_demo", "it takes the job's lock");
    is_int(m->lock_ttl_ms, 600 * 1000, "with the configured TTL");
    is_int(m->released, 1, "and releases it");
    is_int(m->n_status, 2, "status set twice");
    is_str(m->status[0], "sync_demo=running", "first to running");
    is_str(m->status[1], "sync_demo=done users=18", "then to done with the count");
    like(m->events, "sync.finish users=18 batches=4 duration_ms=", "duration logged");
    free(m);

    m = mock_new();
    m->lock_rc = -EBUSY;
    rc = run(m);
    is_int(rc, 0, "lock held elsewhere: returns 0 quietly");
    is_int(m->n_status, 0, "and touches no status");
    is_int(m->released, 0, "and releases nothing");
    like(m->events, "sync.skip reason=\"already running\"", "says why");
    free(m);

    m = mock_new();
    m->lock_rc = -EIO;
    rc = run(m);
    is_int(rc, -EIO, "lock error: returned");
    like(m->fail, "acquire lock job:sync_demo failed", "with a message");
    free(m);

    m = mock_new();
    m->cancel_after = 3; /* checked before each batch: two batches run */
    rc = run(m);
    is_int(rc, -ECANCELED, "cancelled inside the batch loop");
    is_str(m->status[1], "sync_demo=failed users=10", "status records how far it got");
    like(m->fail, "cancelled after 10 users", "message says so");
    is_int(m->released, 1, "the lock is still released");
    free(m);

    return done_testing();
}
