/*
 * user_logic.c - the user plugin's logic, models and event senders against
 * a mocked context (the seeds' "unit tests with a mocked repository").
 *
 * The plugin code only sees jobhost.h, so the mock is a jh_api table plus
 * lock / status / db / events tables.  The db mock is a tiny in-memory
 * `user` and `login_log` that understands exactly the plugin's statements
 * (recognised by their text): enough to check what each job reads,
 * writes and sends, page by page, with failures and cancellation injected
 * at chosen points.  user_e2e.t runs the same jobs against MariaDB and
 * the Kafka mock cluster.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jobhost.h>

#include "archive_user_logic.h"
#include "cleanup_login_log_logic.h"
#include "json_buf.h"
#include "lib/mock_ctx.h"
#include "order_event.h"
#include "sync_user_logic.h"
#include "lib/tap.h"
#include "user_config.h"
#include "user_job.h"

/* ---- the mock world ---------------------------------------------------- */

struct muser {
    uint64_t id;
    char name[64];
    char email[64];
    int sync;
    char deleted_at[20]; /* "" = not deleted */
    char updated_at[32]; /* the row version, DATETIME(6) as text */
    size_t name_len;     /* 0: strlen(name) (set for names holding NUL) */
};

struct mevent {
    char topic[64];
    char key[32];
    char *payload;
    size_t len;
    int64_t delay_ms; /* -1: not delayed */
};

struct mock {
    mock_ctx ctx; /* first: the mocked context, its lock, status and logs */
    struct user_config cfg;
    const char *config[8][2]; /* key, value for init tests */
    /* db */
    struct muser *users;
    size_t n_users;
    int64_t *log_age_s; /* login_log rows by age in seconds; -1 = deleted */
    size_t n_logs;
    int prepares, executes, open_stmts;
    int fail_execute_at; /* the Nth execute fails with -EIO (0 = never) */
    char sql_seen[4][512];
    int64_t bound_max_age;
    /* events */
    struct mevent *events;
    size_t n_events, cap_events;
    int fail_send_at;   /* the Nth send fails with -EIO (0 = never) */
    int cancel_at_send; /* cancelled once this many sends succeeded (0 = never) */
    int steal_at_send;  /* before this send, mark user 1..n synced elsewhere */
    int touch_at_batch; /* after this send_batch, rename user touch_id */
    uint64_t touch_id;
    int n_batches;      /* send_batch calls that succeeded */
    int n_single;       /* send / send_with_key / send_delayed calls */
};

static struct mock *M(jh_ctx *c) { return (struct mock *)(void *)c; }

static const char *m_config(mock_ctx *c, const char *k)
{
    static const char *defaults[][2] = {
        {"batch_size", "1000"}, {"login_log_max_age", "720h"}, {"sync_topic", "user.sync"},
        {"archive_topic", "user.archive"}, {"lock_ttl", "1h"}, {"status_ttl", "24h"},
    };
    for (int i = 0; i < 8 && ((struct mock *)(void *)c)->config[i][0] != NULL; i++)
        if (strcmp(((struct mock *)(void *)c)->config[i][0], k) == 0)
            return ((struct mock *)(void *)c)->config[i][1];
    for (size_t i = 0; i < JH_COUNTOF(defaults); i++)
        if (strcmp(defaults[i][0], k) == 0)
            return defaults[i][1];
    return NULL;
}

/* ---- db mock ------------------------------------------------------------ */

enum { Q_PENDING, Q_DELETED, Q_MARK, Q_EXPIRE };

#define MAX_PARAMS (2 * USER_BATCH_MAX + 2)

struct mstmt {
    const jh_db_api *api; /* the header jobhost.h requires */
    struct mock *m;
    int kind;
    unsigned n_params;
    uint64_t params[MAX_PARAMS];
    char sparams[MAX_PARAMS][32]; /* bind_str values */
    size_t *rows; /* indexes into m->users */
    size_t n_rows, cur;
    int64_t affected;
};

static const jh_db_api db_api;

static int m_prepare(jh_ctx *c, const char *sql, jh_stmt **out)
{
    struct mock *m = M(c);
    struct mstmt *st = calloc(1, sizeof(*st));

    st->api = &db_api;
    st->m = m;
    if (strstr(sql, "SELECT id, name, email, DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i:%s.%f') "
                    "FROM `user` WHERE sync_status = 0 AND "
                    "deleted_at IS NULL AND id > ? ORDER BY id LIMIT ?"))
        st->kind = Q_PENDING;
    else if (strstr(sql, "FROM `user` WHERE is_deleted = 1 AND id > ? ORDER BY id LIMIT ?"))
        st->kind = Q_DELETED;
    else if (strncmp(sql, "UPDATE `user` SET sync_status = 1 WHERE sync_status = 0 AND "
                          "(id, updated_at) IN ((?,?),", 86) == 0)
        st->kind = Q_MARK;
    else if (strstr(sql, "DELETE FROM login_log WHERE created_at < NOW() - INTERVAL ? SECOND "
                         "ORDER BY created_at, id LIMIT 10000"))
        st->kind = Q_EXPIRE;
    else {
        free(st);
        snprintf(m->ctx.lasterr, sizeof(m->ctx.lasterr), "mock: unknown SQL %s", sql);
        return -EINVAL;
    }
    for (const char *p = sql; *p; p++)
        st->n_params += *p == '?';
    if (m->prepares < 4)
        snprintf(m->sql_seen[m->prepares], sizeof(m->sql_seen[0]), "%.500s", sql);
    m->prepares++;
    m->open_stmts++;
    *out = (jh_stmt *)(void *)st;
    return 0;
}

static struct mstmt *S(jh_stmt *st) { return (struct mstmt *)(void *)st; }

static int m_bind_u64(jh_stmt *st, unsigned i, uint64_t v)
{
    if (i >= S(st)->n_params)
        return -EINVAL;
    S(st)->params[i] = v;
    return 0;
}

