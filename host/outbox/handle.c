/*
 * handle.c - the outbox handle: open, close, warnings and the segment
 * list.  The design is written at the top of format.c; which file does
 * what, and the lock rules, in outbox_int.h.
 */
#include "outbox_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "jobhost.h" /* JH_LOG_WARN: the log levels are the plugin ABI's */

void jh__ob_warn_to(jh__outbox *ob, FILE *notes, const char *event, const char *file,
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

/* ---- the segment list ----------------------------------------------------- */

int jh__ob_new_seg(jh__outbox *ob, uint64_t first, jh_err *e)
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
    jh__ob_seg_path(ob->dir, first, path, sizeof(path));
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return jh__err_set(e, -errno, "outbox %s: create: %s", path, strerror(errno));
    /* The new name must survive a power cut before anything is in it. */
    if (fsync(ob->dirfd) < 0) {
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

void jh__ob_remove_done(jh__outbox *ob, uint64_t low)
{
    char path[4096];
    size_t k = 0;

    while (k + 1 < ob->nseg && ob->segs[k + 1].first <= low) {
        jh__ob_seg_path(ob->dir, ob->segs[k].first, path, sizeof(path));
        if (unlink(path) < 0 && errno != ENOENT)
            break;
        k++;
    }
    if (k > 0) {
        memmove(ob->segs, ob->segs + k, (ob->nseg - k) * sizeof(seg));
        ob->nseg -= k;
    }
}

/* ---- open: one step each, undone in reverse by the ladder below ------------ */

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

static int check_opts(const jh__outbox_opts *opts, jh_err *e)
{
    if (opts == NULL || opts->dir == NULL)
        return jh__err_set(e, -EINVAL, "outbox: no directory given");
    if (opts->sync != JH_OUTBOX_SYNC_ALWAYS && opts->sync != JH_OUTBOX_SYNC_INTERVAL)
        return jh__err_set(e, -EINVAL, "outbox %s: bad sync mode %d", opts->dir, opts->sync);
    return 0;
}

static int alloc_outbox(const jh__outbox_opts *opts, jh__outbox **out, jh_err *e)
{
    jh__outbox *ob;

    if ((ob = calloc(1, sizeof(*ob))) == NULL || (ob->dir = strdup(opts->dir)) == NULL) {
        free(ob);
        return jh__err_set(e, -ENOMEM, "outbox %s: out of memory", opts->dir);
    }
    ob->sync = opts->sync;
    ob->interval = opts->sync_interval_ns > 0 ? opts->sync_interval_ns : 5000000;
    ob->seg_bytes = opts->segment_bytes > 0 ? opts->segment_bytes : (size_t)64 << 20;
    ob->log = opts->log;
    ob->wfd = ob->ackfd = ob->rd_fd = ob->lockfd = -1;
    *out = ob;
    return 0;
}

static void free_outbox(jh__outbox *ob)
{
    free(ob->dir);
    free(ob);
}

static void init_locks(jh__outbox *ob)
{
    pthread_condattr_t ca;

    pthread_mutex_init(&ob->mu, NULL);
    pthread_mutex_init(&ob->ack_mu, NULL);
    pthread_cond_init(&ob->synced_cv, NULL);
    /* Timed waits use CLOCK_MONOTONIC deadlines (immune to clock steps). */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ob->append_cv, &ca);
    pthread_cond_init(&ob->tick_cv, &ca);
    pthread_condattr_destroy(&ca);
}

static void destroy_locks(jh__outbox *ob)
{
    pthread_mutex_destroy(&ob->mu);
    pthread_mutex_destroy(&ob->ack_mu);
    pthread_cond_destroy(&ob->synced_cv);
    pthread_cond_destroy(&ob->append_cv);
    pthread_cond_destroy(&ob->tick_cv);
}

static int open_dir(jh__outbox *ob, jh_err *e)
{
    ob->dirfd = open(ob->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (ob->dirfd < 0)
        return jh__err_set(e, -errno, "outbox %s: open: %s", ob->dir, strerror(errno));
    return 0;
}

/* One process per outbox: two writers would interleave seqs. */
static int lock_dir(jh__outbox *ob, jh_err *e)
{
    char path[4096];
    int rc;

    snprintf(path, sizeof(path), "%s/lock", ob->dir);
    ob->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (ob->lockfd < 0)
        return jh__err_set(e, -errno, "outbox %s: open: %s", path, strerror(errno));
    if (flock(ob->lockfd, LOCK_EX | LOCK_NB) < 0) {
        rc = jh__err_set(e, errno == EWOULDBLOCK ? -EBUSY : -errno,
                         "outbox %s: in use by another process (%s)", ob->dir, strerror(errno));
        close(ob->lockfd);
        ob->lockfd = -1;
        return rc;
    }
    return 0;
}

/* What recovery opened and allocated, whether it finished or not: the
 * active segment (made durable first), the ack file (its buffered entries
 * written first), the reader's file and buffers. */
static void close_log(jh__outbox *ob)
{
    if (ob->wfd >= 0) {
        pthread_mutex_lock(&ob->mu);
        jh__ob_sync_upto(ob, ob->written);
        pthread_mutex_unlock(&ob->mu);
        close(ob->wfd);
    }
    if (ob->ackfd >= 0) {
        jh__ob_flush_acks(ob, 1);
        close(ob->ackfd);
    }
    if (ob->rd_fd >= 0)
        close(ob->rd_fd);
    free(ob->ack.r);
    free(ob->segs);
    free(ob->rd_buf);
    free(ob->chunk);
}

static int start_syncer(jh__outbox *ob, jh_err *e)
{
    int rc;

    if (ob->sync != JH_OUTBOX_SYNC_INTERVAL)
        return 0;
    if ((rc = -pthread_create(&ob->syncer, NULL, jh__ob_syncer_main, ob)) < 0)
        return jh__err_set(e, rc, "outbox %s: start the sync thread: %s", ob->dir, strerror(-rc));
    ob->has_syncer = 1;
    return 0;
}

static void stop_syncer(jh__outbox *ob)
{
    if (!ob->has_syncer)
        return;
    pthread_mutex_lock(&ob->mu);
    ob->stop = 1;
    pthread_cond_signal(&ob->tick_cv);
    pthread_mutex_unlock(&ob->mu);
    pthread_join(ob->syncer, NULL);
}

int jh__outbox_open(const jh__outbox_opts *opts, jh__outbox **out, jh_err *e)
{
    jh__outbox *ob = NULL;
    int rc;

    *out = NULL;
    if ((rc = check_opts(opts, e)) < 0 || (rc = mkdir_p(opts->dir, e)) < 0 ||
        (rc = alloc_outbox(opts, &ob, e)) < 0)
        return rc;
    init_locks(ob);
    if ((rc = open_dir(ob, e)) < 0)
        goto fail_open_dir;
    if ((rc = lock_dir(ob, e)) < 0)
        goto fail_lock_dir;
    if ((rc = jh__ob_recover(ob, e)) < 0)
        goto fail_recover;
    ob->ack_flushed = ob->ack_synced = jh__monotonic_ns();
    ob->rd_seg = ob->segs[0].first;
    if ((rc = start_syncer(ob, e)) < 0)
        goto fail_start_syncer;
    *out = ob;
    return 0;

fail_start_syncer:
fail_recover:
    close_log(ob); /* recover leaves what it did to this, finished or not */
    close(ob->lockfd);
fail_lock_dir:
    close(ob->dirfd);
fail_open_dir:
    destroy_locks(ob);
    free_outbox(ob);
    return rc;
}

void jh__outbox_close(jh__outbox *ob)
{
    if (ob == NULL)
        return;
    stop_syncer(ob);
    close_log(ob);
    close(ob->lockfd);
    close(ob->dirfd);
    destroy_locks(ob);
    free_outbox(ob);
}
