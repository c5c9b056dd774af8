/*
 * append.c - the append side: single and batch appends, group commit, the
 * interval syncer and segment rolls.  Everything here runs under `mu`
 * (outbox_int.h), which sync_upto() alone lets go of, around fdatasync.
 * The batch rules (all or nothing, never straddling a roll, the undo of a
 * failed write) are written at the top of format.c.
 */
#include "outbox_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"

/* ---- syncing -------------------------------------------------------------- */

/*
 * Make everything written so far durable, unless someone is already at it
 * (then wait for them and look again).  mu held; released around fdatasync
 * so appenders keep writing meanwhile: the next sync covers them all.
 */
int jh__ob_sync_upto(jh__outbox *ob, uint64_t seq)
{
    while (ob->synced < seq && !ob->failed) {
        if (ob->syncing) {
            pthread_cond_wait(&ob->synced_cv, &ob->mu);
            continue;
        }
        uint64_t target = ob->written;
        int fd = ob->wfd, rc;
        ob->syncing = 1;
        pthread_mutex_unlock(&ob->mu);
        rc = fdatasync(fd);
        pthread_mutex_lock(&ob->mu);
        ob->syncing = 0;
        if (rc < 0)
            ob->failed = -errno; /* the page cache state is unknown now */
        else if (target > ob->synced)
            ob->synced = target;
        pthread_cond_broadcast(&ob->synced_cv);
    }
    /* A later failure does not undo an earlier fsync: seq is durable. */
    return ob->synced >= seq ? 0 : ob->failed;
}

void *jh__ob_syncer_main(void *arg)
{
    jh__outbox *ob = arg;

    pthread_mutex_lock(&ob->mu);
    while (!ob->stop) {
        struct timespec ts = jh__ob_timespec(jh__monotonic_ns() + ob->interval);
        pthread_cond_timedwait(&ob->tick_cv, &ob->mu, &ts);
        if (ob->written > ob->synced)
            jh__ob_sync_upto(ob, ob->written);
    }
    pthread_mutex_unlock(&ob->mu);
    return NULL;
}

/* ---- rolling ---------------------------------------------------------------- */

/* Start a new segment for a record of `len` bytes if the active one is
 * full.  Everything in the old one is made durable first, so `synced`
 * keeps meaning "every seq up to here".  mu held; waiting for an fsync in
 * progress releases it, so everything is looked at again after a wait
 * (another appender may have rolled meanwhile). */
static int maybe_roll(jh__outbox *ob, size_t len, jh_err *e)
{
    for (;;) {
        seg *cur = &ob->segs[ob->nseg - 1];

        if (cur->end == 0 || (size_t)cur->end + len <= ob->seg_bytes)
            return 0;
        if (ob->syncing) {
            pthread_cond_wait(&ob->synced_cv, &ob->mu);
            /* That fsync may have failed: never roll past a failure. */
            if (ob->failed)
                return jh__err_set(e, -EIO, "outbox %s: fsync: %s", ob->dir,
                                  strerror(-ob->failed));
            continue;
        }
        if (fdatasync(ob->wfd) < 0) {
            ob->failed = -errno;
            return jh__err_set(e, -EIO, "outbox %s: fsync: %s", ob->dir, strerror(errno));
        }
        ob->synced = ob->written;
        return jh__ob_new_seg(ob, ob->next_seq, e);
    }
}

/* ---- a batch: encoded without the lock, written under it ---------------------- */

typedef struct batch {
    const jh__outbox_ent *ents;
    size_t n;
    size_t *len;        /* each record's length */
    size_t len1;        /* len of a batch of one: no allocation */
    unsigned char *buf; /* the records, back to back */
    size_t total;
} batch;

/* The checks every entry passes, in one record or a batch. */
static int ent_ok(const jh__outbox_ent *m, size_t tl)
{
    return tl > 0 && tl <= 65535 && (m->payload != NULL || m->len == 0) &&
           (m->key != NULL || m->key_len == 0);
}

static size_t ent_len(const jh__outbox_ent *m, size_t tl)
{
    return REC_HDR + tl + (m->key ? m->key_len : 0) + m->len;
}

/* Each record's length and the total, within the outbox's own limits, so
 * a bad entry cannot corrupt the file. */
static int batch_measure(batch *b, jh_err *e)
{
    /* A single send (the common case) needs no allocation for its length. */
    if ((b->len = b->n == 1 ? &b->len1 : malloc(b->n * sizeof(*b->len))) == NULL)
        return jh__err_set(e, -ENOMEM, "outbox: append batch: out of memory");
    for (size_t i = 0; i < b->n; i++) {
        const jh__outbox_ent *m = &b->ents[i];
        size_t tl = m->topic != NULL ? strlen(m->topic) : 0;
        if (!ent_ok(m, tl) || m->len > REC_MAX || m->key_len > REC_MAX)
            return jh__err_set(e, -EINVAL, "outbox: append batch: record %zu: bad arguments", i);
        b->len[i] = ent_len(m, tl);
        if (b->len[i] > REC_MAX || b->total > SIZE_MAX / 2 - b->len[i])
            return jh__err_set(e, -EMSGSIZE, "outbox: append batch: record %zu of %zu bytes "
                               "exceeds %u (or the batch is too large)", i, b->len[i], REC_MAX);
        b->total += b->len[i];
    }
    return 0;
}

/* Every record but its seq and CRC, which wait for the lock; every record
 * but the last carries "more of its batch follows". */
