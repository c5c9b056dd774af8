/*
 * redis.c - the Redis service over hiredis (blocking API): a pool of
 * connections per [redis NAME] section, the raw command table plugins call,
 * and the lock / status / idempotency operations behind the repository
 * tables of a copy bound to a redis (jh__redis_repo).
 *
 * A run takes a connection on its first call (its state sits in the
 * context's JH_RUN_SLOT_REDIS hook slot) and keeps it until the run ends
 * (redis_run_end, called by jh__ctx_finish), so a plugin's MULTI ... EXEC
 * stays on one connection.  Any I/O error drops the connection (hiredis's context is
 * unusable after one) and the next call opens a new one, except inside a
 * transaction (see jh__redis_run.lost).  The lock / status / idem
 * operations borrow a second pooled connection while the plugin's is in
 * MULTI, WATCH or another db (see op_begin).
 */
#include "redis.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "service.h"
#include "runtime/ctx.h"

#define NS_PER_MS 1000000LL
/* Idle connections kept per backend; more than this are closed at run end. */
#define POOL_MAX 32
/* Timed-out acquires whose token waits for its compare-and-delete. */
#define ORPHAN_MAX 256

typedef struct conn {
    redisContext *rc;
    struct conn *next;
    int64_t timeout_set;  /* last socket timeout set (ns), 0 = none yet */
    char sha[2][41];      /* SCRIPT LOAD result per script, "" = not loaded */
} conn;

/* A lock acquire that timed out (or lost its connection) after its SET NX
 * may have been sent: a stalled server applies it when it resumes, leaving
 * a lock nobody holds.  Its key (prefixed) and token are kept here until a
 * compare-and-delete of that token has run (drain_orphans). */
typedef struct orphan {
    struct orphan *next;
    size_t klen;
    char *owner;
    char key[];
} orphan;

struct jh__redis {
    atomic_int refs;
    char *name, *host, *socket, *password, *prefix;
    int port, db;
    int64_t connect_timeout, timeout; /* ns */
    char where[300];                  /* "host:port" or the socket path */
    pthread_mutex_t mu;
    conn *idle;
    size_t n_idle;
    orphan *orphans;                  /* under mu */
    atomic_size_t n_orphans;          /* written under mu */
};

struct jh__redis_run {
    jh__redis *r;        /* one reference */
    conn *cn;           /* NULL until first use, or after a failure */
    /* Sticky connection state a raw command left (MULTI, WATCH, SELECT,
     * SUBSCRIBE, ...): such a connection is closed at run end rather than
     * handed to another run that would inherit it. */
    int in_multi, watching, dirty;
    /* The connection dropped inside MULTI or after WATCH (LOST_*): a new
     * one would run the rest of the transaction outside it, so raw
     * commands fail until the plugin ends it (EXEC, DISCARD, UNWATCH). */
    int lost;
    jh_redis_reply **replies; /* outstanding top-level replies */
    size_t n_replies, cap_replies;
};

enum { LOST_NONE = 0, LOST_MULTI, LOST_WATCH };

/* ---- the backend ------------------------------------------------------ */

static void conn_free(conn *cn)
{
    if (cn == NULL)
        return;
    if (cn->rc != NULL)
        redisFree(cn->rc);
    free(cn);
}

static void wipe_free(char *s)
{
    if (s == NULL)
        return;
    /* volatile: keep the compiler from dropping the wipe before free. */
    for (volatile char *p = s; *p != '\0'; p++)
        *p = '\0';
    free(s);
}

static int dup_opt(const char *src, char **dst)
{
    *dst = NULL;
    if (src == NULL)
        return 0;
    *dst = strdup(src);
    return *dst != NULL ? 0 : -ENOMEM;
}

int jh__redis_new(const jh__conf_redis *conf, jh__redis **out, jh_err *e)
{
    jh__redis *r;
    int rc = -ENOMEM;

    *out = NULL;
    if (conf == NULL || conf->name == NULL)
        return jh__err_set(e, -EINVAL, "redis: no section name");
    if (conf->db < 0)
        return jh__err_set(e, -EINVAL, "[redis %s]: db %d is negative", conf->name, conf->db);
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        return jh__err_set(e, -ENOMEM, "[redis %s]: out of memory", conf->name);
    atomic_init(&r->refs, 1);
    if (pthread_mutex_init(&r->mu, NULL) != 0) {
        free(r);
        return jh__err_set(e, -ENOMEM, "[redis %s]: cannot create a mutex", conf->name);
    }
    if (dup_opt(conf->name, &r->name) < 0 ||
        dup_opt(conf->host ? conf->host : "127.0.0.1", &r->host) < 0 ||
        dup_opt(conf->socket, &r->socket) < 0 || dup_opt(conf->password, &r->password) < 0 ||
        dup_opt(conf->prefix ? conf->prefix : "", &r->prefix) < 0)
        goto fail;
    r->port = conf->port > 0 ? conf->port : 6379;
    r->db = conf->db;
    r->connect_timeout = conf->connect_timeout > 0 ? conf->connect_timeout : 2000 * NS_PER_MS;
    r->timeout = conf->timeout > 0 ? conf->timeout : 2000 * NS_PER_MS;
    if (r->socket != NULL)
        snprintf(r->where, sizeof(r->where), "%s", r->socket);
    else
        snprintf(r->where, sizeof(r->where), "%s:%d", r->host, r->port);
    /* No connection yet: the first run opens one, so a host starts even
     * while its Redis is down (and the runs that need it fail clearly). */
    *out = r;
    return 0;
fail:
    jh__redis_unref(r);
    return jh__err_set(e, rc, "[redis %s]: out of memory", conf->name);
}

void jh__redis_ref(jh__redis *r)
{
    if (r != NULL)
        atomic_fetch_add(&r->refs, 1);
}

void jh__redis_unref(jh__redis *r)
{
    if (r == NULL || atomic_fetch_sub(&r->refs, 1) != 1)
        return;
    while (r->idle != NULL) {
        conn *cn = r->idle;
        r->idle = cn->next;
        conn_free(cn);
    }
    while (r->orphans != NULL) {
        orphan *o = r->orphans;
        r->orphans = o->next;
        free(o->owner);
        free(o);
    }
    pthread_mutex_destroy(&r->mu);
    free(r->name);
    free(r->host);
    free(r->socket);
    wipe_free(r->password);
    free(r->prefix);
    free(r);
}

