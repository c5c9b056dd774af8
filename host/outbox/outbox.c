/*
 * outbox.c - the durable local event log (see outbox.h for the contract).
 *
 * Layout of dir/:
 *   00000000000000000001.log   segments, named by the first seq they may
 *                              hold (20 digits, so name order = seq order)
 *   acks                       append-only acknowledgements
 *   lock                       flock()ed while a process has it open
 *
 * A record (integers little-endian):
 *    0 u32 magic "JHOB"      4 u32 total length     8 u32 CRC32C of [12, len)
 *   12 u32 flags (1: key, 2: more of its batch follows)
 *                           16 u64 seq             24 i64 created ns
 *   32 i64 deliver_at ns    40 16 bytes id         56 u16 topic length
 *   58 u32 key length       62 u32 payload length  66 topic, key, payload
 *
 * An ack entry is 16 bytes: u64 value, u32 kind, u32 CRC32C of the first
 * 12.  Kinds: 1 seq `value` delivered; 2 every seq below `value`
 * delivered; 3 then 4: every seq from the first value to the second (what
 * a rewrite writes).  In memory the acks are a low watermark plus ranges
 * of delivered seqs above it (see acks below).  Every seq below the first
 * segment's first seq is delivered too: a segment is only removed once all
 * its records are.  The file is rewritten (watermark + ranges, via rename)
 * at open and once it holds ACK_COMPACT entries.  A failed rewrite at open
 * (a full disk) is only warned about (outbox.ack_rewrite_failed): the old
 * file is kept and appended to, so a full disk never stops the outbox
 * from opening and draining.
 *
 * Durability of acks is deliberately lazy: entries are buffered and
 * written (so they survive kill -9) at the reader's next call to next(),
 * or when 256 are buffered, and fdatasync()ed at most once a second.  A
 * crash can only forget acks, which means redelivering a few records
 * (at-least-once), never losing one.  A damaged ack entry ends the ack
 * file for the same reason: forgetting is safe, inventing an ack is not.
 *
 * A delayed record stays unacked (so on disk) until it is due: until then
 * the segment holding it and every later one are kept, whatever was
 * delivered since.  Long delays at high rates therefore cost disk (not
 * memory: the acks behind it are one range).
 *
 * Recovery policy.  A record that fails its checks is looked past: the
 * scanner searches the following bytes for the next record that passes.
 *   - nothing valid follows and it is the last segment: a torn write from
 *     a crash.  Warned as outbox.torn (file, offset) and cut off, so
 *     appends continue after the last good record;
 *   - a valid record follows (damage in the middle), or the damage ends a
 *     segment that is not the last: skipped with the warning
 *     outbox.corrupt (file, offset, bytes skipped).  The records in the
 *     damaged bytes are lost (their seqs count as delivered); every other
 *     record is delivered.  Refusing to start would hold back every good
 *     event behind one bad sector; jobhostd --outbox-dump shows the rest.
 *
 * Batches (jh__outbox_append_batch) are all or nothing.  The records are
 * built in one buffer and written with one write() at the end of the
 * active segment (never straddling a roll), and every record but the last
 * carries flag 2.  Failures:
 *   - the write fails or is short (ENOSPC, EIO): the file is truncated
 *     back to the pre-batch offset and the segment's known end was never
 *     moved, so the reader never saw any of it; if even the truncate
 *     fails, the outbox refuses further appends (as for any failed write)
 *     and the next open cuts the batch off (below);
 *   - a crash or power cut leaves only a prefix of the batch on disk: the
 *     last record found has flag 2, so recovery cuts the unfinished batch
 *     off like a torn record (outbox.torn, reason=unfinished_batch) and
 *     counts the seqs it found as delivered (never reused);
 *   - the fsync fails: as for one record, the outbox refuses appends from
 *     then on and the sender gets an error; the records were complete, so
 *     they may still be delivered (the page cache state is unknown).
 * Only the last segment can end inside a batch: a batch is in one segment,
 * and a segment is rolled only after a successful write.
 *
 * The reader sees a record as soon as its write() is done, which in
 * always mode can be before the fsync that covers it returns: delivering
 * an event whose send has not returned yet is harmless (if the process
 * dies first, the sender never got 0 and the event may still arrive).
 *
 * Locks: `mu` guards the append side and the segment list; `ack_mu` the
 * ack state.  Neither is ever taken while holding the other.
 */
#include "outbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "jobhost.h"

#define REC_MAGIC 0x424f484aU /* "JHOB" little-endian */
#define REC_HDR 66
#define REC_MAX (256u << 20)
#define FLAG_KEY 1u
#define FLAG_MORE 2u /* another record of the same batch follows */
#define ACK_ENTRY 16
#define ACK_ONE 1u
#define ACK_LOW 2u
#define ACK_FROM 3u /* with the ACK_TO entry that follows: a range */
#define ACK_TO 4u
#define ACK_BUF 256
#define ACK_SYNC_NS 1000000000LL  /* 1 s */
#define ACK_COMPACT 262144        /* entries (4 MiB) before the file is rewritten */
#define NS 1000000000LL

/* ---- CRC32C (Castagnoli), slicing by 8 ------------------------------- */

static uint32_t crc_tab[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82f63b78U : c >> 1;
        crc_tab[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_tab[t][i] = (crc_tab[t - 1][i] >> 8) ^ crc_tab[0][crc_tab[t - 1][i] & 0xff];
}

static uint32_t crc32c(const void *buf, size_t n)
{
    const unsigned char *p = buf;
    uint32_t c = 0xffffffffU;

    pthread_once(&crc_once, crc_init);
    while (n >= 8) {
        uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                           (uint32_t)p[3] << 24);
        c = crc_tab[7][lo & 0xff] ^ crc_tab[6][(lo >> 8) & 0xff] ^
            crc_tab[5][(lo >> 16) & 0xff] ^ crc_tab[4][lo >> 24] ^ crc_tab[3][p[4]] ^
            crc_tab[2][p[5]] ^ crc_tab[1][p[6]] ^ crc_tab[0][p[7]];
        p += 8;
        n -= 8;
    }
    while (n--)
        c = (c >> 8) ^ crc_tab[0][(c ^ *p++) & 0xff];
    return c ^ 0xffffffffU;
}

/* ---- little-endian fields -------------------------------------------- */

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const unsigned char *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* ---- ack state --------------------------------------------------------- */

/*
 * Delivered seqs: a low watermark plus sorted, disjoint, non-adjacent
 * ranges above it.  Ranges rather than single seqs because one delayed
 * record holds the watermark back until it is due, and everything acked
 * behind it meanwhile is one contiguous run: memory stays proportional to
 * the number of gaps (records in flight or delayed), not to the traffic.
 */
typedef struct rng {
    uint64_t lo, hi; /* inclusive */
} rng;

