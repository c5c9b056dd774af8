/*
 * outbox.t - the durable outbox on its own (no Kafka): append / read / ack
 * in order and out of order, recovery after reopen and after kill -9, a
 * torn last record, a damaged record in the middle, --outbox-dump output,
 * group commit (4 appenders share fsyncs), interval mode, segment roll-over
 * and removal, batches (one fsync each, never split by a roll, cut off
 * whole when a crash or a failed write leaves part of one), lengths that
 * would wrap the record size, an ack-file rewrite that fails at open (the
 * outbox opens anyway), and bad directories.
 *
 * fdatasync is wrapped (-Wl,--wrap=fdatasync) to count the calls the
 * outbox makes, and optionally to make each one take 2 ms like a disk, so
 * the group commit check does not depend on how fast this machine's fsync
 * is.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jobhost.h"
#include "outbox/outbox.h"
#include "lib/tap.h"

#define MS 1000000LL

int __real_fdatasync(int fd);
int __wrap_fdatasync(int fd);
static atomic_int n_fsync;
static atomic_int slow_fsync;

int __wrap_fdatasync(int fd)
{
    atomic_fetch_add(&n_fsync, 1);
    if (atomic_load(&slow_fsync)) {
        struct timespec ts = {0, 2 * MS};
        nanosleep(&ts, NULL);
    }
    return __real_fdatasync(fd);
}

static char top[256];
static char logpath[512];
static jh__logger *lg;

static const char *sub(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), "%s/%s", top, name);
    return buf[k];
}

static jh__outbox *open_ob(const char *dir, int sync, size_t seg_bytes)
{
    jh__outbox_opts o = {.dir = dir, .sync = sync, .segment_bytes = seg_bytes, .log = lg};
    jh__outbox *ob = NULL;
    jh_err e = {0};

    if (jh__outbox_open(&o, &ob, &e) < 0)
        bail("open %s: %s", dir, e.msg);
    return ob;
}

static char *slurp(const char *path)
{
    static char buf[65536];
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

    if (fd >= 0)
        close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static int count_logs(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    while (d && (de = readdir(d)) != NULL)
        n += strlen(de->d_name) == 24 && strstr(de->d_name, ".log") != NULL;
    if (d)
        closedir(d);
    return n;
}

/* The only (or last) segment file of dir. */
static const char *last_seg(const char *dir)
{
    static char path[1024];
    DIR *d = opendir(dir);
    struct dirent *de;
    char best[64] = "";

    while (d && (de = readdir(d)) != NULL)
        if (strlen(de->d_name) == 24 && strcmp(de->d_name, best) > 0)
            snprintf(best, sizeof(best), "%s", de->d_name);
    if (d)
        closedir(d);
    snprintf(path, sizeof(path), "%s/%s", dir, best);
    return path;
}

static int append_s(jh__outbox *ob, const char *payload, char *id)
{
    jh_err e;
    return jh__outbox_append(ob, "t", NULL, 0, payload, strlen(payload), 0, id, &e);
}

/* Read everything available now as "p1,p2,...". */
static const char *read_all(jh__outbox *ob, int ack)
{
    static char buf[8192];
    jh__outbox_rec r;
    size_t n = 0;

    buf[0] = '\0';
    while (jh__outbox_next(ob, &r, 0) == 1) {
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%.*s", n ? "," : "",
                              (int)r.payload_len, (const char *)r.payload);
        if (ack)
            jh__outbox_ack(ob, r.seq);
    }
    return buf;
}

static void test_basic(void)
{
    const char *dir = sub("basic");
    jh__outbox *ob = open_ob(dir, JH_OUTBOX_SYNC_ALWAYS, 0);
    char id1[33], id2[33];
    jh__outbox_rec r;
    jh_err e = {0};
    static const unsigned char key[] = {0xff, 0x00, 'k'};

    is_int(jh__outbox_append(ob, "orders", key, 3, "a\0b", 3, 0, id1, &e), 0, "append with a binary key");
    is_int((long long)strlen(id1), 32, "id is 32 hex digits");
    ok(strspn(id1, "0123456789abcdef") == 32, "id is lowercase hex");
    is_int(jh__outbox_append(ob, "orders", "", 0, "", 0, 123 * MS, id2, &e), 0,
           "append with an empty key, empty payload, deliver_at");
    ok(strcmp(id1, id2) != 0, "ids differ");
    is_int(append_s(ob, "third", NULL), 0, "append without key");
    is_int((long long)jh__outbox_pending(ob), 3, "3 pending");

    is_int(jh__outbox_next(ob, &r, 0), 1, "next: first");
    ok(r.seq == 1 && strcmp(r.id, id1) == 0 && r.topic_len == 6 &&
           memcmp(r.topic, "orders", 6) == 0 && r.key_len == 3 && memcmp(r.key, key, 3) == 0 &&
           r.payload_len == 3 && memcmp(r.payload, "a\0b", 3) == 0 && r.deliver_at_ns == 0 &&
           r.created_ns > 0,
       "first record byte for byte");
    is_int(jh__outbox_next(ob, &r, 0), 1, "next: second");
    ok(r.seq == 2 && strcmp(r.id, id2) == 0 && r.key != NULL && r.key_len == 0 &&
           r.payload_len == 0 && r.deliver_at_ns == 123 * MS,
       "second: empty key is a key, deliver_at kept");
    is_int(jh__outbox_next(ob, &r, 0), 1, "next: third");
    ok(r.seq == 3 && r.key == NULL, "third: no key");
    is_int(jh__outbox_next(ob, &r, 0), 0, "nothing more: 0 at once");
    /* Out of order, as delayed records are acked. */
    is_int(jh__outbox_ack(ob, 3), 0, "ack 3 first");
    is_int(jh__outbox_ack(ob, 1), 0, "ack 1");
    is_int(jh__outbox_ack(ob, 1), 0, "ack 1 again: harmless");
    is_int((long long)jh__outbox_pending(ob), 1, "1 pending (seq 2)");
    is_int(jh__outbox_ack(ob, 0), -EINVAL, "ack 0: -EINVAL");
    is_int(jh__outbox_append(ob, "", NULL, 0, "x", 1, 0, NULL, &e), -EINVAL, "empty topic: -EINVAL");
    is_int(jh__outbox_append(ob, "t", NULL, 0, NULL, 1, 0, NULL, &e), -EINVAL,
           "NULL payload with a length: -EINVAL");
    jh__outbox_close(ob);

    ob = open_ob(dir, JH_OUTBOX_SYNC_ALWAYS, 0);
    is_int((long long)jh__outbox_pending(ob), 1, "reopen: still 1 pending");
    is_int(jh__outbox_next(ob, &r, 0), 1, "reopen: the unacked record comes back");
    ok(r.seq == 2 && strcmp(r.id, id2) == 0, "it is seq 2 with its id");
    is_int(jh__outbox_next(ob, &r, 0), 0, "the acked ones do not");
    char id4[33];
    is_int(append_s(ob, "four", id4), 0, "append after reopen");
    is_int(jh__outbox_next(ob, &r, 0), 1, "read it");
    ok(r.seq == 4, "seq continues at 4 (got %llu)", (unsigned long long)r.seq);
    jh__outbox_close(ob);
}