static int m_bind_i64(jh_stmt *st, unsigned i, int64_t v)
{
    return m_bind_u64(st, i, (uint64_t)v);
}

static int m_bind_str(jh_stmt *st, unsigned i, const char *v, size_t len)
{
    if (i >= S(st)->n_params || len >= sizeof(S(st)->sparams[0]))
        return -EINVAL;
    memcpy(S(st)->sparams[i], v, len);
    S(st)->sparams[i][len] = '\0';
    return 0;
}

/* UPDATE ... AND (id, updated_at) IN ((id, v), ...): the parameters are
 * the pairs. */
static int mark_matches(const struct mstmt *s, const struct muser *u)
{
    for (unsigned p = 0; p + 1 < s->n_params; p += 2)
        if (s->params[p] == u->id && strcmp(s->sparams[p + 1], u->updated_at) == 0)
            return 1;
    return 0;
}

static void add_row(struct mstmt *s, size_t i)
{
    s->rows = realloc(s->rows, (s->n_rows + 1) * sizeof(*s->rows));
    s->rows[s->n_rows++] = i;
}

static int m_execute(jh_stmt *st)
{
    struct mstmt *s = S(st);
    struct mock *m = s->m;

    if (m->ctx.cancel) {
        snprintf(m->ctx.lasterr, sizeof(m->ctx.lasterr), "db mock: execute: the run was cancelled");
        return -ECANCELED;
    }
    if (++m->executes == m->fail_execute_at) {
        snprintf(m->ctx.lasterr, sizeof(m->ctx.lasterr), "db mock: execute: Lost connection (2013)");
        return -EIO;
    }
    s->n_rows = s->cur = 0;
    s->affected = 0;
    if (s->kind == Q_PENDING || s->kind == Q_DELETED) {
        for (size_t i = 0; i < m->n_users && s->n_rows < s->params[1]; i++) {
            const struct muser *u = &m->users[i];
            int del = u->deleted_at[0] != '\0';
            if (u->id > s->params[0] &&
                (s->kind == Q_PENDING ? u->sync == 0 && !del : del))
                add_row(s, i);
        }
    } else if (s->kind == Q_MARK) {
        for (size_t i = 0; i < m->n_users; i++)
            if (m->users[i].sync == 0 && mark_matches(s, &m->users[i])) {
                m->users[i].sync = 1;
                s->affected++;
            }
    } else {
        /* oldest first: ages are stored in descending order */
        m->bound_max_age = (int64_t)s->params[0];
        for (size_t i = 0; i < m->n_logs && s->affected < 10000; i++)
            if (m->log_age_s[i] > (int64_t)s->params[0]) {
                m->log_age_s[i] = -1;
                s->affected++;
            }
    }
    return 0;
}

static int m_fetch(jh_stmt *st)
{
    struct mstmt *s = S(st);

    if (s->cur >= s->n_rows)
        return 0;
    s->cur++;
    return 1;
}

static const struct muser *cur_user(struct mstmt *s)
{
    return &s->m->users[s->rows[s->cur - 1]];
}

static int m_is_null(jh_stmt *st, unsigned col)
{
    return S(st)->cur == 0 || col > 3 ? -EINVAL : 0;
}

static int m_get_u64(jh_stmt *st, unsigned col, uint64_t *v)
{
    if (S(st)->cur == 0 || col != 0)
        return -EINVAL;
    *v = cur_user(S(st))->id;
    return 0;
}

static int m_get_str(jh_stmt *st, unsigned col, const char **v, size_t *len)
{
    const struct muser *u;

    if (S(st)->cur == 0 || col < 1 || col > 3)
        return -EINVAL;
    u = cur_user(S(st));
    *v = col == 1 ? u->name : col == 2 ? u->email
         : S(st)->kind == Q_PENDING ? u->updated_at : u->deleted_at;
    *len = col == 1 && u->name_len ? u->name_len : strlen(*v);
    return 0;
}

static int64_t m_affected(jh_stmt *st) { return S(st)->affected; }

static void m_close(jh_stmt *st)
{
    if (st == NULL)
        return;
    S(st)->m->open_stmts--;
    free(S(st)->rows);
    free(st);
}

static const jh_db_api db_api = {
    .size = sizeof(jh_db_api), .prepare = m_prepare, .bind_i64 = m_bind_i64,
    .bind_u64 = m_bind_u64, .bind_str = m_bind_str, .execute = m_execute, .fetch = m_fetch, .is_null = m_is_null,
    .get_u64 = m_get_u64, .get_str = m_get_str, .affected_rows = m_affected,
    .close = m_close,
};

/* ---- events mock ---------------------------------------------------------- */

static int record(jh_ctx *c, const char *topic, const void *key, size_t keylen,
                  const void *payload, size_t len, int64_t delay_ms)
{
    struct mock *m = M(c);
    struct mevent *e;

    if (m->steal_at_send > 0 && (int)m->n_events + 1 == m->steal_at_send)
        for (size_t i = 0; i < m->n_users; i++)
            if (m->users[i].id <= 3)
                m->users[i].sync = 1;
    if (m->fail_send_at > 0 && (int)m->n_events + 1 == m->fail_send_at) {
        snprintf(m->ctx.lasterr, sizeof(m->ctx.lasterr), "events: outbox: No space left on device");
        return -EIO;
    }
    if (m->n_events == m->cap_events) {
        m->cap_events = m->cap_events ? 2 * m->cap_events : 1024;
        m->events = realloc(m->events, m->cap_events * sizeof(*m->events));
    }
    e = &m->events[m->n_events++];
    snprintf(e->topic, sizeof(e->topic), "%s", topic);
    snprintf(e->key, sizeof(e->key), "%.*s", (int)keylen, key ? (const char *)key : "");
    e->payload = malloc(len + 1);
    memcpy(e->payload, payload, len);
    e->payload[len] = '\0';
    e->len = len;
    e->delay_ms = delay_ms;
    if (m->cancel_at_send > 0 && (int)m->n_events == m->cancel_at_send)
        m->ctx.cancel = 1;
    return 0;
}

