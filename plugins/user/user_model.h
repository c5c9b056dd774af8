/*
 * user_model.h - the `user` table (schema.sql), seeds' UserModel: the
 * queries of the sync and archive jobs.  Only this file and
 * login_log_model.c hold SQL.
 *
 * A model belongs to one run: it prepares each statement on first use and
 * reuses it for every batch of the run (one round trip per batch), and
 * user_model_close() closes them.  Failures return a negative code with
 * jh_last_error(ctx) saying why.
 */
#ifndef USER_MODEL_H
#define USER_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include <jobhost.h>

struct user {
    uint64_t id;
    char *name;
    char *email;
    char *deleted_at; /* "YYYY-MM-DD HH:MM:SS" (server time); NULL if not deleted */
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
};

/* limit: 1..USER_BATCH_MAX. */
void user_model_init(struct user_model *m, jh_ctx *ctx, unsigned limit);
void user_model_close(struct user_model *m);

/*
 * FindPendingSync: up to `limit` users with sync_status = 0 and not
 * deleted, id > after_id, ascending id, into *out (reset first).  Returns
 * the count (0: none left).
 */
int user_model_find_pending_sync(struct user_model *m, uint64_t after_id,
                                 struct user_batch *out);

/*
 * MarkSynced: sync_status = 1 for these users (n <= limit) where it is
 * still 0.  Returns the number of rows changed.
 */
int64_t user_model_mark_synced(struct user_model *m, const struct user *users, size_t n);

/* FindDeletedAfter: up to `limit` deleted users with id > after_id,
 * ascending, with deleted_at set. */
int user_model_find_deleted_after(struct user_model *m, uint64_t after_id,
                                  struct user_batch *out);

#endif
