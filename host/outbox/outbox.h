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
#include "config/values.h" /* enum jh__outbox_sync */
#include "runtime/log.h"

typedef struct jh__outbox jh__outbox;

typedef struct jh__outbox_opts {
    const char *dir;              /* created if missing (0700) */
    int sync;                     /* JH_OUTBOX_SYNC_* */
    int64_t sync_interval_ns;     /* INTERVAL mode; default 5 ms */
    size_t segment_bytes;         /* roll over; default 64 MiB */
    jh__logger *log;               /* warnings (torn record, ...); may be NULL */
} jh__outbox_opts;

/* One event as stored.  Pointers into the outbox's buffers are valid until
 * the next call on the reader side. */
typedef struct jh__outbox_rec {
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
} jh__outbox_rec;

/* Open (creating) the outbox in opts->dir and recover its state. */
int jh__outbox_open(const jh__outbox_opts *opts, jh__outbox **out, jh_err *e);
/* Flush, fsync and close; undelivered records stay on disk. */
void jh__outbox_close(jh__outbox *ob);

/* Append one event; thread-safe.  key NULL = no key.  Fills id_out
 * (33 bytes) when not NULL.  Returns 0 once durable (see above). */
int jh__outbox_append(jh__outbox *ob, const char *topic, const void *key, size_t key_len,
                     const void *payload, size_t len, int64_t deliver_at_ns,
                     char *id_out, jh_err *e);

/* One record of a batch (see jh__outbox_append_batch). */
typedef struct jh__outbox_ent {
    const char *topic;
    const void *key;              /* NULL: no key */
    size_t key_len;
    const void *payload;
    size_t len;
    int64_t deliver_at_ns;        /* 0: at once */
    char *id_out;                 /* NULL, or 33 bytes, filled on success */
} jh__outbox_ent;

/*
 * Append n records as one batch; thread-safe.  All or nothing: the records
 * get consecutive seqs (no other append in between), are written with one
 * write into one segment (a batch never straddles segments, so a segment
 * may exceed segment_bytes by one batch), and are made durable together
 * (ALWAYS: one fsync, shared with concurrent appenders).  Returns 0 once
 * durable, with every id_out filled; on an error none is readable, now or
 * after a reopen (see format.c).  Only the outbox's own limits are checked
 * (the events service validates sends).  n == 0: nothing, 0.
 */
int jh__outbox_append_batch(jh__outbox *ob, const jh__outbox_ent *ents, size_t n, jh_err *e);

/*
 * Reader side (one thread).  next() gives the next record not yet handed
 * out since open, waiting up to timeout_ns for one to be appended; returns
 * 1 with *rec filled, 0 on timeout or after jh__outbox_wake(), < 0 on error.
 * ack() marks a record delivered (any order).
 */
int jh__outbox_next(jh__outbox *ob, jh__outbox_rec *rec, int64_t timeout_ns);
int jh__outbox_ack(jh__outbox *ob, uint64_t seq);
void jh__outbox_wake(jh__outbox *ob);
/* Reader side: hand out every unacknowledged record again, from the
 * oldest (after the reader dropped what it held, e.g. a new producer). */
void jh__outbox_rewind(jh__outbox *ob);

/* Records appended and not yet acknowledged. */
size_t jh__outbox_pending(jh__outbox *ob);
/* Every seq below this one is acknowledged (so it is the oldest
 * unacknowledged record's seq when any is pending). */
uint64_t jh__outbox_acked_below(jh__outbox *ob);

/* --outbox-dump: print every record still in dir (delivered or not), one
 * line each, without opening it for writing; then the lines of dir/dead.log
 * (records the events service set aside as undeliverable, see events.c). */
int jh__outbox_dump(const char *dir, FILE *out, jh_err *e);

/* The dump's quoting of bytes: "..." with \" \\ and \xHH for anything not
 * printable ASCII (events.c writes dead.log lines the same way). */
void jh__outbox_put_quoted(FILE *f, const void *p, size_t n);

#endif
