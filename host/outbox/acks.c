/*
 * acks.c - the delivered set and the ack file (layout and the lazy
 * durability of acks: top of format.c).  The set lives under `ack_mu`; the
 * buffer and the file belong to the reader thread (and to open and close,
 * before and after it).  jh__outbox_ack() never holds ack_mu and mu at once.
 */
#include "outbox_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"

#define ACK_ONE 1u
#define ACK_LOW 2u
#define ACK_FROM 3u /* with the ACK_TO entry that follows: a range */
#define ACK_TO 4u
#define ACK_SYNC_NS 1000000000LL  /* 1 s */
#define ACK_COMPACT 262144        /* entries (4 MiB) before the file is rewritten */

/* ---- the delivered set ------------------------------------------------------ */

/* First range that ends at or after seq - 1 (may touch or hold seq). */
static size_t acks_find(const acks *a, uint64_t seq)
{
    size_t lo = 0, hi = a->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a->r[mid].hi + 1 < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int jh__ob_acks_has(const acks *a, uint64_t seq)
{
    size_t i;

    if (seq < a->low)
        return 1;
    i = acks_find(a, seq);
    return i < a->n && a->r[i].lo <= seq && seq <= a->r[i].hi;
}

/* The first range reaching the watermark moves it. */
static void acks_absorb(acks *a)
{
    if (a->n > 0 && a->r[0].lo <= a->low) {
        a->count -= a->r[0].hi - a->r[0].lo + 1;
        a->low = a->r[0].hi + 1;
        memmove(a->r, a->r + 1, (a->n - 1) * sizeof(rng));
        a->n--;
    }
}

/* Room for one more range at i. */
static int acks_insert(acks *a, size_t i)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        rng *nr = realloc(a->r, cap * sizeof(rng));
        if (nr == NULL)
            return -ENOMEM;
        a->r = nr;
        a->cap = cap;
    }
    memmove(a->r + i + 1, a->r + i, (a->n - i) * sizeof(rng));
    a->n++;
    return 0;
}

/* Mark [lo, hi] delivered.  Returns 1 if any of it was not, 0 if all
 * was, -ENOMEM. */
int jh__ob_acks_add_range(acks *a, uint64_t lo, uint64_t hi)
{
    size_t i, j;
    uint64_t nlo, nhi, had = 0;

    if (hi < a->low)
        return 0;
    if (lo < a->low)
        lo = a->low;
    i = acks_find(a, lo);
    nlo = lo;
    nhi = hi;
    /* Merge every range that overlaps or touches [lo, hi] into r[i]. */
    for (j = i; j < a->n && a->r[j].lo <= hi + 1; j++) {
        nlo = a->r[j].lo < nlo ? a->r[j].lo : nlo;
        nhi = a->r[j].hi > nhi ? a->r[j].hi : nhi;
        had += a->r[j].hi - a->r[j].lo + 1;
    }
    if (j == i && acks_insert(a, i) < 0)
        return -ENOMEM;
    if (j > i + 1) {
        memmove(a->r + i + 1, a->r + j, (a->n - j) * sizeof(rng));
        a->n -= j - i - 1;
    }
    a->r[i] = (rng){nlo, nhi};
    a->count += (nhi - nlo + 1) - had;
    acks_absorb(a);
    return (nhi - nlo + 1) > had;
}

static int acks_add(acks *a, uint64_t seq)
{
    return jh__ob_acks_add_range(a, seq, seq);
}

void jh__ob_acks_raise(acks *a, uint64_t low)
{
    size_t k = 0;

    if (low <= a->low)
        return;
    a->low = low;
    while (k < a->n && a->r[k].hi < low)
        k++;
    /* With no ranges a->r may be NULL: memmove must not see it. */
    if (k > 0 && k < a->n)
        memmove(a->r, a->r + k, (a->n - k) * sizeof(rng));
    a->n -= k;
    if (a->n > 0 && a->r[0].lo < low)
        a->r[0].lo = low;
    a->count = 0;
    for (size_t i = 0; i < a->n; i++)
        a->count += a->r[i].hi - a->r[i].lo + 1;
    acks_absorb(a);
}

/* ---- the ack file ----------------------------------------------------------- */

static void ack_entry(unsigned char *p, uint64_t value, uint32_t kind)
{
    put64(p, value);
    put32(p + 8, kind);
    put32(p + 12, jh__ob_crc32c(p, 12));
}

/* Apply one entry (`*from`: the ACK_FROM value before it, if any).
 * Returns 0, -EINVAL if it is damaged or out of place, -ENOMEM. */
static int apply_entry(acks *a, const unsigned char *p, uint64_t *from, int *have_from)
{
    uint32_t kind = get32(p + 8);
    uint64_t v = get64(p);

    if (jh__ob_crc32c(p, 12) != get32(p + 12) || kind < ACK_ONE || kind > ACK_TO ||
        (kind == ACK_TO && !*have_from) || (kind == ACK_TO && v < *from))
        return -EINVAL;
    if ((kind == ACK_ONE && acks_add(a, v) < 0) ||
        (kind == ACK_TO && jh__ob_acks_add_range(a, *from, v) < 0))
        return -ENOMEM;
    if (kind == ACK_LOW)
        jh__ob_acks_raise(a, v);
    *have_from = kind == ACK_FROM;
    *from = v;
    return 0;
}

