/*
 * user_event.c - user.sync and user.archive payloads, sent a page at a
 * time.
 */
#include "user_event.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void user_event_init(struct user_event *e, jh_ctx *ctx, const char *sync_topic,
                     const char *archive_topic)
{
    memset(e, 0, sizeof(*e));
    e->ctx = ctx;
    e->sync_topic = sync_topic;
    e->archive_topic = archive_topic;
    json_buf_init(&e->buf);
}

void user_event_close(struct user_event *e)
{
    json_buf_free(&e->buf);
    free(e->msgs);
    free(e->keys);
    free(e->offs);
    e->msgs = NULL;
    e->keys = NULL;
    e->offs = NULL;
    e->cap = 0;
}

const char *user_event_error(const struct user_event *e)
{
    return e->own_err != NULL ? e->own_err : jh_last_error(e->ctx);
}

/* v with its byte length: a column may hold NUL bytes (user_model.h). */
static void put_opt_str(struct json_buf *b, const char *key, const char *v, size_t len)
{
    json_put_key(b, key);
    if (v != NULL)
        json_put_str(b, v, len);
    else
        json_put_raw(b, "null");
}

/* {"id":N,"name":...,"email":...  (left open for the caller), appended */
static void put_user(struct json_buf *b, const struct user *u)
{
    json_put_raw(b, "{");
    json_put_key(b, "id");
    json_put_u64(b, u->id);
    put_opt_str(b, "name", u->name, u->name_len);
    put_opt_str(b, "email", u->email, u->email_len);
}

static int grow(struct user_event *e, size_t n)
{
    jh_event_msg *m;
    char(*k)[24];
    size_t *o;

    if (n <= e->cap)
        return 0;
    if ((m = realloc(e->msgs, n * sizeof(*m))) == NULL)
        return -ENOMEM;
    e->msgs = m;
    if ((k = realloc(e->keys, n * sizeof(*k))) == NULL)
        return -ENOMEM;
    e->keys = k;
    if ((o = realloc(e->offs, (n + 1) * sizeof(*o))) == NULL)
        return -ENOMEM;
    e->offs = o;
    e->cap = n;
    return 0;
}

/*
 * The page's payloads are built end to end in one buffer (offsets first:
 * the buffer may move while it grows), then pointed at and sent as one
 * batch.
 */
static int send_page(struct user_event *e, const char *topic, const struct user *v, size_t n,
                     int archive)
{
    int rc;

    e->own_err = NULL;
    if (n == 0)
        return 0;
    if (grow(e, n) < 0) {
        e->own_err = "out of memory building the page";
        return -ENOMEM;
    }
    json_buf_reset(&e->buf);
    for (size_t i = 0; i < n; i++) {
        e->offs[i] = e->buf.len;
        put_user(&e->buf, &v[i]);
        if (archive)
            put_opt_str(&e->buf, "deleted_at", v[i].deleted_at, v[i].deleted_at_len);
        json_put_raw(&e->buf, "}");
        e->msgs[i] = (jh_event_msg){
            .topic = topic, .key = e->keys[i],
            .keylen = (size_t)snprintf(e->keys[i], sizeof(e->keys[i]), "%" PRIu64, v[i].id)};
    }
    e->offs[n] = e->buf.len;
    if (!json_buf_ok(&e->buf)) {
        e->own_err = "out of memory building the page";
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        e->msgs[i].payload = e->buf.p + e->offs[i];
        e->msgs[i].len = e->offs[i + 1] - e->offs[i];
    }
    rc = jh_event_send_batch(e->ctx, e->msgs, n);
    if (rc == 0)
        e->sent += (int64_t)n;
    return rc;
}

int user_event_send_sync_page(struct user_event *e, const struct user *v, size_t n)
{
    return send_page(e, e->sync_topic, v, n, 0);
}

int user_event_send_archive_page(struct user_event *e, const struct user *v, size_t n)
{
    return send_page(e, e->archive_topic, v, n, 1);
}
