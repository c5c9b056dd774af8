/*
 * user_event.h - events about users (seeds' UserEvent).  Only this file
 * and order_event.c send events.
 *
 * Both are sent with the user id as the key (decimal ASCII, e.g. "42"), so
 * every event of one user lands on one partition, in order.  Payloads are
 * compact JSON objects, keys in this order, strings escaped per RFC 8259
 * (" \ and control characters, NUL as \u0000; the column's full byte
 * length, so an embedded NUL does not cut a value short; valid UTF-8
 * passed through, each invalid byte sequence replaced by \ufffd so the
 * payload is always valid JSON):
 *
 *   user.sync     {"id":42,"name":"Ann","email":"ann@example.com"}
 *   user.archive  {"id":42,"name":"Ann","email":"ann@example.com",
 *                  "deleted_at":"2026-11-01 10:00:00"}
 *
 * (deleted_at is the column's value in the database server's time zone.)
 * The topics come from the plugin's configuration (sync_topic,
 * archive_topic).
 */
#ifndef USER_EVENT_H
#define USER_EVENT_H

#include <jobhost.h>

#include "json_buf.h"
#include "user_model.h"

struct user_event {
    jh_ctx *ctx;
    const char *sync_topic;
    const char *archive_topic;
    struct json_buf buf; /* reused for every payload (a page's, end to end) */
    int64_t sent;
    /* a page's batch, reused: messages, their keys, payload offsets */
    jh_event_msg *msgs;
    char (*keys)[24];
    size_t *offs;
    size_t cap;
    const char *own_err; /* see user_event_error() */
};

void user_event_init(struct user_event *e, jh_ctx *ctx, const char *sync_topic,
                     const char *archive_topic);
void user_event_close(struct user_event *e);

/* One event per user of v[0..n), all in one jh_event_send_batch: all are
 * recorded (one fsync) or none.  0, or < 0 with jh_last_error() set
 * (-ENOMEM: out of memory building the page, nothing sent; see
 * user_event_error()). */
int user_event_send_sync_page(struct user_event *e, const struct user *v, size_t n);
int user_event_send_archive_page(struct user_event *e, const struct user *v, size_t n);
/* Why the last send failed: "out of memory ..." when building the page
 * failed (nothing was sent, jh_last_error() would be stale), else the
 * events service's jh_last_error(). */
const char *user_event_error(const struct user_event *e);

#endif