const char *jh__redis_name(const jh__redis *r)
{
    return r != NULL ? r->name : "";
}

/* ---- connections ------------------------------------------------------ */

static struct timeval tv_of(int64_t ns)
{
    struct timeval tv;
    int64_t us = (ns + 999) / 1000; /* round up: 0 would mean "no timeout" */

    if (us < 1)
        us = 1;
    tv.tv_sec = (time_t)(us / 1000000);
    tv.tv_usec = (suseconds_t)(us % 1000000);
    return tv;
}

/* What is left of the run's time, capped at `cap` ns (> 0 once
 * jh__ctx_check has passed). */
static int64_t budget(struct jh_ctx *c, int64_t cap)
{
    int64_t left;

    if (c->deadline == INT64_MAX)
        return cap;
    left = c->deadline - jh__ctx_now(c);
    if (left < 1000)
        left = 1000;
    return left < cap ? left : cap;
}

/*
 * The error of a failed hiredis call: -ETIMEDOUT when the socket timeout
 * fired (hiredis reports SO_RCVTIMEO's EAGAIN, or ETIMEDOUT from connect's
 * wait), else -EIO.  `err` is errno right after the call.
 */
static int io_code(const redisContext *rc, int err)
{
    if (rc == NULL || rc->err != REDIS_ERR_IO)
        return -EIO;
    if (err == EAGAIN || err == EWOULDBLOCK || err == ETIMEDOUT)
        return -ETIMEDOUT;
    /* errno may have moved on: hiredis wrote strerror() into errstr. */
    if (strcmp(rc->errstr, strerror(EAGAIN)) == 0 || strcmp(rc->errstr, strerror(ETIMEDOUT)) == 0)
        return -ETIMEDOUT;
    return -EIO;
}

static const char *io_text(const redisContext *rc, int code)
{
    if (code == -ETIMEDOUT)
        return "timed out";
    if (rc == NULL)
        return "out of memory";
    return rc->errstr[0] != '\0' ? rc->errstr : "I/O error";
}

/* An idle pooled connection the server has since closed (restart, idle
 * timeout) reads as EOF; one with anything to read is not in a state we
 * know.  Either way it is not reusable. */
static int conn_stale(const conn *cn)
{
    struct pollfd p = {.fd = cn->rc->fd, .events = POLLIN};

    if (cn->rc->err != 0)
        return 1;
    return poll(&p, 1, 0) != 0;
}

static int run_cmd(struct jh_ctx *c, struct jh__redis_run *run, const char *what, int argc,
                   const char **argv, const size_t *argvlen, redisReply **out);

/* A new connection to r, within what is left of the run's time. */
static int conn_connect(struct jh_ctx *c, jh__redis *r, conn **out)
{
    int64_t t = budget(c, r->connect_timeout);
    redisContext *rc;
    int err, code;

    *out = NULL;
    errno = 0;
    if (r->socket != NULL)
        rc = redisConnectUnixWithTimeout(r->socket, tv_of(t));
    else
        rc = redisConnectWithTimeout(r->host, r->port, tv_of(t));
    err = errno;
    if (rc == NULL || rc->err != 0) {
        code = io_code(rc, err);
        code = jh__ctx_error(c, code, "redis %s (%s): connect: %s", r->name, r->where,
                            io_text(rc, code));
        if (rc != NULL)
            redisFree(rc);
        return code;
    }
    if ((*out = calloc(1, sizeof(**out))) == NULL) {
        redisFree(rc);
        return jh__ctx_error(c, -ENOMEM, "redis %s (%s): connect: out of memory", r->name,
                            r->where);
    }
    (*out)->rc = rc;
    return 0;
}

/* `cmd arg` (AUTH, SELECT) on the run's new connection.  An error reply
 * drops the connection and gives `fail`, the message naming `label`. */
static int conn_setup(struct jh_ctx *c, struct jh__redis_run *run, const char *cmd,
                      const char *arg, const char *label, int fail)
{
    const char *av[] = {cmd, arg};
    redisReply *rep = NULL;
    int code = run_cmd(c, run, cmd, 2, av, NULL, &rep);

    if (code < 0)
        return code; /* run_cmd dropped the connection */
    if (rep->type == REDIS_REPLY_ERROR) {
        code = jh__ctx_error(c, fail, "redis %s (%s): %s: %s", run->r->name, run->r->where,
                            label, rep->str);
        conn_free(run->cn);
        run->cn = NULL;
    }
    freeReplyObject(rep);
    return code;
}

