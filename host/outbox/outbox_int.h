/*
 * outbox_int.h - what the files of host/outbox share; never included
 * outside this folder (the contract is outbox.h).
 *
 * The design - byte layout, durability, recovery and batch rules - is
 * written once, at the top of format.c.  The files, one concept each:
 *   format.c   record and segment bytes: CRC32C, encode, check, decode
 *   id.c       message ids
 *   handle.c   the handle: open, close, the segment list
 *   append.c   single and batch append, group commit, interval sync, roll
 *   acks.c     the delivered set and the CRC'd ack file
 *   recover.c  the recovery scan at open (and the dump's)
 *   reader.c   the delivery cursor: next, rewind, wake
 *   dump.c     --outbox-dump
 */
#ifndef JH_OUTBOX_INT_H
#define JH_OUTBOX_INT_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "outbox.h"

/* ---- record layout (format.c) ----------------------------------------- */

#define REC_MAGIC 0x424f484aU /* "JHOB" little-endian */
#define REC_HDR 66
#define REC_MAX (256u << 20)
#define FLAG_KEY 1u
#define FLAG_MORE 2u /* another record of the same batch follows */

/* Field offsets in a record header. */
enum {
    REC_LEN = 4,
    REC_CRC = 8,
    REC_FLAGS = 12, /* the CRC covers [REC_FLAGS, len) */
    REC_SEQ = 16,
    REC_CREATED = 24,
    REC_DELIVER = 32,
    REC_ID = 40,
    REC_TOPIC_LEN = 56,
    REC_KEY_LEN = 58,
    REC_PAYLOAD_LEN = 62,
};

/* ---- ack entries (acks.c) ---------------------------------------------- */

#define ACK_ENTRY 16
#define ACK_BUF 256 /* entries buffered before they are written */

#define NS 1000000000LL

/* ---- little-endian fields ---------------------------------------------- */

