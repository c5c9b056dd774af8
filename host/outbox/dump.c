/*
 * dump.c - jobhostd --outbox-dump: every record still in a directory, one
 * line each, read-only (no lock taken, nothing cut off: the scan's
 * warnings become "# " lines), then the dead letters of dir/dead.log.
 */
#include "outbox_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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
            r->seq < d->low || jh__ob_acks_has(d->a, r->seq) ? "yes" : "no");
}

static int check_dir(const char *dir, jh_err *e)
{
    struct stat st;

    if (stat(dir, &st) < 0)
        return jh__err_set(e, -errno, "outbox %s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return jh__err_set(e, -ENOTDIR, "outbox %s: not a directory", dir);
    return 0;
}

/* dir/acks into *a, if there is one. */
static int dump_read_acks(const char *dir, acks *a, jh_err *e)
{
    char path[4096];
    size_t entries = 0;
    off_t v;
    int fd;

    snprintf(path, sizeof(path), "%s/acks", dir);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return 0;
    v = jh__ob_read_acks(fd, a, &entries);
    close(fd);
    if (v < 0)
        return jh__err_set(e, (int)v, "outbox %s: read: %s", path, strerror((int)-v));
    return 0;
}

/* Every record, in order.  Scanned with a scratch ack set: gaps found by
 * the scan are not printed records, so marking them changes nothing
 * shown. */
static int dump_segs(const char *dir, acks *a, FILE *out, jh_err *e)
{
    struct dump d = {out, a, 0};
    jh__ob_scan sc = {.dir = dir, .a = a, .expect = 1, .fn = dump_rec, .arg = &d,
                      .notes = out};
    seg *segs = NULL;
    size_t n = 0;
    int rc;

    if ((rc = jh__ob_list_segs(dir, &segs, &n, e)) < 0)
        return rc;
    d.low = n > 0 ? segs[0].first : 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = jh__ob_scan_seg(&sc, &segs[i], i + 1 == n, e);
    free(segs);
    return rc;
}

/* Poison records the events service set aside (events.c): already one
 * line each in this format, plus dead_at and reason. */
static void dump_dead(const char *dir, FILE *out)
{
    char path[4096], buf[65536];
    ssize_t r;
    int fd;

    snprintf(path, sizeof(path), "%s/dead.log", dir);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return;
    while ((r = read(fd, buf, sizeof(buf))) > 0)
        fwrite(buf, 1, (size_t)r, out);
    close(fd);
}

int jh__outbox_dump(const char *dir, FILE *out, jh_err *e)
{
    acks a = {.low = 1};
    int rc;

    if (dir == NULL || out == NULL)
        return jh__err_set(e, -EINVAL, "outbox dump: bad arguments");
    if ((rc = check_dir(dir, e)) < 0)
        return rc;
    if ((rc = dump_read_acks(dir, &a, e)) == 0 && (rc = dump_segs(dir, &a, out, e)) == 0)
        dump_dead(dir, out);
    free(a.r);
    return rc;
}