static int batch_encode(batch *b, jh_err *e)
{
    int64_t created = jh__realtime_ns();
    size_t off = 0;
    int rc;

    if ((rc = batch_measure(b, e)) < 0)
        return rc;
    if ((b->buf = malloc(b->total)) == NULL)
        return jh__err_set(e, -ENOMEM, "outbox: append batch: out of memory (%zu bytes)",
                           b->total);
    for (size_t i = 0; i < b->n; i++) {
        const jh__outbox_ent *m = &b->ents[i];
        jh__ob_rec_build(b->buf + off, b->len[i], i + 1 < b->n ? FLAG_MORE : 0, created, m,
                         strlen(m->topic));
        off += b->len[i];
    }
    return 0;
}

static void batch_seal(batch *b, uint64_t seq)
{
    size_t off = 0;

    for (size_t i = 0; i < b->n; i++) {
        jh__ob_rec_seal(b->buf + off, b->len[i], seq + i);
        off += b->len[i];
    }
}

/* One write at the end of the active segment.  mu held. */
static int batch_write(jh__outbox *ob, const batch *b, jh_err *e)
{
    seg *cur = &ob->segs[ob->nseg - 1];
    int rc;

    if ((rc = jh__ob_full_write(ob->wfd, b->buf, b->total)) == 0)
        return 0;
    /* cur->end has not moved, so the reader saw nothing; cut what was
     * written so the next record starts clean (else the next open cuts
     * the unfinished batch off). */
    if (ftruncate(ob->wfd, cur->end) < 0)
        ob->failed = rc;
    if (b->n == 1)
        return jh__err_set(e, rc, "outbox %s: write: %s", ob->dir, strerror(-rc));
    return jh__err_set(e, rc, "outbox %s: write of a batch of %zu records (%zu bytes): %s",
                       ob->dir, b->n, b->total, strerror(-rc));
}

/* Seqs, write, publish to the reader, and (always mode) fsync.  mu held. */
static int batch_write_locked(jh__outbox *ob, batch *b, jh_err *e)
{
    uint64_t seq, last;
    int rc;

    /* Roll before, never inside, the batch: one segment holds all of it,
     * so a failed write is undone by one truncate. */
    if (!ob->failed && (rc = maybe_roll(ob, b->total, e)) < 0)
        return rc;
    if (ob->failed)
        return jh__err_set(e, -EIO, "outbox %s: an earlier write or fsync failed (%s); "
                           "restart to recover", ob->dir, strerror(-ob->failed));
    seq = ob->next_seq;
    last = seq + b->n - 1;
    batch_seal(b, seq);
    if ((rc = batch_write(ob, b, e)) < 0)
        return rc;
    ob->next_seq += b->n;
    ob->written = last;
    ob->segs[ob->nseg - 1].end += (off_t)b->total;
    pthread_cond_signal(&ob->append_cv);
    if (ob->sync == JH_OUTBOX_SYNC_ALWAYS && (rc = jh__ob_sync_upto(ob, last)) < 0)
        return jh__err_set(e, -EIO, "outbox %s: fsync: %s", ob->dir, strerror(-rc));
    return 0;
}

static void batch_ids(const batch *b)
{
    size_t off = 0;

    for (size_t i = 0; i < b->n; i++) {
        if (b->ents[i].id_out != NULL)
            jh__ob_rec_id(b->buf + off, b->ents[i].id_out);
        off += b->len[i];
    }
}

static void batch_free(batch *b)
{
    free(b->buf);
    if (b->len != &b->len1)
        free(b->len);
}

int jh__outbox_append_batch(jh__outbox *ob, const jh__outbox_ent *ents, size_t n, jh_err *e)
{
    batch b = {.ents = ents, .n = n};
    int rc;

    if (n == 0)
        return 0;
    if (ob == NULL || ents == NULL)
        return jh__err_set(e, -EINVAL, "outbox: append batch: bad arguments");
    if ((rc = batch_encode(&b, e)) == 0) {
        pthread_mutex_lock(&ob->mu);
        rc = batch_write_locked(ob, &b, e);
        pthread_mutex_unlock(&ob->mu);
    }
    /* The ids are the caller's once the batch is durable. */
    if (rc == 0)
        batch_ids(&b);
    batch_free(&b);
    return rc;
}

int jh__outbox_append(jh__outbox *ob, const char *topic, const void *key, size_t key_len,
                     const void *payload, size_t len, int64_t deliver_at_ns,
                     char *id_out, jh_err *e)
{
    jh__outbox_ent ent = {topic, key, key_len, payload, len, deliver_at_ns, id_out};
    size_t tl = topic != NULL ? strlen(topic) : 0;
    size_t total;

    if (ob == NULL || !ent_ok(&ent, tl))
        return jh__err_set(e, -EINVAL, "outbox: append: bad arguments");
    /* Each part is checked before the sum, which could otherwise wrap. */
    if (key_len > REC_MAX || len > REC_MAX)
        return jh__err_set(e, -EMSGSIZE, "outbox: append: key of %zu or payload of %zu bytes "
                          "exceeds %u", key_len, len, REC_MAX);
    total = ent_len(&ent, tl);
    if (total > REC_MAX)
        return jh__err_set(e, -EMSGSIZE, "outbox: append: record of %zu bytes exceeds %u",
                          total, REC_MAX);
    /* One record is a batch of one: the same write, roll, sync and undo
     * (its record carries no "more follows" flag, as before). */
    return jh__outbox_append_batch(ob, &ent, 1, e);
}