typedef struct acks {
    uint64_t low;    /* every seq < low is delivered */
    rng *r;          /* delivered seqs >= low */
    size_t n, cap;
    uint64_t count;  /* seqs in r */
} acks;

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

static int acks_has(const acks *a, uint64_t seq)
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

/* Mark [lo, hi] delivered.  Returns 1 if any of it was not, 0 if all
 * was, -ENOMEM. */
static int acks_add_range(acks *a, uint64_t lo, uint64_t hi)
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
    for (j = i; j < a->n && a->r[j].lo <= hi + 1; j++) {
        nlo = a->r[j].lo < nlo ? a->r[j].lo : nlo;
        nhi = a->r[j].hi > nhi ? a->r[j].hi : nhi;
        had += a->r[j].hi - a->r[j].lo + 1;
    }
    if (j == i) {
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
    } else if (j > i + 1) {
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
    return acks_add_range(a, seq, seq);
}

static void acks_raise(acks *a, uint64_t low)
{
    size_t k = 0;

    if (low <= a->low)
        return;
    a->low = low;
    while (k < a->n && a->r[k].hi < low)
        k++;
    memmove(a->r, a->r + k, (a->n - k) * sizeof(rng));
    a->n -= k;
    if (a->n > 0 && a->r[0].lo < low)
        a->r[0].lo = low;
    a->count = 0;
    for (size_t i = 0; i < a->n; i++)
        a->count += a->r[i].hi - a->r[i].lo + 1;
    acks_absorb(a);
}

/* ---- the outbox --------------------------------------------------------- */

typedef struct seg {
    uint64_t first; /* from the name */
    off_t end;      /* bytes of records known complete */
} seg;

struct jh__outbox {
    char *dir;
    int sync;
    int64_t interval;
    size_t seg_bytes;
    jh__logger *log;
    int dirfd, lockfd;

    /* append side, under mu */
    pthread_mutex_t mu;
    pthread_cond_t synced_cv;   /* group commit: an fsync finished */
    pthread_cond_t append_cv;   /* the reader: something was appended */
    pthread_cond_t tick_cv;     /* the interval syncer's sleep */
    seg *segs;
    size_t nseg, segcap;
    int wfd;                    /* active (last) segment, O_APPEND */
    uint64_t next_seq;
    uint64_t written;           /* last seq written */
    uint64_t synced;            /* last seq fsync'd */
    int syncing;                /* an fsync is in progress without mu */
    int failed;                 /* a write or fsync failed: refuse appends */
    int wake;
    int stop;
    pthread_t syncer;
    int has_syncer;

    /* ack side, under ack_mu (buffer and file: reader thread only) */
    pthread_mutex_t ack_mu;
    acks ack;
    int ackfd;
    unsigned char ackbuf[ACK_BUF * ACK_ENTRY];
    size_t nackbuf;
    size_t ack_entries;         /* entries in the ack file */
    int64_t ack_flushed, ack_synced; /* CLOCK_MONOTONIC ns */
    int ack_dirty;              /* written since the last fdatasync */

    /* reader */
    uint64_t rd_seg;            /* first seq of the segment being read */
    int rd_fd;
    off_t rd_off;
    unsigned char *rd_buf;      /* resync scratch */
    size_t rd_cap;
    unsigned char *chunk;       /* read-ahead: file bytes [chunk_off, +chunk_len) */
    size_t chunk_cap, chunk_len;
    off_t chunk_off;
};

static void seg_path(const char *dir, uint64_t first, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%020" PRIu64 ".log", dir, first);
}

/* A warning to the log, or (dump, ob NULL) a "# " line to `notes`. */
static void warn_to(jh__outbox *ob, FILE *notes, const char *event, const char *file,
                    off_t off, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void warn_to(jh__outbox *ob, FILE *notes, const char *event, const char *file,
                    off_t off, const char *fmt, ...)
{
    jh__kv kv[2] = {JH_KV_S("file", file), JH_KV_I("offset", (int64_t)off)};
    va_list ap;

    va_start(ap, fmt);
    if (ob != NULL && ob->log != NULL) {
        jh__log_vf(ob->log, JH_LOG_WARN, event, kv, 2, fmt, ap);
    } else if (ob == NULL && notes != NULL) {
        fprintf(notes, "# %s file=%s offset=%lld ", event, file, (long long)off);
        vfprintf(notes, fmt, ap);
        fputc('\n', notes);
    }
    va_end(ap);
}
#define warn(ob, ...) warn_to(ob, NULL, __VA_ARGS__)

static int full_pread(int fd, void *buf, size_t n, off_t off)
{
    size_t got = 0;

    while (got < n) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, off + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return 0;
        got += (size_t)r;
    }
    return 1;
}