/* Write all of buf to the connection's socket (its send timeout set). */
static int send_all(redisContext *rc, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(rc->fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static void wipe(void *p, size_t n)
{
    for (volatile char *q = p; n > 0; n--)
        *q++ = '\0';
}

/*
 * AUTH on the run's new connection without hiredis's output buffer: it
 * would format the command into heap buffers it frees unwiped, so the
 * password would stay in freed memory (after a rotation, the old one).  The
 * command is written from a buffer of ours, wiped at once; hiredis only
 * reads the reply ("+OK" or an error naming no password).
 */
static int conn_auth(struct jh_ctx *c, struct jh__redis_run *run)
{
    jh__redis *r = run->r;
    size_t pl = strlen(r->password), n = pl + 64;
    char *cmd = malloc(n);
    redisReply *rep = NULL;
    int code, len, err;

    if (cmd == NULL)
        return jh__ctx_error(c, -ENOMEM, "redis %s: out of memory", r->name);
    len = snprintf(cmd, n, "*2\r\n$4\r\nAUTH\r\n$%zu\r\n", pl);
    memcpy(cmd + len, r->password, pl);
    memcpy(cmd + len + pl, "\r\n", 2);
    redisSetTimeout(run->cn->rc, tv_of(budget(c, r->timeout)));
    run->cn->timeout_set = 0; /* run_cmd sets it again */
    errno = 0;
    code = send_all(run->cn->rc, cmd, (size_t)len + pl + 2);
    err = errno;
    wipe(cmd, n);
    free(cmd);
    if (code == 0 && redisGetReply(run->cn->rc, (void **)&rep) == REDIS_OK && rep != NULL) {
        code = rep->type == REDIS_REPLY_ERROR
                   ? jh__ctx_error(c, -EACCES, "redis %s (%s): AUTH: %s", r->name, r->where,
                                   rep->str)
                   : 0;
        freeReplyObject(rep);
    } else {
        if (code == 0)
            err = errno;
        code = err == EAGAIN || err == EWOULDBLOCK || err == ETIMEDOUT ? -ETIMEDOUT : -EIO;
        jh__ctx_error(c, code, "redis %s (%s): AUTH: %s", r->name, r->where,
                      code == -ETIMEDOUT ? "timed out" : strerror(err ? err : EIO));
    }
    if (code < 0) {
        conn_free(run->cn);
        run->cn = NULL;
    }
    return code;
}

static int conn_open(struct jh_ctx *c, struct jh__redis_run *run)
{
    jh__redis *r = run->r;
    char db[16], label[32];
    int code;

    if ((code = conn_connect(c, r, &run->cn)) < 0)
        return code;
    /* The server's text names no password ("WRONGPASS ..."). */
    if (r->password != NULL && (code = conn_auth(c, run)) < 0)
        return code;
    if (r->db == 0)
        return 0;
    snprintf(db, sizeof(db), "%d", r->db);
    snprintf(label, sizeof(label), "SELECT %d", r->db);
    return conn_setup(c, run, "SELECT", db, label, -EIO);
}

static void redis_run_end(struct jh_ctx *c, void *data);

/* The run's state, made on first use (jh__ctx_finish ends it). */
static int run_of(struct jh_ctx *c, jh__redis *r, struct jh__redis_run **out)
{
    struct jh__redis_run *run = jh__ctx_run_state(c, JH_RUN_SLOT_REDIS);

    if (run == NULL) {
        run = calloc(1, sizeof(*run));
        if (run == NULL)
            return jh__ctx_error(c, -ENOMEM, "redis %s: out of memory", r->name);
        jh__redis_ref(r);
        run->r = r;
        jh__ctx_set_run_state(c, JH_RUN_SLOT_REDIS, run, redis_run_end);
    }
    *out = run;
    return 0;
}

/* Make sure the run has a connection: the pool's, else a new one (not
 * once the run is past its deadline: `what` names the call for that). */
static int run_conn(struct jh_ctx *c, struct jh__redis_run *run, const char *what)
{
    jh__redis *r = run->r;

    if (run->cn == NULL) {
        char where[400];
        int code;

        snprintf(where, sizeof(where), "redis %s (%s): %s", r->name, r->where, what);
        code = jh__ctx_check(c, where);
        if (code < 0)
            return code;
    }
    while (run->cn == NULL) {
        conn *cn;

        pthread_mutex_lock(&r->mu);
        cn = r->idle;
        if (cn != NULL) {
            r->idle = cn->next;
            r->n_idle--;
        }
        pthread_mutex_unlock(&r->mu);
        if (cn == NULL)
            return conn_open(c, run);
        cn->next = NULL;
        if (conn_stale(cn))
            conn_free(cn);
        else
            run->cn = cn;
    }
    return 0;
}

static void run_drop_conn(struct jh__redis_run *run)
{
    conn_free(run->cn);
    run->cn = NULL;
    if (run->in_multi)
        run->lost = LOST_MULTI;
    else if (run->watching && run->lost == LOST_NONE)
        run->lost = LOST_WATCH;
    run->in_multi = run->watching = run->dirty = 0;
}

/* Give a connection back to the pool (`keep`: its state is clean), or
 * close it when it is not reusable or the pool is full. */
static void pool_put(jh__redis *r, conn *cn, int keep)
{
    if (cn == NULL)
        return;
    keep = keep && cn->rc->err == 0;
    pthread_mutex_lock(&r->mu);
    if (keep && r->n_idle < POOL_MAX) {
        cn->next = r->idle;
        r->idle = cn;
        r->n_idle++;
        cn = NULL;
    }
    pthread_mutex_unlock(&r->mu);
    conn_free(cn);
}

/*
 * One command on the run's (open) connection, after the run's deadline
 * check, with the socket timeout cut to the time the run has left.
 * `what` names the command in messages.  Returns 0 with a hiredis reply
 * (maybe a Redis error reply), or a negative code with jh__ctx_error set
 * and the connection dropped.
 */
static int run_cmd(struct jh_ctx *c, struct jh__redis_run *run, const char *what, int argc,
                   const char **argv, const size_t *argvlen, redisReply **out)
{
    jh__redis *r = run->r;
    char where[400];
    redisReply *rep = NULL;
    int64_t t;
    int err, code;

    *out = NULL;
    snprintf(where, sizeof(where), "redis %s (%s): %s", r->name, r->where, what);
    code = jh__ctx_check(c, where);
    if (code < 0)
        return code;
    t = budget(c, r->timeout);
    if (t != run->cn->timeout_set) {
        /* Only when it changes: a run without a deadline pays one
         * setsockopt per connection, not one per command. */
        if (redisSetTimeout(run->cn->rc, tv_of(t)) != REDIS_OK) {
            code = jh__ctx_error(c, -EIO, "%s: %s", where, run->cn->rc->errstr);
            run_drop_conn(run);
            return code;
        }
        run->cn->timeout_set = t;
    }
    errno = 0;
    rep = redisCommandArgv(run->cn->rc, argc, argv, argvlen);
    err = errno;
    if (rep == NULL || run->cn->rc->err != 0) {
        code = io_code(run->cn->rc, err);
        code = jh__ctx_error(c, code, "%s: %s", where, io_text(run->cn->rc, code));
        if (rep != NULL)
            freeReplyObject(rep);
        run_drop_conn(run);
        return code;
    }
    *out = rep;
    return 0;
}

static jh__redis *bound(struct jh_ctx *c)
{
    const jh__services *s = jh__ctx_services(c);
    return s != NULL ? s->redis : NULL;
}

/*
 * The connection the lock / status / idem operations run on: the run's own
 * while the plugin left it clean, else (MULTI, WATCH, SELECT, ... or a
 * transaction lost with its connection) a second one from the pool, held
 * for one operation only.  On the run's, SET NX inside a MULTI would only
 * be QUEUED (a lock never taken), and after SELECT it would write to
 * another db.  The backend is the one bound to the context's plugin (no
 * jh__ctx_need: these are repository basics every plugin has).
 */
typedef struct op_conn {
    struct jh__redis_run *run; /* what op_cmd / eval_script use */
    struct jh__redis_run side; /* the second connection's state */
} op_conn;

/* Release: delete only if the key still holds our owner token.  1 =
 * deleted, 0 = another owner's, -1 = no key (expired or never held). */
static const char release_lua[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if not v then return -1 end\n"
    "if v == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end\n"
    "return 0\n";


/* Keep (key, owner) for a later compare-and-delete (bounded: past
 * ORPHAN_MAX the TTL is left to free it). */
static void note_orphan(jh__redis *r, const char *key, size_t klen, const char *owner)
{
    orphan *o = malloc(sizeof(*o) + klen + 1);

    if (o == NULL || (o->owner = strdup(owner)) == NULL) {
        free(o);
        return;
    }
    memcpy(o->key, key, klen + 1);
    o->klen = klen;
    pthread_mutex_lock(&r->mu);
    if (r->n_orphans < ORPHAN_MAX) {
        o->next = r->orphans;
        r->orphans = o;
        r->n_orphans++;
        o = NULL;
    }
    pthread_mutex_unlock(&r->mu);
    if (o != NULL) {
        free(o->owner);
        free(o);
    }
}

static void orphans_put_back(jh__redis *r, orphan *list)
{
    pthread_mutex_lock(&r->mu);
    while (list != NULL) {
        orphan *o = list;
        list = o->next;
        o->next = r->orphans;
        r->orphans = o;
        r->n_orphans++;
    }
    pthread_mutex_unlock(&r->mu);
}

/*
 * Delete the keys of timed-out acquires that still hold their token, on
 * run's clean connection, before the operation it was opened for.  Every
 * command the stalled server still had queued is applied before one it
 * receives after resuming, so a stale SET NX cannot land after this.  A
 * token is never used again once orphaned (ctx.c gives the run a new one),
 * so the delete cannot free a lock somebody holds.  On an I/O error the
 * rest waits for the next operation.
 */
static int drain_orphans(struct jh_ctx *c, struct jh__redis_run *run)
{
    jh__redis *r = run->r;
    orphan *list;
    int code = 0;

    pthread_mutex_lock(&r->mu);
    list = r->orphans;
    r->orphans = NULL;
    r->n_orphans = 0;
    pthread_mutex_unlock(&r->mu);
    while (list != NULL) {
        orphan *o = list;
        const char *av[] = {"EVAL", release_lua, "1", o->key, o->owner};
        size_t al[] = {4, strlen(release_lua), 1, o->klen, strlen(o->owner)};
        redisReply *rep = NULL;

        if (run->cn == NULL || (code = run_cmd(c, run, "lock cleanup", 5, av, al, &rep)) < 0)
            break;
        if (rep->type == REDIS_REPLY_INTEGER && rep->integer == 1 && c->env != NULL)
            jh__log_f(c->env->log, JH_LOG_WARN, "redis.lock_orphan",
                      "redis=%s key=%s what=\"deleted the lock a timed-out acquire left\"",
                      r->name, o->key);
        freeReplyObject(rep);
        list = o->next;
        free(o->owner);
        free(o);
    }
    orphans_put_back(r, list);
    return code;
}

static int op_begin(struct jh_ctx *c, const char *what, op_conn *o)
{
    jh__redis *r = bound(c);
    struct jh__redis_run *run = NULL;
    int code;

    memset(o, 0, sizeof(*o));
    if (r == NULL)
        return jh__ctx_error(c, -ENOSYS, "redis: %s: no redis backend bound", what);
    code = run_of(c, r, &run);
    if (code < 0)
        return code;
    if (!run->in_multi && !run->watching && !run->dirty && run->lost == LOST_NONE) {
        o->run = run;
    } else {
        /* No reference of its own: the run holds one until op_end. */
        o->side.r = r;
        o->run = &o->side;
    }
    if ((code = run_conn(c, o->run, what)) < 0)
        return code;
    return atomic_load(&r->n_orphans) > 0 ? drain_orphans(c, o->run) : 0;
}

/* Back to the pool with a second connection (our commands leave it clean). */
static void op_end(op_conn *o)
{
    if (o->run == &o->side) {
        pool_put(o->side.r, o->side.cn, 1);
        o->side.cn = NULL;
    }
}

/* One command of an operation, on o's connection. */
static int op_cmd(struct jh_ctx *c, op_conn *o, const char *what, int argc, const char **argv,
                  const size_t *argvlen, redisReply **out)
{
    *out = NULL;
    if (o->run->cn == NULL) {
        /* An earlier command of the same operation dropped it. */
        int code = run_conn(c, o->run, what);
        if (code < 0)
            return code;
    }
    return run_cmd(c, o->run, what, argc, argv, argvlen, out);
}

/* A Redis error reply to one of our own operations: the connection is
 * fine, the operation is not (WRONGTYPE on a key a plugin reused, ...). */
static int op_reply_error(struct jh_ctx *c, const char *what, redisReply *rep)
{
    jh__redis *r = bound(c);
    int code = jh__ctx_error(c, -EIO, "redis %s (%s): %s: %s", r ? r->name : "?",
                            r ? r->where : "?", what, rep->str);
    freeReplyObject(rep);
    return code;
}

static int op_unexpected(struct jh_ctx *c, const char *what, redisReply *rep)
{
    jh__redis *r = bound(c);
    int code = jh__ctx_error(c, -EPROTO, "redis %s (%s): %s: unexpected reply type %d",
                            r ? r->name : "?", r ? r->where : "?", what, rep->type);
    freeReplyObject(rep);
    return code;
}

/* An operation's reply that must be "+OK" (SET): 0, or the error.  Frees rep. */
static int op_ok(struct jh_ctx *c, const char *what, redisReply *rep)
{
    if (rep->type == REDIS_REPLY_ERROR)
        return op_reply_error(c, what, rep);
    if (rep->type != REDIS_REPLY_STATUS || rep->len != 2 || memcmp(rep->str, "OK", 2) != 0)
        return op_unexpected(c, what, rep);
    freeReplyObject(rep);
    return 0;
}

/* An operation's reply that must be an integer: 0 with *v, or the error.
 * Frees rep. */
static int op_integer(struct jh_ctx *c, const char *what, redisReply *rep, long long *v)
{
    if (rep->type == REDIS_REPLY_ERROR)
        return op_reply_error(c, what, rep);
    if (rep->type != REDIS_REPLY_INTEGER)
        return op_unexpected(c, what, rep);
    *v = rep->integer;
    freeReplyObject(rep);
    return 0;
}

/* prefix + part + id, in a malloc'd string. */
static char *make_key(struct jh_ctx *c, const char *part, const char *id, size_t *len)
{
    jh__redis *r = bound(c);
    size_t a = strlen(r->prefix), b = strlen(part), n = strlen(id);
    char *k = malloc(a + b + n + 1);

    if (k == NULL) {
        jh__ctx_error(c, -ENOMEM, "redis %s: out of memory", r->name);
        return NULL;
    }
    memcpy(k, r->prefix, a);
    memcpy(k + a, part, b);
    memcpy(k + a + b, id, n + 1);
    *len = a + b + n;
    return k;
}

/* Common entry checks of the lock / status / idem operations. */
static int op_check(struct jh_ctx *c, const char *what, const char *arg)
{
    if (c == NULL)
        return -EINVAL;
    if (arg == NULL)
        return jh__ctx_error(c, -EINVAL, "redis: %s: NULL argument", what);
    if (bound(c) == NULL)
        return jh__ctx_error(c, -ENOSYS, "redis: %s: no redis backend bound", what);
    return 0;
}

/* ---- Lua scripts ------------------------------------------------------ */

/*
 * Acquire, taken when SET NX fails: if this owner already holds the lock,
 * extend it; if the key vanished since (expired between the two calls),
 * take it.  1 = held now, 0 = another owner has it.  One script so the
 * check and the write are atomic.
 */
static const char acquire_lua[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end\n"
    "if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end\n"
    "return 0\n";

enum { SCRIPT_ACQUIRE = 0, SCRIPT_RELEASE = 1 };

/*
 * Run a script with one key and two arguments (the second may be NULL).
 * EVALSHA with the SHA this connection got from SCRIPT LOAD; NOSCRIPT
 * (SCRIPT FLUSH, or a failover to a server without it) falls back to EVAL,
 * which also puts the script back in the server's cache.
 */
static int eval_script(struct jh_ctx *c, op_conn *o, const char *what, int which,
                       const char *key, size_t keylen, const char *a1, const char *a2,
                       redisReply **out)
{
    const char *script = which == SCRIPT_ACQUIRE ? acquire_lua : release_lua;
    struct jh__redis_run *run = o->run;
    const char *av[6];
    size_t al[6];
    int code, n;

    *out = NULL;
    if (run->cn == NULL && (code = run_conn(c, run, what)) < 0)
        return code;
    if (run->cn->sha[which][0] == '\0') {
        const char *lv[] = {"SCRIPT", "LOAD", script};
        redisReply *rep = NULL;
        code = run_cmd(c, run, what, 3, lv, NULL, &rep);
        if (code < 0)
            return code;
        if (rep->type == REDIS_REPLY_STRING && rep->len == 40)
            memcpy(run->cn->sha[which], rep->str, 41);
        freeReplyObject(rep);
    }
    av[1] = run->cn->sha[which];
    av[2] = "1";
    av[3] = key;
    av[4] = a1;
    av[5] = a2;
    n = a2 != NULL ? 6 : 5;
    for (int i = 1; i < n; i++)
        al[i] = i == 3 ? keylen : strlen(av[i]);
    if (av[1][0] != '\0') {
        av[0] = "EVALSHA";
        al[0] = 7;
        code = run_cmd(c, run, what, n, av, al, out);
        if (code < 0 || (*out)->type != REDIS_REPLY_ERROR ||
            strncmp((*out)->str, "NOSCRIPT", 8) != 0)
            return code;
        freeReplyObject(*out);
        *out = NULL;
    }
    av[0] = "EVAL";
    al[0] = 4;
    av[1] = script;
    al[1] = strlen(script);
    return run_cmd(c, run, what, n, av, al, out);
}

/* ---- lock / status / idem --------------------------------------------- */

/* SET NX's reply: 0 when it took the lock, -EEXIST when the key is held
 * (by anyone), else the error.  Frees rep. */
static int set_nx_result(struct jh_ctx *c, redisReply *rep)
{
    /* Taken only on "+OK": any other status (QUEUED, ...) wrote nothing. */
    if (rep->type == REDIS_REPLY_STATUS && rep->len == 2 && memcmp(rep->str, "OK", 2) == 0) {
        freeReplyObject(rep);
        return 0;
    }
    if (rep->type == REDIS_REPLY_ERROR)
        return op_reply_error(c, "lock acquire", rep);
    if (rep->type != REDIS_REPLY_NIL)
        return op_unexpected(c, "lock acquire", rep);
    freeReplyObject(rep);
    return -EEXIST;
}

/* Fast path, one round trip: SET NX takes a free lock.  A held one goes
 * to the acquire script: held by us (re-acquire extends the TTL, like
 * store.h) or not (-EBUSY). */
static int lock_take(struct jh_ctx *c, op_conn *o, const char *k, size_t klen,
                     const char *owner, const char *ttl)
{
    const char *av[] = {"SET", k, owner, "NX", "PX", ttl};
    size_t al[] = {3, klen, strlen(owner), 2, 2, strlen(ttl)};
    redisReply *rep = NULL;
    long long v = 0;
    int code = op_cmd(c, o, "lock acquire", 6, av, al, &rep);

    if (code < 0 || (code = set_nx_result(c, rep)) != -EEXIST)
        return code;
    code = eval_script(c, o, "lock acquire", SCRIPT_ACQUIRE, k, klen, owner, ttl, &rep);
    if (code < 0 || (code = op_integer(c, "lock acquire", rep, &v)) < 0)
        return code;
    return v == 1 ? 0 : -EBUSY;
}

int jh__redis_lock_acquire(struct jh_ctx *c, const char *key, const char *owner, int64_t ttl_ms)
{
    char ttl[24], *k;
    size_t klen;
    op_conn o;
    int code;

    code = op_check(c, "lock acquire", key != NULL && owner != NULL ? key : NULL);
    if (code < 0)
        return code;
    if (ttl_ms <= 0)
        return jh__ctx_error(c, -EINVAL, "redis: lock acquire %s: ttl %lld ms must be > 0", key,
                            (long long)ttl_ms);
    k = make_key(c, "lock:", key, &klen);
    if (k == NULL)
        return -ENOMEM;
    snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_ms);
    code = op_begin(c, "lock acquire", &o);
    if (code == 0) {
        code = lock_take(c, &o, k, klen, owner, ttl);
        /* The command may still be applied; a run's held key it may only
         * extend (or take again, for the run, which frees it at its end). */
        if ((code == -ETIMEDOUT || code == -EIO) && !jh__ctx_holds(c, key))
            note_orphan(bound(c), k, klen, owner);
    }
    op_end(&o);
    free(k);
    return code;
}

int jh__redis_lock_release(struct jh_ctx *c, const char *key, const char *owner)
{
    char *k;
    size_t klen;
    redisReply *rep = NULL;
    long long v = 0;
    op_conn o;
    int code;

    code = op_check(c, "lock release", key != NULL && owner != NULL ? key : NULL);
    if (code < 0)
        return code;
    k = make_key(c, "lock:", key, &klen);
    if (k == NULL)
        return -ENOMEM;
    code = op_begin(c, "lock release", &o);
    if (code == 0)
        code = eval_script(c, &o, "lock release", SCRIPT_RELEASE, k, klen, owner, NULL, &rep);
    op_end(&o);
    free(k);
    if (code < 0 || (code = op_integer(c, "lock release", rep, &v)) < 0)
        return code;
    return v == 1 ? 0 : v == 0 ? -EPERM : -ENOENT;
}

/* One command of an operation on its own connection (op_begin .. op_end). */
static int op_one(struct jh_ctx *c, const char *what, int argc, const char **argv,
                  const size_t *argvlen, redisReply **out)
{
    op_conn o;
    int code = op_begin(c, what, &o);

    *out = NULL;
    if (code == 0)
        code = op_cmd(c, &o, what, argc, argv, argvlen, out);
    op_end(&o);
    return code;
}

int jh__redis_status_set(struct jh_ctx *c, const char *job, const char *value, int64_t ttl_ms)
{
    char ttl[24], *k;
    size_t klen;
    redisReply *rep = NULL;
    int code;

    code = op_check(c, "status set", job != NULL && value != NULL ? job : NULL);
    if (code < 0)
        return code;
    k = make_key(c, "status:", job, &klen);
    if (k == NULL)
        return -ENOMEM;
    snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_ms);
    {
        const char *av[] = {"SET", k, value, "PX", ttl};
        size_t al[] = {3, klen, strlen(value), 2, strlen(ttl)};
        code = op_one(c, "status set", ttl_ms > 0 ? 5 : 3, av, al, &rep);
    }
    free(k);
    return code < 0 ? code : op_ok(c, "status set", rep);
}

/* One command on one prefixed key: `cmd` NS+KEY (GET status:job, EXISTS
 * processed:id). */
static int key_op(struct jh_ctx *c, const char *what, const char *cmd, const char *ns,
                  const char *key, redisReply **rep)
{
    size_t klen;
    char *k = make_key(c, ns, key, &klen);
    int code;

    if (k == NULL)
        return -ENOMEM;
    {
        const char *av[] = {cmd, k};
        size_t al[] = {strlen(cmd), klen};
        code = op_one(c, what, 2, av, al, rep);
    }
    free(k);
    return code;
}

int jh__redis_status_get(struct jh_ctx *c, const char *job, char *buf, size_t len)
{
    redisReply *rep = NULL;
    int code;

    code = op_check(c, "status get", job != NULL && (buf != NULL || len == 0) ? job : NULL);
    if (code < 0)
        return code;
    if ((code = key_op(c, "status get", "GET", "status:", job, &rep)) < 0)
        return code;
    if (rep->type == REDIS_REPLY_ERROR)
        return op_reply_error(c, "status get", rep);
    if (rep->type == REDIS_REPLY_NIL) {
        freeReplyObject(rep);
        return -ENOENT;
    }
    if (rep->type != REDIS_REPLY_STRING)
        return op_unexpected(c, "status get", rep);
    if (len > 0) {
        size_t n = rep->len < len - 1 ? rep->len : len - 1;
        memcpy(buf, rep->str, n);
        buf[n] = '\0';
    }
    code = rep->len > INT32_MAX ? INT32_MAX : (int)rep->len;
    freeReplyObject(rep);
    return code;
}

int jh__redis_processed_check(struct jh_ctx *c, const char *message_id)
{
    redisReply *rep = NULL;
    long long v = 0;
    int code;

    code = op_check(c, "processed check", message_id);
    if (code < 0)
        return code;
    code = key_op(c, "processed check", "EXISTS", "processed:", message_id, &rep);
    if (code < 0 || (code = op_integer(c, "processed check", rep, &v)) < 0)
        return code;
    return v > 0;
}

int jh__redis_processed_mark(struct jh_ctx *c, const char *message_id, int64_t ttl_ms)
{
    char ttl[24], *k;
    size_t klen;
    redisReply *rep = NULL;
    int code;

    code = op_check(c, "processed mark", message_id);
    if (code < 0)
        return code;
    k = make_key(c, "processed:", message_id, &klen);
    if (k == NULL)
        return -ENOMEM;
    snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_ms);
    {
        const char *av[] = {"SET", k, "1", "PX", ttl};
        size_t al[] = {3, klen, 1, 2, strlen(ttl)};
        code = op_one(c, "processed mark", ttl_ms > 0 ? 5 : 3, av, al, &rep);
    }
    free(k);
    return code < 0 ? code : op_ok(c, "processed mark", rep);
}

/* ---- the repository's tables over Redis ----------------------------------- */

/*
 * Lock release, job status and idempotency marks still work once a run was
 * cancelled or passed its deadline (see jh__ctx_lift), so a handler can
 * record how it ended (status "cancelled", the lock freed for the next
 * run).  Every command here checks the run's deadline, so it is lifted for
 * the call and the section's own timeout bounds it instead.  Lock acquire
 * keeps the deadline: a run that is over must not start new work.
 * (Lift, then call: C leaves the order of function arguments open, so no
 * jh__ctx_unlift(c, jh__ctx_lift(c), call).)
 */
#define RETURN_LIFTED(c, call)                                             \
    do {                                                                   \
        if ((c) == NULL)                                                   \
            return -EINVAL;                                                \
        jh__ctx_lifted l_ = jh__ctx_lift(c);                               \
        int rc_ = (call);                                                  \
        return jh__ctx_unlift((c), l_, rc_);                               \
    } while (0)

static int lock_release_lifted(struct jh_ctx *c, const char *key, const char *owner)
{
    RETURN_LIFTED(c, jh__redis_lock_release(c, key, owner));
}

/* The run's held keys are kept (and released at its end) by ctx.c. */
static const jh__lock_impl redis_locks = {jh__redis_lock_acquire, lock_release_lifted};

static int repo_lock_acquire(jh_ctx *c, const char *key, int64_t ttl_ms)
{
    return jh__ctx_lock_acquire(c, &redis_locks, key, ttl_ms);
}

static int repo_lock_release(jh_ctx *c, const char *key)
{
    return jh__ctx_lock_release(c, &redis_locks, key);
}

static int repo_status_set(jh_ctx *c, const char *job, const char *value, int64_t ttl_ms)
{
    RETURN_LIFTED(c, jh__redis_status_set(c, job, value, ttl_ms));
}

static int repo_status_get(jh_ctx *c, const char *job, char *buf, size_t len)
{
    RETURN_LIFTED(c, jh__redis_status_get(c, job, buf, len));
}

static int repo_idem_check(jh_ctx *c, const char *id)
{
    RETURN_LIFTED(c, jh__redis_processed_check(c, id));
}

static int repo_idem_mark(jh_ctx *c, const char *id, int64_t ttl_ms)
{
    RETURN_LIFTED(c, jh__redis_processed_mark(c, id, ttl_ms));
}

static const jh_lock_api lock_api = {sizeof(jh_lock_api), repo_lock_acquire, repo_lock_release};
static const jh_status_api status_api = {sizeof(jh_status_api), repo_status_set,
                                         repo_status_get};
static const jh_idem_api idem_api = {sizeof(jh_idem_api), repo_idem_check, repo_idem_mark};
static const jh_repo redis_repo = {
    .size = sizeof(jh_repo),
    .lock = &lock_api,
    .status = &status_api,
    .idem = &idem_api,
};

const jh_repo *jh__redis_repo(void)
{
    return &redis_repo;
}

/* ---- the raw command table --------------------------------------------- */

static void reply_tree_free(jh_redis_reply *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->elements; i++)
        reply_tree_free(r->element[i]);
    free(r->element);
    free(r); /* str lives in the same block */
}