/* One record held back (as a delayed one is) while 999 behind it are acked
 * in a scrambled order: the ack state survives reopen exactly. */
static void test_ack_ranges(void)
{
    const char *dir = sub("ranges");
    jh__outbox *ob = open_ob(dir, JH_OUTBOX_SYNC_INTERVAL, 0);
    jh__outbox_rec r;
    int n = 0;

    for (int i = 0; i < 1000; i++)
        append_s(ob, "r", NULL);
    while (jh__outbox_next(ob, &r, 0) == 1)
        n++;
    is_int(n, 1000, "1000 handed out");
    /* 2..1000 in the order of a stride through a prime-sized cycle */
    for (int i = 0; i < 999; i++)
        jh__outbox_ack(ob, 2 + (uint64_t)((i * 379) % 999));
    is_int((long long)jh__outbox_pending(ob), 1, "999 acked out of order: 1 pending");
    jh__outbox_close(ob);
    ob = open_ob(dir, JH_OUTBOX_SYNC_INTERVAL, 0);
    is_int((long long)jh__outbox_pending(ob), 1, "reopen: 1 pending");
    is_int(jh__outbox_next(ob, &r, 0), 1, "it comes back");
    ok(r.seq == 1, "and it is seq 1");
    is_int(jh__outbox_next(ob, &r, 0), 0, "nothing else does");
    jh__outbox_ack(ob, 1);
    is_int((long long)jh__outbox_pending(ob), 0, "acked: 0 pending");
    jh__outbox_close(ob);
    ob = open_ob(dir, JH_OUTBOX_SYNC_INTERVAL, 0);
    is_int((long long)jh__outbox_pending(ob), 0, "reopen: 0 pending");
    is_int(jh__outbox_next(ob, &r, 0), 0, "nothing comes back");
    append_s(ob, "new", NULL);
    is_int(jh__outbox_next(ob, &r, 0), 1, "a new append");
    ok(r.seq == 1001, "continues at seq 1001 (got %llu)", (unsigned long long)r.seq);
    jh__outbox_close(ob);
}

/* Everything delivered, then two clean restarts: the second reopen finds an
 * ack file that is a watermark above 1 and no ranges (issue 9.23: UBSan
 * aborted there on a memmove from a NULL range array). */
static void test_reopen_all_acked(void)
{
    const char *dir = sub("allacked");
    jh__outbox *ob = open_ob(dir, JH_OUTBOX_SYNC_INTERVAL, 0);
    jh__outbox_rec r;

    for (int i = 0; i < 5; i++)
        append_s(ob, "d", NULL);
    while (jh__outbox_next(ob, &r, 0) == 1)
        jh__outbox_ack(ob, r.seq);
    is_int((long long)jh__outbox_pending(ob), 0, "all acked: 0 pending");
    jh__outbox_close(ob);
    for (int k = 1; k <= 3; k++) {
        ob = open_ob(dir, JH_OUTBOX_SYNC_INTERVAL, 0);
        is_int((long long)jh__outbox_pending(ob), 0, "reopen %d after all acked: 0 pending", k);
        is_int(jh__outbox_next(ob, &r, 0), 0, "reopen %d: nothing comes back", k);
        jh__outbox_close(ob);
    }
    ob = open_ob(dir, JH_OUTBOX_SYNC_INTERVAL, 0);
    append_s(ob, "after", NULL);
    is_int(jh__outbox_next(ob, &r, 0), 1, "an append after the restarts");
    ok(r.seq == 6, "continues at seq 6 (got %llu)", (unsigned long long)r.seq);
    jh__outbox_close(ob);
}

struct waker {
    jh__outbox *ob;
    int mode; /* 0: wake, 1: append */
};

static void *waker_main(void *arg)
{
    struct waker *w = arg;
    struct timespec ts = {0, 50 * MS};

    nanosleep(&ts, NULL);
    if (w->mode == 0)
        jh__outbox_wake(w->ob);
    else
        append_s(w->ob, "late", NULL);
    return NULL;
}

static void test_wait(void)
{
    jh__outbox *ob = open_ob(sub("wait"), JH_OUTBOX_SYNC_INTERVAL, 0);
    struct waker w = {ob, 0};
    jh__outbox_rec r;
    pthread_t t;

    pthread_create(&t, NULL, waker_main, &w);
    is_int(jh__outbox_next(ob, &r, 30000 * MS), 0, "next waiting 30 s returns 0 on wake");
    pthread_join(t, NULL);
    w.mode = 1;
    pthread_create(&t, NULL, waker_main, &w);
    is_int(jh__outbox_next(ob, &r, 30000 * MS), 1, "next waiting returns the record appended meanwhile");
    ok(r.payload_len == 4 && memcmp(r.payload, "late", 4) == 0, "it is that record");
    pthread_join(t, NULL);
    jh__outbox_close(ob);
}