/* Read dir/acks into *a.  Returns the byte length of the valid prefix
 * (what follows it is torn or damaged and ignored), or < 0. */
off_t jh__ob_read_acks(int fd, acks *a, size_t *entries)
{
    unsigned char blk[ACK_ENTRY * 512];
    off_t off = 0;
    uint64_t from = 0;
    int have_from = 0, rc;

    for (;;) {
        ssize_t r = pread(fd, blk, sizeof(blk), off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        for (ssize_t i = 0; i + ACK_ENTRY <= r; i += ACK_ENTRY) {
            if ((rc = apply_entry(a, blk + i, &from, &have_from)) == -EINVAL)
                return off + i;
            if (rc < 0)
                return rc;
            (*entries)++;
        }
        if (r < (ssize_t)sizeof(blk))
            return off + (r / ACK_ENTRY) * ACK_ENTRY;
        off += r;
    }
}

/* The watermark plus the set as entries (*n of them); NULL: no memory. */
static unsigned char *acks_encode(const acks *a, size_t *n)
{
    unsigned char *buf;
    size_t k = 0;

    *n = 1 + 2 * a->n;
    if ((buf = malloc(*n * ACK_ENTRY)) == NULL)
        return NULL;
    ack_entry(buf, a->low, ACK_LOW);
    for (size_t i = 0; i < a->n; i++) {
        ack_entry(buf + ACK_ENTRY * ++k, a->r[i].lo, ACK_FROM);
        ack_entry(buf + ACK_ENTRY * ++k, a->r[i].hi, ACK_TO);
    }
    return buf;
}

/* Write buf as dir/acks.tmp, durably, and rename it over dir/acks; *fdp:
 * the new file, open for writing.  On failure nothing is left behind. */
static int replace_acks(jh__outbox *ob, const unsigned char *buf, size_t len, int *fdp)
{
    char tmp[4096], path[4096];
    int fd, rc;

    snprintf(tmp, sizeof(tmp), "%s/acks.tmp", ob->dir);
    snprintf(path, sizeof(path), "%s/acks", ob->dir);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || jh__ob_full_write(fd, buf, len) < 0 || fdatasync(fd) < 0 ||
        rename(tmp, path) < 0 || fsync(ob->dirfd) < 0) {
        rc = -errno;
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        return rc;
    }
    *fdp = fd;
    return 0;
}

/* Rewrite the ack file as the watermark plus the set (reader thread or
 * open; ack_mu held or not yet shared).  Callers warn with errno. */
static int compact_acks(jh__outbox *ob)
{
    size_t n;
    unsigned char *buf = acks_encode(&ob->ack, &n);
    int fd, rc;

    if (buf == NULL)
        return -ENOMEM;
    rc = replace_acks(ob, buf, n * ACK_ENTRY, &fd);
    free(buf);
    if (rc < 0)
        return rc;
    if (ob->ackfd >= 0)
        close(ob->ackfd);
    /* The renamed file is the new ack file; keep appending to it. */
    if (lseek(fd, 0, SEEK_END) < 0) {
        close(fd);
        ob->ackfd = -1;
        return -errno;
    }
    ob->ackfd = fd;
    ob->ack_entries = n;
    ob->ack_dirty = 0;
    return 0;
}

/* Write buffered ack entries; fdatasync at most once a second (`force`:
 * now).  Reader thread, ack_mu held. */
void jh__ob_flush_acks(jh__outbox *ob, int force)
{
    int64_t now = jh__monotonic_ns();

    if (ob->nackbuf > 0 && ob->ackfd >= 0) {
        if (jh__ob_full_write(ob->ackfd, ob->ackbuf, ob->nackbuf * ACK_ENTRY) < 0)
            jh__ob_warn(ob, "outbox.ack_write", ob->dir, 0, "error=\"%s\"", strerror(errno));
        ob->ack_entries += ob->nackbuf;
        ob->nackbuf = 0;
        ob->ack_dirty = 1;
    }
    ob->ack_flushed = now;
    if (ob->ack_entries > ACK_COMPACT && ob->ack.n * 8 < ob->ack_entries) {
        if (compact_acks(ob) < 0)
            jh__ob_warn(ob, "outbox.ack_compact", ob->dir, 0, "error=\"%s\"", strerror(errno));
        ob->ack_synced = now;
        return;
    }
    if (ob->ack_dirty && ob->ackfd >= 0 && (force || now - ob->ack_synced >= ACK_SYNC_NS)) {
        fdatasync(ob->ackfd);
        ob->ack_dirty = 0;
        ob->ack_synced = now;
    }
}

/* Acks buffered since the last call are written at every next(): the
 * delivery thread acks in batches (one rd_kafka_poll serves many reports)
 * and then reads on, so this is one write(2) per batch, and kill -9 loses
 * only the acks of the batch in hand.  `waiting`: also fdatasync if due.
 * Reader thread, mu not held. */