/* A host-owned copy of a hiredis reply (hiredis nests at most 7 deep). */
static jh_redis_reply *reply_copy(const redisReply *h)
{
    int has_str = h->type == REDIS_REPLY_STRING || h->type == REDIS_REPLY_STATUS ||
                  h->type == REDIS_REPLY_ERROR;
    size_t slen = has_str ? h->len : 0;
    jh_redis_reply *r;
    char *s;

    if (slen > SIZE_MAX - sizeof(*r) - 1)
        return NULL;
    r = calloc(1, sizeof(*r) + slen + 1);
    if (r == NULL)
        return NULL;
    s = (char *)(r + 1);
    r->type = h->type;
    r->integer = h->integer;
    if (has_str) {
        memcpy(s, h->str, slen);
        s[slen] = '\0';
        r->str = s;
        r->len = slen;
    }
    if (h->type == REDIS_REPLY_ARRAY && h->elements > 0) {
        r->element = calloc(h->elements, sizeof(*r->element));
        if (r->element == NULL)
            goto fail;
        for (size_t i = 0; i < h->elements; i++) {
            r->elements = i + 1;
            r->element[i] = reply_copy(h->element[i]);
            if (r->element[i] == NULL)
                goto fail;
        }
    }
    return r;
fail:
    reply_tree_free(r);
    return NULL;
}