static void test_torn(void)
{
    const char *dir = sub("torn");
    jh__outbox *ob = open_ob(dir, JH_OUTBOX_SYNC_ALWAYS, 0);
    struct stat st;
    char path[1024];

    append_s(ob, "one", NULL);
    append_s(ob, "two", NULL);
    append_s(ob, "three-is-longer", NULL);
    jh__outbox_close(ob);
    snprintf(path, sizeof(path), "%s", last_seg(dir));
    stat(path, &st);
    /* Cut the last record in the middle, as a crash mid-write would. */
    is_int(truncate(path, st.st_size - 7), 0, "cut 7 bytes off the last record");
    ob = open_ob(dir, JH_OUTBOX_SYNC_ALWAYS, 0);
    like(slurp(logpath), "event=outbox.torn", "reopen warns outbox.torn");
    like(slurp(logpath), "action=truncated", "and says it truncated");
    like(slurp(logpath), path, "naming the file");
    is_str(read_all(ob, 0), "one,two", "the earlier records are intact");
    is_int(append_s(ob, "four", NULL), 0, "appends continue");
    is_str(read_all(ob, 0), "four", "after the cut");
    jh__outbox_close(ob);
    ob = open_ob(dir, JH_OUTBOX_SYNC_ALWAYS, 0);
    is_str(read_all(ob, 0), "one,two,four", "reopen again: all three, nothing torn");
    jh__outbox_close(ob);
}

static void flip_byte(const char *path, const char *needle)
{
    char *data;
    struct stat st;
    int fd = open(path, O_RDWR);

    fstat(fd, &st);
    data = malloc((size_t)st.st_size);
    if (read(fd, data, (size_t)st.st_size) != st.st_size)
        bail("read %s", path);
    char *p = memmem(data, (size_t)st.st_size, needle, strlen(needle));
    if (p == NULL)
        bail("no %s in %s", needle, path);
    char x = (char)(*p ^ 0x20);
    if (pwrite(fd, &x, 1, p - data) != 1)
        bail("pwrite");
    close(fd);
    free(data);
}

static void test_corrupt(void)
{
    const char *dir = sub("corrupt");
    jh__outbox *ob = open_ob(dir, JH_OUTBOX_SYNC_ALWAYS, 0);
    char out[8192];

    append_s(ob, "alpha", NULL);
    append_s(ob, "bravo", NULL);
    append_s(ob, "charlie", NULL);
    jh__outbox_close(ob);
    flip_byte(last_seg(dir), "bravo");
    truncate(logpath, 0);
    ob = open_ob(dir, JH_OUTBOX_SYNC_ALWAYS, 0);
    like(slurp(logpath), "event=outbox.corrupt", "a flipped byte in the middle: outbox.corrupt");
    like(slurp(logpath), "action=skipped", "skipped");
    is_str(read_all(ob, 1), "alpha,charlie", "the damaged record is skipped, the others delivered");
    is_int((long long)jh__outbox_pending(ob), 0, "nothing pending: its seq does not block the watermark");
    jh__outbox_close(ob);

    /* The same damage in the last record looks like a torn write. */
    dir = sub("corrupt2");
    ob = open_ob(dir, JH_OUTBOX_SYNC_ALWAYS, 0);
    append_s(ob, "alpha", NULL);
    append_s(ob, "bravo", NULL);
    jh__outbox_close(ob);
    flip_byte(last_seg(dir), "bravo");
    truncate(logpath, 0);
    ob = open_ob(dir, JH_OUTBOX_SYNC_ALWAYS, 0);
    like(slurp(logpath), "event=outbox.torn", "a flipped byte in the last record: detected (torn)");
    is_str(read_all(ob, 0), "alpha", "the record before it is intact");
    jh__outbox_close(ob);

    /* dump says so too, without changing anything. */
    dir = sub("corrupt3");
    ob = open_ob(dir, JH_OUTBOX_SYNC_ALWAYS, 0);
    append_s(ob, "alpha", NULL);
    append_s(ob, "bravo", NULL);
    append_s(ob, "charlie", NULL);
    jh__outbox_close(ob);
    flip_byte(last_seg(dir), "bravo");
    FILE *f = fmemopen(out, sizeof(out), "w");
    jh_err e = {0};
    is_int(jh__outbox_dump(dir, f, &e), 0, "dump of a damaged outbox works");
    fclose(f);
    like(out, "# outbox.corrupt", "and notes the damage");
    like(out, "payload=\"charlie\"", "and shows what follows it");
}