void jh__ob_flush_if_due(jh__outbox *ob, int waiting)
{
    if (ob->nackbuf == 0 && !(waiting && ob->ack_dirty))
        return; /* reader-thread state: no lock needed to look */
    pthread_mutex_lock(&ob->ack_mu);
    if (ob->nackbuf > 0 || (waiting && ob->ack_dirty))
        jh__ob_flush_acks(ob, 0);
    pthread_mutex_unlock(&ob->ack_mu);
}

/* ---- at open ------------------------------------------------------------------ */

int jh__ob_acks_load(jh__outbox *ob, off_t *valid, jh_err *e)
{
    char path[4096];

    snprintf(path, sizeof(path), "%s/acks", ob->dir);
    ob->ackfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (ob->ackfd < 0)
        return jh__err_set(e, -errno, "outbox %s: open: %s", path, strerror(errno));
    ob->ack.low = 1;
    *valid = jh__ob_read_acks(ob->ackfd, &ob->ack, &ob->ack_entries);
    if (*valid < 0)
        return jh__err_set(e, (int)*valid, "outbox %s: read: %s", path, strerror((int)-*valid));
    return 0;
}

/*
 * The rewrite only saves space and replay time; on a full disk it fails,
 * and refusing to open would keep the host from draining the very records
 * that fill the disk.  Keep appending to the old file (compact_acks leaves
 * ackfd as it was when it fails before the rename; after the rename it is
 * reopened below).
 */
int jh__ob_acks_rewrite(jh__outbox *ob, off_t valid, jh_err *e)
{
    char path[4096];
    int rc;

    if ((rc = compact_acks(ob)) == 0)
        return 0;
    snprintf(path, sizeof(path), "%s/acks", ob->dir);
    jh__ob_warn(ob, "outbox.ack_rewrite_failed", path, valid, "error=\"%s\" "
                "action=\"appending to the old ack file\"", strerror(-rc));
    if (ob->ackfd < 0) {
        /* Failed after the rename: the new file is complete. */
        if ((ob->ackfd = open(path, O_RDWR | O_CLOEXEC)) < 0 ||
            lseek(ob->ackfd, 0, SEEK_END) < 0)
            return jh__err_set(e, -errno, "outbox %s: open: %s", path, strerror(errno));
    } else if (ftruncate(ob->ackfd, valid) < 0 || lseek(ob->ackfd, valid, SEEK_SET) < 0) {
        /* Entries after a damaged one would be ignored: append at the
         * end of the valid ones (shrinking needs no space). */
        return jh__err_set(e, -errno, "outbox %s: truncate: %s", path, strerror(errno));
    }
    return 0;
}

/* ---- the interface ---------------------------------------------------------------- */

/* Reader thread.  ack_mu is let go of before mu is taken: never both. */
int jh__outbox_ack(jh__outbox *ob, uint64_t seq)
{
    uint64_t low;
    int rc;

    if (ob == NULL || seq == 0)
        return -EINVAL;
    pthread_mutex_lock(&ob->ack_mu);
    low = ob->ack.low;
    rc = acks_add(&ob->ack, seq);
    if (rc > 0) {
        ack_entry(ob->ackbuf + ACK_ENTRY * ob->nackbuf++, seq, ACK_ONE);
        if (ob->nackbuf == ACK_BUF)
            jh__ob_flush_acks(ob, 0);
    }
    if (ob->ack.low == low) {
        pthread_mutex_unlock(&ob->ack_mu);
        return rc < 0 ? rc : 0;
    }
    low = ob->ack.low;
    pthread_mutex_unlock(&ob->ack_mu);
    /* The watermark moved: segments wholly below it can go. */
    pthread_mutex_lock(&ob->mu);
    if (ob->nseg > 1 && ob->segs[1].first <= low)
        jh__ob_remove_done(ob, low);
    pthread_mutex_unlock(&ob->mu);
    return 0;
}

size_t jh__outbox_pending(jh__outbox *ob)
{
    uint64_t next;
    size_t n;

    if (ob == NULL)
        return 0;
    pthread_mutex_lock(&ob->mu);
    next = ob->next_seq;
    pthread_mutex_unlock(&ob->mu);
    pthread_mutex_lock(&ob->ack_mu);
    /* Every acked seq is below next (acks name records handed out, and
     * recovery starts next above every ack). */
    n = next > ob->ack.low + ob->ack.count ? (size_t)(next - ob->ack.low - ob->ack.count) : 0;
    pthread_mutex_unlock(&ob->ack_mu);
    return n;
}

/* Every seq below this is acknowledged (the events service's backlog age). */
uint64_t jh__outbox_acked_below(jh__outbox *ob)
{
    uint64_t low;

    if (ob == NULL)
        return 0;
    pthread_mutex_lock(&ob->ack_mu);
    low = ob->ack.low;
    pthread_mutex_unlock(&ob->ack_mu);
    return low;
}