static int track(struct jh__redis_run *run, jh_redis_reply *r)
{
    if (run->n_replies == run->cap_replies) {
        size_t cap = run->cap_replies ? run->cap_replies * 2 : 8;
        jh_redis_reply **p = realloc(run->replies, cap * sizeof(*p));
        if (p == NULL)
            return -ENOMEM;
        run->replies = p;
        run->cap_replies = cap;
    }
    run->replies[run->n_replies++] = r;
    return 0;
}

static int name_is(const char *s, size_t n, const char *name)
{
    return strlen(name) == n && strncasecmp(s, name, n) == 0;
}

/* Follow the connection state a raw command changes (see jh__redis_run). */
static void note_state(struct jh__redis_run *run, int argc, const char *const *argv,
                       const size_t *al)
{
    const char *s = argv[0];
    size_t n = al[0];

    if (name_is(s, n, "MULTI"))
        run->in_multi = 1;
    else if (name_is(s, n, "EXEC") || name_is(s, n, "DISCARD"))
        run->in_multi = run->watching = 0;
    else if (name_is(s, n, "WATCH"))
        run->watching = 1;
    else if (name_is(s, n, "UNWATCH") && !run->in_multi)
        run->watching = 0;
    else if (name_is(s, n, "SELECT") || name_is(s, n, "SUBSCRIBE") ||
             name_is(s, n, "PSUBSCRIBE") || name_is(s, n, "SSUBSCRIBE") ||
             name_is(s, n, "MONITOR") || name_is(s, n, "AUTH") || name_is(s, n, "HELLO") ||
             name_is(s, n, "RESET") || name_is(s, n, "READONLY") || name_is(s, n, "QUIT") ||
             name_is(s, n, "SYNC") || name_is(s, n, "PSYNC") ||
             (name_is(s, n, "CLIENT") && argc > 1 &&
              (name_is(argv[1], al[1], "REPLY") || name_is(argv[1], al[1], "TRACKING"))))
        run->dirty = 1;
}

