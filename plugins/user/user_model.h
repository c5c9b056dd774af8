/*
 * user_model.h - the `user` table (schema.sql), seeds' UserModel: the
 * queries of the sync and archive jobs.  Only this file and
 * login_log_model.c hold SQL.
 *
 * A model belongs to one run: it prepares each statement on first use and
 * reuses it for every batch of the run (one round trip per batch), and
 * user_model_close() closes them.  Failures return a negative code;
 * user_model_error() says why.
 */
#ifndef USER_MODEL_H
#define USER_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include <jobhost.h>

/* The strings are NUL-terminated copies whose *_len is the column's byte
 * length: a value may itself hold a NUL byte, so users of a field pass
 * the length on rather than calling strlen(). */
struct user {
    uint64_t id;
    char *name;
    char *email;
    char *deleted_at; /* "YYYY-MM-DD HH:MM:SS" (server time); NULL if not deleted */
    /* "YYYY-MM-DD HH:MM:SS.ffffff" as read by find_pending_sync (NULL
     * otherwise): the row version mark_synced checks */
    char *updated_at;
    size_t name_len, email_len, deleted_at_len, updated_at_len;
};

/* A page of users; the strings are copies owned by the batch. */
struct user_batch {
    struct user *v;
    size_t n, cap;
};

void user_batch_init(struct user_batch *b);
void user_batch_reset(struct user_batch *b);
void user_batch_free(struct user_batch *b);

struct user_model {
    jh_ctx *ctx;
    unsigned limit;          /* page size = placeholders of mark_synced */
    jh_stmt *pending, *mark, *deleted;
    int64_t queries;         /* statements executed (for the logs) */
    /* why the last call failed when the model itself raised the error
     * (out of memory, a bad argument); NULL when a service call failed */
    const char *own_err;
};

/* limit: 1..USER_BATCH_MAX. */
void user_model_init(struct user_model *m, jh_ctx *ctx, unsigned limit);
void user_model_close(struct user_model *m);
/* Why the model's last call failed: its own reason, else the service's
 * (jh_last_error), which is stale for errors the model raised itself. */
const char *user_model_error(const struct user_model *m);

/*
 * FindPendingSync: up to `limit` users with sync_status = 0 and not
 * deleted, id > after_id, ascending id, into *out (reset first).  Returns
 * the count (0: none left).
 */
int user_model_find_pending_sync(struct user_model *m, uint64_t after_id,
                                 struct user_batch *out);

/*
 * MarkSynced: sync_status = 1 for these users (n <= limit) where it is
 * still 0 AND updated_at still equals the value find_pending_sync read.
 * A user changed after the page was read (its updated_at, DATETIME(6) ON
 * UPDATE CURRENT_TIMESTAMP(6), moved on) is left pending, so the next run
 * sends its latest values: the event just sent may carry the old ones.
 * This relies on every writer of `user` letting updated_at change (not
 * setting it explicitly to an older value).  Returns the number of rows
 * changed; -EINVAL when n > limit or a user lacks updated_at.
 */
int64_t user_model_mark_synced(struct user_model *m, const struct user *users, size_t n);

/* FindDeletedAfter: up to `limit` deleted users with id > after_id,
 * ascending, with deleted_at set. */
int user_model_find_deleted_after(struct user_model *m, uint64_t after_id,
                                  struct user_batch *out);

#endif
