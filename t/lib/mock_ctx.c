/*
 * mock_ctx.c - the mocked context of mock_ctx.h.
 */
#include "mock_ctx.h"

#include <stdio.h>
#include <string.h>

static mock_ctx *M(jh_ctx *c) { return (mock_ctx *)(void *)c; }

static const char *m_job(jh_ctx *c) { return M(c)->job; }
static const char *m_plugin(jh_ctx *c) { return M(c)->plugin; }
static const char *m_handler(jh_ctx *c) { return M(c)->handler; }
static uint64_t m_run_id(jh_ctx *c) { (void)c; return 1; }
static int64_t m_scheduled(jh_ctx *c) { (void)c; return 0; }
static int64_t m_deadline(jh_ctx *c) { (void)c; return INT64_MAX; }
static void *m_state(jh_ctx *c) { return M(c)->state; }
static const jh_repo *m_repo(jh_ctx *c) { return M(c)->repo; }
static const char *m_last_error(jh_ctx *c) { return M(c)->lasterr; }

static int64_t m_now(jh_ctx *c)
{
    int64_t *clock = M(c)->clock != NULL ? M(c)->clock : &M(c)->own_clock;

    return *clock += 1000000;
}

static int m_cancelled(jh_ctx *c)
{
    mock_ctx *m = M(c);

    if (m->cancel)
        return 1;
    return m->cancel_after > 0 && ++m->cancel_calls >= m->cancel_after;
}

static const char *m_config(jh_ctx *c, const char *key)
{
    return M(c)->config != NULL ? M(c)->config(M(c), key) : NULL;
}

static void m_vlog(jh_ctx *c, int level, const char *event, const char *fmt, va_list ap)
{
    mock_ctx *m = M(c);
    size_t off = strlen(m->log);

    (void)level;
    if (off + 1 >= sizeof(m->log))
        return;
    off += (size_t)snprintf(m->log + off, sizeof(m->log) - off, "%s ", event);
    if (off < sizeof(m->log))
        off += (size_t)vsnprintf(m->log + off, sizeof(m->log) - off, fmt, ap);
    if (off + 1 < sizeof(m->log))
        strcat(m->log, "\n");
}

static void m_vfail(jh_ctx *c, const char *fmt, va_list ap)
{
    vsnprintf(M(c)->fail, sizeof(M(c)->fail), fmt, ap);
}

static int m_acquire(jh_ctx *c, const char *key, int64_t ttl_ms)
{
    mock_ctx *m = M(c);

    snprintf(m->lock_key, sizeof(m->lock_key), "%s", key);
    m->lock_ttl_ms = ttl_ms;
    m->acquired += m->lock_rc == 0;
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
    mock_ctx *m = M(c);

    if (m->n_status >= 8)
        return 0;
    if (m->status_ttl)
        snprintf(m->status[m->n_status++], sizeof(m->status[0]), "%s=%s ttl=%lld", job, value,
                 (long long)ttl_ms);
    else
        snprintf(m->status[m->n_status++], sizeof(m->status[0]), "%s=%s", job, value);
    return 0;
}

static int m_status_get(jh_ctx *c, const char *job, char *buf, size_t len)
{
    (void)c, (void)job, (void)buf, (void)len;
    return -ENOENT;
}

const jh_lock_api mock_lock_api = {sizeof(jh_lock_api), m_acquire, m_release};
const jh_status_api mock_status_api = {sizeof(jh_status_api), m_status_set, m_status_get};
static const jh_repo mock_repo = {.size = sizeof(jh_repo), .lock = &mock_lock_api,
                                  .status = &mock_status_api};

static const jh_api mock_api = {
    .size = sizeof(jh_api), .abi_major = JH_ABI_MAJOR, .abi_minor = JH_ABI_MINOR,
    .job = m_job, .plugin = m_plugin, .handler = m_handler, .run_id = m_run_id,
    .scheduled = m_scheduled, .deadline = m_deadline, .cancelled = m_cancelled,
    .now = m_now, .vlog = m_vlog, .vfail = m_vfail, .config = m_config,
    .state = m_state, .repo = m_repo, .last_error = m_last_error,
};

void mock_ctx_init(mock_ctx *m, void *state)
{
    memset(m, 0, sizeof(*m));
    m->api = &mock_api;
    m->job = m->plugin = m->handler = "";
    m->state = state;
    m->repo = &mock_repo;
}

void mock_ctx_clear(mock_ctx *m)
{
    m->log[0] = m->fail[0] = '\0';
    m->n_status = m->acquired = m->released = 0;
}