/*
 * A raw command while the run's transaction is lost with its connection
 * (run->lost): none reaches the server.  DISCARD (and UNWATCH after a bare
 * WATCH) end it with the "+OK" the server would have given; EXEC ends it
 * with -EIO, since what it was to run never ran; anything else is -EIO.
 * 0 with a made-up reply, or a code with jh__ctx_error set.
 */
static int lost_command(struct jh_ctx *c, struct jh__redis_run *run, const char *name,
                        size_t len, const char *what, redisReply **out)
{
    const char *in = run->lost == LOST_MULTI ? "inside MULTI" : "after WATCH";
    int ends = name_is(name, len, "EXEC") || name_is(name, len, "DISCARD") ||
               (run->lost == LOST_WATCH && name_is(name, len, "UNWATCH"));

    *out = NULL;
    if (ends)
        run->lost = LOST_NONE;
    if (!ends || name_is(name, len, "EXEC"))
        return jh__ctx_error(c, -EIO,
                            "redis %s: connection lost %s; the transaction was discarded "
                            "(%s not sent)", run->r->name, in, what);
    *out = calloc(1, sizeof(**out));
    if (*out == NULL || ((*out)->str = strdup("OK")) == NULL) {
        free(*out);
        *out = NULL;
        return jh__ctx_error(c, -ENOMEM, "redis %s: %s: out of memory", run->r->name, what);
    }
    (*out)->type = REDIS_REPLY_STATUS;
    (*out)->len = 2;
    return 0;
}

