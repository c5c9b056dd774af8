/*
 * outbox.h - the durable local event log between plugins and Kafka.
 *
 * An append-only file of checksummed records under the host's state
 * directory.  append() returns once the record is durable:
 *   JH_OUTBOX_SYNC_ALWAYS    fsync before returning; concurrent appenders
 *                            share one fsync (group commit: the first one
 *                            in syncs everything written so far, the
 *                            others wait for it);
 *   JH_OUTBOX_SYNC_INTERVAL  written before returning, fsync'd by a timer
 *                            every sync_interval (survives a process crash,
 *                            not a power cut).
 * A reader (one delivery thread) walks undelivered records in append order
 * and acknowledges them; acknowledgements are recorded so that after a
 * restart (even kill -9) every record not yet acknowledged is delivered
 * again (at-least-once), and none that was is.  A torn last record (a crash
 * mid-write) is detected by its length/checksum, reported with a warning
 * and cut off; earlier records are intact.  Fully delivered files are
 * removed (segments roll over at segment_bytes).
 */
#ifndef JH_OUTBOX_H
#define JH_OUTBOX_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/err.h"
#include "runtime/log.h"

typedef struct jh_outbox jh_outbox;

enum jh_outbox_sync { JH_OUTBOX_SYNC_ALWAYS = 0, JH_OUTBOX_SYNC_INTERVAL = 1 };

typedef struct jh_outbox_opts {
    const char *dir;              /* created if missing (0700) */
    int sync;                     /* JH_OUTBOX_SYNC_* */
    int64_t sync_interval_ns;     /* INTERVAL mode; default 5 ms */
    size_t segment_bytes;         /* roll over; default 64 MiB */
    jh_logger *log;               /* warnings (torn record, ...); may be NULL */
} jh_outbox_opts;

/* One event as stored.  Pointers into the outbox's buffers are valid until
 * the next call on the reader side. */
typedef struct jh_outbox_rec {
    uint64_t seq;                 /* position, strictly increasing */
    char id[33];                  /* message id, 32 hex digits */
    int64_t created_ns;
    int64_t deliver_at_ns;        /* 0: at once */
    const char *topic;
    size_t topic_len;
    const void *key;              /* NULL: no key */
    size_t key_len;
    const void *payload;
    size_t payload_len;
} jh_outbox_rec;

/* Open (creating) the outbox in opts->dir and recover its state. */
int jh_outbox_open(const jh_outbox_opts *opts, jh_outbox **out, jh_err *e);
/* Flush, fsync and close; undelivered records stay on disk. */
void jh_outbox_close(jh_outbox *ob);

/* Append one event; thread-safe.  key NULL = no key.  Fills id_out
 * (33 bytes) when not NULL.  Returns 0 once durable (see above). */
int jh_outbox_append(jh_outbox *ob, const char *topic, const void *key, size_t key_len,
                     const void *payload, size_t len, int64_t deliver_at_ns,
                     char *id_out, jh_err *e);

/* One record of a batch (see jh_outbox_append_batch). */
typedef struct jh_outbox_ent {
    const char *topic;
    const void *key;              /* NULL: no key */
    size_t key_len;
    const void *payload;
    size_t len;
    int64_t deliver_at_ns;        /* 0: at once */
    char *id_out;                 /* NULL, or 33 bytes, filled on success */
} jh_outbox_ent;

/*
 * Append n records as one batch; thread-safe.  All or nothing: the records
 * get consecutive seqs (no other append in between), are written with one
 * write into one segment (a batch never straddles segments, so a segment
 * may exceed segment_bytes by one batch), and are made durable together
 * (ALWAYS: one fsync, shared with concurrent appenders).  Returns 0 once
 * durable, with every id_out filled; on an error none is readable, now or
 * after a reopen (see outbox.c).  Only the outbox's own limits are checked
 * (the events service validates sends).  n == 0: nothing, 0.
 */
int jh_outbox_append_batch(jh_outbox *ob, const jh_outbox_ent *ents, size_t n, jh_err *e);

/*
 * Reader side (one thread).  next() gives the next record not yet handed
 * out since open, waiting up to timeout_ns for one to be appended; returns
 * 1 with *rec filled, 0 on timeout or after jh_outbox_wake(), < 0 on error.
 * ack() marks a record delivered (any order).
 */
int jh_outbox_next(jh_outbox *ob, jh_outbox_rec *rec, int64_t timeout_ns);
int jh_outbox_ack(jh_outbox *ob, uint64_t seq);
void jh_outbox_wake(jh_outbox *ob);
/* Reader side: hand out every unacknowledged record again, from the
 * oldest (after the reader dropped what it held, e.g. a new producer). */
void jh_outbox_rewind(jh_outbox *ob);

/* Records appended and not yet acknowledged. */
size_t jh_outbox_pending(jh_outbox *ob);

/* --outbox-dump: print every record still in dir (delivered or not), one
 * line each, without opening it for writing; then the lines of dir/dead.log
 * (records the events service set aside as undeliverable, see events.c). */
int jh_outbox_dump(const char *dir, FILE *out, jh_err *e);

/* The dump's quoting of bytes: "..." with \" \\ and \xHH for anything not
 * printable ASCII (events.c writes dead.log lines the same way). */
void jh_outbox_put_quoted(FILE *f, const void *p, size_t n);

#endif
