/*
 * order_event.c - order payloads and sends.
 */
#include "order_event.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "json_buf.h"

/* Send b's payload keyed by order_id (delay_ms < 0: at once), then free b. */
static int send_order(jh_ctx *ctx, const char *topic, uint64_t order_id, struct json_buf *b,
                      int64_t delay_ms)
{
    char key[24];
    int klen = snprintf(key, sizeof(key), "%" PRIu64, order_id);
    int rc;

    json_put_raw(b, "}");
    if (!json_buf_ok(b))
        rc = -ENOMEM;
    else if (delay_ms < 0)
        rc = jh_event_send_with_key(ctx, topic, key, (size_t)klen, b->p, b->len, NULL);
    else
        rc = jh_event_send_delayed(ctx, topic, key, (size_t)klen, b->p, b->len, delay_ms,
                                   NULL);
    json_buf_free(b);
    return rc;
}

static void open_order(struct json_buf *b, uint64_t order_id)
{
    json_buf_init(b);
    json_put_raw(b, "{");
    json_put_key(b, "order_id");
    json_put_u64(b, order_id);
}

static int send_amount(jh_ctx *ctx, const char *topic, uint64_t order_id, uint64_t user_id,
                       int64_t amount_cents)
{
    struct json_buf b;

    open_order(&b, order_id);
    json_put_key(&b, "user_id");
    json_put_u64(&b, user_id);
    json_put_key(&b, "amount_cents");
    json_put_i64(&b, amount_cents);
    return send_order(ctx, topic, order_id, &b, -1);
}

int order_event_send_created(jh_ctx *ctx, uint64_t order_id, uint64_t user_id,
                             int64_t amount_cents)
{
    return send_amount(ctx, ORDER_TOPIC_CREATED, order_id, user_id, amount_cents);
}

int order_event_send_paid(jh_ctx *ctx, uint64_t order_id, uint64_t user_id,
                          int64_t amount_cents)
{
    return send_amount(ctx, ORDER_TOPIC_PAID, order_id, user_id, amount_cents);
}

int order_event_send_sync(jh_ctx *ctx, uint64_t order_id, int32_t status)
{
    struct json_buf b;

    open_order(&b, order_id);
    json_put_key(&b, "status");
    json_put_i64(&b, status);
    return send_order(ctx, ORDER_TOPIC_SYNC, order_id, &b, -1);
}

int order_event_send_notify(jh_ctx *ctx, uint64_t order_id, uint64_t user_id,
                            const char *message)
{
    struct json_buf b;

    if (message == NULL)
        return -EINVAL;
    open_order(&b, order_id);
    json_put_key(&b, "user_id");
    json_put_u64(&b, user_id);
    json_put_key(&b, "message");
    json_put_str(&b, message, strlen(message));
    return send_order(ctx, ORDER_TOPIC_NOTIFY, order_id, &b, -1);
}

int order_event_send_close_timeout(jh_ctx *ctx, uint64_t order_id, int64_t delay_ms)
{
    struct json_buf b;

    if (delay_ms < 0)
        return -EINVAL;
    open_order(&b, order_id);
    return send_order(ctx, ORDER_TOPIC_CLOSE_TIMEOUT, order_id, &b, delay_ms);
}