static int full_write(int fd, const void *buf, size_t n)
{
    size_t done = 0;

    while (done < n) {
        ssize_t w = write(fd, (const char *)buf + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        done += (size_t)w;
    }
    return 0;
}

/*
 * Read and check the record at `off` (not beyond `limit`) into *buf.
 * Returns its length, 0 if it is not a valid record, < 0 on I/O error.
 */
static long read_rec(int fd, off_t off, off_t limit, unsigned char **buf, size_t *cap)
{
    unsigned char h[REC_HDR];
    uint32_t len;
    int rc;

    if (limit - off < REC_HDR)
        return 0;
    if ((rc = full_pread(fd, h, REC_HDR, off)) <= 0)
        return rc;
    len = get32(h + 4);
    if (get32(h) != REC_MAGIC || len < REC_HDR || len > REC_MAX || (off_t)len > limit - off)
        return 0;
    if ((uint64_t)REC_HDR + (h[56] | (uint32_t)h[57] << 8) + get32(h + 58) + get32(h + 62) != len ||
        h[56] + h[57] == 0)
        return 0;
    if (*cap < len) {
        unsigned char *nb = realloc(*buf, len);
        if (nb == NULL)
            return -ENOMEM;
        *buf = nb;
        *cap = len;
    }
    memcpy(*buf, h, REC_HDR);
    if ((rc = full_pread(fd, *buf + REC_HDR, len - REC_HDR, off + REC_HDR)) <= 0)
        return rc;
    if (crc32c(*buf + 12, len - 12) != get32(*buf + 8))
        return 0;
    return (long)len;
}

/* First offset after `off` where a valid record starts, or -1.  Searches
 * for the magic a block at a time. */
static off_t resync(int fd, off_t off, off_t limit, unsigned char **buf, size_t *cap)
{
    unsigned char blk[65536];
    const unsigned char m[4] = {0x4a, 0x48, 0x4f, 0x42};

    for (off_t base = off + 1; base < limit;) {
        size_t n = (size_t)(limit - base < (off_t)sizeof(blk) ? limit - base : (off_t)sizeof(blk));
        ssize_t r = pread(fd, blk, n, base);
        if (r < 4)
            return -1;
        for (ssize_t i = 0; i + 4 <= r; i++)
            if (memcmp(blk + i, m, 4) == 0 && read_rec(fd, base + i, limit, buf, cap) > 0)
                return base + i;
        base += r - 3;
    }
    return -1;
}

static void fill_rec(const unsigned char *b, jh__outbox_rec *rec)
{
    static const char hex[] = "0123456789abcdef";
    size_t tl = b[56] | (size_t)b[57] << 8, kl = get32(b + 58);

    rec->seq = get64(b + 16);
    rec->created_ns = (int64_t)get64(b + 24);
    rec->deliver_at_ns = (int64_t)get64(b + 32);
    for (int i = 0; i < 16; i++) {
        rec->id[2 * i] = hex[b[40 + i] >> 4];
        rec->id[2 * i + 1] = hex[b[40 + i] & 15];
    }
    rec->id[32] = '\0';
    rec->topic = (const char *)b + REC_HDR;
    rec->topic_len = tl;
    rec->key = get32(b + 12) & FLAG_KEY ? b + REC_HDR + tl : NULL;
    rec->key_len = kl;
    rec->payload = b + REC_HDR + tl + kl;
    rec->payload_len = get32(b + 62);
}

/* ---- segment listing ---------------------------------------------------- */

static int seg_cmp(const void *a, const void *b)
{
    uint64_t x = ((const seg *)a)->first, y = ((const seg *)b)->first;
    return x < y ? -1 : x > y;
}

static int is_seg_name(const char *n, uint64_t *first)
{
    char *end;

    if (strlen(n) != 24 || strcmp(n + 20, ".log") != 0)
        return 0;
    for (int i = 0; i < 20; i++)
        if (n[i] < '0' || n[i] > '9')
            return 0;
    errno = 0;
    *first = strtoull(n, &end, 10);
    return errno == 0 && end == n + 20 && *first > 0;
}

static int list_segs(const char *dir, seg **out, size_t *n, jh_err *e)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    seg *v = NULL;
    size_t cnt = 0, cap = 0;

    if (d == NULL)
        return jh__err_set(e, -errno, "outbox %s: opendir: %s", dir, strerror(errno));
    while ((de = readdir(d)) != NULL) {
        uint64_t first;
        if (!is_seg_name(de->d_name, &first))
            continue;
        if (cnt == cap) {
            seg *nv = realloc(v, (cap = cap ? cap * 2 : 8) * sizeof(*v));
            if (nv == NULL) {
                free(v);
                closedir(d);
                return jh__err_set(e, -ENOMEM, "outbox %s: out of memory", dir);
            }
            v = nv;
        }
        v[cnt++] = (seg){first, 0};
    }
    closedir(d);
    if (cnt > 1)
        qsort(v, cnt, sizeof(*v), seg_cmp);
    *out = v;
    *n = cnt;
    return 0;
}

/* ---- ack file ----------------------------------------------------------- */

static void ack_entry(unsigned char *p, uint64_t value, uint32_t kind)
{
    put64(p, value);
    put32(p + 8, kind);
    put32(p + 12, crc32c(p, 12));
}

/* Read dir/acks into *a.  Returns the byte length of the valid prefix
 * (what follows it is torn or damaged and ignored), or < 0. */
