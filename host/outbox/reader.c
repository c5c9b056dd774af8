/*
 * reader.c - the delivery cursor: one reader thread walks the segments in
 * order and hands out every record not yet acknowledged.  Its position
 * (rd_*) is its own; moving between segments looks at the segment list,
 * so that is done under `mu`, and never while holding ack_mu.
 */
#include "outbox_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/clock.h"

/*
 * The reader reads ahead RD_CHUNK bytes at a time: two pread()s per record
 * cost more than everything else the delivery thread does for it.  Only
 * bytes below the segment's known end are ever read, so the chunk never
 * holds a record that is still being written.
 */
#define RD_CHUNK (256 * 1024)

/* n bytes at off (off + n <= limit) from the chunk, refilled if needed. */
static const unsigned char *chunk_at(jh__outbox *ob, off_t off, size_t n, off_t limit, int *err)
{
    size_t want;
    int rc;

    if (off >= ob->chunk_off && off + (off_t)n <= ob->chunk_off + (off_t)ob->chunk_len)
        return ob->chunk + (off - ob->chunk_off);
    want = n > RD_CHUNK ? n : RD_CHUNK;
    if ((off_t)want > limit - off)
        want = (size_t)(limit - off);
    if (ob->chunk_cap < want) {
        unsigned char *nb = realloc(ob->chunk, want);
        if (nb == NULL) {
            *err = -ENOMEM;
            return NULL;
        }
        ob->chunk = nb;
        ob->chunk_cap = want;
    }
    ob->chunk_len = 0;
    if ((rc = jh__ob_full_pread(ob->rd_fd, ob->chunk, want, off)) <= 0) {
        *err = rc < 0 ? rc : -EIO; /* shorter than its known end: truncated under us */
        return NULL;
    }
    ob->chunk_off = off;
    ob->chunk_len = want;
    return ob->chunk;
}

/* Like jh__ob_read_rec, from the chunk: the record's length (*out points
 * at it), 0 if it is not valid, < 0 on error. */
static long chunk_rec(jh__outbox *ob, off_t off, off_t limit, const unsigned char **out)
{
    const unsigned char *h;
    uint32_t len;
    int err = 0;

    if (limit - off < REC_HDR)
        return 0;
    if ((h = chunk_at(ob, off, REC_HDR, limit, &err)) == NULL)
        return err;
    if ((len = jh__ob_rec_hdr_len(h, limit - off)) == 0)
        return 0;
    if ((h = chunk_at(ob, off, len, limit, &err)) == NULL)
        return err;
    if (!jh__ob_rec_crc_ok(h, len))
        return 0;
    *out = h;
    return (long)len;
}

/* Reader thread only: it is the only writer of the ack state, so it may
 * read it without ack_mu (which keeps pending() from other threads safe). */
static int ack_has(jh__outbox *ob, uint64_t seq)
{
    return jh__ob_acks_has(&ob->ack, seq);
}

/* Read segment `first` from its start.  mu held. */
static void reader_goto(jh__outbox *ob, uint64_t first)
{
    ob->rd_seg = first;
    ob->rd_off = 0;
    ob->chunk_len = 0;
    if (ob->rd_fd >= 0)
        close(ob->rd_fd);
    ob->rd_fd = -1;
}

/* The segment the reader is in (or the next one after it), its end and
 * whether it is the active one.  mu held.  Returns 0 if none. */
static int reader_seg(jh__outbox *ob, off_t *end, int *active)
{
    for (size_t i = 0; i < ob->nseg; i++)
        if (ob->segs[i].first >= ob->rd_seg) {
            if (ob->segs[i].first != ob->rd_seg)
                reader_goto(ob, ob->segs[i].first);
            *end = ob->segs[i].end;
            *active = i + 1 == ob->nseg;
            return 1;
        }
    return 0;
}

/* A finished segment: move on to the one after it.  mu held. */
static void reader_next_seg(jh__outbox *ob)
{
    uint64_t next = ob->rd_seg;

    for (size_t i = 0; i + 1 < ob->nseg; i++)
        if (ob->segs[i].first == ob->rd_seg) {
            next = ob->segs[i + 1].first;
            break;
        }
    reader_goto(ob, next);
}

