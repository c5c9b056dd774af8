/*
 * events.h - the events service: the outbox, and its delivery to Kafka.
 *
 * One per host process.  With a [kafka NAME] section, a delivery thread
 * reads the outbox in order and produces each record with librdkafka
 * (idempotent producer, acks=all, so order per key holds across retries),
 * holding delayed records until they are due, and acknowledges a record in
 * the outbox only from its delivery report.  Every message carries the
 * header message_id (the outbox record's id).  Without Kafka, events stay
 * in the outbox (jobhostd --outbox-dump).
 *
 * jh__events_api_table() is what plugins call (jobhost.h); it finds this
 * object through the context's services (jh__ctx_services).
 */
#ifndef JH_EVENTS_H
#define JH_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "base/err.h"
#include "jobhost.h"
#include "runtime/log.h"
#include "outbox/outbox.h"

typedef struct jh__events jh__events;

typedef struct jh__events_opts {
    const char *state_dir;        /* outbox lives in state_dir/outbox */
    int sync;                     /* JH_OUTBOX_SYNC_* */
    int64_t sync_interval_ns;
    size_t max_bytes;             /* per event payload; default 1 MiB */
    const jh__conf_kafka *kafka;   /* NULL: no delivery */
    jh__logger *log;
    int64_t backlog_every_ns;     /* events.backlog period; 0: 10 s */
} jh__events_opts;

int jh__events_new(const jh__events_opts *opts, jh__events **out, jh_err *e);
/* Shutdown: stop taking events, give delivery up to timeout_ns to drain the
 * outbox, then close; what is left stays on disk for the next start.
 * Returns the number of records left undelivered. */
size_t jh__events_close(jh__events *ev, int64_t timeout_ns);

jh__outbox *jh__events_outbox(jh__events *ev);

/* --check: k's producer configuration as jh__events_new would build it
 * (the same code, and a producer created and destroyed at once, sending
 * nothing), so an rdkafka.* property start-up refuses is refused here, with
 * its file:line.  max_bytes as in jh__events_opts. */
int jh__events_check_kafka(const jh__conf_kafka *k, size_t max_bytes, jh_err *e);

/* For tests: records held in memory or by librdkafka right now; raise a
 * fatal producer error (the delivery thread recreates the producer). */
size_t jh__events_in_memory(jh__events *ev);
int jh__events_test_fatal(jh__events *ev);
const jh_events_api *jh__events_api_table(void);

#endif
