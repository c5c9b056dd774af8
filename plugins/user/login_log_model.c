/*
 * login_log_model.c - SQL of the `login_log` table.
 *
 * The cutoff is computed by the server (NOW() - INTERVAL ? SECOND) in the
 * connection's session time zone (NOW() follows the session time_zone),
 * so the host's clock cannot shift it.  created_at is a DATETIME, stored
 * without a zone: it must be written in that same zone (the DEFAULT
 * CURRENT_TIMESTAMP does so for writers whose session uses the same
 * time_zone); rows written in another zone are cut off early or late by
 * the difference.  ORDER BY created_at, id walks the
 * created_at index (which ends in the primary key) and makes the chunk
 * deterministic, which statement-based replication requires of a DELETE
 * with LIMIT.
 */
#include "login_log_model.h"

#include <string.h>

#define STR_(x) #x
#define STR(x) STR_(x)

#define SQL_DELETE_EXPIRED                                                   \
    "DELETE FROM login_log WHERE created_at < NOW() - INTERVAL ? SECOND"     \
    " ORDER BY created_at, id LIMIT " STR(LOGIN_LOG_CHUNK)

void login_log_model_init(struct login_log_model *m, jh_ctx *ctx)
{
    memset(m, 0, sizeof(*m));
    m->ctx = ctx;
}

void login_log_model_close(struct login_log_model *m)
{
    jh_stmt_close(m->expire);
    m->expire = NULL;
}

int64_t login_log_model_delete_expired(struct login_log_model *m, int64_t max_age_s)
{
    int rc;

    if (m->expire == NULL && (rc = jh_db_prepare(m->ctx, SQL_DELETE_EXPIRED, &m->expire)) < 0)
        return rc;
    if ((rc = jh_stmt_bind_i64(m->expire, 0, max_age_s)) < 0)
        return rc;
    m->queries++;
    if ((rc = jh_stmt_execute(m->expire)) < 0)
        return rc;
    return jh_stmt_affected_rows(m->expire);
}