/* A raw command's arguments: 0, or -EINVAL naming what is wrong. */
static int cmd_check(struct jh_ctx *c, const jh__redis *r, int argc, const char *const *argv,
                     jh_redis_reply **out)
{
    if (out == NULL || argv == NULL || argc <= 0)
        return jh__ctx_error(c, -EINVAL, "redis %s: command: %s", r->name,
                            out == NULL ? "NULL reply pointer"
                            : argv == NULL ? "NULL argv" : "argc must be > 0");
    for (int i = 0; i < argc; i++)
        if (argv[i] == NULL)
            return jh__ctx_error(c, -EINVAL, "redis %s: command: argv[%d] is NULL", r->name, i);
    return 0;
}

/* The command's name for messages: printable bytes only. */
static void cmd_name(char *what, size_t size, const char *name, size_t len)
{
    size_t n = len < size - 1 ? len : size - 1;

    for (size_t i = 0; i < n; i++)
        what[i] = name[i] >= 0x20 && name[i] < 0x7f ? name[i] : '?';
    what[n] = '\0';
}

/* The command on the run's connection (or, while its transaction is lost
 * with its connection, answered here: lost_command), following the
 * connection state it changes. */
static int cmd_send(struct jh_ctx *c, struct jh__redis_run *run, int argc,
                    const char *const *argv, const size_t *al, const char *what,
                    redisReply **rep)
{
    int code;

    if (run->lost != LOST_NONE)
        return lost_command(c, run, argv[0], al[0], what, rep);
    code = run_conn(c, run, what);
    /* hiredis takes `const char **`; it does not write through it. */
    if (code == 0)
        code = run_cmd(c, run, what, argc, (const char **)(uintptr_t)argv, al, rep);
    if (code < 0) {
        /* EXEC / DISCARD end the transaction even when their
         * connection failed (this -EIO tells the plugin). */
        if (name_is(argv[0], al[0], "EXEC") || name_is(argv[0], al[0], "DISCARD") ||
            (run->lost == LOST_WATCH && name_is(argv[0], al[0], "UNWATCH")))
            run->lost = LOST_NONE;
        return code;
    }
    note_state(run, argc, argv, al);
    return 0;
}

