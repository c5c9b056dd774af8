/*
 * format.c - the durable local event log's bytes (see outbox.h for the
 * contract, outbox_int.h for which file does what).
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
 * ack state.  Neither is ever taken while holding the other (written out
 * above struct jh__outbox in outbox_int.h).
 *
 * This file: CRC32C, record encode / check / decode, segment names.
 */
#include "outbox_int.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

uint32_t jh__ob_crc32c(const void *buf, size_t n)
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

/* ---- whole reads and writes ------------------------------------------- */

int jh__ob_full_pread(int fd, void *buf, size_t n, off_t off)
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

int jh__ob_full_write(int fd, const void *buf, size_t n)
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

/* ---- records ------------------------------------------------------------ */

void jh__ob_rec_build(unsigned char *b, size_t total, uint32_t flags, int64_t created,
                      const jh__outbox_ent *m, size_t tl)
{
    size_t kl = m->key ? m->key_len : 0;

    put32(b, REC_MAGIC);
    put32(b + REC_LEN, (uint32_t)total);
    put32(b + REC_FLAGS, flags | (m->key ? FLAG_KEY : 0));
    put64(b + REC_CREATED, (uint64_t)created);
    put64(b + REC_DELIVER, (uint64_t)(m->deliver_at_ns > 0 ? m->deliver_at_ns : 0));
    jh__ob_random_id(b + REC_ID);
    b[REC_TOPIC_LEN] = (unsigned char)tl;
    b[REC_TOPIC_LEN + 1] = (unsigned char)(tl >> 8);
    put32(b + REC_KEY_LEN, (uint32_t)kl);
    put32(b + REC_PAYLOAD_LEN, (uint32_t)m->len);
    memcpy(b + REC_HDR, m->topic, tl);
    if (kl)
        memcpy(b + REC_HDR + tl, m->key, kl);
    if (m->len)
        memcpy(b + REC_HDR + tl + kl, m->payload, m->len);
}

void jh__ob_rec_seal(unsigned char *b, size_t len, uint64_t seq)
{
    put64(b + REC_SEQ, seq);
    put32(b + REC_CRC, jh__ob_crc32c(b + REC_FLAGS, len - REC_FLAGS));
}

static size_t topic_len(const unsigned char *h)
{
    return h[REC_TOPIC_LEN] | (size_t)h[REC_TOPIC_LEN + 1] << 8;
}

uint32_t jh__ob_rec_hdr_len(const unsigned char *h, off_t room)
{
    uint32_t len = get32(h + REC_LEN);

    if (get32(h) != REC_MAGIC || len < REC_HDR || len > REC_MAX || (off_t)len > room)
        return 0;
    /* The parts add up to the whole, and every record has a topic. */
    if ((uint64_t)REC_HDR + topic_len(h) + get32(h + REC_KEY_LEN) +
            get32(h + REC_PAYLOAD_LEN) != len || topic_len(h) == 0)
        return 0;
    return len;
}

int jh__ob_rec_crc_ok(const unsigned char *b, uint32_t len)
{
    return jh__ob_crc32c(b + REC_FLAGS, len - REC_FLAGS) == get32(b + REC_CRC);
}

/* The id as 32 hex digits. */
static void id_hex(const unsigned char *id, char out[33])
{
    static const char hex[] = "0123456789abcdef";

    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[id[i] >> 4];
        out[2 * i + 1] = hex[id[i] & 15];
    }
    out[32] = '\0';
}

void jh__ob_rec_fill(const unsigned char *b, jh__outbox_rec *rec)
{
    size_t tl = topic_len(b), kl = get32(b + REC_KEY_LEN);

    rec->seq = get64(b + REC_SEQ);
    rec->created_ns = (int64_t)get64(b + REC_CREATED);
    rec->deliver_at_ns = (int64_t)get64(b + REC_DELIVER);
    id_hex(b + REC_ID, rec->id);
    rec->topic = (const char *)b + REC_HDR;
    rec->topic_len = tl;
    rec->key = get32(b + REC_FLAGS) & FLAG_KEY ? b + REC_HDR + tl : NULL;
    rec->key_len = kl;
    rec->payload = b + REC_HDR + tl + kl;
    rec->payload_len = get32(b + REC_PAYLOAD_LEN);
}

void jh__ob_rec_id(const unsigned char *b, char *id_out)
{
    id_hex(b + REC_ID, id_out);
}

long jh__ob_read_rec(int fd, off_t off, off_t limit, unsigned char **buf, size_t *cap)
{
    unsigned char h[REC_HDR];
    uint32_t len;
    int rc;

    if (limit - off < REC_HDR)
        return 0;
    if ((rc = jh__ob_full_pread(fd, h, REC_HDR, off)) <= 0)
        return rc;
    if ((len = jh__ob_rec_hdr_len(h, limit - off)) == 0)
        return 0;
    if (*cap < len) {
        unsigned char *nb = realloc(*buf, len);
        if (nb == NULL)
            return -ENOMEM;
        *buf = nb;
        *cap = len;
    }
    memcpy(*buf, h, REC_HDR);
    if ((rc = jh__ob_full_pread(fd, *buf + REC_HDR, len - REC_HDR, off + REC_HDR)) <= 0)
        return rc;
    if (!jh__ob_rec_crc_ok(*buf, len))
        return 0;
    return (long)len;
}

/* Searches for the magic a block at a time. */
off_t jh__ob_resync(int fd, off_t off, off_t limit, unsigned char **buf, size_t *cap)
{
    unsigned char blk[65536];
    const unsigned char m[4] = {0x4a, 0x48, 0x4f, 0x42};

    for (off_t base = off + 1; base < limit;) {
        size_t n = (size_t)(limit - base < (off_t)sizeof(blk) ? limit - base : (off_t)sizeof(blk));
        ssize_t r = pread(fd, blk, n, base);
        if (r < 0)
            return -errno;
        if (r < 4)
            return -ENOENT;
        for (ssize_t i = 0; i + 4 <= r; i++)
            if (memcmp(blk + i, m, 4) == 0 && jh__ob_read_rec(fd, base + i, limit, buf, cap) > 0)
                return base + i;
        base += r - 3;
    }
    return -ENOENT;
}

/* ---- segment names ---------------------------------------------------- */

void jh__ob_seg_path(const char *dir, uint64_t first, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%020" PRIu64 ".log", dir, first);
}

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

int jh__ob_list_segs(const char *dir, seg **out, size_t *n, jh_err *e)
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
