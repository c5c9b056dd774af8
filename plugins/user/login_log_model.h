/*
 * login_log_model.h - the `login_log` table (schema.sql), seeds'
 * LoginLogModel.DeleteExpired, as bounded chunks.
 */
#ifndef LOGIN_LOG_MODEL_H
#define LOGIN_LOG_MODEL_H

#include <stdint.h>

#include <jobhost.h>

/* Rows one DELETE removes at most: a short transaction and short row
 * locks, however far behind the cleanup is. */
#define LOGIN_LOG_CHUNK 10000

struct login_log_model {
    jh_ctx *ctx;
    jh_stmt *expire;
    int64_t queries;
};

void login_log_model_init(struct login_log_model *m, jh_ctx *ctx);
void login_log_model_close(struct login_log_model *m);

/*
 * Delete up to LOGIN_LOG_CHUNK rows whose created_at is older than
 * max_age_s seconds before the database server's NOW() (in this
 * connection's session time zone: see login_log_model.c), oldest first.
 * Returns the number deleted: fewer than LOGIN_LOG_CHUNK means none is
 * left.
 */
int64_t login_log_model_delete_expired(struct login_log_model *m, int64_t max_age_s);

#endif