static int m_send(jh_ctx *c, const char *topic, const void *p, size_t len, char *id)
{
    (void)id;
    M(c)->n_single++;
    return record(c, topic, NULL, 0, p, len, -1);
}

static int m_send_key(jh_ctx *c, const char *topic, const void *k, size_t kl, const void *p,
                      size_t len, char *id)
{
    (void)id;
    M(c)->n_single++;
    return record(c, topic, k, kl, p, len, -1);
}

static int m_send_delayed(jh_ctx *c, const char *topic, const void *k, size_t kl,
                          const void *p, size_t len, int64_t delay_ms, char *id)
{
    (void)id;
    M(c)->n_single++;
    return record(c, topic, k, kl, p, len, delay_ms);
}

/*
 * As the host's: refused once cancelled (jh__ctx_check), all or nothing (a
 * batch holding the fail_send_at'th event records none of it), and
 * cancel_at_send takes effect once the batch that reaches it is recorded.
 */
static int m_send_batch(jh_ctx *c, const jh_event_msg *msgs, size_t n, size_t msg_size)
{
    struct mock *m = M(c);
    size_t first = m->n_events;
    int cancel_at = m->cancel_at_send;

    if (msg_size != sizeof(jh_event_msg)) {
        snprintf(m->ctx.lasterr, sizeof(m->ctx.lasterr), "events mock: element size %zu", msg_size);
        return -EINVAL;
    }
    if (m->ctx.cancel) {
        snprintf(m->ctx.lasterr, sizeof(m->ctx.lasterr), "events send_batch: the run was cancelled");
        return -ECANCELED;
    }
    if (m->fail_send_at > 0 && (size_t)m->fail_send_at > first &&
        (size_t)m->fail_send_at <= first + n) {
        snprintf(m->ctx.lasterr, sizeof(m->ctx.lasterr), "events: outbox: No space left on device");
        return -EIO;
    }
    if (m->steal_at_send > 0 && (size_t)m->steal_at_send > first &&
        (size_t)m->steal_at_send <= first + n) {
        m->steal_at_send = (int)first + 1; /* record() steals before the first one */
    }
    m->cancel_at_send = 0;
    for (size_t i = 0; i < n; i++) {
        const jh_event_msg *e = &msgs[i];
        int rc = record(c, e->topic, e->key, e->keylen, e->payload, e->len,
                        e->delay_ms > 0 ? e->delay_ms : -1);
        if (rc < 0)
            return rc;
    }
    m->cancel_at_send = cancel_at;
    if (cancel_at > 0 && (size_t)cancel_at > first && (size_t)cancel_at <= m->n_events)
        m->ctx.cancel = 1;
    m->n_batches++;
    /* the application renames a user after the page was read and sent,
     * before the page's UPDATE (ON UPDATE moves updated_at) */
    if (m->n_batches == m->touch_at_batch)
        for (size_t i = 0; i < m->n_users; i++)
            if (m->users[i].id == m->touch_id) {
                snprintf(m->users[i].name, sizeof(m->users[i].name), "touched");
                snprintf(m->users[i].updated_at, sizeof(m->users[i].updated_at),
                         "2026-11-02 00:00:00.000001");
            }
    return 0;
}

static const jh_events_api events_api = {sizeof(jh_events_api), m_send, m_send_key,
                                         m_send_delayed, m_send_batch};
static const jh_repo repo = {.size = sizeof(jh_repo), .db = &db_api, .events = &events_api,
                             .lock = &mock_lock_api, .status = &mock_status_api};

/* ---- fixtures ---------------------------------------------------------- */

/*
 * n users, ids 1..n.  Every 10th is deleted (deleted_at set), every 7th
 * (not deleted) already synced; a few have names that need escaping.
 */
static struct mock *mock_new(size_t n, int64_t batch)
{
    struct mock *m = calloc(1, sizeof(*m));

    static int64_t clock; /* one clock for every mock, as before */

    mock_ctx_init(&m->ctx, &m->cfg);
    m->ctx.job = m->ctx.plugin = "user";
    m->ctx.handler = "h";
    m->ctx.clock = &clock;
    m->ctx.config = m_config;
    m->ctx.status_ttl = 1;
    m->ctx.repo = &repo;
    m->cfg = (struct user_config){.batch_size = batch, .login_log_max_age_s = 720 * 3600,
                                  .lock_ttl_ms = 3600 * 1000, .status_ttl_ms = 86400 * 1000,
                                  .sync_topic = "user.sync", .archive_topic = "user.archive"};
    m->users = calloc(n, sizeof(*m->users));
    m->n_users = n;
    for (size_t i = 0; i < n; i++) {
        struct muser *u = &m->users[i];
        u->id = i + 1;
        snprintf(u->name, sizeof(u->name), "user%zu", i + 1);
        snprintf(u->email, sizeof(u->email), "u%zu@example.com", i + 1);
        snprintf(u->updated_at, sizeof(u->updated_at), "2026-11-01 00:00:00.%06zu", i % 1000000);
        if (u->id % 10 == 0)
            snprintf(u->deleted_at, sizeof(u->deleted_at), "2026-11-%02d 10:00:%02d",
                     (int)(u->id % 28) + 1, (int)(u->id % 60));
        else if (u->id % 7 == 0)
            u->sync = 1;
    }
    if (n >= 5) {
        snprintf(m->users[1].name, sizeof(m->users[1].name), "Ann \"Q\" O\\Brien");
        snprintf(m->users[2].name, sizeof(m->users[2].name), "tab\there\nline\x01\x1f");
        snprintf(m->users[3].name, sizeof(m->users[3].name), "张三 ünï");
    }
    return m;
}

