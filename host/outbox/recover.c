/*
 * recover.c - the recovery scan at open (policy: top of format.c), and the
 * same scan read-only for --outbox-dump.  Runs before any other thread
 * shares the outbox, so it takes no lock.
 */
#include "outbox_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One segment being scanned. */
typedef struct seg_scan {
    jh__ob_scan *sc;
    char path[4096];
    int fd;
    int last;           /* the segment appends continue in */
    off_t size, off;    /* off: where the next record should start */
    int done;           /* damage ended the segment */
    unsigned char *buf; /* the record at off */
    size_t cap;
    off_t batch_off;    /* start of an unfinished batch, or -1 */
    uint64_t batch_seq;
} seg_scan;

static int scan_open(seg_scan *ss, const seg *s, jh_err *e)
{
    struct stat st;

    jh__ob_seg_path(ss->sc->dir, s->first, ss->path, sizeof(ss->path));
    ss->fd = open(ss->path, (ss->sc->ob && ss->last ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (ss->fd < 0 || fstat(ss->fd, &st) < 0)
        return jh__err_set(e, -errno, "outbox %s: open: %s", ss->path, strerror(errno));
    ss->size = st.st_size;
    if (ss->sc->expect < s->first)
        ss->sc->expect = s->first;
    return 0;
}

/* Cut the segment at `at` (not when dumping). */
static int scan_cut(seg_scan *ss, off_t at, const char *what, jh_err *e)
{
    if (ss->sc->ob && (ftruncate(ss->fd, at) < 0 || fsync(ss->fd) < 0))
        return jh__err_set(e, -errno, "outbox %s: truncate %s at offset %lld: %s", ss->path,
                           what, (long long)at, strerror(errno));
    return 0;
}

static int scan_mark(seg_scan *ss, uint64_t lo, uint64_t hi, jh_err *e)
{
    if (jh__ob_acks_add_range(ss->sc->a, lo, hi) < 0)
        return jh__err_set(e, -ENOMEM, "outbox %s: out of memory", ss->path);
    return 0;
}

/* No valid record at off: a torn tail (cut off), or damage to skip. */
static int scan_damage(seg_scan *ss, jh_err *e)
{
    jh__outbox *ob = ss->sc->ob;
    off_t nx = jh__ob_resync(ss->fd, ss->off, ss->size, &ss->buf, &ss->cap);

    if (nx < 0 && ss->last) {
        jh__ob_warn_to(ob, ss->sc->notes, "outbox.torn", ss->path, ss->off,
                       "bytes=%lld action=%s", (long long)(ss->size - ss->off),
                       ob ? "truncated" : "ignored");
        ss->done = 1;
        return scan_cut(ss, ss->off, "torn record", e);
    }
    jh__ob_warn_to(ob, ss->sc->notes, "outbox.corrupt", ss->path, ss->off,
                   "bytes_skipped=%lld action=skipped",
                   (long long)((nx < 0 ? ss->size : nx) - ss->off));
    if (nx < 0)
        ss->done = 1;
    else
        ss->off = nx;
    return 0;
}

/* A valid record of len bytes at off (in buf). */
static int scan_record(seg_scan *ss, long len, jh_err *e)
{
    jh__ob_scan *sc = ss->sc;
    jh__outbox_rec rec;
    int rc;

    jh__ob_rec_fill(ss->buf, &rec);
    if (rec.seq < sc->expect) {
        /* A seq going backwards cannot come from our appends. */
        jh__ob_warn_to(sc->ob, sc->notes, "outbox.corrupt", ss->path, ss->off, "seq=%" PRIu64
                       " expected=%" PRIu64 " action=skipped", rec.seq, sc->expect);
        ss->off += len;
        return 0;
    }
    if (sc->expect < rec.seq && (rc = scan_mark(ss, sc->expect, rec.seq - 1, e)) < 0)
        return rc;
    sc->expect = rec.seq + 1;
    if (!jh__ob_rec_more(ss->buf))
        ss->batch_off = -1;
    else if (ss->batch_off < 0) {
        ss->batch_off = ss->off;
        ss->batch_seq = rec.seq;
    }
    if (sc->fn != NULL)
        sc->fn(sc->arg, &rec);
    ss->off += len;
    return 0;
}

/* A crash mid-batch: nothing of it may be delivered.  Its seqs count as
 * delivered, so they are never reused. */
static int scan_unfinished_batch(seg_scan *ss, jh_err *e)
{
    jh__ob_scan *sc = ss->sc;
    int rc;

    jh__ob_warn_to(sc->ob, sc->notes, "outbox.torn", ss->path, ss->batch_off,
                   "bytes=%lld records=%" PRIu64 " reason=unfinished_batch action=%s",
                   (long long)(ss->off - ss->batch_off), sc->expect - ss->batch_seq,
                   sc->ob ? "truncated" : "ignored");
    if ((rc = scan_cut(ss, ss->batch_off, "unfinished batch", e)) < 0 ||
        (rc = scan_mark(ss, ss->batch_seq, sc->expect - 1, e)) < 0)
        return rc;
    ss->off = ss->batch_off;
    return 0;
}

static int scan_records(seg_scan *ss, jh_err *e)
{
    int rc = 0;

    while (!ss->done && ss->off < ss->size) {
        long len = jh__ob_read_rec(ss->fd, ss->off, ss->size, &ss->buf, &ss->cap);
        if (len < 0)
            return jh__err_set(e, (int)len, "outbox %s: read at offset %lld: %s", ss->path,
                               (long long)ss->off, strerror((int)-len));
        rc = len == 0 ? scan_damage(ss, e) : scan_record(ss, len, e);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/*
 * Walk one segment from its start: set s->end to the end of its last valid
 * record, mark seqs missing before sc->expect as delivered (damaged or
 * never written), advance sc->expect.  `last`: the segment appends will
 * continue in; a torn tail is cut off there.
 */
int jh__ob_scan_seg(jh__ob_scan *sc, seg *s, int last, jh_err *e)
{
    seg_scan ss = {.sc = sc, .fd = -1, .last = last, .batch_off = -1};
    int rc;

    if ((rc = scan_open(&ss, s, e)) < 0 || (rc = scan_records(&ss, e)) < 0)
        goto out;
    /* Only the last segment can end inside a batch (see format.c). */
    if (ss.batch_off >= 0 && last && (rc = scan_unfinished_batch(&ss, e)) < 0)
        goto out;
    s->end = ss.off;
out:
    if (ss.fd >= 0)
        close(ss.fd);
    free(ss.buf);
    return rc;
}

/* ---- at open ------------------------------------------------------------------ */

/* Never reuse a seq that an ack may name; seqs between the last record
 * (expect - 1) and next_seq were never written. */
static int set_next_seq(jh__outbox *ob, uint64_t expect, jh_err *e)
{
    ob->next_seq = expect;
    if (ob->ack.low > ob->next_seq)
        ob->next_seq = ob->ack.low;
    if (ob->ack.n > 0 && ob->ack.r[ob->ack.n - 1].hi >= ob->next_seq)
        ob->next_seq = ob->ack.r[ob->ack.n - 1].hi + 1;
    ob->written = ob->synced = ob->next_seq - 1;
    if (expect < ob->next_seq && jh__ob_acks_add_range(&ob->ack, expect, ob->next_seq - 1) < 0)
        return jh__err_set(e, -ENOMEM, "outbox %s: out of memory", ob->dir);
    return 0;
}

/* Every segment, in order, into ob->segs (ends set) and ob->ack. */
static int scan_all(jh__outbox *ob, jh_err *e)
{
    jh__ob_scan sc = {.ob = ob, .dir = ob->dir, .a = &ob->ack, .expect = 1};
    int rc;

    if ((rc = jh__ob_list_segs(ob->dir, &ob->segs, &ob->nseg, e)) < 0)
        return rc;
    ob->segcap = ob->nseg;
    /* Every seq below the first segment's is delivered (see format.c). */
    if (ob->nseg > 0)
        jh__ob_acks_raise(&ob->ack, ob->segs[0].first);
    for (size_t i = 0; i < ob->nseg; i++)
        if ((rc = jh__ob_scan_seg(&sc, &ob->segs[i], i + 1 == ob->nseg, e)) < 0)
            return rc;
    return set_next_seq(ob, sc.expect, e);
}

static int open_active(jh__outbox *ob, jh_err *e)
{
    char path[4096];

    jh__ob_seg_path(ob->dir, ob->segs[ob->nseg - 1].first, path, sizeof(path));
    ob->wfd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (ob->wfd < 0)
        return jh__err_set(e, -errno, "outbox %s: open: %s", path, strerror(errno));
    return 0;
}

int jh__ob_recover(jh__outbox *ob, jh_err *e)
{
    off_t valid;
    int rc;

    if ((rc = jh__ob_acks_load(ob, &valid, e)) < 0 || (rc = scan_all(ob, e)) < 0 ||
        (rc = jh__ob_acks_rewrite(ob, valid, e)) < 0)
        return rc;
    jh__ob_remove_done(ob, ob->ack.low);
    if (ob->nseg == 0)
        return jh__ob_new_seg(ob, ob->next_seq, e);
    return open_active(ob, e);
}