enum rd_pos {
    RD_READ,  /* bytes [rd_off, end) to read */
    RD_IDLE,  /* at the end of the active segment */
    RD_WOKEN, /* jh__outbox_wake() was called */
};

/* Where the reader stands, *end the end of its segment.  mu held. */
static int reader_pos_locked(jh__outbox *ob, off_t *end, enum rd_pos *pos)
{
    int active;

    for (;;) {
        if (ob->wake) {
            ob->wake = 0;
            *pos = RD_WOKEN;
            return 0;
        }
        if (!reader_seg(ob, end, &active))
            return -EIO; /* cannot happen: the active segment always exists */
        if (ob->rd_off < *end || active) {
            *pos = ob->rd_off < *end ? RD_READ : RD_IDLE;
            return 0;
        }
        reader_next_seg(ob);
    }
}

/* Wait until `deadline` for an append after `end`, or a wake. */
static void reader_wait(jh__outbox *ob, off_t end, int64_t deadline)
{
    struct timespec ts = jh__ob_timespec(deadline);

    pthread_mutex_lock(&ob->mu);
    /* Unless one came while mu was let go of (to write acks). */
    if (!ob->wake && ob->segs[ob->nseg - 1].end == end &&
        ob->segs[ob->nseg - 1].first == ob->rd_seg)
        pthread_cond_timedwait(&ob->append_cv, &ob->mu, &ts);
    pthread_mutex_unlock(&ob->mu);
}

/* The record at rd_off (below end), mu not held: 1 with *rec filled, 0 if
 * there was none to hand out (damage skipped, or delivered already), < 0
 * on error. */
static int reader_take(jh__outbox *ob, off_t end, jh__outbox_rec *rec)
{
    char path[4096];
    const unsigned char *b = NULL;
    long len;

    if (ob->rd_fd < 0) {
        jh__ob_seg_path(ob->dir, ob->rd_seg, path, sizeof(path));
        if ((ob->rd_fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
            return -errno;
    }
    if ((len = chunk_rec(ob, ob->rd_off, end, &b)) < 0)
        return (int)len;
    if (len == 0) {
        /* Damage recovery already warned about: skip as it did. */
        off_t nx = jh__ob_resync(ob->rd_fd, ob->rd_off, end, &ob->rd_buf, &ob->rd_cap);
        ob->rd_off = nx < 0 ? end : nx;
        return 0;
    }
    ob->rd_off += len;
    jh__ob_rec_fill(b, rec);
    return !ack_has(ob, rec->seq);
}

int jh__outbox_next(jh__outbox *ob, jh__outbox_rec *rec, int64_t timeout_ns)
{
    int64_t deadline = jh__monotonic_ns() + (timeout_ns > 0 ? timeout_ns : 0);
    enum rd_pos pos;
    off_t end;
    int rc;

    if (ob == NULL || rec == NULL)
        return -EINVAL;
    jh__ob_flush_if_due(ob, 0);
    for (;;) {
        pthread_mutex_lock(&ob->mu);
        rc = reader_pos_locked(ob, &end, &pos);
        pthread_mutex_unlock(&ob->mu);
        if (rc < 0 || pos == RD_WOKEN)
            return rc;
        if (pos == RD_IDLE) {
            /* Idle: the time to write (and maybe fdatasync) the acks. */
            int64_t now = jh__monotonic_ns();
            jh__ob_flush_if_due(ob, 1);
            if (now >= deadline)
                return 0;
            reader_wait(ob, end, deadline);
            continue;
        }
        if ((rc = reader_take(ob, end, rec)) != 0)
            return rc;
    }
}

void jh__outbox_rewind(jh__outbox *ob)
{
    if (ob == NULL)
        return;
    pthread_mutex_lock(&ob->mu);
    reader_goto(ob, ob->segs[0].first);
    pthread_mutex_unlock(&ob->mu);
}

void jh__outbox_wake(jh__outbox *ob)
{
    if (ob == NULL)
        return;
    pthread_mutex_lock(&ob->mu);
    ob->wake = 1;
    pthread_cond_broadcast(&ob->append_cv);
    pthread_mutex_unlock(&ob->mu);
}