/* Inline: the append and read paths use them for every field. */
static inline void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static inline void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t get64(const unsigned char *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* A CLOCK_MONOTONIC deadline in ns as pthread_cond_timedwait wants it. */
static inline struct timespec jh__ob_timespec(int64_t ns)
{
    return (struct timespec){.tv_sec = (time_t)(ns / NS), .tv_nsec = (long)(ns % NS)};
}

/* ---- the delivered set (acks.c) ----------------------------------------- */

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

/* ---- the outbox ----------------------------------------------------------- */

typedef struct seg {
    uint64_t first; /* from the name */
    off_t end;      /* bytes of records known complete */
} seg;

/*
 * Locks: `mu` guards the append side and the segment list (append.c, the
 * segment functions of handle.c, the reader's move between segments);
 * `ack_mu` the ack state (acks.c).  Neither is ever taken while holding
 * the other: jh__outbox_ack() lets go of ack_mu before it takes mu to
 * remove delivered segments, and the reader writes its acks
 * (jh__ob_flush_if_due) only with mu released.
 */
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

/* ---- format.c: bytes ------------------------------------------------------ */

uint32_t jh__ob_crc32c(const void *buf, size_t n);
/* 1 when all n bytes were read, 0 at end of file first, < 0 on error. */
int jh__ob_full_pread(int fd, void *buf, size_t n, off_t off);
int jh__ob_full_write(int fd, const void *buf, size_t n);

void jh__ob_seg_path(const char *dir, uint64_t first, char *buf, size_t n);
/* The segments in dir, in seq order (end 0). */
int jh__ob_list_segs(const char *dir, seg **out, size_t *n, jh_err *e);

/* Everything of a record (total bytes) but its seq and CRC, which are set
 * once the seq is known, under mu (jh__ob_rec_seal). */
void jh__ob_rec_build(unsigned char *b, size_t total, uint32_t flags, int64_t created,
                      const jh__outbox_ent *m, size_t topic_len);
/* Set the seq and, now that the record is complete, its CRC. */
void jh__ob_rec_seal(unsigned char *b, size_t len, uint64_t seq);
/* The length header h announces if it can start a valid record of at most
 * `room` bytes, else 0.  The CRC is checked once all of it is read. */
uint32_t jh__ob_rec_hdr_len(const unsigned char *h, off_t room);
int jh__ob_rec_crc_ok(const unsigned char *b, uint32_t len);
static inline int jh__ob_rec_more(const unsigned char *b)
{
    return (get32(b + REC_FLAGS) & FLAG_MORE) != 0;
}
void jh__ob_rec_fill(const unsigned char *b, jh__outbox_rec *rec);
void jh__ob_rec_id(const unsigned char *b, char *id_out);

/* Read and check the record at `off` (not beyond `limit`) into *buf:
 * its length, 0 if it is not a valid record, < 0 on I/O error. */
long jh__ob_read_rec(int fd, off_t off, off_t limit, unsigned char **buf, size_t *cap);
/* First offset after `off` where a valid record starts; -ENOENT when
 * none does before `limit`, -errno when reading fails (callers treat both
 * as "nothing valid follows"). */
off_t jh__ob_resync(int fd, off_t off, off_t limit, unsigned char **buf, size_t *cap);

/* ---- id.c ------------------------------------------------------------------ */

void jh__ob_random_id(unsigned char id[16]);

/* ---- handle.c: warnings and the segment list -------------------------------- */

/* A warning to the log, or (dump, ob NULL) a "# " line to `notes`. */
void jh__ob_warn_to(jh__outbox *ob, FILE *notes, const char *event, const char *file,
                    off_t off, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
#define jh__ob_warn(ob, ...) jh__ob_warn_to(ob, NULL, __VA_ARGS__)

/* Create and open segment `first` as the active one (mu held or no other
 * thread yet). */
int jh__ob_new_seg(jh__outbox *ob, uint64_t first, jh_err *e);
/* Remove the leading segments whose records are all delivered.  mu held. */
void jh__ob_remove_done(jh__outbox *ob, uint64_t low);

/* ---- append.c ---------------------------------------------------------------- */

int jh__ob_sync_upto(jh__outbox *ob, uint64_t seq);
void *jh__ob_syncer_main(void *arg);

/* ---- acks.c -------------------------------------------------------------------- */

int jh__ob_acks_has(const acks *a, uint64_t seq);
int jh__ob_acks_add_range(acks *a, uint64_t lo, uint64_t hi);
void jh__ob_acks_raise(acks *a, uint64_t low);
off_t jh__ob_read_acks(int fd, acks *a, size_t *entries);
/* At open: dir/acks opened and read into ob->ack; *valid: its good prefix. */
int jh__ob_acks_load(jh__outbox *ob, off_t *valid, jh_err *e);
/* At open, once recovery knows the set: rewrite the file (see acks.c). */
int jh__ob_acks_rewrite(jh__outbox *ob, off_t valid, jh_err *e);
void jh__ob_flush_acks(jh__outbox *ob, int force);
void jh__ob_flush_if_due(jh__outbox *ob, int waiting);

/* ---- recover.c ------------------------------------------------------------------ */

typedef void (*jh__ob_rec_fn)(void *arg, const jh__outbox_rec *rec);

/* One scan of a directory's segments, in order (see jh__ob_scan_seg). */
typedef struct jh__ob_scan {
    jh__outbox *ob;         /* NULL: read-only (dump) */
    const char *dir;
    acks *a;                /* seqs found missing are marked delivered here */
    uint64_t expect;        /* the next seq expected; start at 1 */
    jh__ob_rec_fn fn;       /* called for every valid record, or NULL */
    void *arg;
    FILE *notes;            /* ob NULL: warnings as "# " lines here */
} jh__ob_scan;

int jh__ob_scan_seg(jh__ob_scan *sc, seg *s, int last, jh_err *e);
int jh__ob_recover(jh__outbox *ob, jh_err *e);

#endif