static void mock_free(struct mock *m)
{
    for (size_t i = 0; i < m->n_events; i++)
        free(m->events[i].payload);
    free(m->events);
    free(m->users);
    free(m->log_age_s);
    free(m);
}

static void mock_clear_events(struct mock *m)
{
    for (size_t i = 0; i < m->n_events; i++)
        free(m->events[i].payload);
    m->n_events = 0;
    m->n_batches = m->n_single = 0;
    mock_ctx_clear(&m->ctx);
    m->prepares = m->executes = 0;
}

static size_t count_pending(const struct mock *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n_users; i++)
        n += m->users[i].sync == 0 && m->users[i].deleted_at[0] == '\0';
    return n;
}

static size_t count_deleted(const struct mock *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n_users; i++)
        n += m->users[i].deleted_at[0] != '\0';
    return n;
}

static int run_sync(struct mock *m) { return user_job_sync_user((jh_ctx *)(void *)m); }
static int run_archive(struct mock *m) { return user_job_archive_user((jh_ctx *)(void *)m); }
static int run_cleanup(struct mock *m) { return user_job_cleanup_login_log((jh_ctx *)(void *)m); }

/* The expected sync payload of a plain user (no escaping needed). */
static void plain_sync(char *buf, size_t len, uint64_t id)
{
    snprintf(buf, len, "{\"id\":%" PRIu64 ",\"name\":\"user%" PRIu64 "\",\"email\":\"u%" PRIu64
             "@example.com\"}", id, id, id);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_sync(void)
{
    struct mock *m = mock_new(2500, 1000);
    size_t want = count_pending(m), bad = 0, bad_order = 0;
    uint64_t prev = 0;
    char buf[256];
    int rc;

    rc = run_sync(m);
    is_int(rc, 0, "sync: a full run succeeds");
    is_int((long long)m->n_events, (long long)want, "sync: one event per pending user (%zu)", want);
    is_int(m->n_batches, (int)((want + 999) / 1000), "sync: one send_batch per page");
    is_int(m->n_single, 0, "sync: no single sends");
    for (size_t i = 0; i < m->n_events; i++) {
        const struct mevent *e = &m->events[i];
        uint64_t id = strtoull(e->key, NULL, 10);
        if (strcmp(e->topic, "user.sync") != 0 || e->delay_ms != -1 || id % 10 == 0 ||
            id % 7 == 0)
            bad++;
        if (id <= prev)
            bad_order++;
        prev = id;
        if (id > 4) {
            plain_sync(buf, sizeof(buf), id);
            bad += strcmp(e->payload, buf) != 0;
        }
    }
    is_int((long long)bad, 0, "sync: every event on user.sync, keyed by a pending user's id, "
           "payload exact");
    is_int((long long)bad_order, 0, "sync: in ascending id order");
    is_str(m->events[0].key, "1", "sync: key is the decimal id");
    is_str(m->events[0].payload, "{\"id\":1,\"name\":\"user1\",\"email\":\"u1@example.com\"}",
           "sync: payload of user 1");
    is_str(m->events[1].payload,
           "{\"id\":2,\"name\":\"Ann \\\"Q\\\" O\\\\Brien\",\"email\":\"u2@example.com\"}",
           "sync: quotes and backslashes escaped");
    is_str(m->events[2].payload,
           "{\"id\":3,\"name\":\"tab\\there\\nline\\u0001\\u001f\",\"email\":\"u3@example.com\"}",
           "sync: control characters escaped");
    is_str(m->events[3].payload,
           "{\"id\":4,\"name\":\"张三 ünï\",\"email\":\"u4@example.com\"}",
           "sync: UTF-8 passed through");
    is_int((long long)count_pending(m), 0, "sync: no pending user left");
    /* 1928 pending: a page of 1000 and a short one: 2 SELECT + 2 UPDATE */
    is_int(m->executes, 4, "sync: one SELECT and one UPDATE per page, no empty last page");
    is_int(m->prepares, 2, "sync: two statements prepared, reused for every page");
    like(m->sql_seen[1], "sync_status = 0 AND (id, updated_at) IN ((?,?),(?,?),",
         "sync: marks by the (id, updated_at) pairs read and sent");
    is_int(m->open_stmts, 0, "sync: every statement closed");
    is_str(m->ctx.lock_key, "job:sync_user", "sync: lock job:sync_user");
    is_int(m->ctx.lock_ttl_ms, 10 * 60 * 1000, "sync: for 10 minutes");
    is_int(m->ctx.released, 1, "sync: lock released");
    is_int(m->ctx.n_status, 2, "sync: status set twice");
    is_str(m->ctx.status[0], "sync_user=running ttl=86400000", "sync: running");
    snprintf(buf, sizeof(buf), "sync_user=ok users=%zu ttl=86400000", want);
    is_str(m->ctx.status[1], buf, "sync: ok with the count");
    snprintf(buf, sizeof(buf), "sync.finish result=ok users=%zu sent=%zu batches=2 queries=4 "
             "duration_ms=", want, want);
    like(m->ctx.log, buf, "sync: logs count, batches, queries and duration");

    mock_clear_events(m);
    rc = run_sync(m);
    is_int(rc, 0, "sync again: succeeds");
    is_int((long long)m->n_events, 0, "sync again: sends nothing");
    is_int(m->executes, 1, "sync again: one query");
    is_str(m->ctx.status[1], "sync_user=ok users=0 ttl=86400000", "sync again: status users=0");
    mock_free(m);

    /* a multiple of the page size ends with one empty page */
    m = mock_new(14, 3);
    for (size_t i = 0; i < m->n_users; i++)
        m->users[i].sync = 0, m->users[i].deleted_at[0] = '\0';
    m->users[12].sync = m->users[13].sync = 1; /* 12 pending = 4 pages of 3 */
    rc = run_sync(m);
    is_int(rc, 0, "sync exact pages: succeeds");
    is_int((long long)m->n_events, 12, "sync exact pages: 12 events");
    is_int(m->executes, 9, "sync exact pages: 5 SELECT (last empty) + 4 UPDATE");
    mock_free(m);
}

static void test_sync_lock(void)
{
    struct mock *m = mock_new(50, 1000);
    int rc;

    m->ctx.lock_rc = -EBUSY;
    rc = run_sync(m);
    is_int(rc, 0, "lock held elsewhere: returns 0");
    is_int((long long)m->n_events, 0, "lock held elsewhere: sends nothing");
    is_int(m->executes + m->prepares, 0, "lock held elsewhere: no query");
    is_int(m->ctx.n_status, 0, "lock held elsewhere: status untouched");
    is_int(m->ctx.released, 0, "lock held elsewhere: releases nothing");
    like(m->ctx.log, "sync.skip reason=\"already running\" lock_key=job:sync_user",
         "lock held elsewhere: says why");
    is_str(m->ctx.fail, "", "lock held elsewhere: no failure message");

    mock_clear_events(m);
    m->ctx.lock_rc = -EIO;
    rc = run_sync(m);
    is_int(rc, -EIO, "lock error: returned");
    like(m->ctx.fail, "acquire lock job:sync_user: ", "lock error: message names the lock");

    /* The host's reason, not strerror(EIO), reaches the run's message. */
    mock_clear_events(m);
    snprintf(m->ctx.lasterr, sizeof(m->ctx.lasterr),
             "redis cache (127.0.0.1:1): connect: Connection refused");
    rc = run_sync(m);
    is_int(rc, -EIO, "lock error with a reason: returned");
    is_str(m->ctx.fail,
           "acquire lock job:sync_user: redis cache (127.0.0.1:1): connect: Connection refused",
           "lock error: the message carries the host's reason");
    mock_free(m);
}

static void test_sync_cancel(void)
{
    struct mock *m = mock_new(3000, 1000);
    size_t before = count_pending(m), after, seen = 0;
    uint64_t resume = 0;
    int rc;

    for (size_t i = 0; i < m->n_users && resume == 0; i++)
        if (m->users[i].sync == 0 && m->users[i].deleted_at[0] == '\0' && ++seen == 1001)
            resume = m->users[i].id;

    /* cancelled while the second page's batch is recorded: the batch is
     * all or nothing, so it completes, and its page is left unmarked */
    m->cancel_at_send = 1500;
    rc = run_sync(m);
    is_int(rc, -ECANCELED, "cancel: -ECANCELED");
    is_int((long long)m->n_events, 2000, "cancel: stops after the page in flight (2 batches)");
    is_int(m->n_batches, 2, "cancel: no third batch");
    after = count_pending(m);
    is_int((long long)(before - after), 1000, "cancel: the first page marked, the one in "
           "flight not");
    like(m->ctx.fail, "cancelled after 2000 users sent, 1000 marked synced", "cancel: message");
    is_str(m->ctx.status[1], "sync_user=cancelled users=1000 ttl=86400000", "cancel: status");
    is_int(m->ctx.released, 1, "cancel: lock released");
    is_int(m->open_stmts, 0, "cancel: statements closed");
    like(m->ctx.log, "sync.finish result=cancelled users=1000 sent=2000", "cancel: logged");

    /* the next run sends the rest, the 500 unmarked ones again included */
    mock_clear_events(m);
    m->ctx.cancel = 0;
    m->cancel_at_send = 0;
    rc = run_sync(m);
    is_int(rc, 0, "after cancel: next run succeeds");
    is_int((long long)m->n_events, (long long)after, "after cancel: sends the %zu left", after);
    ok(m->n_events > 0 && strtoull(m->events[0].key, NULL, 10) == resume,
       "after cancel: resumes with the first unmarked user (%" PRIu64 ")", resume);
    is_int((long long)count_pending(m), 0, "after cancel: none left");
    mock_free(m);
}

/* Cancelled right after the first page's batch: the page is not marked
 * (the database refuses), and the second page is not sent. */
static void test_sync_cancel_between(void)
{
    struct mock *m = mock_new(3000, 1000);
    size_t before = count_pending(m);
    int rc;

    m->cancel_at_send = 1000;
    rc = run_sync(m);
    is_int(rc, -ECANCELED, "cancel between pages: -ECANCELED");
    is_int((long long)m->n_events, 1000, "cancel between pages: the next page not sent");
    is_int(m->n_batches, 1, "cancel between pages: one batch");
    is_int((long long)count_pending(m), (long long)before, "cancel between pages: nothing "
           "marked");
    like(m->ctx.fail, "cancelled after 1000 users sent, 0 marked synced", "cancel between pages: "
         "message");
    mock_free(m);
}

static void test_sync_failures(void)
{
    struct mock *m = mock_new(1500, 1000);
    size_t before = count_pending(m);
    int rc;

    m->fail_send_at = 10;
    rc = run_sync(m);
    is_int(rc, -EIO, "send failure: returned");
    is_int((long long)m->n_events, 0, "send failure: the page's batch sent nothing");
    like(m->ctx.fail, "send user.sync for users 1..", "send failure: names the users");
    like(m->ctx.fail, " (1000 events): ", "send failure: and the page size");
    like(m->ctx.fail, "No space left on device", "send failure: with the service's reason");
    is_int((long long)count_pending(m), (long long)before, "send failure: page not marked");
    is_str(m->ctx.status[1], "sync_user=failed users=0 ttl=86400000", "send failure: status");
    is_int(m->ctx.released, 1, "send failure: lock released");

    mock_clear_events(m);
    m->fail_send_at = 0;
    m->fail_execute_at = 2; /* the first UPDATE */
    rc = run_sync(m);
    is_int(rc, -EIO, "update failure: returned");
    like(m->ctx.fail, "mark ", "update failure: says what");
    like(m->ctx.fail, "Lost connection (2013)", "update failure: with the db's reason");

    mock_clear_events(m);
    m->fail_execute_at = 1; /* the first SELECT */
    rc = run_sync(m);
    is_int(rc, -EIO, "select failure: returned");
    like(m->ctx.fail, "find users to sync after id 0: db mock", "select failure: message");
    is_int(m->open_stmts, 0, "failures: statements closed");

    /* another writer marks users 1..3 between the page read and the UPDATE */
    mock_clear_events(m);
    m->fail_execute_at = 0;
    for (size_t i = 0; i < m->n_users; i++)
        m->users[i].sync = 0;
    m->steal_at_send = 2;
    rc = run_sync(m);
    is_int(rc, 0, "concurrent writer: run succeeds");
    like(m->ctx.log, "sync.mark_short users=1000 marked=997", "concurrent writer: logged");
    mock_free(m);
}

/* A user renamed after its page was read (sync_status still 0) must not
 * be marked synced with only the old name sent: it stays pending and the
 * next run sends the new name. */
static void test_sync_changed_in_flight(void)
{
    struct mock *m = mock_new(30, 10);
    size_t found = 0;
    int rc;

    m->touch_at_batch = 1; /* after the first page (users 1..11) is sent */
    m->touch_id = 5;
    rc = run_sync(m);
    is_int(rc, 0, "changed in flight: run succeeds");
    for (size_t i = 0; i < m->n_events; i++)
        if (strcmp(m->events[i].key, "5") == 0) {
            found++;
            is_str(m->events[i].payload,
                   "{\"id\":5,\"name\":\"user5\",\"email\":\"u5@example.com\"}",
                   "changed in flight: the page sent the name it read");
        }
    is_int((long long)found, 1, "changed in flight: user 5 sent once");
    is_int(m->users[4].sync, 0, "changed in flight: user 5 left pending");
    is_int((long long)count_pending(m), 1, "changed in flight: only user 5 pending");
    like(m->ctx.log, "sync.mark_short users=10 marked=9", "changed in flight: logged");

    mock_clear_events(m);
    m->touch_at_batch = 0;
    rc = run_sync(m);
    is_int(rc, 0, "changed in flight, next run: succeeds");
    is_int((long long)m->n_events, 1, "changed in flight, next run: one event");
    is_str(m->n_events ? m->events[0].payload : "",
           "{\"id\":5,\"name\":\"touched\",\"email\":\"u5@example.com\"}",
           "changed in flight, next run: the new name sent");
    is_int((long long)count_pending(m), 0, "changed in flight, next run: marked");
    mock_free(m);
}

/* Names holding a NUL byte or invalid UTF-8 reach the payload whole and
 * as valid JSON. */
static void test_sync_odd_bytes(void)
{
    struct mock *m = mock_new(6, 10);
    int rc;

    memcpy(m->users[0].name, "ab\0cd", 6);
    m->users[0].name_len = 5;
    snprintf(m->users[4].name, sizeof(m->users[4].name), "bad\xff\xc3(");
    rc = run_sync(m);
    is_int(rc, 0, "odd bytes: sync succeeds");
    is_str(m->events[0].payload, "{\"id\":1,\"name\":\"ab\\u0000cd\",\"email\":\"u1@example.com\"}",
           "odd bytes: embedded NUL kept as \\u0000, the rest not cut");
    is_str(m->events[4].payload,
           "{\"id\":5,\"name\":\"bad\\ufffd\\ufffd(\",\"email\":\"u5@example.com\"}",
           "odd bytes: invalid UTF-8 replaced by \\ufffd");
    mock_free(m);
}

static void json_case(const char *in, size_t len, const char *want, const char *what)
{
    struct json_buf b;

    json_buf_init(&b);
    json_put_str(&b, in, len);
    is_str(json_buf_ok(&b) ? b.p : "(oom)", want, "json: %s", what);
    json_buf_free(&b);
}

static void test_json(void)
{
#define J(in, want, what) json_case(in, sizeof(in) - 1, want, what)
    J("plain", "\"plain\"", "plain ASCII");
    J("a\"b\\c\n\x01", "\"a\\\"b\\\\c\\n\\u0001\"", "escapes");
    J("a\0b", "\"a\\u0000b\"", "NUL as \\u0000, not the end");
    J("\xe5\xbc\xa0\xe4\xb8\x89 \xc3\xbc", "\"\xe5\xbc\xa0\xe4\xb8\x89 \xc3\xbc\"",
      "valid 2- and 3-byte UTF-8 verbatim");
    J("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"", "valid 4-byte UTF-8 verbatim");
    J("\xef\xbf\xbf\xf4\x8f\xbf\xbf", "\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\"", "U+FFFF, U+10FFFF verbatim");
    J("a\xff" "b", "\"a\\ufffdb\"", "a stray 0xFF");
    J("\x80x", "\"\\ufffdx\"", "a lone continuation byte");
    J("x\xc3", "\"x\\ufffd\"", "a sequence cut at the end");
    J("\xe4\xb8x", "\"\\ufffdx\"", "a truncated 3-byte sequence: one U+FFFD");
    J("\xc0\xaf", "\"\\ufffd\\ufffd\"", "overlong 2-byte form");
    J("\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"", "overlong 3-byte form");
    J("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"", "a UTF-16 surrogate");
    J("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"", "past U+10FFFF");
    J("\xf5\x80", "\"\\ufffd\\ufffd\"", "lead byte 0xF5");
#undef J
}

/* Errors the model raises itself carry their own reason, not a stale
 * jh_last_error() from an earlier service call. */
static void test_model_errors(void)
{
    struct mock *m = mock_new(3, 2);
    struct user_model um;
    struct user u[3];

    for (size_t i = 0; i < 3; i++)
        u[i] = (struct user){.id = m->users[i].id, .updated_at = m->users[i].updated_at,
                             .updated_at_len = strlen(m->users[i].updated_at)};

    snprintf(m->ctx.lasterr, sizeof(m->ctx.lasterr), "stale: an earlier failure");
    user_model_init(&um, (jh_ctx *)(void *)m, 2);
    is_int((long long)user_model_mark_synced(&um, u, 3), -EINVAL, "model: n > limit refused");
    is_str(user_model_error(&um), "more users than the page size", "model: with its own reason");
    is_int(m->executes, 0, "model: nothing executed");
    is_int((long long)user_model_mark_synced(&um, u, 2), 2, "model: n = limit marks");
    is_str(user_model_error(&um), "stale: an earlier failure", "model: own reason cleared");
    user_model_close(&um);
    mock_free(m);
}

static void test_archive(void)
{
    struct mock *m = mock_new(2500, 100);
    size_t want = count_deleted(m), bad = 0;
    char buf[256];
    int rc;

    rc = run_archive(m);
    is_int(rc, 0, "archive: succeeds");
    is_int((long long)m->n_events, (long long)want, "archive: one event per deleted user");
    is_int(m->n_batches, 3, "archive: one send_batch per page (3 pages)");
    is_int(m->n_single, 0, "archive: no single sends");
    for (size_t i = 0; i < m->n_events; i++) {
        uint64_t id = (i + 1) * 10;
        snprintf(buf, sizeof(buf), "{\"id\":%" PRIu64 ",\"name\":\"user%" PRIu64
                 "\",\"email\":\"u%" PRIu64 "@example.com\",\"deleted_at\":\"2026-11-%02d "
                 "10:00:%02d\"}", id, id, id, (int)(id % 28) + 1, (int)(id % 60));
        bad += strcmp(m->events[i].payload, buf) != 0 ||
               strcmp(m->events[i].topic, "user.archive") != 0 ||
               strtoull(m->events[i].key, NULL, 10) != id;
    }
    is_int((long long)bad, 0, "archive: topic, key and payload exact, ascending ids");
    is_int(m->executes, 3, "archive: 250 deleted in pages of 100: 3 queries");
    is_str(m->ctx.lock_key, "job:archive_user", "archive: own lock");
    is_str(m->ctx.status[1], "archive_user=ok users=250 ttl=86400000", "archive: status");
    is_int((long long)count_pending(m) > 0, 1, "archive: sync_status untouched");

    mock_clear_events(m);
    m->cancel_at_send = 150; /* while the second page's batch is recorded */
    rc = run_archive(m);
    is_int(rc, -ECANCELED, "archive cancel: -ECANCELED");
    is_int((long long)m->n_events, 200, "archive cancel: stops after the page in flight");
    is_int(m->n_batches, 2, "archive cancel: one batch per page sent");
    like(m->ctx.log, "archive.cancel users=200 batches=2 last_id=2000", "archive cancel: "
         "progress logged");
    like(m->ctx.fail, "cancelled after 200 users archived (last id 2000)", "archive cancel: "
         "message");
    is_int(m->ctx.released, 1, "archive cancel: lock released");
    is_int(m->open_stmts, 0, "archive cancel: statements closed");
    mock_free(m);
}

static void test_cleanup(void)
{
    struct mock *m = mock_new(0, 1000);
    size_t left = 0;
    int rc;

    /* 25000 rows older than 720h, 300 younger, oldest first */
    m->n_logs = 25300;
    m->log_age_s = calloc(m->n_logs, sizeof(*m->log_age_s));
    for (size_t i = 0; i < m->n_logs; i++)
        m->log_age_s[i] = i < 25000 ? 720 * 3600 + 1 + (int64_t)(25000 - i)
                                    : 720 * 3600 - 1 - (int64_t)(i - 25000);
    rc = run_cleanup(m);
    is_int(rc, 0, "cleanup: succeeds");
    for (size_t i = 0; i < m->n_logs; i++)
        left += m->log_age_s[i] >= 0;
    is_int((long long)left, 300, "cleanup: exactly the old rows deleted");
    is_int(m->bound_max_age, 720 * 3600, "cleanup: max age bound in seconds");
    is_int(m->executes, 3, "cleanup: chunks of 10000 until a short one");
    is_str(m->ctx.status[0], "cleanup_login_log=ok rows=25000 ttl=86400000", "cleanup: status");
    like(m->ctx.log, "cleanup.finish result=ok rows=25000 chunks=3 max_age_s=2592000",
         "cleanup: logged");

    mock_clear_events(m);
    rc = run_cleanup(m);
    is_int(rc, 0, "cleanup again: succeeds");
    is_str(m->ctx.status[0], "cleanup_login_log=ok rows=0 ttl=86400000", "cleanup again: nothing");

    mock_clear_events(m);
    m->ctx.cancel = 1;
    rc = run_cleanup(m);
    is_int(rc, -ECANCELED, "cleanup cancelled: -ECANCELED");
    is_int(m->executes, 0, "cleanup cancelled: no statement");
    mock_free(m);
}

static void test_order_events(void)
{
    struct mock *m = mock_new(0, 1000);
    jh_ctx *c = (jh_ctx *)(void *)m;

    is_int(order_event_send_created(c, 7, 42, 1999), 0, "order.created sent");
    is_int(order_event_send_paid(c, 7, 42, 1999), 0, "order.paid sent");
    is_int(order_event_send_sync(c, 7, 2), 0, "order.sync sent");
    is_int(order_event_send_notify(c, 7, 42, "paid \"ok\""), 0, "order.notify sent");
    is_int(order_event_send_close_timeout(c, 8, 30 * 60 * 1000), 0, "close_timeout sent");
    is_int(order_event_send_close_timeout(c, 8, -1), -EINVAL, "negative delay refused");
    is_int((long long)m->n_events, 5, "five events");
    is_str(m->events[0].topic, "order.created", "created: topic");
    is_str(m->events[0].key, "7", "created: keyed by order id");
    is_str(m->events[0].payload, "{\"order_id\":7,\"user_id\":42,\"amount_cents\":1999}",
           "created: payload");
    is_str(m->events[1].topic, "order.paid", "paid: topic");
    is_str(m->events[2].payload, "{\"order_id\":7,\"status\":2}", "sync: payload");
    is_str(m->events[3].payload, "{\"order_id\":7,\"user_id\":42,\"message\":\"paid \\\"ok\\\"\"}",
           "notify: payload escaped");
    is_str(m->events[4].topic, "order.close_timeout", "close_timeout: topic");
    is_str(m->events[4].key, "8", "close_timeout: key");
    is_str(m->events[4].payload, "{\"order_id\":8}", "close_timeout: payload");
    is_int(m->events[4].delay_ms, 30 * 60 * 1000, "close_timeout: delayed");
    is_int(m->events[0].delay_ms, -1, "created: not delayed");
    mock_free(m);
}

/* init, through the descriptor (user_plugin.c is linked in). */
extern const jh_plugin_desc jobhost_plugin;

static int init_with(struct mock *m, void **state)
{
    *state = NULL;
    m->ctx.fail[0] = '\0';
    return jobhost_plugin.init((jh_ctx *)(void *)m, state);
}

static void test_init(void)
{
    struct mock *m = mock_new(0, 1);
    const struct user_config *c;
    void *state;
    int rc;

    is_int(jobhost_plugin.requires, JH_SVC_DB | JH_SVC_EVENTS, "requires db and events");
    is_str(jobhost_plugin.handlers[0].cron, "0 */5 * * * *", "sync_user every 5 minutes");
    is_str(jobhost_plugin.handlers[1].cron, "0 0 3 * * *", "archive_user at 03:00");
    is_str(jobhost_plugin.handlers[2].cron, "0 30 2 * * *", "cleanup_login_log at 02:30");
    rc = init_with(m, &state);
    is_int(rc, 0, "init with the defaults");
    c = state;
    ok(c && c->batch_size == 1000 && c->login_log_max_age_s == 720 * 3600 &&
       strcmp(c->sync_topic, "user.sync") == 0 && strcmp(c->archive_topic, "user.archive") == 0 &&
       c->lock_ttl_ms == 3600000 && c->status_ttl_ms == 86400000, "defaults parsed");
    jobhost_plugin.fini((jh_ctx *)(void *)m, state);

    m->config[0][0] = "login_log_max_age";
    m->config[0][1] = "1d12h30m";
    m->config[1][0] = "batch_size";
    m->config[1][1] = "10000";
    rc = init_with(m, &state);
    c = state;
    ok(rc == 0 && c->login_log_max_age_s == 86400 + 12 * 3600 + 1800 && c->batch_size == 10000,
       "combined duration and the largest batch");
    jobhost_plugin.fini((jh_ctx *)(void *)m, state);

    memset(m->config, 0, sizeof(m->config));
    m->config[0][0] = "lock_ttl";
    m->config[0][1] = "365d";
    m->config[1][0] = "status_ttl";
    m->config[1][1] = "8760h";
    rc = init_with(m, &state);
    c = state;
    ok(rc == 0 && c->lock_ttl_ms == 365LL * 86400000 && c->status_ttl_ms == 365LL * 86400000,
       "the longest TTLs (365d) in milliseconds");
    jobhost_plugin.fini((jh_ctx *)(void *)m, state);

    static const char *bad[][3] = {
        {"batch_size", "0", "batch_size = \"0\": expected an integer from 1 to 10000"},
        {"batch_size", "10001", "batch_size = \"10001\""},
        {"batch_size", "12x", "batch_size = \"12x\""},
        {"login_log_max_age", "720", "login_log_max_age = \"720\": expected a duration"},
        {"login_log_max_age", "0s", "login_log_max_age = \"0s\""},
        {"login_log_max_age", "1h30", "login_log_max_age = \"1h30\""},
        {"login_log_max_age", "99999999999999999999h", "login_log_max_age = \"9999"},
        {"sync_topic", "user sync", "sync_topic = \"user sync\": expected a topic name"},
        {"archive_topic", "", "archive_topic = \"\""},
        {"lock_ttl", "200000000000d",
         "lock_ttl = \"200000000000d\": expected a duration from 1s to 365d"},
        {"lock_ttl", "366d", "lock_ttl = \"366d\""},
        {"status_ttl", "31536001s", "status_ttl = \"31536001s\""},
        {"login_log_max_age", "9000h", "login_log_max_age = \"9000h\""},
    };
    for (size_t i = 0; i < JH_COUNTOF(bad); i++) {
        memset(m->config, 0, sizeof(m->config));
        m->config[0][0] = bad[i][0];
        m->config[0][1] = bad[i][1];
        rc = init_with(m, &state);
        is_int(rc, -EINVAL, "init refuses %s = \"%s\"", bad[i][0], bad[i][1]);
        like(m->ctx.fail, bad[i][2], "  with a message naming it");
        ok(state == NULL, "  and no state");
    }
    mock_free(m);
}

int main(void)
{
    plan_lazy();
    test_sync();
    test_sync_lock();
    test_sync_cancel();
    test_sync_cancel_between();
    test_sync_failures();
    test_sync_changed_in_flight();
    test_sync_odd_bytes();
    test_json();
    test_model_errors();
    test_archive();
    test_cleanup();
    test_order_events();
    test_init();
    return done_testing();
}