static off_t read_acks(int fd, acks *a, size_t *entries)
{
    unsigned char blk[ACK_ENTRY * 512];
    off_t off = 0;
    uint64_t from = 0;
    int have_from = 0;

    for (;;) {
        ssize_t r = pread(fd, blk, sizeof(blk), off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        for (ssize_t i = 0; i + ACK_ENTRY <= r; i += ACK_ENTRY) {
            const unsigned char *p = blk + i;
            uint32_t kind = get32(p + 8);
            uint64_t v = get64(p);
            if (crc32c(p, 12) != get32(p + 12) || kind < ACK_ONE || kind > ACK_TO ||
                (kind == ACK_TO && !have_from) || (kind == ACK_TO && v < from))
                return off + i;
            if ((kind == ACK_ONE && acks_add(a, v) < 0) ||
                (kind == ACK_TO && acks_add_range(a, from, v) < 0))
                return -ENOMEM;
            if (kind == ACK_LOW)
                acks_raise(a, v);
            have_from = kind == ACK_FROM;
            from = v;
            (*entries)++;
        }
        if (r < (ssize_t)sizeof(blk))
            return off + (r / ACK_ENTRY) * ACK_ENTRY;
        off += r;
    }
}

/* Rewrite the ack file as the watermark plus the set (reader thread or
 * open; ack_mu held or not yet shared). */
static int compact_acks(jh__outbox *ob)
{
    char tmp[4096], path[4096];
    size_t n = 1 + 2 * ob->ack.n, k = 0;
    unsigned char *buf = malloc(n * ACK_ENTRY);
    int fd = -1, rc = 0;

    if (buf == NULL)
        return -ENOMEM;
    ack_entry(buf, ob->ack.low, ACK_LOW);
    for (size_t i = 0; i < ob->ack.n; i++) {
        ack_entry(buf + ACK_ENTRY * ++k, ob->ack.r[i].lo, ACK_FROM);
        ack_entry(buf + ACK_ENTRY * ++k, ob->ack.r[i].hi, ACK_TO);
    }
    snprintf(tmp, sizeof(tmp), "%s/acks.tmp", ob->dir);
    snprintf(path, sizeof(path), "%s/acks", ob->dir);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || full_write(fd, buf, n * ACK_ENTRY) < 0 || fdatasync(fd) < 0 ||
        rename(tmp, path) < 0 || fsync(ob->dirfd) < 0) {
        rc = -errno;
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        free(buf);
        return rc;
    }
    free(buf);
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
static void flush_acks(jh__outbox *ob, int force)
{
    int64_t now = jh__monotonic_ns();

    if (ob->nackbuf > 0 && ob->ackfd >= 0) {
        if (full_write(ob->ackfd, ob->ackbuf, ob->nackbuf * ACK_ENTRY) < 0)
            warn(ob, "outbox.ack_write", ob->dir, 0, "error=\"%s\"", strerror(errno));
        ob->ack_entries += ob->nackbuf;
        ob->nackbuf = 0;
        ob->ack_dirty = 1;
    }
    ob->ack_flushed = now;
    if (ob->ack_entries > ACK_COMPACT && ob->ack.n * 8 < ob->ack_entries) {
        if (compact_acks(ob) < 0)
            warn(ob, "outbox.ack_compact", ob->dir, 0, "error=\"%s\"", strerror(errno));
        ob->ack_synced = now;
        return;
    }
    if (ob->ack_dirty && ob->ackfd >= 0 && (force || now - ob->ack_synced >= ACK_SYNC_NS)) {
        fdatasync(ob->ackfd);
        ob->ack_dirty = 0;
        ob->ack_synced = now;
    }
}

/* ---- recovery ------------------------------------------------------------ */

/*
 * Walk one segment from its start: set s->end to the end of its last valid
 * record, mark seqs missing before `*expect` as delivered (damaged or never
 * written), advance *expect.  `last`: the segment appends will continue in;
 * a torn tail is cut off there.  `ob` NULL: read-only (dump), `out` set:
 * print records.
 */
typedef void (*rec_fn)(void *arg, const jh__outbox_rec *rec);

static int scan_seg(jh__outbox *ob, const char *dir, seg *s, int last, acks *a,
                    uint64_t *expect, rec_fn fn, void *arg, FILE *notes, jh_err *e)
{
    char path[4096];
    unsigned char *buf = NULL;
    size_t cap = 0;
    struct stat st;
    off_t off = 0, batch_off = -1; /* start of an unfinished batch */
    uint64_t batch_seq = 0;
    int fd, rc = 0;

    seg_path(dir, s->first, path, sizeof(path));
    fd = open(path, (ob && last ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        rc = jh__err_set(e, -errno, "outbox %s: open: %s", path, strerror(errno));
        goto out;
    }
    if (*expect < s->first)
        *expect = s->first;
    while (off < st.st_size) {
        long len = read_rec(fd, off, st.st_size, &buf, &cap);
        jh__outbox_rec rec;
        if (len < 0) {
            rc = jh__err_set(e, (int)len, "outbox %s: read at offset %lld: %s", path,
                            (long long)off, strerror((int)-len));
            goto out;
        }
        if (len == 0) {
            off_t nx = resync(fd, off, st.st_size, &buf, &cap);
            if (nx < 0 && last) {
                warn_to(ob, notes, "outbox.torn", path, off, "bytes=%lld action=%s",
                     (long long)(st.st_size - off), ob ? "truncated" : "ignored");
                if (ob && (ftruncate(fd, off) < 0 || fsync(fd) < 0)) {
                    rc = jh__err_set(e, -errno, "outbox %s: truncate torn record at offset %lld: %s",
                                    path, (long long)off, strerror(errno));
                    goto out;
                }
                break;
            }
            warn_to(ob, notes, "outbox.corrupt", path, off, "bytes_skipped=%lld action=skipped",
                 (long long)((nx < 0 ? st.st_size : nx) - off));
            if (nx < 0)
                break;
            off = nx;
            continue;
        }
        fill_rec(buf, &rec);
        if (rec.seq < *expect) {
            /* A seq going backwards cannot come from our appends. */
            warn_to(ob, notes, "outbox.corrupt", path, off, "seq=%" PRIu64 " expected=%" PRIu64
                 " action=skipped", rec.seq, *expect);
            off += len;
            continue;
        }
        if (*expect < rec.seq && acks_add_range(a, *expect, rec.seq - 1) < 0) {
            rc = jh__err_set(e, -ENOMEM, "outbox %s: out of memory", path);
            goto out;
        }
        *expect = rec.seq + 1;
        if (!(get32(buf + 12) & FLAG_MORE))
            batch_off = -1;
        else if (batch_off < 0) {
            batch_off = off;
            batch_seq = rec.seq;
        }
        if (fn != NULL)
            fn(arg, &rec);
        off += len;
    }
    if (batch_off >= 0 && last) {
        /* A crash mid-batch: nothing of it may be delivered.  Its seqs
         * count as delivered, so they are never reused. */
        warn_to(ob, notes, "outbox.torn", path, batch_off, "bytes=%lld records=%" PRIu64
                " reason=unfinished_batch action=%s", (long long)(off - batch_off),
                *expect - batch_seq, ob ? "truncated" : "ignored");
        if (ob && (ftruncate(fd, batch_off) < 0 || fsync(fd) < 0)) {
            rc = jh__err_set(e, -errno, "outbox %s: truncate unfinished batch at offset %lld: %s",
                            path, (long long)batch_off, strerror(errno));
            goto out;
        }
        if (acks_add_range(a, batch_seq, *expect - 1) < 0) {
            rc = jh__err_set(e, -ENOMEM, "outbox %s: out of memory", path);
            goto out;
        }
        off = batch_off;
    }
    s->end = off;
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    return rc;
}

static int sync_dir(jh__outbox *ob)
{
    return fsync(ob->dirfd) < 0 ? -errno : 0;
}

/* Create and open segment `first` as the active one (mu held or no other
 * thread yet). */
static int new_seg(jh__outbox *ob, uint64_t first, jh_err *e)
{
    char path[4096];
    int fd;

    if (ob->nseg == ob->segcap) {
        seg *nv = realloc(ob->segs, (ob->segcap ? ob->segcap * 2 : 8) * sizeof(seg));
        if (nv == NULL)
            return jh__err_set(e, -ENOMEM, "outbox %s: out of memory", ob->dir);
        ob->segs = nv;
        ob->segcap = ob->segcap ? ob->segcap * 2 : 8;
    }
    seg_path(ob->dir, first, path, sizeof(path));
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return jh__err_set(e, -errno, "outbox %s: create: %s", path, strerror(errno));
    if (sync_dir(ob) < 0) {
        int err = errno;
        close(fd);
        return jh__err_set(e, -err, "outbox %s: fsync: %s", ob->dir, strerror(err));
    }
    if (ob->wfd >= 0)
        close(ob->wfd);
    ob->wfd = fd;
    ob->segs[ob->nseg++] = (seg){first, 0};
    return 0;
}

static int open_active(jh__outbox *ob, jh_err *e)
{
    char path[4096];

    seg_path(ob->dir, ob->segs[ob->nseg - 1].first, path, sizeof(path));
    ob->wfd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (ob->wfd < 0)
        return jh__err_set(e, -errno, "outbox %s: open: %s", path, strerror(errno));
    return 0;
}

/* Remove the leading segments whose records are all delivered.  mu held. */
static void remove_done(jh__outbox *ob, uint64_t low)
{
    char path[4096];
    size_t k = 0;

    while (k + 1 < ob->nseg && ob->segs[k + 1].first <= low) {
        seg_path(ob->dir, ob->segs[k].first, path, sizeof(path));
        if (unlink(path) < 0 && errno != ENOENT)
            break;
        k++;
    }
    if (k > 0) {
        memmove(ob->segs, ob->segs + k, (ob->nseg - k) * sizeof(seg));
        ob->nseg -= k;
    }
}

static int recover(jh__outbox *ob, jh_err *e)
{
    char path[4096];
    uint64_t expect = 1;
    off_t valid;
    int rc;

    snprintf(path, sizeof(path), "%s/acks", ob->dir);
    ob->ackfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (ob->ackfd < 0)
        return jh__err_set(e, -errno, "outbox %s: open: %s", path, strerror(errno));
    ob->ack.low = 1;
    valid = read_acks(ob->ackfd, &ob->ack, &ob->ack_entries);
    if (valid < 0)
        return jh__err_set(e, (int)valid, "outbox %s: read: %s", path, strerror((int)-valid));
    if ((rc = list_segs(ob->dir, &ob->segs, &ob->nseg, e)) < 0)
        return rc;
    ob->segcap = ob->nseg;
    if (ob->nseg > 0)
        acks_raise(&ob->ack, ob->segs[0].first);
    for (size_t i = 0; i < ob->nseg; i++)
        if ((rc = scan_seg(ob, ob->dir, &ob->segs[i], i + 1 == ob->nseg, &ob->ack, &expect,
                           NULL, NULL, NULL, e)) < 0)
            return rc;
    /* Never reuse a seq that an ack may name. */
    ob->next_seq = expect;
    if (ob->ack.low > ob->next_seq)
        ob->next_seq = ob->ack.low;
    if (ob->ack.n > 0 && ob->ack.r[ob->ack.n - 1].hi >= ob->next_seq)
        ob->next_seq = ob->ack.r[ob->ack.n - 1].hi + 1;
    ob->written = ob->synced = ob->next_seq - 1;
    /* Seqs between the last record and next_seq were never written. */
    if (expect < ob->next_seq && acks_add_range(&ob->ack, expect, ob->next_seq - 1) < 0)
        return jh__err_set(e, -ENOMEM, "outbox %s: out of memory", ob->dir);
    /* The rewrite only saves space and replay time; on a full disk it
     * fails, and refusing to open would keep the host from draining the
     * very records that fill the disk.  Keep appending to the old file
     * (compact_acks leaves ackfd as it was when it fails before the
     * rename; after the rename it is reopened below). */
    if ((rc = compact_acks(ob)) < 0) {
        warn(ob, "outbox.ack_rewrite_failed", path, valid, "error=\"%s\" "
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
    }
    remove_done(ob, ob->ack.low);
    if (ob->nseg == 0)
        return new_seg(ob, ob->next_seq, e);
    return open_active(ob, e);
}

/* ---- syncing -------------------------------------------------------------- */

/*
 * Make everything written so far durable, unless someone is already at it
 * (then wait for them and look again).  mu held; released around fdatasync
 * so appenders keep writing meanwhile: the next sync covers them all.
 */
static int sync_upto(jh__outbox *ob, uint64_t seq)
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

static void *syncer_main(void *arg)
{
    jh__outbox *ob = arg;

    pthread_mutex_lock(&ob->mu);
    while (!ob->stop) {
        struct timespec ts;
        int64_t due = jh__monotonic_ns() + ob->interval;
        ts.tv_sec = (time_t)(due / NS);
        ts.tv_nsec = (long)(due % NS);
        pthread_cond_timedwait(&ob->tick_cv, &ob->mu, &ts);
        if (ob->written > ob->synced)
            sync_upto(ob, ob->written);
    }
    pthread_mutex_unlock(&ob->mu);
    return NULL;
}

/* ---- open / close ---------------------------------------------------------- */

static int mkdir_p(const char *dir, jh_err *e)
{
    char p[4096];
    size_t n = strlen(dir);

    if (n == 0 || n >= sizeof(p))
        return jh__err_set(e, -EINVAL, "outbox: bad directory \"%s\"", dir);
    memcpy(p, dir, n + 1);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0700) < 0 && errno != EEXIST)
            return jh__err_set(e, -errno, "outbox %s: mkdir %s: %s", dir, p, strerror(errno));
        *s = '/';
    }
    if (mkdir(p, 0700) < 0 && errno != EEXIST)
        return jh__err_set(e, -errno, "outbox %s: mkdir: %s", dir, strerror(errno));
    return 0;
}

