/*
 * order_event.h - events about orders (seeds' OrderEvent), for the order
 * side of the service that shares this repository layer.
 *
 * Every event is keyed by the order id (decimal ASCII), so one order's
 * events stay in order on one partition.  Topics and compact JSON
 * payloads (strings escaped as in user_event.h):
 *
 *   order.created        {"order_id":7,"user_id":42,"amount_cents":1999}
 *   order.paid           {"order_id":7,"user_id":42,"amount_cents":1999}
 *   order.sync           {"order_id":7,"status":2}
 *   order.notify         {"order_id":7,"user_id":42,"message":"..."}
 *   order.close_timeout  {"order_id":7}   delivered delay_ms after the
 *                        send (the delay survives a host restart): the
 *                        consumer closes the order if it is still unpaid.
 */
#ifndef ORDER_EVENT_H
#define ORDER_EVENT_H

#include <stdint.h>

#include <jobhost.h>

#define ORDER_TOPIC_CREATED "order.created"
#define ORDER_TOPIC_PAID "order.paid"
#define ORDER_TOPIC_SYNC "order.sync"
#define ORDER_TOPIC_NOTIFY "order.notify"
#define ORDER_TOPIC_CLOSE_TIMEOUT "order.close_timeout"

/* 0 once durably recorded; < 0 (-ENOMEM, or the events service's code
 * with jh_last_error() set). */
int order_event_send_created(jh_ctx *ctx, uint64_t order_id, uint64_t user_id,
                             int64_t amount_cents);
int order_event_send_paid(jh_ctx *ctx, uint64_t order_id, uint64_t user_id,
                          int64_t amount_cents);
int order_event_send_sync(jh_ctx *ctx, uint64_t order_id, int32_t status);
int order_event_send_notify(jh_ctx *ctx, uint64_t order_id, uint64_t user_id,
                            const char *message);
int order_event_send_close_timeout(jh_ctx *ctx, uint64_t order_id, int64_t delay_ms);

#endif
