/*
 * user_model.c - SQL of the `user` table.
 *
 * Both reads are keyset pages (id > ? ORDER BY id LIMIT ?) served by an
 * index that ends in id, so each page costs its own size whatever the
 * table holds: (sync_status, deleted_at, id) for the pending users,
 * (is_deleted, id) for the deleted ones (see schema.sql).
 */
#include "user_model.h"

#include <stdlib.h>
#include <string.h>

#include "user_config.h"

#define SQL_FIND_PENDING                                                     \
    "SELECT id, name, email FROM `user`"                                     \
    " WHERE sync_status = 0 AND deleted_at IS NULL AND id > ?"               \
    " ORDER BY id LIMIT ?"

#define SQL_FIND_DELETED                                                     \
    "SELECT id, name, email, DATE_FORMAT(deleted_at, '%Y-%m-%d %H:%i:%s')"   \
    " FROM `user` WHERE is_deleted = 1 AND id > ? ORDER BY id LIMIT ?"

/*
 * Mark by the exact ids sent, not by an id range: a range would also
 * catch a row that turned pending after the page was read (a concurrent
 * writer resetting sync_status, or an insert committing a lower id late)
 * and mark it synced without its event.  "AND sync_status = 0" keeps the
 * count honest.  The IN list always has `limit` placeholders so one
 * prepared statement serves every page; a short page repeats its last id.
 */
#define SQL_MARK_HEAD "UPDATE `user` SET sync_status = 1 WHERE sync_status = 0 AND id IN ("

void user_batch_init(struct user_batch *b)
{
    memset(b, 0, sizeof(*b));
}

void user_batch_reset(struct user_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->v[i].name);
        free(b->v[i].email);
        free(b->v[i].deleted_at);
    }
    b->n = 0;
}

void user_batch_free(struct user_batch *b)
{
    user_batch_reset(b);
    free(b->v);
    user_batch_init(b);
}

static struct user *batch_add(struct user_batch *b)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        struct user *v = realloc(b->v, cap * sizeof(*v));
        if (v == NULL)
            return NULL;
        b->v = v;
        b->cap = cap;
    }
    memset(&b->v[b->n], 0, sizeof(b->v[0]));
    return &b->v[b->n++];
}

void user_model_init(struct user_model *m, jh_ctx *ctx, unsigned limit)
{
    memset(m, 0, sizeof(*m));
    m->ctx = ctx;
    m->limit = limit < 1 ? 1 : limit > USER_BATCH_MAX ? USER_BATCH_MAX : limit;
}

void user_model_close(struct user_model *m)
{
    jh_stmt_close(m->pending);
    jh_stmt_close(m->mark);
    jh_stmt_close(m->deleted);
    m->pending = m->mark = m->deleted = NULL;
}

/* Column `col` of the current row as a malloc'd string (NULL stays NULL). */
static int col_dup(jh_stmt *st, unsigned col, char **out)
{
    const char *v;
    size_t len;
    int rc = jh_stmt_is_null(st, col);

    *out = NULL;
    if (rc != 0)
        return rc < 0 ? rc : 0;
    if ((rc = jh_stmt_get_str(st, col, &v, &len)) < 0)
        return rc;
    if ((*out = malloc(len + 1)) == NULL)
        return -ENOMEM;
    memcpy(*out, v, len);
    (*out)[len] = '\0';
    return 0;
}

/* Run a keyset page query (after_id, limit) and copy its rows;
 * `with_deleted` reads the fourth column. */
static int read_page(struct user_model *m, jh_stmt **stp, const char *sql, uint64_t after_id,
                     int with_deleted, struct user_batch *out)
{
    struct user *u;
    int rc;

    user_batch_reset(out);
    if (*stp == NULL && (rc = jh_db_prepare(m->ctx, sql, stp)) < 0)
        return rc;
    if ((rc = jh_stmt_bind_u64(*stp, 0, after_id)) < 0 ||
        (rc = jh_stmt_bind_u64(*stp, 1, m->limit)) < 0)
        return rc;
    m->queries++;
    if ((rc = jh_stmt_execute(*stp)) < 0)
        return rc;
    while ((rc = jh_stmt_fetch(*stp)) == 1) {
        if ((u = batch_add(out)) == NULL)
            return -ENOMEM;
        if ((rc = jh_stmt_get_u64(*stp, 0, &u->id)) < 0 ||
            (rc = col_dup(*stp, 1, &u->name)) < 0 ||
            (rc = col_dup(*stp, 2, &u->email)) < 0 ||
            (with_deleted && (rc = col_dup(*stp, 3, &u->deleted_at)) < 0))
            return rc;
    }
    return rc < 0 ? rc : (int)out->n;
}

int user_model_find_pending_sync(struct user_model *m, uint64_t after_id,
                                 struct user_batch *out)
{
    return read_page(m, &m->pending, SQL_FIND_PENDING, after_id, 0, out);
}

int user_model_find_deleted_after(struct user_model *m, uint64_t after_id,
                                  struct user_batch *out)
{
    return read_page(m, &m->deleted, SQL_FIND_DELETED, after_id, 1, out);
}

static int prepare_mark(struct user_model *m)
{
    size_t head = strlen(SQL_MARK_HEAD), len = head + 2 * (size_t)m->limit + 1;
    char *sql = malloc(len), *p;
    int rc;

    if (sql == NULL)
        return -ENOMEM;
    memcpy(sql, SQL_MARK_HEAD, head);
    p = sql + head;
    for (unsigned i = 0; i < m->limit; i++) {
        *p++ = '?';
        *p++ = i + 1 < m->limit ? ',' : ')';
    }
    *p = '\0';
    rc = jh_db_prepare(m->ctx, sql, &m->mark);
    free(sql);
    return rc;
}

int64_t user_model_mark_synced(struct user_model *m, const struct user *users, size_t n)
{
    int rc;

    if (n == 0)
        return 0;
    if (n > m->limit)
        return -EINVAL;
    if (m->mark == NULL && (rc = prepare_mark(m)) < 0)
        return rc;
    for (unsigned i = 0; i < m->limit; i++)
        if ((rc = jh_stmt_bind_u64(m->mark, i, users[i < n ? i : n - 1].id)) < 0)
            return rc;
    m->queries++;
    if ((rc = jh_stmt_execute(m->mark)) < 0)
        return rc;
    return jh_stmt_affected_rows(m->mark);
}