int jh__outbox_open(const jh__outbox_opts *opts, jh__outbox **out, jh_err *e)
{
    pthread_condattr_t ca;
    char path[4096];
    jh__outbox *ob;
    int rc;

    *out = NULL;
    if (opts == NULL || opts->dir == NULL)
        return jh__err_set(e, -EINVAL, "outbox: no directory given");
    if (opts->sync != JH_OUTBOX_SYNC_ALWAYS && opts->sync != JH_OUTBOX_SYNC_INTERVAL)
        return jh__err_set(e, -EINVAL, "outbox %s: bad sync mode %d", opts->dir, opts->sync);
    if ((rc = mkdir_p(opts->dir, e)) < 0)
        return rc;
    if ((ob = calloc(1, sizeof(*ob))) == NULL || (ob->dir = strdup(opts->dir)) == NULL) {
        free(ob);
        return jh__err_set(e, -ENOMEM, "outbox %s: out of memory", opts->dir);
    }
    ob->sync = opts->sync;
    ob->interval = opts->sync_interval_ns > 0 ? opts->sync_interval_ns : 5000000;
    ob->seg_bytes = opts->segment_bytes > 0 ? opts->segment_bytes : (size_t)64 << 20;
    ob->log = opts->log;
    ob->wfd = ob->ackfd = ob->rd_fd = ob->lockfd = -1;
    pthread_mutex_init(&ob->mu, NULL);
    pthread_mutex_init(&ob->ack_mu, NULL);
    pthread_cond_init(&ob->synced_cv, NULL);
    /* Timed waits use CLOCK_MONOTONIC deadlines (immune to clock steps). */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ob->append_cv, &ca);
    pthread_cond_init(&ob->tick_cv, &ca);
    pthread_condattr_destroy(&ca);
    ob->dirfd = open(ob->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (ob->dirfd < 0) {
        rc = jh__err_set(e, -errno, "outbox %s: open: %s", ob->dir, strerror(errno));
        goto fail;
    }
    /* One process per outbox: two writers would interleave seqs. */
    snprintf(path, sizeof(path), "%s/lock", ob->dir);
    ob->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (ob->lockfd < 0) {
        rc = jh__err_set(e, -errno, "outbox %s: open: %s", path, strerror(errno));
        goto fail;
    }
    if (flock(ob->lockfd, LOCK_EX | LOCK_NB) < 0) {
        rc = jh__err_set(e, errno == EWOULDBLOCK ? -EBUSY : -errno,
                        "outbox %s: in use by another process (%s)", ob->dir, strerror(errno));
        goto fail;
    }
    if ((rc = recover(ob, e)) < 0)
        goto fail;
    ob->ack_flushed = ob->ack_synced = jh__monotonic_ns();
    ob->rd_seg = ob->segs[0].first;
    if (ob->sync == JH_OUTBOX_SYNC_INTERVAL) {
        if ((rc = -pthread_create(&ob->syncer, NULL, syncer_main, ob)) < 0) {
            jh__err_set(e, rc, "outbox %s: start the sync thread: %s", ob->dir, strerror(-rc));
            goto fail;
        }
        ob->has_syncer = 1;
    }
    *out = ob;
    return 0;
fail:
    jh__outbox_close(ob);
    return rc;
}