static void test_dump(void)
{
    const char *dir = sub("dump");
    jh__outbox *ob = open_ob(dir, JH_OUTBOX_SYNC_ALWAYS, 0);
    static const unsigned char key[] = {'k', 0xc3, 0x28, '"'};
    char out[8192], id[33], id2[33], line[1024];
    jh__outbox_rec r;
    jh_err e = {0};
    struct stat before, after;

    jh__outbox_append(ob, "orders.v1", key, 4, "pay\n\"load\"\\", 11, 0, id, &e);
    jh__outbox_append(ob, "t", NULL, 0, "x", 1, 1795294208LL * 1000000000, id2, &e);
    jh__outbox_next(ob, &r, 0);
    jh__outbox_ack(ob, r.seq);
    jh__outbox_close(ob);
    stat(last_seg(dir), &before);
    FILE *f = fmemopen(out, sizeof(out), "w");
    is_int(jh__outbox_dump(dir, f, &e), 0, "dump");
    fclose(f);
    snprintf(line, sizeof(line), "seq=1 id=%s created=", id);
    like(out, line, "line 1: seq, id, created");
    like(out, "deliver_at=- topic=\"orders.v1\" key=\"k\\xc3(\\\"\" payload=\"pay\\x0a\\\"load\\\"\\\\\" "
              "delivered=yes",
         "line 1: key and payload escaped, delivered");
    snprintf(line, sizeof(line), "seq=2 id=%s", id2);
    like(out, line, "line 2");
    like(out, "deliver_at=2026-11-21T20:50:08.000000Z topic=\"t\" key=- payload=\"x\" delivered=no",
         "line 2: deliver_at, no key, not delivered");
    stat(last_seg(dir), &after);
    ok(before.st_size == after.st_size && before.st_mtim.tv_nsec == after.st_mtim.tv_nsec,
       "dump changed nothing");
    e.msg[0] = '\0';
    f = fmemopen(out, sizeof(out), "w");
    ok(jh__outbox_dump(sub("nope"), f, &e) < 0, "dump of a missing dir fails");
    fclose(f);
    like(e.msg, "nope", "naming it");
}

struct appender {
    jh__outbox *ob;
    int n;
};

static void *appender_main(void *arg)
{
    struct appender *a = arg;
    char p[32];
    jh_err e;

    for (int i = 0; i < a->n; i++) {
        snprintf(p, sizeof(p), "%p-%d", (void *)a, i);
        if (jh__outbox_append(a->ob, "t", p, strlen(p), p, strlen(p), 0, NULL, &e) < 0)
            return (void *)1;
    }
    return NULL;
}

static void test_group_commit(void)
{
    jh__outbox *ob = open_ob(sub("group"), JH_OUTBOX_SYNC_ALWAYS, 0);
    struct appender a = {ob, 100};
    pthread_t t[4];
    void *res;
    int failed = 0, fs;
    jh__outbox_rec r;
    int got = 0;

    atomic_store(&slow_fsync, 1);
    atomic_store(&n_fsync, 0);
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, appender_main, &a);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], &res);
        failed += res != NULL;
    }
    fs = atomic_load(&n_fsync);
    atomic_store(&slow_fsync, 0);
    is_int(failed, 0, "4 threads x 100 appends in always mode");
    ok(fs >= 1 && fs < 400, "group commit: %d fsyncs for 400 appends (shared)", fs);
    diag("group commit: 400 appends, %d fsyncs (2 ms each)", fs);
    while (jh__outbox_next(ob, &r, 0) == 1)
        got++;
    is_int(got, 400, "all 400 readable");
    jh__outbox_close(ob);

    /* One appender alone: one fsync per append (that is what always means). */
    ob = open_ob(sub("single"), JH_OUTBOX_SYNC_ALWAYS, 0);
    atomic_store(&n_fsync, 0);
    for (int i = 0; i < 20; i++)
        append_s(ob, "x", NULL);
    is_int(atomic_load(&n_fsync), 20, "a lone appender: one fsync per append");
    jh__outbox_close(ob);
}

/* Appenders racing a segment roll while an fsync is in progress: every
 * seq once, in order, across many small segments. */
static void test_roll_race(void)
{
    const char *dir = sub("rollrace");
    jh__outbox *ob = open_ob(dir, JH_OUTBOX_SYNC_ALWAYS, 600);
    struct appender a = {ob, 150};
    pthread_t t[4];
    jh__outbox_rec r;
    uint64_t last = 0;
    int got = 0, in_order = 1;

    atomic_store(&slow_fsync, 1);
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, appender_main, &a);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    atomic_store(&slow_fsync, 0);
    ok(count_logs(dir) > 50, "600 records in 600-byte segments: %d files", count_logs(dir));
    while (jh__outbox_next(ob, &r, 0) == 1) {
        in_order &= r.seq == last + 1;
        last = r.seq;
        got++;
        jh__outbox_ack(ob, r.seq);
    }
    is_int(got, 600, "4 appenders rolling segments under group commit: all 600 read");
    ok(in_order, "seqs 1..600 once each, in order");
    is_int(count_logs(dir), 1, "all acked: one segment left");
    jh__outbox_close(ob);
    ob = open_ob(dir, JH_OUTBOX_SYNC_ALWAYS, 600);
    is_int((long long)jh__outbox_pending(ob), 0, "reopen: nothing pending");
    jh__outbox_close(ob);
}

static void test_interval(void)
{
    jh__outbox_opts o = {.dir = sub("interval"), .sync = JH_OUTBOX_SYNC_INTERVAL,
                        .sync_interval_ns = 20 * MS, .log = lg};
    jh__outbox *ob = NULL;
    jh_err e;
    int before, after = 0;

    jh__outbox_open(&o, &ob, &e);
    atomic_store(&n_fsync, 0);
    for (int i = 0; i < 1000; i++)
        append_s(ob, "x", NULL);
    before = atomic_load(&n_fsync);
    ok(before < 100, "interval mode: 1000 appends, %d fsyncs meanwhile", before);
    for (int i = 0; i < 500 && (after = atomic_load(&n_fsync)) == before; i++) {
        struct timespec ts = {0, 10 * MS};
        nanosleep(&ts, NULL);
    }
    ok(after > before, "the timer fsyncs what was written (%d -> %d)", before, after);
    jh__outbox_close(ob);
}

