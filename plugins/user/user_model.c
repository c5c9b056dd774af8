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
    "SELECT id, name, email, DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i:%s.%f')" \
    " FROM `user`"                                                           \
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
 * count honest.
 *
 * And only the version that was sent: (id, updated_at) must still be the
 * pair the page read.  Without it a user renamed between the SELECT and
 * this UPDATE (sync_status still 0) would be marked synced with only its
 * old name sent; with it the row stays pending and the next run sends the
 * new name.  MariaDB 10.11 plans the row-constructor IN as primary-key
 * lookups, one per pair, no scan (EXPLAIN in t/service/user_e2e.c; prepared with
 * placeholders too: Handler_read_key only, no Handler_read_rnd_next).
 *
 * The list always has `limit` pairs so one prepared statement serves
 * every page; a short page repeats its last user.
 */
#define SQL_MARK_HEAD                                                        \
    "UPDATE `user` SET sync_status = 1 WHERE sync_status = 0"                \
    " AND (id, updated_at) IN ("

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
        free(b->v[i].updated_at);
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

const char *user_model_error(const struct user_model *m)
{
    return m->own_err != NULL ? m->own_err : jh_last_error(m->ctx);
}

static int own(struct user_model *m, int rc, const char *why)
{
    m->own_err = why;
    return rc;
}

/* Column `col` of the current row as a malloc'd, NUL-terminated string
 * and its byte length (NULL stays NULL, length 0). */
static int col_dup(struct user_model *m, jh_stmt *st, unsigned col, char **out,
                   size_t *out_len)
{
    const char *v;
    size_t len;
    int rc = jh_stmt_is_null(st, col);

    *out = NULL;
    *out_len = 0;
    if (rc != 0)
        return rc < 0 ? rc : 0;
    if ((rc = jh_stmt_get_str(st, col, &v, &len)) < 0)
        return rc;
    if ((*out = malloc(len + 1)) == NULL)
        return own(m, -ENOMEM, "out of memory copying a column");
    memcpy(*out, v, len);
    (*out)[len] = '\0';
    *out_len = len;
    return 0;
}

/* Run a keyset page query (after_id, limit) and copy its rows; the
 * fourth column is deleted_at (`pending` 0) or updated_at (`pending` 1). */
static int read_page(struct user_model *m, jh_stmt **stp, const char *sql, uint64_t after_id,
                     int pending, struct user_batch *out)
{
    struct user *u;
    int rc;

    m->own_err = NULL;
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
            return own(m, -ENOMEM, "out of memory growing the page");
        if ((rc = jh_stmt_get_u64(*stp, 0, &u->id)) < 0 ||
            (rc = col_dup(m, *stp, 1, &u->name, &u->name_len)) < 0 ||
            (rc = col_dup(m, *stp, 2, &u->email, &u->email_len)) < 0 ||
            (rc = pending ? col_dup(m, *stp, 3, &u->updated_at, &u->updated_at_len)
                          : col_dup(m, *stp, 3, &u->deleted_at, &u->deleted_at_len)) < 0)
            return rc;
    }
    return rc < 0 ? rc : (int)out->n;
}

int user_model_find_pending_sync(struct user_model *m, uint64_t after_id,
                                 struct user_batch *out)
{
    return read_page(m, &m->pending, SQL_FIND_PENDING, after_id, 1, out);
}

int user_model_find_deleted_after(struct user_model *m, uint64_t after_id,
                                  struct user_batch *out)
{
    return read_page(m, &m->deleted, SQL_FIND_DELETED, after_id, 0, out);
}

/* SQL_MARK_HEAD (?,?),...,(?,?)) with `limit` pairs. */
static int prepare_mark(struct user_model *m)
{
    size_t head = strlen(SQL_MARK_HEAD), len = head + 6 * (size_t)m->limit + 1;
    char *sql = malloc(len), *p;
    int rc;

    if (sql == NULL)
        return own(m, -ENOMEM, "out of memory building the UPDATE");
    memcpy(sql, SQL_MARK_HEAD, head);
    p = sql + head;
    for (unsigned i = 0; i < m->limit; i++) {
        memcpy(p, "(?,?)", 5);
        p += 5;
        *p++ = i + 1 < m->limit ? ',' : ')';
    }
    *p = '\0';
    rc = jh_db_prepare(m->ctx, sql, &m->mark);
    free(sql);
    return rc;
}

int64_t user_model_mark_synced(struct user_model *m, const struct user *users, size_t n)
{
    unsigned lim = m->limit;
    int rc;

    m->own_err = NULL;
    if (n == 0)
        return 0;
    if (n > lim)
        return own(m, -EINVAL, "more users than the page size");
    for (size_t i = 0; i < n; i++)
        if (users[i].updated_at == NULL)
            return own(m, -EINVAL, "a user without updated_at");
    if (m->mark == NULL && (rc = prepare_mark(m)) < 0)
        return rc;
    for (unsigned i = 0; i < lim; i++) {
        const struct user *u = &users[i < n ? i : n - 1];

        if ((rc = jh_stmt_bind_u64(m->mark, 2 * i, u->id)) < 0 ||
            (rc = jh_stmt_bind_str(m->mark, 2 * i + 1, u->updated_at, u->updated_at_len)) < 0)
            return rc;
    }
    m->queries++;
    if ((rc = jh_stmt_execute(m->mark)) < 0)
        return rc;
    return jh_stmt_affected_rows(m->mark);
}