void jh__outbox_close(jh__outbox *ob)
{
    if (ob == NULL)
        return;
    if (ob->has_syncer) {
        pthread_mutex_lock(&ob->mu);
        ob->stop = 1;
        pthread_cond_signal(&ob->tick_cv);
        pthread_mutex_unlock(&ob->mu);
        pthread_join(ob->syncer, NULL);
    }
    if (ob->wfd >= 0) {
        pthread_mutex_lock(&ob->mu);
        sync_upto(ob, ob->written);
        pthread_mutex_unlock(&ob->mu);
        close(ob->wfd);
    }
    if (ob->ackfd >= 0) {
        flush_acks(ob, 1);
        close(ob->ackfd);
    }
    if (ob->rd_fd >= 0)
        close(ob->rd_fd);
    if (ob->dirfd >= 0)
        close(ob->dirfd);
    if (ob->lockfd >= 0)
        close(ob->lockfd);
    pthread_mutex_destroy(&ob->mu);
    pthread_mutex_destroy(&ob->ack_mu);
    pthread_cond_destroy(&ob->synced_cv);
    pthread_cond_destroy(&ob->append_cv);
    pthread_cond_destroy(&ob->tick_cv);
    free(ob->ack.r);
    free(ob->segs);
    free(ob->rd_buf);
    free(ob->chunk);
    free(ob->dir);
    free(ob);
}

/* ---- append ------------------------------------------------------------------ */

/*
 * Message ids: 128 random bits.  getrandom() per append is a system call
 * that costs as much as the rest of an append, so each thread seeds a
 * xoshiro256** generator from it once (and again in a forked child, which
 * would otherwise repeat its parent's ids).
 */
static atomic_uint fork_gen;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static void on_fork_child(void) { atomic_fetch_add(&fork_gen, 1); }
static void atfork_init(void) { pthread_atfork(NULL, NULL, on_fork_child); }

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static void random_id(unsigned char id[16])
{
    static _Thread_local uint64_t st[4];
    static _Thread_local unsigned gen;
    static _Thread_local int seeded;
    static atomic_ullong ctr;

    pthread_once(&atfork_once, atfork_init);
    if (!seeded || gen != atomic_load(&fork_gen)) {
        if (getrandom(st, sizeof(st), 0) != (ssize_t)sizeof(st)) {
            /* No entropy source: time, pid and a counter still differ. */
            st[0] = (uint64_t)jh__realtime_ns();
            st[1] = (uint64_t)getpid();
            st[2] = atomic_fetch_add(&ctr, 1);
            st[3] = (uint64_t)jh__monotonic_ns() | 1;
        }
        gen = atomic_load(&fork_gen);
        seeded = 1;
    }
    for (int h = 0; h < 2; h++) {
        uint64_t r = rotl(st[1] * 5, 7) * 9, t = st[1] << 17;
        st[2] ^= st[0];
        st[3] ^= st[1];
        st[1] ^= st[2];
        st[0] ^= st[3];
        st[2] ^= t;
        st[3] = rotl(st[3], 45);
        put64(id + 8 * h, r);
    }
}

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
        return new_seg(ob, ob->next_seq, e);
    }
}

/* Everything of a record but its seq and CRC (set once the seq is known,
 * under mu). */
static void build_rec(unsigned char *b, size_t total, uint32_t flags, int64_t created,
                      const char *topic, size_t tl, const void *key, size_t key_len,
                      const void *payload, size_t len, int64_t deliver_at_ns)
{
    put32(b, REC_MAGIC);
    put32(b + 4, (uint32_t)total);
    put32(b + 12, flags | (key ? FLAG_KEY : 0));
    put64(b + 24, (uint64_t)created);
    put64(b + 32, (uint64_t)(deliver_at_ns > 0 ? deliver_at_ns : 0));
    random_id(b + 40);
    b[56] = (unsigned char)tl;
    b[57] = (unsigned char)(tl >> 8);
    put32(b + 58, key ? (uint32_t)key_len : 0);
    put32(b + 62, (uint32_t)len);
    memcpy(b + REC_HDR, topic, tl);
    if (key && key_len)
        memcpy(b + REC_HDR + tl, key, key_len);
    if (len)
        memcpy(b + REC_HDR + tl + (key ? key_len : 0), payload, len);
}

static void rec_id(const unsigned char *b, char *id_out)
{
    jh__outbox_rec r;

    fill_rec(b, &r);
    memcpy(id_out, r.id, 33);
}

int jh__outbox_append(jh__outbox *ob, const char *topic, const void *key, size_t key_len,
                     const void *payload, size_t len, int64_t deliver_at_ns,
                     char *id_out, jh_err *e)
{
    jh__outbox_ent ent = {topic, key, key_len, payload, len, deliver_at_ns, id_out};
    size_t tl = topic != NULL ? strlen(topic) : 0;
    size_t total;

    if (ob == NULL || tl == 0 || tl > 65535 || (payload == NULL && len > 0) ||
        (key == NULL && key_len > 0))
        return jh__err_set(e, -EINVAL, "outbox: append: bad arguments");
    /* Each part is checked before the sum, which could otherwise wrap. */
    if (key_len > REC_MAX || len > REC_MAX)
        return jh__err_set(e, -EMSGSIZE, "outbox: append: key of %zu or payload of %zu bytes "
                          "exceeds %u", key_len, len, REC_MAX);
    total = REC_HDR + tl + (key ? key_len : 0) + len;
    if (total > REC_MAX)
        return jh__err_set(e, -EMSGSIZE, "outbox: append: record of %zu bytes exceeds %u",
                          total, REC_MAX);
    /* One record is a batch of one: the same write, roll, sync and undo
     * (its record carries no "more follows" flag, as before). */
    return jh__outbox_append_batch(ob, &ent, 1, e);
}