static void test_segments(void)
{
    const char *dir = sub("segs");
    jh__outbox *ob = open_ob(dir, JH_OUTBOX_SYNC_INTERVAL, 1000);
    char p[64], want[8192] = "";
    size_t n = 0;

    for (int i = 0; i < 60; i++) {
        snprintf(p, sizeof(p), "record-%02d-padding-padding-padding", i);
        append_s(ob, p, NULL);
        n += (size_t)snprintf(want + n, sizeof(want) - n, "%s%s", i ? "," : "", p);
    }
    ok(count_logs(dir) >= 4, "60 records of ~100 bytes in 1000-byte segments: %d files",
       count_logs(dir));
    is_str(read_all(ob, 0), want, "read in order across segments");
    jh__outbox_close(ob);
    ob = open_ob(dir, JH_OUTBOX_SYNC_INTERVAL, 1000);
    is_str(read_all(ob, 1), want, "again after reopen, and ack all");
    is_int(count_logs(dir), 1, "every fully acked segment removed (the active one stays)");
    is_int((long long)jh__outbox_pending(ob), 0, "nothing pending");
    jh__outbox_close(ob);
    ob = open_ob(dir, JH_OUTBOX_SYNC_INTERVAL, 1000);
    is_str(read_all(ob, 0), "", "reopen: nothing comes back");
    append_s(ob, "after", NULL);
    is_str(read_all(ob, 0), "after", "and new appends work");
    jh__outbox_close(ob);
}

static void test_kill9(void)
{
    const char *dir = sub("kill9");
    pid_t pid = fork();
    int status, got = 0, redelivered = 0;
    jh__outbox_rec r;

    if (pid == 0) {
        jh__outbox *ob = open_ob(dir, JH_OUTBOX_SYNC_INTERVAL, 4096);
        char p[32];
        for (int i = 0; i < 500; i++) {
            snprintf(p, sizeof(p), "%d", i);
            append_s(ob, p, NULL);
        }
        for (int i = 0; i < 200 && jh__outbox_next(ob, &r, 0) == 1; i++)
            jh__outbox_ack(ob, r.seq);
        jh__outbox_next(ob, &r, 0); /* a reader that goes on reading */
        raise(SIGKILL);
        _exit(1);
    }
    waitpid(pid, &status, 0);
    ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child killed with SIGKILL");
    jh__outbox *ob = open_ob(dir, JH_OUTBOX_SYNC_INTERVAL, 4096);
    while (jh__outbox_next(ob, &r, 0) == 1) {
        char num[16];
        snprintf(num, sizeof(num), "%.*s", (int)r.payload_len, (const char *)r.payload);
        int v = atoi(num);
        got++;
        redelivered += v < 200;
    }
    is_int(got - redelivered, 300, "every unacked record survives kill -9");
    is_int(redelivered, 0, "acks written at the reader's next read survive kill -9");
    jh__outbox_close(ob);
}