/* The plugin's copy of the reply, tracked so the run's end frees what the
 * plugin did not.  Frees rep. */
static int cmd_reply(struct jh_ctx *c, struct jh__redis_run *run, const char *what,
                     redisReply *rep, jh_redis_reply **out)
{
    jh_redis_reply *copy = reply_copy(rep);

    freeReplyObject(rep);
    if (copy == NULL || track(run, copy) < 0) {
        reply_tree_free(copy);
        return jh__ctx_error(c, -ENOMEM, "redis %s (%s): %s: out of memory for the reply",
                            run->r->name, run->r->where, what);
    }
    *out = copy;
    return 0;
}

static int api_command(jh_ctx *c, int argc, const char *const *argv, const size_t *argvlen,
                       jh_redis_reply **out)
{
    jh__redis *r;
    struct jh__redis_run *run = NULL;
    redisReply *rep = NULL;
    size_t *lens = NULL, stack_lens[16];
    const size_t *al = argvlen;
    char what[80];
    int code;

    if (out != NULL)
        *out = NULL;
    if (c == NULL)
        return -EINVAL;
    if ((code = jh__ctx_need(c, JH_SVC_REDIS)) < 0)
        return code;
    r = bound(c);
    if ((code = cmd_check(c, r, argc, argv, out)) < 0)
        return code;
    if (al == NULL) {
        lens = (size_t)argc <= JH_COUNTOF(stack_lens) ? stack_lens
                                                     : malloc((size_t)argc * sizeof(*lens));
        if (lens == NULL)
            return jh__ctx_error(c, -ENOMEM, "redis %s: command: out of memory", r->name);
        for (int i = 0; i < argc; i++)
            lens[i] = strlen(argv[i]);
        al = lens;
    }
    cmd_name(what, sizeof(what), argv[0], al[0]);
    if ((code = run_of(c, r, &run)) == 0 &&
        (code = cmd_send(c, run, argc, argv, al, what, &rep)) == 0)
        code = cmd_reply(c, run, what, rep, out);
    if (lens != stack_lens)
        free(lens);
    return code;
}

static void api_reply_free(jh_ctx *c, jh_redis_reply *reply)
{
    struct jh__redis_run *run = jh__ctx_run_state(c, JH_RUN_SLOT_REDIS);

    if (run == NULL || reply == NULL)
        return;
    /* Only replies this run got and still holds: a second free, a nested
     * element or a foreign pointer is ignored rather than corrupting. */
    for (size_t i = run->n_replies; i > 0; i--)
        if (run->replies[i - 1] == reply) {
            run->replies[i - 1] = run->replies[--run->n_replies];
            reply_tree_free(reply);
            return;
        }
}

static const char *api_prefix(jh_ctx *c)
{
    if (c == NULL || jh__ctx_need(c, JH_SVC_REDIS) < 0)
        return NULL;
    return bound(c)->prefix;
}

static const jh_redis_api redis_api = {
    .size = sizeof(jh_redis_api),
    .command = api_command,
    .reply_free = api_reply_free,
    .prefix = api_prefix,
};

const jh_redis_api *jh__redis_api_table(void)
{
    return &redis_api;
}

/* End of a run: free replies the run left, give the connection back. */
static void redis_run_end(struct jh_ctx *c, void *data)
{
    struct jh__redis_run *run = data;
    jh__redis *r = run->r;

    (void)c;
    for (size_t i = 0; i < run->n_replies; i++)
        reply_tree_free(run->replies[i]);
    free(run->replies);
    pool_put(r, run->cn, !run->in_multi && !run->watching && !run->dirty);
    run->cn = NULL;
    free(run);
    jh__redis_unref(r);
}