int jh__outbox_append_batch(jh__outbox *ob, const jh__outbox_ent *ents, size_t n, jh_err *e)
{
    size_t total = 0, off, len1;
    size_t *len = NULL;
    unsigned char *b = NULL;
    int64_t created = jh__realtime_ns();
    uint64_t seq;
    seg *cur;
    int rc;

    if (n == 0)
        return 0;
    if (ob == NULL || ents == NULL)
        return jh__err_set(e, -EINVAL, "outbox: append batch: bad arguments");
    /* A single send (the common case) needs no allocation for its length. */
    if ((len = n == 1 ? &len1 : malloc(n * sizeof(*len))) == NULL)
        return jh__err_set(e, -ENOMEM, "outbox: append batch: out of memory");
    /* The outbox's own limits, so a bad entry cannot corrupt the file. */
    for (size_t i = 0; i < n; i++) {
        const jh__outbox_ent *m = &ents[i];
        size_t tl = m->topic != NULL ? strlen(m->topic) : 0;
        if (tl == 0 || tl > 65535 || (m->payload == NULL && m->len > 0) ||
            (m->key == NULL && m->key_len > 0) || m->len > REC_MAX || m->key_len > REC_MAX) {
            rc = jh__err_set(e, -EINVAL, "outbox: append batch: record %zu: bad arguments", i);
            goto done;
        }
        len[i] = REC_HDR + tl + (m->key ? m->key_len : 0) + m->len;
        if (len[i] > REC_MAX || total > SIZE_MAX / 2 - len[i]) {
            rc = jh__err_set(e, -EMSGSIZE, "outbox: append batch: record %zu of %zu bytes "
                            "exceeds %u (or the batch is too large)", i, len[i], REC_MAX);
            goto done;
        }
        total += len[i];
    }
    if ((b = malloc(total)) == NULL) {
        rc = jh__err_set(e, -ENOMEM, "outbox: append batch: out of memory (%zu bytes)", total);
        goto done;
    }
    off = 0;
    for (size_t i = 0; i < n; i++) {
        const jh__outbox_ent *m = &ents[i];
        build_rec(b + off, len[i], i + 1 < n ? FLAG_MORE : 0, created, m->topic,
                  strlen(m->topic), m->key, m->key_len, m->payload, m->len, m->deliver_at_ns);
        off += len[i];
    }

    pthread_mutex_lock(&ob->mu);
    /* Roll before, never inside, the batch: one segment holds all of it,
     * so a failed write is undone by one truncate. */
    if (!ob->failed && (rc = maybe_roll(ob, total, e)) < 0)
        goto out;
    if (ob->failed) {
        rc = jh__err_set(e, -EIO, "outbox %s: an earlier write or fsync failed (%s); "
                        "restart to recover", ob->dir, strerror(-ob->failed));
        goto out;
    }
    seq = ob->next_seq;
    off = 0;
    for (size_t i = 0; i < n; i++) {
        put64(b + off + 16, seq + i);
        put32(b + off + 8, crc32c(b + off + 12, len[i] - 12));
        off += len[i];
    }
    cur = &ob->segs[ob->nseg - 1];
    if ((rc = full_write(ob->wfd, b, total)) < 0) {
        /* cur->end has not moved, so the reader saw nothing; cut what was
         * written so the next record starts clean (else the next open
         * cuts the unfinished batch off). */
        if (ftruncate(ob->wfd, cur->end) < 0)
            ob->failed = rc;
        if (n == 1)
            rc = jh__err_set(e, rc, "outbox %s: write: %s", ob->dir, strerror(-rc));
        else
            rc = jh__err_set(e, rc, "outbox %s: write of a batch of %zu records (%zu bytes): %s",
                            ob->dir, n, total, strerror(-rc));
        goto out;
    }
    ob->next_seq += n;
    ob->written = seq + n - 1;
    cur->end += (off_t)total;
    pthread_cond_signal(&ob->append_cv);
    if (ob->sync == JH_OUTBOX_SYNC_ALWAYS && (rc = sync_upto(ob, seq + n - 1)) < 0) {
        rc = jh__err_set(e, -EIO, "outbox %s: fsync: %s", ob->dir, strerror(-rc));
        goto out;
    }
    off = 0;
    for (size_t i = 0; i < n; i++) {
        if (ents[i].id_out != NULL)
            rec_id(b + off, ents[i].id_out);
        off += len[i];
    }
out:
    pthread_mutex_unlock(&ob->mu);
done:
    free(b);
    if (len != &len1)
        free(len);
    return rc;
}

/* ---- reader -------------------------------------------------------------------- */

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
    if ((rc = full_pread(ob->rd_fd, ob->chunk, want, off)) <= 0) {
        *err = rc < 0 ? rc : -EIO; /* shorter than its known end: truncated under us */
        return NULL;
    }
    ob->chunk_off = off;
    ob->chunk_len = want;
    return ob->chunk;
}

/* Like read_rec, from the chunk: the record's length (*out points at it),
 * 0 if it is not valid, < 0 on error. */
static long chunk_rec(jh__outbox *ob, off_t off, off_t limit, const unsigned char **out)
{
    const unsigned char *h;
    uint32_t len;
    int err = 0;

    if (limit - off < REC_HDR)
        return 0;
    if ((h = chunk_at(ob, off, REC_HDR, limit, &err)) == NULL)
        return err;
    len = get32(h + 4);
    if (get32(h) != REC_MAGIC || len < REC_HDR || len > REC_MAX || (off_t)len > limit - off ||
        (uint64_t)REC_HDR + (h[56] | (uint32_t)h[57] << 8) + get32(h + 58) + get32(h + 62) != len ||
        h[56] + h[57] == 0)
        return 0;
    if ((h = chunk_at(ob, off, len, limit, &err)) == NULL)
        return err;
    if (crc32c(h + 12, len - 12) != get32(h + 8))
        return 0;
    *out = h;
    return (long)len;
}

/* Reader thread only: it is the only writer of the ack state, so it may
 * read it without ack_mu (which keeps pending() from other threads safe). */
static int ack_has(jh__outbox *ob, uint64_t seq)
{
    return acks_has(&ob->ack, seq);
}

/* The segment the reader is in (or the next one after it), its end and
 * whether it is the active one.  mu held.  Returns 0 if none. */
static int reader_seg(jh__outbox *ob, off_t *end, int *active)
{
    for (size_t i = 0; i < ob->nseg; i++)
        if (ob->segs[i].first >= ob->rd_seg) {
            if (ob->segs[i].first != ob->rd_seg) {
                ob->rd_seg = ob->segs[i].first;
                ob->rd_off = 0;
                ob->chunk_len = 0;
                if (ob->rd_fd >= 0)
                    close(ob->rd_fd);
                ob->rd_fd = -1;
            }
            *end = ob->segs[i].end;
            *active = i + 1 == ob->nseg;
            return 1;
        }
    return 0;
}

/* Acks buffered since the last call are written at every next(): the
 * delivery thread acks in batches (one rd_kafka_poll serves many reports)
 * and then reads on, so this is one write(2) per batch, and kill -9 loses
 * only the acks of the batch in hand.  `waiting`: also fdatasync if due. */
static void flush_if_due(jh__outbox *ob, int waiting)
{
    if (ob->nackbuf == 0 && !(waiting && ob->ack_dirty))
        return; /* reader-thread state: no lock needed to look */
    pthread_mutex_lock(&ob->ack_mu);
    if (ob->nackbuf > 0 || (waiting && ob->ack_dirty))
        flush_acks(ob, 0);
    pthread_mutex_unlock(&ob->ack_mu);
}