static void test_bad_dirs(void)
{
    jh__outbox_opts o = {.sync = JH_OUTBOX_SYNC_ALWAYS};
    jh__outbox *ob = (jh__outbox *)1, *ob2 = NULL;
    jh_err e = {0};
    char file[512];

    snprintf(file, sizeof(file), "%s/plainfile", top);
    close(open(file, O_CREAT | O_WRONLY, 0600));
    o.dir = file;
    ok(jh__outbox_open(&o, &ob, &e) < 0 && ob == NULL, "a plain file as dir: error");
    like(e.msg, "plainfile", "message names it: %s", e.msg);
    snprintf(file, sizeof(file), "%s/plainfile/sub", top);
    o.dir = file;
    ok(jh__outbox_open(&o, &ob, &e) < 0, "a dir under a file: error");
    like(e.msg, "Not a directory", "message says why: %s", e.msg);
    o.dir = NULL;
    is_int(jh__outbox_open(&o, &ob, &e), -EINVAL, "no dir: -EINVAL");
    o.dir = sub("busy");
    ob = open_ob(o.dir, JH_OUTBOX_SYNC_ALWAYS, 0);
    pid_t pid = fork();
    if (pid == 0) {
        jh_err e2;
        _exit(jh__outbox_open(&o, &ob2, &e2) == -EBUSY && strstr(e2.msg, "in use") ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "a second process cannot open an outbox in use (-EBUSY)");
    jh__outbox_close(ob);
    if (geteuid() != 0) {
        snprintf(file, sizeof(file), "%s/ro", top);
        mkdir(file, 0500);
        snprintf(file, sizeof(file), "%s/ro/outbox", top);
        o.dir = file;
        ok(jh__outbox_open(&o, &ob, &e) == -EACCES, "unwritable parent: -EACCES");
        like(e.msg, "Permission denied", "message: %s", e.msg);
    } else {
        skip("running as root: permissions do not apply");
        skip("running as root");
    }
}


/* ---- batches ------------------------------------------------------------ */

/* n entries on topic "b", payload "<tag>-<i>", key "k<i%3>" (none for
 * i%5 == 4), every 7th delayed. */
static jh__outbox_ent *batch_of(const char *tag, int n, char (*pay)[32], char (*keys)[8],
                               char (*ids)[33])
{
    jh__outbox_ent *v = calloc((size_t)n, sizeof(*v));

    for (int i = 0; i < n; i++) {
        snprintf(pay[i], 32, "%s-%d", tag, i);
        snprintf(keys[i], 8, "k%d", i % 3);
        v[i] = (jh__outbox_ent){.topic = "b", .key = i % 5 == 4 ? NULL : keys[i],
                               .key_len = i % 5 == 4 ? 0 : strlen(keys[i]), .payload = pay[i],
                               .len = strlen(pay[i]),
                               .deliver_at_ns = i % 7 == 6 ? (int64_t)(1000 + i) * MS : 0,
                               .id_out = ids ? ids[i] : NULL};
    }
    return v;
}

static void test_batch(void)
{
    const char *dir = sub("batch");
    jh__outbox *ob = open_ob(dir, JH_OUTBOX_SYNC_ALWAYS, 0);
    char pay[100][32], keys[100][8], ids[100][33], first[33];
    jh__outbox_ent *v = batch_of("a", 100, pay, keys, ids);
    jh__outbox_rec r;
    jh_err e = {0};
    int fs, good = 0, ids_ok = 1;

    is_int(append_s(ob, "single", first), 0, "a single append first");
    atomic_store(&n_fsync, 0);
    is_int(jh__outbox_append_batch(ob, v, 100, &e), 0, "a batch of 100 in always mode");
    fs = atomic_load(&n_fsync);
    is_int(fs, 1, "one fsync for the whole batch (%d)", fs);
    for (int i = 0; i < 100; i++) {
        ids_ok &= strlen(ids[i]) == 32 && strspn(ids[i], "0123456789abcdef") == 32 &&
                  strcmp(ids[i], first) != 0;
        for (int j = 0; j < i; j++)
            ids_ok &= strcmp(ids[i], ids[j]) != 0;
    }
    ok(ids_ok, "every id_out filled: 32 hex digits, all distinct");
    is_int((long long)jh__outbox_pending(ob), 101, "101 pending");

    is_int(jh__outbox_next(ob, &r, 0), 1, "the single one first");
    ok(r.seq == 1 && strcmp(r.id, first) == 0, "seq 1");
    for (int i = 0; i < 100 && jh__outbox_next(ob, &r, 0) == 1; i++) {
        const jh__outbox_ent *m = &v[i];
        good += r.seq == (uint64_t)i + 2 && strcmp(r.id, ids[i]) == 0 && r.topic_len == 1 &&
                memcmp(r.topic, "b", 1) == 0 && r.payload_len == m->len &&
                memcmp(r.payload, m->payload, m->len) == 0 &&
                (m->key == NULL ? r.key == NULL
                                : r.key != NULL && r.key_len == m->key_len &&
                                      memcmp(r.key, m->key, m->key_len) == 0) &&
                r.deliver_at_ns == m->deliver_at_ns;
    }
    is_int(good, 100, "the batch reads back in array order, seqs 2..101, byte for byte, "
           "with its ids and deliver_at");
    is_int(jh__outbox_next(ob, &r, 0), 0, "nothing more");

    atomic_store(&n_fsync, 0);
    is_int(jh__outbox_append_batch(ob, v, 0, &e), 0, "an empty batch: 0");
    is_int(atomic_load(&n_fsync), 0, "and no fsync");
    v[5].topic = "";
    is_int(jh__outbox_append_batch(ob, v, 100, &e), -EINVAL, "an empty topic at 5: -EINVAL");
    like(e.msg, "record 5", "naming the record (%s)", e.msg);
    v[5].topic = "b";
    v[7].payload = NULL;
    is_int(jh__outbox_append_batch(ob, v, 100, &e), -EINVAL, "NULL payload with a length: -EINVAL");
    v[7].payload = pay[7];
    is_int(jh__outbox_next(ob, &r, 0), 0, "a refused batch appends nothing");
    is_int((long long)jh__outbox_pending(ob), 101, "still 101 pending");
    is_int(atomic_load(&n_fsync), 0, "and syncs nothing");
    jh__outbox_close(ob);

    ob = open_ob(dir, JH_OUTBOX_SYNC_ALWAYS, 0);
    is_int((long long)jh__outbox_pending(ob), 101, "reopen: 101 pending");
    good = 0;
    while (jh__outbox_next(ob, &r, 0) == 1)
        good += r.seq >= 2 && r.seq <= 101 && strcmp(r.id, ids[r.seq - 2]) == 0 &&
                r.payload_len == v[r.seq - 2].len &&
                memcmp(r.payload, v[r.seq - 2].payload, r.payload_len) == 0;
    is_int(good, 100, "reopen: the batch comes back whole, with its ids");
    is_int(append_s(ob, "after", NULL), 0, "append after reopen");
    is_int(jh__outbox_next(ob, &r, 0), 1, "read it");
    ok(r.seq == 102, "seq continues at 102 (got %llu)", (unsigned long long)r.seq);
    jh__outbox_close(ob);
    free(v);
}

/* A batch larger than a segment lives in one segment: rolled before,
 * never inside. */
static void test_batch_roll(void)
{
    const char *dir = sub("batchroll");
    jh__outbox *ob = open_ob(dir, JH_OUTBOX_SYNC_ALWAYS, 1000);
    char pay[40][32], keys[40][8];
    jh__outbox_ent *v = batch_of("r", 40, pay, keys, NULL);
    jh_err e = {0};
    char want[2048];
    size_t n = 0;

    append_s(ob, "x", NULL);
    is_int(jh__outbox_append_batch(ob, v, 40, &e), 0, "a batch of 40 (~3 KB) in 1000-byte "
           "segments");
    is_int(count_logs(dir), 2, "rolled once before it, not inside it: 2 segments");
    append_s(ob, "y", NULL);
    is_int(count_logs(dir), 3, "the next append rolls again");
    n += (size_t)snprintf(want + n, sizeof(want) - n, "x");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(want + n, sizeof(want) - n, ",%s", pay[i]);
    snprintf(want + n, sizeof(want) - n, ",y");
    is_str(read_all(ob, 1), want, "all in order");
    jh__outbox_close(ob);
    ob = open_ob(dir, JH_OUTBOX_SYNC_ALWAYS, 1000);
    is_int((long long)jh__outbox_pending(ob), 0, "reopen: all acked");
    jh__outbox_close(ob);
    free(v);
}

/* A crash mid-batch leaves a prefix of it on disk: the next open cuts the
 * whole unfinished batch off, and never reuses its seqs. */
static void test_batch_torn(void)
{
    const char *dir = sub("batchtorn");
    jh__outbox *ob = open_ob(dir, JH_OUTBOX_SYNC_ALWAYS, 0);
    char pay[10][32], keys[10][8], path[1024], *dump;
    jh__outbox_ent *v = batch_of("t", 10, pay, keys, NULL);
    jh__outbox_rec r;
    struct stat st;
    jh_err e = {0};
    off_t before;
    FILE *f;
    size_t dlen;

    append_s(ob, "one", NULL);
    jh__outbox_close(ob);
    snprintf(path, sizeof(path), "%s", last_seg(dir));
    stat(path, &st);
    before = st.st_size;
    ob = open_ob(dir, JH_OUTBOX_SYNC_ALWAYS, 0);
    is_int(jh__outbox_append_batch(ob, v, 10, &e), 0, "a batch of 10");
    jh__outbox_close(ob);
    stat(path, &st);
    /* The last record is 66 + 1 ("b") + 3 ("t-9") bytes, no key: cut it
     * off whole, so nine valid records of an unfinished batch remain. */
    is_int(truncate(path, st.st_size - (66 + 1 + 3)), 0, "cut the batch's last record off");

    f = open_memstream(&dump, &dlen);
    is_int(jh__outbox_dump(dir, f, &e), 0, "dump reads it");
    fclose(f);
    like(dump, "reason=unfinished_batch action=ignored", "dump notes the unfinished batch");
    free(dump);

    ob = open_ob(dir, JH_OUTBOX_SYNC_ALWAYS, 0);
    like(slurp(logpath), "reason=unfinished_batch action=truncated", "reopen warns and cuts");
    like(slurp(logpath), "records=9", "the nine records of the batch");
    stat(path, &st);
    is_int((long long)st.st_size, (long long)before, "back to the pre-batch size");
    is_str(read_all(ob, 0), "one", "none of the batch is readable");
    is_int((long long)jh__outbox_pending(ob), 1, "1 pending");
    is_int(append_s(ob, "two", NULL), 0, "appends continue");
    is_int(jh__outbox_next(ob, &r, 0), 1, "read it");
    /* 2..10 were on disk: never reused; 11 never was. */
    ok(r.seq == 11, "its seq is past the batch's records found (11, got %llu)",
       (unsigned long long)r.seq);
    jh__outbox_close(ob);
    ob = open_ob(dir, JH_OUTBOX_SYNC_ALWAYS, 0);
    is_str(read_all(ob, 0), "one,two", "reopen again: consistent");
    jh__outbox_close(ob);
    free(v);
}

/* A write failing half-way (the file size limit stands in for ENOSPC:
 * write() is short, then fails): the batch is undone at once. */
static void test_batch_write_fail(void)
{
    const char *dir = sub("batchfail");
    jh__outbox *ob = open_ob(dir, JH_OUTBOX_SYNC_ALWAYS, 0);
    char pay[20][32], keys[20][8], path[1024];
    jh__outbox_ent *v = batch_of("f", 20, pay, keys, NULL);
    struct rlimit old, lim;
    struct stat st;
    off_t size;
    jh_err e = {0};
    int rc;

    append_s(ob, "one", NULL);
    snprintf(path, sizeof(path), "%s", last_seg(dir));
    stat(path, &st);
    size = st.st_size;
    signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = (rlim_t)st.st_size + 500; /* the batch is ~1.5 KB */
    setrlimit(RLIMIT_FSIZE, &lim);
    rc = jh__outbox_append_batch(ob, v, 20, &e);
    setrlimit(RLIMIT_FSIZE, &old);
    is_int(rc, -EFBIG, "a write cut short: the error comes back");
    like(e.msg, "write of a batch of 20 records", "message: %s", e.msg);
    stat(path, &st);
    is_int((long long)st.st_size, (long long)size, "the file is cut back to its pre-batch size");
    is_str(read_all(ob, 0), "one", "the reader sees none of the batch");
    is_int(append_s(ob, "two", NULL), 0, "appends continue");
    is_str(read_all(ob, 0), "two", "right after the first record");
    jh__outbox_close(ob);
    ob = open_ob(dir, JH_OUTBOX_SYNC_ALWAYS, 0);
    is_str(read_all(ob, 0), "one,two", "reopen: none of the batch either");
    jh__outbox_close(ob);
    free(v);
}

/* A key length near SIZE_MAX must not wrap the record size (it did:
 * a 66-byte buffer, then a copy of the key into it). */
static void test_append_huge_lengths(void)
{
    jh__outbox *ob = open_ob(sub("huge"), JH_OUTBOX_SYNC_ALWAYS, 0);
    char k[8] = "k";
    jh_err e = {0};

    is_int(jh__outbox_append(ob, "t", k, SIZE_MAX - 60, "p", 1, 0, NULL, &e), -EMSGSIZE,
           "key_len SIZE_MAX - 60: -EMSGSIZE, no overflow");
    like(e.msg, "exceeds", "message: %s", e.msg);
    is_int(jh__outbox_append(ob, "t", NULL, 0, "p", SIZE_MAX - 70, 0, NULL, &e), -EMSGSIZE,
           "len SIZE_MAX - 70: -EMSGSIZE");
    is_int(jh__outbox_append(ob, "t", k, (size_t)1 << 62, "p", (size_t)1 << 62, 0, NULL, &e),
           -EMSGSIZE, "key_len + len wrapping: -EMSGSIZE");
    is_int(append_s(ob, "after", NULL), 0, "appends still work");
    is_str(read_all(ob, 1), "after", "and nothing else was recorded");
    jh__outbox_close(ob);
}

/* The ack-file rewrite at open fails (a full disk; here the file-size
 * limit): the outbox opens anyway, warns, and keeps the old ack file. */
static void test_ack_rewrite_fail(void)
{
    const char *dir = sub("ackfull");
    jh__outbox *ob = open_ob(dir, JH_OUTBOX_SYNC_ALWAYS, 0);
    jh__outbox_opts o = {.dir = dir, .sync = JH_OUTBOX_SYNC_ALWAYS};
    jh__outbox_rec r;
    struct rlimit old, lim;
    char tmp[1024], warned[4096];
    jh__logger *plg = NULL;
    jh_err e = {0};
    ssize_t nw;
    int rc, pfd[2];

    for (int i = 0; i < 6; i++)
        append_s(ob, i % 2 ? "odd" : "even", NULL);
    /* Ack 2, 4, 6: three ranges, a rewrite of 7 entries (112 bytes). */
    while (jh__outbox_next(ob, &r, 0) == 1)
        if (r.seq % 2 == 0)
            jh__outbox_ack(ob, r.seq);
    jh__outbox_close(ob);
    ob = NULL;
    /* The size limit applies to every file: log into a pipe instead. */
    if (pipe(pfd) < 0)
        bail("pipe");
    fcntl(pfd[0], F_SETFL, O_NONBLOCK);
    jh__log_new(pfd[1], JH_LOGFMT_LOGFMT, JH_LOG_INFO, &plg);
    o.log = plg;
    signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 40;
    setrlimit(RLIMIT_FSIZE, &lim);
    rc = jh__outbox_open(&o, &ob, &e);
    setrlimit(RLIMIT_FSIZE, &old);
    is_int(rc, 0, "open succeeds although the ack rewrite fails (%s)", rc ? e.msg : "ok");
    nw = read(pfd[0], warned, sizeof(warned) - 1);
    warned[nw > 0 ? nw : 0] = '\0';
    like(warned, "event=outbox.ack_rewrite_failed", "warned as outbox.ack_rewrite_failed");
    snprintf(tmp, sizeof(tmp), "%s/acks.tmp", dir);
    ok(access(tmp, F_OK) < 0, "no acks.tmp left behind");
    if (ob == NULL)
        goto out;
    is_int((long long)jh__outbox_pending(ob), 3, "the old acks still count: 3 pending");
    is_str(read_all(ob, 1), "even,even,even", "the unacked records are read (and acked)");
    jh__outbox_close(ob);
    ob = open_ob(dir, JH_OUTBOX_SYNC_ALWAYS, 0);
    is_int((long long)jh__outbox_pending(ob), 0, "acks appended to the old file survive a reopen");
    is_str(read_all(ob, 0), "", "nothing is read again");
    jh__outbox_close(ob);
out:
    jh__log_free(plg);
    close(pfd[0]);
    close(pfd[1]);
}

struct batcher {
    jh__outbox *ob;
    int id;
};

static void *batcher_main(void *arg)
{
    struct batcher *b = arg;
    char pay[10][32], keys[10][8], tag[16];

    for (int k = 0; k < 25; k++) {
        jh_err e;
        snprintf(tag, sizeof(tag), "%d.%d", b->id, k);
        jh__outbox_ent *v = batch_of(tag, 10, pay, keys, NULL);
        int rc = jh__outbox_append_batch(b->ob, v, 10, &e);
        free(v);
        if (rc < 0)
            return (void *)1;
    }
    return NULL;
}

/* 4 threads x 25 batches of 10, slow fsyncs: batches share fsyncs (group
 * commit) and each batch's records stay contiguous. */
static void test_batch_group(void)
{
    jh__outbox *ob = open_ob(sub("batchgroup"), JH_OUTBOX_SYNC_ALWAYS, 0);
    struct batcher b[4];
    pthread_t t[4];
    jh__outbox_rec r;
    char prev[32] = "";
    void *res;
    int failed = 0, fs, got = 0, contiguous = 1;

    atomic_store(&slow_fsync, 1);
    atomic_store(&n_fsync, 0);
    for (int i = 0; i < 4; i++) {
        b[i] = (struct batcher){ob, i};
        pthread_create(&t[i], NULL, batcher_main, &b[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], &res);
        failed += res != NULL;
    }
    fs = atomic_load(&n_fsync);
    atomic_store(&slow_fsync, 0);
    is_int(failed, 0, "4 threads x 25 batches of 10 in always mode");
    ok(fs >= 1 && fs <= 100, "at most one fsync per batch: %d for 100 batches", fs);
    diag("batches: 100 batches of 10, %d fsyncs (2 ms each)", fs);
    while (jh__outbox_next(ob, &r, 0) == 1) {
        char cur[32], *dash;
        snprintf(cur, sizeof(cur), "%.*s", (int)r.payload_len, (const char *)r.payload);
        dash = strrchr(cur, '-');
        if (dash != NULL && strcmp(dash, "-0") != 0) {
            /* "T.K-I" must follow "T.K-(I-1)" */
            char want[32];
            snprintf(want, sizeof(want), "%.*s-%d", (int)(dash - cur), cur, atoi(dash + 1) - 1);
            contiguous &= strcmp(prev, want) == 0;
        }
        snprintf(prev, sizeof(prev), "%s", cur);
        got++;
    }
    is_int(got, 1000, "all 1000 readable");
    ok(contiguous, "each batch's records contiguous and in array order");
    jh__outbox_close(ob);
}

int main(void)
{
    int fd;

    plan_lazy();
    snprintf(top, sizeof(top), "/tmp/jh-outbox-XXXXXX");
    if (mkdtemp(top) == NULL)
        bail("mkdtemp");
    snprintf(logpath, sizeof(logpath), "%s/log", top);
    fd = open(logpath, O_CREAT | O_WRONLY | O_APPEND, 0600);
    jh__log_new(fd, JH_LOGFMT_LOGFMT, JH_LOG_INFO, &lg);

    test_basic();
    test_wait();
    test_ack_ranges();
    test_reopen_all_acked();
    test_torn();
    test_corrupt();
    test_dump();
    test_group_commit();
    test_roll_race();
    test_interval();
    test_segments();
    test_kill9();
    test_batch();
    test_batch_roll();
    test_batch_torn();
    test_batch_write_fail();
    test_append_huge_lengths();
    test_ack_rewrite_fail();
    test_batch_group();
    test_bad_dirs();

    jh__log_free(lg);
    close(fd);
    if (!tap_failed()) {
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "chmod -R u+w %s; rm -rf %s", top, top);
        if (system(cmd) != 0)
            diag("could not remove %s", top);
    }
    return done_testing();
}