int jh__outbox_next(jh__outbox *ob, jh__outbox_rec *rec, int64_t timeout_ns)
{
    int64_t deadline = jh__monotonic_ns() + (timeout_ns > 0 ? timeout_ns : 0);

    if (ob == NULL || rec == NULL)
        return -EINVAL;
    flush_if_due(ob, 0);
    for (;;) {
        off_t end;
        int active;
        char path[4096];

        pthread_mutex_lock(&ob->mu);
        if (ob->wake) {
            ob->wake = 0;
            pthread_mutex_unlock(&ob->mu);
            return 0;
        }
        if (!reader_seg(ob, &end, &active)) {
            pthread_mutex_unlock(&ob->mu);
            return -EIO; /* cannot happen: the active segment always exists */
        }
        if (ob->rd_off >= end && active) {
            struct timespec ts;
            int64_t now = jh__monotonic_ns();
            if (now >= deadline) {
                pthread_mutex_unlock(&ob->mu);
                flush_if_due(ob, 1);
                return 0;
            }
            pthread_mutex_unlock(&ob->mu);
            flush_if_due(ob, 1);
            pthread_mutex_lock(&ob->mu);
            ts.tv_sec = (time_t)(deadline / NS);
            ts.tv_nsec = (long)(deadline % NS);
            if (!ob->wake && ob->segs[ob->nseg - 1].end == end &&
                ob->segs[ob->nseg - 1].first == ob->rd_seg)
                pthread_cond_timedwait(&ob->append_cv, &ob->mu, &ts);
            pthread_mutex_unlock(&ob->mu);
            continue;
        }
        if (ob->rd_off >= end) {
            /* A finished segment: move on to the one after it. */
            for (size_t i = 0; i + 1 < ob->nseg; i++)
                if (ob->segs[i].first == ob->rd_seg) {
                    ob->rd_seg = ob->segs[i + 1].first;
                    break;
                }
            ob->rd_off = 0;
            ob->chunk_len = 0;
            if (ob->rd_fd >= 0)
                close(ob->rd_fd);
            ob->rd_fd = -1;
            pthread_mutex_unlock(&ob->mu);
            continue;
        }
        pthread_mutex_unlock(&ob->mu);

        if (ob->rd_fd < 0) {
            seg_path(ob->dir, ob->rd_seg, path, sizeof(path));
            if ((ob->rd_fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
                return -errno;
        }
        const unsigned char *b = NULL;
        long len = chunk_rec(ob, ob->rd_off, end, &b);
        if (len < 0)
            return (int)len;
        if (len == 0) {
            /* Damage recovery already warned about: skip as it did. */
            off_t nx = resync(ob->rd_fd, ob->rd_off, end, &ob->rd_buf, &ob->rd_cap);
            ob->rd_off = nx < 0 ? end : nx;
            continue;
        }
        ob->rd_off += len;
        fill_rec(b, rec);
        if (ack_has(ob, rec->seq))
            continue;
        return 1;
    }
}

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
            flush_acks(ob, 0);
    }
    if (ob->ack.low == low) {
        pthread_mutex_unlock(&ob->ack_mu);
        return rc < 0 ? rc : 0;
    }
    low = ob->ack.low;
    pthread_mutex_unlock(&ob->ack_mu);
    pthread_mutex_lock(&ob->mu);
    if (ob->nseg > 1 && ob->segs[1].first <= low)
        remove_done(ob, low);
    pthread_mutex_unlock(&ob->mu);
    return 0;
}

void jh__outbox_rewind(jh__outbox *ob)
{
    if (ob == NULL)
        return;
    pthread_mutex_lock(&ob->mu);
    ob->rd_seg = ob->segs[0].first;
    ob->rd_off = 0;
    ob->chunk_len = 0;
    if (ob->rd_fd >= 0)
        close(ob->rd_fd);
    ob->rd_fd = -1;
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

/* ---- dump ------------------------------------------------------------------------ */

struct dump {
    FILE *out;
    const acks *a;
    uint64_t low;
};

void jh__outbox_put_quoted(FILE *f, const void *p, size_t n)
{
    const unsigned char *s = p;

    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\')
            fprintf(f, "\\%c", s[i]);
        else if (s[i] >= 0x20 && s[i] < 0x7f)
            fputc(s[i], f);
        else
            fprintf(f, "\\x%02x", s[i]);
    }
    fputc('"', f);
}

static void put_time(FILE *f, int64_t ns)
{
    time_t t = (time_t)(ns / NS);
    struct tm tm;
    char buf[32];

    gmtime_r(&t, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(f, "%s.%06ldZ", buf, (long)(ns % NS / 1000));
}

static void dump_rec(void *arg, const jh__outbox_rec *r)
{
    struct dump *d = arg;

    fprintf(d->out, "seq=%" PRIu64 " id=%s created=", r->seq, r->id);
    put_time(d->out, r->created_ns);
    fputs(" deliver_at=", d->out);
    if (r->deliver_at_ns > 0)
        put_time(d->out, r->deliver_at_ns);
    else
        fputc('-', d->out);
    fputs(" topic=", d->out);
    jh__outbox_put_quoted(d->out, r->topic, r->topic_len);
    fputs(" key=", d->out);
    if (r->key != NULL)
        jh__outbox_put_quoted(d->out, r->key, r->key_len);
    else
        fputc('-', d->out);
    fputs(" payload=", d->out);
    jh__outbox_put_quoted(d->out, r->payload, r->payload_len);
    fprintf(d->out, " delivered=%s\n",
            r->seq < d->low || acks_has(d->a, r->seq) ? "yes" : "no");
}

int jh__outbox_dump(const char *dir, FILE *out, jh_err *e)
{
    char path[4096];
    acks a = {.low = 1};
    struct dump d = {out, &a, 0};
    seg *segs = NULL;
    size_t n = 0, entries = 0;
    uint64_t expect = 1;
    struct stat st;
    int fd, rc = 0;

    if (dir == NULL || out == NULL)
        return jh__err_set(e, -EINVAL, "outbox dump: bad arguments");
    if (stat(dir, &st) < 0)
        return jh__err_set(e, -errno, "outbox %s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return jh__err_set(e, -ENOTDIR, "outbox %s: not a directory", dir);
    snprintf(path, sizeof(path), "%s/acks", dir);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
        off_t v = read_acks(fd, &a, &entries);
        close(fd);
        if (v < 0) {
            rc = jh__err_set(e, (int)v, "outbox %s: read: %s", path, strerror((int)-v));
            goto out;
        }
    }
    if ((rc = list_segs(dir, &segs, &n, e)) < 0)
        goto out;
    d.low = n > 0 ? segs[0].first : 0;
    /* Scan with a scratch ack set: gaps found by the scan are not printed
     * records, so marking them changes nothing shown. */
    for (size_t i = 0; i < n; i++)
        if ((rc = scan_seg(NULL, dir, &segs[i], i + 1 == n, &a, &expect, dump_rec, &d, out,
                           e)) < 0)
            goto out;
    /* Poison records the events service set aside (events.c): already
     * one line each in this format, plus dead_at and reason. */
    snprintf(path, sizeof(path), "%s/dead.log", dir);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
        char buf[65536];
        ssize_t r;
        while ((r = read(fd, buf, sizeof(buf))) > 0)
            fwrite(buf, 1, (size_t)r, out);
        close(fd);
    }
out:
    free(segs);
    free(a.r);
    return rc;
}
