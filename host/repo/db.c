/*
 * db.c - the SQL service: jh_db_api over MariaDB Connector/C.
 *
 * Pieces, in file order:
 *   library / thread set-up  mysql_library_init once; mysql_thread_init on a
 *                            thread's first use, mysql_thread_end from a
 *                            pthread key destructor when the thread exits
 *   jh__db                    settings (copied), the idle connection pool
 *   watchdog                 enforces a run's deadline on a blocking call
 *   run state                the run's connection, statements, transaction
 *                            flag, in the context's JH_RUN_SLOT_DB hook slot
 *   statements               binds, execute, result buffers, getters
 *   db_run_end               what a run leaves behind
 *
 * Locks: db->mu guards the idle pool, db->wmu the watchdog's list.  They
 * are never held together, and never across a server round trip except
 * the watchdog's shutdown() backstop (a syscall, not a round trip).
 *
 * A connection is used by one run at a time, hence by one thread at a
 * time; only the watchdog touches it from elsewhere, and then only its
 * socket (shutdown) while the owner is blocked in a registered call.
 */
#include "db.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include "base/clock.h"
#include "service.h"
#include "runtime/ctx.h"
#include "runtime/log.h"

#define NS_PER_SEC 1000000000LL
#define NS_PER_MS 1000000LL
/* First size of a string/blob column buffer; longer values grow it. */
#define COL_BUF_INIT 256
/* How often the watchdog looks at cancel flags while calls are blocked. */
#define WATCH_POLL_NS (50 * NS_PER_MS)
/* After KILL QUERY, how long the blocked call may take to come back before
 * the watchdog shuts its socket down (a server that does not answer). */
#define WATCH_GRACE_NS (1000 * NS_PER_MS)
/* Timeouts of the watchdog's own connection, which sends KILL QUERY: the
 * watchdog waits for it, so it is also how long a server that does not
 * answer can hold the shutdown() backstop back (no more than the grace). */
#define CONTROL_TIMEOUT_S 1u

/* ---- library and thread set-up --------------------------------------- */

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static int lib_rc;
static pthread_key_t thread_key;
static _Thread_local int thread_inited;

/* Runs when a thread that used the library exits (the host's workers, the
 * watchdog).  Connector/C keeps per-thread state between
 * mysql_thread_init and mysql_thread_end; ending it here means no thread
 * leaves anything for LeakSanitizer to find. */
static void thread_gone(void *unused)
{
    (void)unused;
    mysql_thread_end();
}

static void lib_init(void)
{
    if (mysql_library_init(0, NULL, NULL) != 0) {
        lib_rc = -EIO;
        return;
    }
    if (pthread_key_create(&thread_key, thread_gone) != 0)
        lib_rc = -EAGAIN;
}

static int thread_ready(void)
{
    pthread_once(&lib_once, lib_init);
    if (lib_rc != 0)
        return lib_rc;
    if (!thread_inited) {
        if (mysql_thread_init() != 0)
            return -EIO;
        pthread_setspecific(thread_key, (void *)1);
        thread_inited = 1;
    }
    return 0;
}

/* ---- jh__db ----------------------------------------------------------- */

/* One blocking call that the watchdog guards (lives on the caller's
 * stack between watch_begin and watch_end). */
typedef struct watch {
    struct watch *next;
    unsigned long thread_id; /* server connection id, for KILL QUERY */
    int fd;                  /* the connection's socket, for shutdown() */
    int64_t due;             /* CLOCK_MONOTONIC ns; INT64_MAX: none */
    atomic_int *cancel;      /* the run's cancel flag, or NULL */
    int fired;               /* 0; 1 KILL QUERY sent; 2 socket shut down */
    int64_t fired_at;
    const char *why;         /* fired 2: why the KILL did not stop it */
    int active;
} watch;

struct jh__db {
    atomic_int refs;
    char *name, *host, *socket, *user, *password, *database, *charset;
    int port;
    unsigned connect_s, read_s, write_s;

    pthread_mutex_t mu; /* the idle pool */
    MYSQL **idle;
    size_t n_idle, cap_idle;

    pthread_mutex_t wmu; /* the watchdog */
    pthread_cond_t wcond;
    watch *watches;
    pthread_t wthread;
    int wstarted, wstop;
    MYSQL *control; /* the watchdog thread's own connection */
};

static unsigned ns_to_s(int64_t ns, unsigned dflt)
{
    if (ns <= 0)
        return dflt;
    if (ns / NS_PER_SEC >= UINT_MAX)
        return UINT_MAX;
    /* Round up: 1.5 s must not become 1 s. */
    return (unsigned)((ns + NS_PER_SEC - 1) / NS_PER_SEC);
}

static int dup_opt(const char *s, char **out)
{
    *out = NULL;
    if (s == NULL)
        return 0;
    *out = strdup(s);
    return *out != NULL ? 0 : -ENOMEM;
}

static void db_free(jh__db *db)
{
    free(db->name);
    free(db->host);
    free(db->socket);
    free(db->user);
    if (db->password != NULL) {
        /* A secret: do not leave it in freed heap memory. */
        volatile char *p = db->password;
        while (*p)
            *p++ = '\0';
        free(db->password);
    }
    free(db->database);
    free(db->charset);
    free(db->idle);
    free(db);
}

int jh__db_new(const jh__conf_mysql *conf, jh__db **out, jh_err *e)
{
    pthread_condattr_t ca;
    jh__db *db;
    int rc = 0;

    if (out == NULL || conf == NULL)
        return jh__err_set(e, -EINVAL, "jh__db_new: NULL argument");
    *out = NULL;
    if (conf->user == NULL || conf->database == NULL)
        return jh__err_set(e, -EINVAL, "[mysql %s]: user and database are required",
                          conf->name ? conf->name : "?");
    db = calloc(1, sizeof(*db));
    if (db == NULL)
        return jh__err_set(e, -ENOMEM, "[mysql %s]: out of memory", conf->name ? conf->name : "?");
    rc |= dup_opt(conf->name ? conf->name : "", &db->name);
    rc |= dup_opt(conf->host ? conf->host : "127.0.0.1", &db->host);
    rc |= dup_opt(conf->socket, &db->socket);
    rc |= dup_opt(conf->user, &db->user);
    rc |= dup_opt(conf->password, &db->password);
    rc |= dup_opt(conf->database, &db->database);
    rc |= dup_opt(conf->charset ? conf->charset : "utf8mb4", &db->charset);
    if (rc != 0) {
        db_free(db);
        return jh__err_set(e, -ENOMEM, "[mysql %s]: out of memory", conf->name ? conf->name : "?");
    }
    db->port = conf->port > 0 ? conf->port : 3306;
    db->connect_s = ns_to_s(conf->connect_timeout, 5);
    db->read_s = ns_to_s(conf->read_timeout, 30);
    db->write_s = ns_to_s(conf->write_timeout, 30);
    atomic_init(&db->refs, 1);
    pthread_mutex_init(&db->mu, NULL);
    pthread_mutex_init(&db->wmu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&db->wcond, &ca);
    pthread_condattr_destroy(&ca);
    *out = db;
    return 0;
}

void jh__db_ref(jh__db *db)
{
    if (db != NULL)
        atomic_fetch_add(&db->refs, 1);
}

const char *jh__db_name(const jh__db *db)
{
    return db != NULL ? db->name : "";
}

void jh__db_unref(jh__db *db)
{
    if (db == NULL || atomic_fetch_sub(&db->refs, 1) != 1)
        return;
    pthread_mutex_lock(&db->wmu);
    db->wstop = 1;
    pthread_cond_signal(&db->wcond);
    pthread_mutex_unlock(&db->wmu);
    if (db->wstarted)
        pthread_join(db->wthread, NULL);
    for (size_t i = 0; i < db->n_idle; i++)
        mysql_close(db->idle[i]);
    pthread_cond_destroy(&db->wcond);
    pthread_mutex_destroy(&db->wmu);
    pthread_mutex_destroy(&db->mu);
    db_free(db);
}

/*
 * Open a connection.  Local infile is off (a server could otherwise ask
 * the client for any file it can read) and so is auto-reconnect (it would
 * silently drop a transaction and the session's statements).  The connect
 * timeout is the section's, shortened to what is left of the run.
 * Returns 0 or -EIO with the client's message (never the password) in err.
 */
static int db_open(jh__db *db, unsigned connect_s, unsigned read_s, unsigned write_s,
                   MYSQL **out, char *err, size_t errlen)
{
    unsigned int off = 0;
    my_bool no = 0;
    MYSQL *m;
    int rc = thread_ready();

    *out = NULL;
    if (rc != 0) {
        snprintf(err, errlen, "cannot initialise the client library");
        return rc;
    }
    m = mysql_init(NULL);
    if (m == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &connect_s);
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &read_s);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &write_s);
    mysql_options(m, MYSQL_SET_CHARSET_NAME, db->charset);
    mysql_options(m, MYSQL_OPT_LOCAL_INFILE, &off);
    mysql_options(m, MYSQL_OPT_RECONNECT, &no);
    if (mysql_real_connect(m, db->socket != NULL ? "localhost" : db->host, db->user,
                           db->password, db->database, db->socket != NULL ? 0 : (unsigned)db->port,
                           db->socket, 0) == NULL) {
        snprintf(err, errlen, "%s (%u)", mysql_error(m), mysql_errno(m));
        mysql_close(m);
        return -EIO;
    }
    *out = m;
    return 0;
}

/* An idle connection has nothing to read: if its socket is readable the
 * server closed it (restart, wait_timeout, KILL) or sent an error.  This
 * costs a poll() instead of a ping round trip. */
static int conn_alive(MYSQL *m)
{
    struct pollfd p = {.fd = mysql_get_socket(m), .events = POLLIN | POLLRDHUP};
    return p.fd >= 0 && poll(&p, 1, 0) == 0;
}

static MYSQL *pool_take(jh__db *db)
{
    MYSQL *m = NULL;

    pthread_mutex_lock(&db->mu);
    while (db->n_idle > 0) {
        m = db->idle[--db->n_idle];
        if (conn_alive(m))
            break;
        pthread_mutex_unlock(&db->mu);
        mysql_close(m);
        m = NULL;
        pthread_mutex_lock(&db->mu);
    }
    pthread_mutex_unlock(&db->mu);
    return m;
}

static void pool_put(jh__db *db, MYSQL *m)
{
    pthread_mutex_lock(&db->mu);
    if (db->n_idle == db->cap_idle) {
        size_t cap = db->cap_idle ? db->cap_idle * 2 : 8;
        MYSQL **n = realloc(db->idle, cap * sizeof(*n));
        if (n == NULL) {
            pthread_mutex_unlock(&db->mu);
            mysql_close(m);
            return;
        }
        db->idle = n;
        db->cap_idle = cap;
    }
    db->idle[db->n_idle++] = m;
    pthread_mutex_unlock(&db->mu);
}

/* ---- watchdog ---------------------------------------------------------
 *
 * Why a watchdog and not the read timeout: MYSQL_OPT_READ_TIMEOUT has
 * whole-second granularity, is fixed when the connection opens (a pooled
 * connection serves runs with different deadlines), and when it fires the
 * query goes on running on the server, holding its locks.  Instead every
 * blocking call of a run with a deadline (or a cancel flag) registers
 * here; one thread per jh__db, started on first need, waits for the
 * earliest deadline and then sends KILL QUERY <id> on its own connection,
 * which stops the work on the server and makes the blocked call return.
 * If the call is still blocked WATCH_GRACE_NS later (a server that cannot
 * answer) it shuts the socket down, which makes any blocked read fail at
 * once.  A connection whose call was killed is closed at the end of the
 * run rather than pooled: a KILL that arrives after its query finished
 * must not hit the next run's query.  The read timeout stays as the
 * last-resort bound for runs without a deadline.
 */

/* KILL QUERY id on the watchdog's connection: NULL once the server took
 * it, else why not (then the shutdown() backstop applies at once). */
static const char *kill_query(jh__db *db, unsigned long id)
{
    char sql[64], err[256];

    /* The server may have restarted since the last KILL. */
    if (db->control != NULL && !conn_alive(db->control)) {
        mysql_close(db->control);
        db->control = NULL;
    }
    if (db->control == NULL &&
        db_open(db, CONTROL_TIMEOUT_S, CONTROL_TIMEOUT_S, CONTROL_TIMEOUT_S, &db->control, err,
                sizeof(err)) != 0)
        return "the watchdog could not connect to send KILL QUERY";
    snprintf(sql, sizeof(sql), "KILL QUERY %lu", id);
    /* "Unknown thread id" when the query already finished is fine. */
    if (mysql_real_query(db->control, sql, strlen(sql)) != 0 &&
        mysql_errno(db->control) != ER_NO_SUCH_THREAD) {
        mysql_close(db->control);
        db->control = NULL;
        return "KILL QUERY got no answer";
    }
    return NULL;
}

/* After a failed KILL (db->wmu held): shut the call's socket down now if
 * it is still blocked (still registered: the pointer and id match). */
static void kill_failed(jh__db *db, const watch *target, unsigned long id, const char *why)
{
    for (watch *w = db->watches; w != NULL; w = w->next)
        if (w == target && w->thread_id == id && w->fired == 1) {
            shutdown(w->fd, SHUT_RDWR);
            w->fired = 2;
            w->why = why;
        }
}

/*
 * One look at the registered calls (db->wmu held): the first one due for a
 * KILL, else NULL with *next lowered to when to look again.  Calls killed
 * WATCH_GRACE_NS ago and still blocked get their socket shut down here.
 */
static watch *watch_scan(jh__db *db, int64_t now, int64_t *next)
{
    for (watch *w = db->watches; w != NULL; w = w->next) {
        if (w->fired == 0) {
            if (now >= w->due || (w->cancel != NULL && atomic_load(w->cancel)))
                return w;
            *next = w->due < *next ? w->due : *next;
            if (w->cancel != NULL && now + WATCH_POLL_NS < *next)
                *next = now + WATCH_POLL_NS;
        } else if (w->fired == 1) {
            if (now >= w->fired_at + WATCH_GRACE_NS) {
                /* Still registered, so the owner is blocked in the
                 * call and the fd is open. */
                shutdown(w->fd, SHUT_RDWR);
                w->fired = 2;
                w->why = "the server did not stop it after KILL QUERY";
            } else if (w->fired_at + WATCH_GRACE_NS < *next) {
                *next = w->fired_at + WATCH_GRACE_NS;
            }
        }
    }
    return NULL;
}

static void *watchdog_main(void *arg)
{
    jh__db *db = arg;

    thread_ready();
    pthread_mutex_lock(&db->wmu);
    while (!db->wstop) {
        int64_t now = jh__monotonic_ns(), next = INT64_MAX;
        watch *target = watch_scan(db, now, &next);

        if (target != NULL) {
            unsigned long id = target->thread_id;
            target->fired = 1;
            target->fired_at = now;
            /* Not under the lock: KILL is a round trip and callers must be
             * able to unregister meanwhile.  Only the id is used. */
            pthread_mutex_unlock(&db->wmu);
            const char *why = kill_query(db, id);
            pthread_mutex_lock(&db->wmu);
            if (why != NULL)
                kill_failed(db, target, id, why);
            continue;
        }
        if (next == INT64_MAX) {
            pthread_cond_wait(&db->wcond, &db->wmu);
        } else {
            struct timespec ts = {.tv_sec = next / NS_PER_SEC, .tv_nsec = next % NS_PER_SEC};
            pthread_cond_timedwait(&db->wcond, &db->wmu, &ts);
        }
    }
    pthread_mutex_unlock(&db->wmu);
    if (db->control != NULL)
        mysql_close(db->control);
    db->control = NULL;
    return NULL;
}

/* ---- run state ------------------------------------------------------- */

struct jh__db_run {
    jh__db *db;        /* one reference */
    struct jh_ctx *ctx;
    MYSQL *conn;      /* NULL until the first call needs it */
    jh_stmt *stmts;   /* open statements (doubly linked) */
    int in_txn;       /* begin() succeeded, no commit/rollback yet */
    /* The server rolled the transaction back itself (deadlock): until the
     * plugin's commit (-EIO) or rollback, statements fail rather than run
     * outside it in autocommit mode. */
    int txn_lost;
    /* The run's deadline and cancel flag as its calls saw them: run end
     * must know the run expired even when jh__ctx_finish has cleared the
     * context's (so that lock releases are not refused). */
    int64_t deadline;
    atomic_int *cancel;
    int broken;       /* the connection failed: every later call -EIO */
    int killed;       /* the watchdog killed a call: close, never pool */
};

static void watch_begin(struct jh__db_run *run, watch *w)
{
    jh_ctx *c = run->ctx;
    jh__db *db = run->db;

    memset(w, 0, sizeof(*w));
    if (c->deadline == INT64_MAX && c->cancel == NULL)
        return;
    w->due = INT64_MAX;
    if (c->deadline != INT64_MAX) {
        int64_t mono = jh__monotonic_ns(), left = c->deadline - jh__ctx_now(c);
        w->due = left > INT64_MAX - mono ? INT64_MAX : mono + left;
    }
    w->cancel = c->cancel;
    w->thread_id = mysql_thread_id(run->conn);
    w->fd = mysql_get_socket(run->conn);
    pthread_mutex_lock(&db->wmu);
    if (!db->wstarted) {
        if (pthread_create(&db->wthread, NULL, watchdog_main, db) != 0) {
            /* No watchdog: the read timeout still bounds the call. */
            pthread_mutex_unlock(&db->wmu);
            return;
        }
        db->wstarted = 1;
    }
    w->next = db->watches;
    db->watches = w;
    w->active = 1;
    pthread_cond_signal(&db->wcond);
    pthread_mutex_unlock(&db->wmu);
}

/* Unregister; returns non-zero if the watchdog killed the call (w->fired
 * and w->why then say how). */
static int watch_end(struct jh__db_run *run, watch *w)
{
    jh__db *db = run->db;
    int fired;

    if (!w->active)
        return 0;
    pthread_mutex_lock(&db->wmu);
    for (watch **p = &db->watches; *p != NULL; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            break;
        }
    fired = w->fired;
    pthread_mutex_unlock(&db->wmu);
    w->active = 0;
    if (fired)
        run->killed = 1;
    return fired;
}

/* What the watchdog did to the call, for its message: KILL QUERY reached
 * the server, or it did not answer and the socket was shut down (what the
 * server then does with the statement is unknown). */
static int killed_error(struct jh__db_run *run, const char *what, const watch *w)
{
    jh_ctx *c = run->ctx;
    int cancelled = c->cancel != NULL && atomic_load(c->cancel);
    const char *how = cancelled ? "the run was cancelled" : "the run's deadline has passed";

    if (w->fired == 2)
        return jh__ctx_error(c, cancelled ? -ECANCELED : -ETIMEDOUT,
                             "db %s: %s: %s; the server did not answer (%s): the connection "
                             "was shut down, the statement's fate on the server is unknown",
                             run->db->name, what, how, w->why ? w->why : "?");
    return jh__ctx_error(c, cancelled ? -ECANCELED : -ETIMEDOUT,
                         "db %s: %s: %s; the query was killed on the server", run->db->name, what,
                         how);
}

/* Server and client errors that leave the connection unusable. */
static int is_conn_error(unsigned e)
{
    switch (e) {
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case CR_SERVER_LOST_EXTENDED:
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_COMMANDS_OUT_OF_SYNC:
    case CR_MALFORMED_PACKET:
    case CR_NET_PACKET_TOO_LARGE:
    case CR_STMT_CLOSED:
    case CR_ERR_NET_READ:
    case CR_ERR_NET_WRITE:
    case CR_UNKNOWN_ERROR:
    case ER_CONNECTION_KILLED:
    case ER_SERVER_SHUTDOWN:
        return 1;
    default:
        return 0;
    }
}

/*
 * Report a failed call.  Connection errors mark the run's connection
 * broken (-EIO; the next run opens a new one); errors the server reports
 * for a statement give `code` (-EINVAL for prepare, -EIO otherwise).
 */
static int db_fail(struct jh__db_run *run, const char *what, unsigned e, const char *msg, int code)
{
    /* A deadlock victim's whole transaction is rolled back by InnoDB (a
     * lock wait timeout, 1205, only undoes the statement by default). */
    if (e == ER_LOCK_DEADLOCK && run->in_txn) {
        run->in_txn = 0;
        run->txn_lost = 1;
        return jh__ctx_error(run->ctx, -EIO,
                            "db %s: %s: %s (%u); the server rolled the transaction back",
                            run->db->name, what, msg, e);
    }
    if (is_conn_error(e)) {
        run->broken = 1;
        return jh__ctx_error(run->ctx, -EIO,
                            "db %s: %s: %s (%u); connection closed, the next run reconnects",
                            run->db->name, what, msg, e);
    }
    return jh__ctx_error(run->ctx, code, "db %s: %s: %s (%u)", run->db->name, what, msg, e);
}

/* Remember the context's deadline and cancel flag (see jh__db_run). */
static void run_saw(struct jh__db_run *run, const jh_ctx *c)
{
    if (c->deadline != INT64_MAX)
        run->deadline = c->deadline;
    if (c->cancel != NULL)
        run->cancel = c->cancel;
}

/* May the run make a round trip now?  0, or the reason it may not. */
static int run_usable(struct jh__db_run *run, const char *what)
{
    char where[128];
    int rc;

    if (run->broken)
        return jh__ctx_error(run->ctx, -EIO,
                            "db %s: %s: the connection was lost earlier in this run (the next "
                            "run reconnects)", run->db->name, what);
    if (run->txn_lost)
        return jh__ctx_error(run->ctx, -EIO,
                            "db %s: %s: transaction rolled back by the server: deadlock "
                            "(commit or roll back first)", run->db->name, what);
    run_saw(run, run->ctx);
    snprintf(where, sizeof(where), "db %s: %s", run->db->name, what);
    rc = jh__ctx_check(run->ctx, where);
    return rc;
}

static void db_run_end(struct jh_ctx *c, void *data);

/* The run's state, made on its first call (not once the run is over),
 * and ended by jh__ctx_finish through the JH_RUN_SLOT_DB hook. */
static int run_new(jh_ctx *c, jh__db *db, const char *what, struct jh__db_run **out)
{
    struct jh__db_run *run;
    char where[128];
    int rc;

    snprintf(where, sizeof(where), "db %s: %s", db->name, what);
    if ((rc = jh__ctx_check(c, where)) != 0)
        return rc;
    run = calloc(1, sizeof(*run));
    if (run == NULL)
        return jh__ctx_error(c, -ENOMEM, "db %s: %s: out of memory", db->name, what);
    run->db = db;
    run->deadline = INT64_MAX;
    jh__db_ref(run->db);
    jh__ctx_set_run_state(c, JH_RUN_SLOT_DB, run, db_run_end);
    *out = run;
    return 0;
}

/* A connection for the run: an idle one from the pool, else a new one,
 * whose connect timeout is cut to what is left of the run's time. */
static int run_connect(jh_ctx *c, struct jh__db_run *run)
{
    jh__db *db = run->db;
    unsigned ct = db->connect_s;
    char err[512];
    int rc;

    if ((rc = thread_ready()) != 0)
        return jh__ctx_error(c, rc, "db %s: cannot initialise the client library", db->name);
    if ((run->conn = pool_take(db)) != NULL)
        return 0;
    if (c->deadline != INT64_MAX) {
        unsigned s_left = ns_to_s(c->deadline - jh__ctx_now(c), 1);
        ct = s_left < ct ? s_left : ct;
    }
    rc = db_open(db, ct, db->read_s, db->write_s, &run->conn, err, sizeof(err));
    if (rc == 0)
        return 0;
    if (db->socket != NULL)
        return jh__ctx_error(c, rc, "db %s: connect to %s as %s: %s", db->name, db->socket,
                            db->user, err);
    return jh__ctx_error(c, rc, "db %s: connect to %s:%d as %s: %s", db->name, db->host,
                        db->port, db->user, err);
}

/* The run's state with a connection, made on first use.  Checks that the
 * plugin declared and bound the service, and the deadline, first. */
static int run_get(jh_ctx *c, const char *what, struct jh__db_run **out)
{
    struct jh__db_run *run;
    int rc;

    if ((rc = jh__ctx_need(c, JH_SVC_DB)) != 0)
        return rc;
    run = jh__ctx_run_state(c, JH_RUN_SLOT_DB);
    if (run == NULL && (rc = run_new(c, jh__ctx_services(c)->db, what, &run)) != 0)
        return rc;
    run->ctx = c;
    if ((rc = run_usable(run, what)) != 0)
        return rc;
    if (run->conn == NULL && (rc = run_connect(c, run)) != 0)
        return rc;
    *out = run;
    return 0;
}

/* A plain query on the run's connection (transactions). */
static int run_query(struct jh__db_run *run, const char *what, const char *sql)
{
    watch w;
    int r, rc;

    if ((rc = run_usable(run, what)) != 0)
        return rc;
    watch_begin(run, &w);
    r = mysql_real_query(run->conn, sql, strlen(sql));
    if (watch_end(run, &w))
        return killed_error(run, what, &w);
    if (r != 0)
        return db_fail(run, what, mysql_errno(run->conn), mysql_error(run->conn), -EIO);
    return 0;
}

/* ---- statements ------------------------------------------------------ */

enum col_kind { K_INT, K_DOUBLE, K_DECIMAL, K_TEXT };

typedef struct db_col {
    char name[64];
    enum enum_field_types type;
    int kind;
    my_bool is_unsigned;
    union {
        long long i;
        unsigned long long u;
        double d;
    } num;
    char *buf;            /* K_DECIMAL / K_TEXT bytes, NUL-terminated */
    size_t cap;
    unsigned long len;
    my_bool is_null, error;
    char txt[40];         /* get_str of a number */
} db_col;

typedef struct db_param {
    union {
        long long i;
        double d;
    } v;
    char *buf;
    size_t cap;
    unsigned long len;
    my_bool is_null;
    int set;
} db_param;

enum { S_PREPARED, S_RESULT, S_ROW, S_DONE };

struct jh_stmt {
    const jh_db_api *api; /* must stay first (struct jh_stmt_head_) */
    struct jh__db_run *run;
    jh_stmt *prev, *next;
    MYSQL_STMT *st;
    unsigned nparams;
    MYSQL_BIND *pbind;
    db_param *params;
    unsigned ncols;
    MYSQL_BIND *rbind;
    db_col *cols;
    int state;
    int has_result;       /* a stored result set to free */
    int64_t affected;
    uint64_t insert_id;
};

static const jh_db_api api_table;

static const char *type_name(enum enum_field_types t)
{
    switch (t) {
    case MYSQL_TYPE_TINY: return "TINYINT";
    case MYSQL_TYPE_SHORT: return "SMALLINT";
    case MYSQL_TYPE_INT24: return "MEDIUMINT";
    case MYSQL_TYPE_LONG: return "INT";
    case MYSQL_TYPE_LONGLONG: return "BIGINT";
    case MYSQL_TYPE_YEAR: return "YEAR";
    case MYSQL_TYPE_FLOAT: return "FLOAT";
    case MYSQL_TYPE_DOUBLE: return "DOUBLE";
    case MYSQL_TYPE_DECIMAL:
    case MYSQL_TYPE_NEWDECIMAL: return "DECIMAL";
    case MYSQL_TYPE_VARCHAR:
    case MYSQL_TYPE_VAR_STRING: return "VARCHAR";
    case MYSQL_TYPE_STRING: return "CHAR";
    case MYSQL_TYPE_TINY_BLOB:
    case MYSQL_TYPE_MEDIUM_BLOB:
    case MYSQL_TYPE_LONG_BLOB:
    case MYSQL_TYPE_BLOB: return "BLOB/TEXT";
    case MYSQL_TYPE_DATE: return "DATE";
    case MYSQL_TYPE_TIME: return "TIME";
    case MYSQL_TYPE_DATETIME: return "DATETIME";
    case MYSQL_TYPE_TIMESTAMP: return "TIMESTAMP";
    case MYSQL_TYPE_NULL: return "NULL";
    case MYSQL_TYPE_BIT: return "BIT";
    case MYSQL_TYPE_ENUM: return "ENUM";
    case MYSQL_TYPE_SET: return "SET";
    case MYSQL_TYPE_JSON: return "JSON";
    case MYSQL_TYPE_GEOMETRY: return "GEOMETRY";
    default: return "OTHER";
    }
}

static int kind_of(enum enum_field_types t)
{
    switch (t) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_LONGLONG:
    case MYSQL_TYPE_YEAR:
        return K_INT;
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE:
        return K_DOUBLE;
    case MYSQL_TYPE_DECIMAL:
    case MYSQL_TYPE_NEWDECIMAL:
        return K_DECIMAL;
    default:
        return K_TEXT;
    }
}

static void cols_free(jh_stmt *st)
{
    for (unsigned i = 0; i < st->ncols; i++)
        free(st->cols[i].buf);
    free(st->cols);
    free(st->rbind);
    st->cols = NULL;
    st->rbind = NULL;
    st->ncols = 0;
}

/* One column's result buffer and binding (see cols_setup); 0 or -ENOMEM. */
static int col_setup(db_col *col, MYSQL_BIND *b, const MYSQL_FIELD *f)
{
    snprintf(col->name, sizeof(col->name), "%s", f->name ? f->name : "");
    col->type = f->type;
    col->kind = kind_of(f->type);
    col->is_unsigned = (f->flags & UNSIGNED_FLAG) != 0;
    b->is_null = &col->is_null;
    b->error = &col->error;
    b->length = &col->len;
    switch (col->kind) {
    case K_INT:
        b->buffer_type = MYSQL_TYPE_LONGLONG;
        b->buffer = &col->num.i;
        b->is_unsigned = col->is_unsigned;
        return 0;
    case K_DOUBLE:
        b->buffer_type = MYSQL_TYPE_DOUBLE;
        b->buffer = &col->num.d;
        return 0;
    default:
        col->buf = malloc(COL_BUF_INIT);
        if (col->buf == NULL)
            return -ENOMEM;
        col->cap = COL_BUF_INIT;
        b->buffer_type = MYSQL_TYPE_STRING;
        b->buffer = col->buf;
        /* One byte kept for the NUL that get_str adds. */
        b->buffer_length = col->cap - 1;
        return 0;
    }
}

/*
 * Result buffers from the statement's metadata: integers into a long long
 * (signedness from the column), FLOAT/DOUBLE into a double, everything
 * else (DECIMAL, strings, blobs, dates) as bytes into a growable buffer;
 * the client library converts from the binary protocol.
 */
static int cols_setup(jh_stmt *st)
{
    MYSQL_RES *meta = mysql_stmt_result_metadata(st->st);
    unsigned n = meta != NULL ? mysql_num_fields(meta) : 0;
    int rc = 0;

    cols_free(st);
    if (n == 0)
        goto out;
    st->cols = calloc(n, sizeof(*st->cols));
    st->rbind = calloc(n, sizeof(*st->rbind));
    if (st->cols == NULL || st->rbind == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    st->ncols = n;
    for (unsigned i = 0; i < n && rc == 0; i++)
        rc = col_setup(&st->cols[i], &st->rbind[i], mysql_fetch_field_direct(meta, i));
out:
    if (meta != NULL)
        mysql_free_result(meta);
    if (rc != 0)
        cols_free(st);
    return rc;
}

static void result_free(jh_stmt *st)
{
    if (st->has_result)
        mysql_stmt_free_result(st->st);
    st->has_result = 0;
    st->state = S_PREPARED;
}

static void stmt_destroy(jh_stmt *st)
{
    struct jh__db_run *run = st->run;

    if (st->prev != NULL)
        st->prev->next = st->next;
    else if (run->stmts == st)
        run->stmts = st->next;
    if (st->next != NULL)
        st->next->prev = st->prev;
    if (st->st != NULL) {
        result_free(st);
        mysql_stmt_close(st->st);
    }
    for (unsigned i = 0; i < st->nparams; i++)
        free(st->params[i].buf);
    free(st->params);
    free(st->pbind);
    cols_free(st);
    free(st);
}

static int prepare_oom(struct jh__db_run *run)
{
    return jh__ctx_error(run->ctx, -ENOMEM, "db %s: prepare: out of memory", run->db->name);
}

/* A statement handle on the run's connection, in the run's list (so run
 * end closes it if the plugin does not); NULL when out of memory. */
static jh_stmt *stmt_new(struct jh__db_run *run)
{
    jh_stmt *st = calloc(1, sizeof(*st));

    if (st == NULL)
        return NULL;
    st->api = &api_table;
    st->run = run;
    st->next = run->stmts;
    if (run->stmts != NULL)
        run->stmts->prev = st;
    run->stmts = st;
    if ((st->st = mysql_stmt_init(run->conn)) == NULL) {
        stmt_destroy(st);
        return NULL;
    }
    return st;
}

/* The server's half: parse `sql`, under the watchdog. */
static int stmt_server_prepare(jh_stmt *st, const char *sql)
{
    struct jh__db_run *run = st->run;
    watch w;
    int r;

    watch_begin(run, &w);
    r = mysql_stmt_prepare(st->st, sql, strlen(sql));
    if (watch_end(run, &w))
        return killed_error(run, "prepare", &w);
    if (r != 0)
        return db_fail(run, "prepare", mysql_stmt_errno(st->st), mysql_stmt_error(st->st),
                       -EINVAL);
    return 0;
}

/* Parameter slots and result buffers, as the prepared statement has. */
static int stmt_buffers(jh_stmt *st)
{
    st->nparams = (unsigned)mysql_stmt_param_count(st->st);
    if (st->nparams > 0) {
        st->params = calloc(st->nparams, sizeof(*st->params));
        st->pbind = calloc(st->nparams, sizeof(*st->pbind));
        if (st->params == NULL || st->pbind == NULL)
            return prepare_oom(st->run);
    }
    if (cols_setup(st) != 0)
        return prepare_oom(st->run);
    return 0;
}

static int db_prepare(jh_ctx *c, const char *sql, jh_stmt **out)
{
    struct jh__db_run *run;
    jh_stmt *st;
    int rc;

    if (c == NULL)
        return -EINVAL;
    if (out == NULL || sql == NULL)
        return jh__ctx_error(c, -EINVAL, "db: prepare: NULL %s", out == NULL ? "out" : "sql");
    *out = NULL;
    if ((rc = run_get(c, "prepare", &run)) != 0)
        return rc;
    if ((st = stmt_new(run)) == NULL)
        return prepare_oom(run);
    if ((rc = stmt_server_prepare(st, sql)) != 0 || (rc = stmt_buffers(st)) != 0) {
        stmt_destroy(st);
        return rc;
    }
    *out = st;
    return 0;
}

/* The parameter slot idx, or NULL with the error recorded. */
static db_param *param_at(jh_stmt *st, unsigned idx, const char *fn, int *rc)
{
    if (idx >= st->nparams) {
        *rc = jh__ctx_error(st->run->ctx, -EINVAL,
                           "db %s: %s: parameter %u out of range (the statement has %u)",
                           st->run->db->name, fn, idx, st->nparams);
        return NULL;
    }
    return &st->params[idx];
}

static int bind_num(jh_stmt *st, unsigned idx, const char *fn, enum enum_field_types t,
                    my_bool is_unsigned, const void *v, size_t size)
{
    int rc = 0;
    db_param *p = st != NULL ? param_at(st, idx, fn, &rc) : NULL;
    MYSQL_BIND *b;

    if (st == NULL)
        return -EINVAL;
    if (p == NULL)
        return rc;
    b = &st->pbind[idx];
    memset(b, 0, sizeof(*b));
    memcpy(&p->v, v, size);
    p->is_null = 0;
    b->buffer_type = t;
    b->buffer = &p->v;
    b->is_unsigned = is_unsigned;
    b->is_null = &p->is_null;
    p->set = 1;
    return 0;
}

static int db_bind_i64(jh_stmt *st, unsigned idx, int64_t v)
{
    long long x = v;
    return bind_num(st, idx, "bind_i64", MYSQL_TYPE_LONGLONG, 0, &x, sizeof(x));
}

static int db_bind_u64(jh_stmt *st, unsigned idx, uint64_t v)
{
    unsigned long long x = v;
    return bind_num(st, idx, "bind_u64", MYSQL_TYPE_LONGLONG, 1, &x, sizeof(x));
}

static int db_bind_double(jh_stmt *st, unsigned idx, double v)
{
    return bind_num(st, idx, "bind_double", MYSQL_TYPE_DOUBLE, 0, &v, sizeof(v));
}

/* Strings and blobs are copied: the caller's buffer may go away. */
static int bind_bytes(jh_stmt *st, unsigned idx, const char *fn, enum enum_field_types t,
                      const void *v, size_t len)
{
    int rc = 0;
    db_param *p;
    MYSQL_BIND *b;

    if (st == NULL)
        return -EINVAL;
    if ((p = param_at(st, idx, fn, &rc)) == NULL)
        return rc;
    if (v == NULL && len > 0)
        return jh__ctx_error(st->run->ctx, -EINVAL, "db %s: %s: parameter %u: NULL value",
                            st->run->db->name, fn, idx);
    if (len > ULONG_MAX - 1)
        return jh__ctx_error(st->run->ctx, -EINVAL, "db %s: %s: parameter %u: value too long",
                            st->run->db->name, fn, idx);
    if (p->cap < len + 1) {
        char *n = realloc(p->buf, len + 1);
        if (n == NULL)
            return jh__ctx_error(st->run->ctx, -ENOMEM, "db %s: %s: out of memory",
                                st->run->db->name, fn);
        p->buf = n;
        p->cap = len + 1;
    }
    if (len > 0)
        memcpy(p->buf, v, len);
    p->len = (unsigned long)len;
    p->is_null = 0;
    b = &st->pbind[idx];
    memset(b, 0, sizeof(*b));
    b->buffer_type = t;
    b->buffer = p->buf;
    b->buffer_length = p->len;
    b->length = &p->len;
    b->is_null = &p->is_null;
    p->set = 1;
    return 0;
}

static int db_bind_str(jh_stmt *st, unsigned idx, const char *v, size_t len)
{
    return bind_bytes(st, idx, "bind_str", MYSQL_TYPE_STRING, v, len);
}

static int db_bind_blob(jh_stmt *st, unsigned idx, const void *v, size_t len)
{
    return bind_bytes(st, idx, "bind_blob", MYSQL_TYPE_BLOB, v, len);
}

static int db_bind_null(jh_stmt *st, unsigned idx)
{
    int rc = 0;
    db_param *p;
    MYSQL_BIND *b;

    if (st == NULL)
        return -EINVAL;
    if ((p = param_at(st, idx, "bind_null", &rc)) == NULL)
        return rc;
    b = &st->pbind[idx];
    memset(b, 0, sizeof(*b));
    p->is_null = 1;
    b->buffer_type = MYSQL_TYPE_NULL;
    b->is_null = &p->is_null;
    p->set = 1;
    return 0;
}

static int db_execute(jh_stmt *st)
{
    struct jh__db_run *run;
    watch w;
    int r, rc;

    if (st == NULL)
        return -EINVAL;
    run = st->run;
    for (unsigned i = 0; i < st->nparams; i++)
        if (!st->params[i].set)
            return jh__ctx_error(run->ctx, -EINVAL,
                                "db %s: execute: parameter %u of %u is not bound",
                                run->db->name, i, st->nparams);
    if ((rc = run_usable(run, "execute")) != 0)
        return rc;
    result_free(st);
    if (st->nparams > 0 && mysql_stmt_bind_param(st->st, st->pbind) != 0)
        return db_fail(run, "execute", mysql_stmt_errno(st->st), mysql_stmt_error(st->st), -EIO);
    watch_begin(run, &w);
    r = mysql_stmt_execute(st->st);
    /* Store the whole result client side: fetch then needs no round trip
     * and other statements of the run can execute while rows are read. */
    if (r == 0 && mysql_stmt_field_count(st->st) > 0) {
        r = mysql_stmt_store_result(st->st);
        st->has_result = 1;
    }
    if (watch_end(run, &w))
        return killed_error(run, "execute", &w);
    if (r != 0)
        return db_fail(run, "execute", mysql_stmt_errno(st->st), mysql_stmt_error(st->st), -EIO);
    st->affected = (int64_t)mysql_stmt_affected_rows(st->st);
    st->insert_id = mysql_stmt_insert_id(st->st);
    if (st->has_result) {
        if (mysql_stmt_field_count(st->st) != st->ncols && (rc = cols_setup(st)) != 0)
            return jh__ctx_error(run->ctx, rc, "db %s: execute: out of memory", run->db->name);
        if (mysql_stmt_bind_result(st->st, st->rbind) != 0)
            return db_fail(run, "execute", mysql_stmt_errno(st->st), mysql_stmt_error(st->st),
                           -EIO);
        st->state = S_RESULT;
    }
    return 0;
}

/* MYSQL_DATA_TRUNCATED: the columns whose value did not fit get a buffer
 * of the right size and are fetched again; the larger buffers stay bound
 * for the following rows. */
static int refetch_truncated(jh_stmt *st)
{
    for (unsigned i = 0; i < st->ncols; i++) {
        db_col *col = &st->cols[i];
        MYSQL_BIND *b = &st->rbind[i];

        if (!col->error || col->is_null || col->buf == NULL || col->len < col->cap)
            continue;
        char *n = realloc(col->buf, (size_t)col->len + 1);
        if (n == NULL)
            return jh__ctx_error(st->run->ctx, -ENOMEM, "db %s: fetch: out of memory",
                                st->run->db->name);
        col->buf = n;
        col->cap = (size_t)col->len + 1;
        b->buffer = col->buf;
        b->buffer_length = col->cap - 1;
        if (mysql_stmt_fetch_column(st->st, b, i, 0) != 0)
            return db_fail(st->run, "fetch", mysql_stmt_errno(st->st), mysql_stmt_error(st->st),
                           -EIO);
        col->error = 0;
    }
    if (mysql_stmt_bind_result(st->st, st->rbind) != 0)
        return db_fail(st->run, "fetch", mysql_stmt_errno(st->st), mysql_stmt_error(st->st), -EIO);
    return 0;
}

static int db_fetch(jh_stmt *st)
{
    int r, rc;

    if (st == NULL)
        return -EINVAL;
    if (st->state == S_DONE)
        return 0;
    if (st->state != S_RESULT && st->state != S_ROW)
        return jh__ctx_error(st->run->ctx, -EINVAL,
                            "db %s: fetch: no result set (execute a statement that returns rows "
                            "first)", st->run->db->name);
    r = mysql_stmt_fetch(st->st);
    if (r == MYSQL_NO_DATA) {
        st->state = S_DONE;
        return 0;
    }
    if (r == MYSQL_DATA_TRUNCATED) {
        if ((rc = refetch_truncated(st)) != 0)
            return rc;
    } else if (r != 0) {
        return db_fail(st->run, "fetch", mysql_stmt_errno(st->st), mysql_stmt_error(st->st), -EIO);
    }
    st->state = S_ROW;
    return 1;
}

static int db_column_count(jh_stmt *st)
{
    return st != NULL ? (int)st->ncols : -EINVAL;
}

/* The current row's column `col`, or NULL with the error in *rc. */
static db_col *col_at(jh_stmt *st, unsigned col, const char *fn, int *rc)
{
    if (st->state != S_ROW) {
        *rc = jh__ctx_error(st->run->ctx, -EINVAL, "db %s: %s: no current row (fetch returned %s)",
                           st->run->db->name, fn,
                           st->state == S_DONE ? "0: no more rows" : "nothing yet");
        return NULL;
    }
    if (col >= st->ncols) {
        *rc = jh__ctx_error(st->run->ctx, -EINVAL,
                           "db %s: %s: column %u out of range (the result has %u)",
                           st->run->db->name, fn, col, st->ncols);
        return NULL;
    }
    return &st->cols[col];
}

/* Common checks of the getters: a row, the index, the output pointer, and
 * NULL values (-ENODATA). */
static db_col *get_col(jh_stmt *st, unsigned i, const void *v, const char *fn, int *rc)
{
    db_col *col;

    if (st == NULL) {
        *rc = -EINVAL;
        return NULL;
    }
    if (v == NULL) {
        *rc = jh__ctx_error(st->run->ctx, -EINVAL, "db %s: %s: NULL output pointer",
                           st->run->db->name, fn);
        return NULL;
    }
    if ((col = col_at(st, i, fn, rc)) == NULL)
        return NULL;
    if (col->is_null) {
        *rc = jh__ctx_error(st->run->ctx, -ENODATA, "db %s: %s: column %u (%s) is NULL",
                           st->run->db->name, fn, i, col->name);
        return NULL;
    }
    return col;
}

static int wrong_type(jh_stmt *st, unsigned i, const db_col *col, const char *fn,
                      const char *want)
{
    return jh__ctx_error(st->run->ctx, -EINVAL, "db %s: %s: column %u (%s) is %s%s, not %s",
                        st->run->db->name, fn, i, col->name,
                        col->kind == K_INT && col->is_unsigned ? "UNSIGNED " : "",
                        type_name(col->type), want);
}

static int db_is_null(jh_stmt *st, unsigned i)
{
    int rc = 0;
    db_col *col;

    if (st == NULL)
        return -EINVAL;
    if ((col = col_at(st, i, "is_null", &rc)) == NULL)
        return rc;
    return col->is_null ? 1 : 0;
}

static int db_get_i64(jh_stmt *st, unsigned i, int64_t *v)
{
    int rc = 0;
    db_col *col = get_col(st, i, v, "get_i64", &rc);

    if (col == NULL)
        return rc;
    if (col->kind != K_INT)
        return wrong_type(st, i, col, "get_i64", "an integer column");
    if (col->is_unsigned && col->num.u > (unsigned long long)INT64_MAX)
        return jh__ctx_error(st->run->ctx, -ERANGE,
                            "db %s: get_i64: column %u (%s): %llu does not fit in int64",
                            st->run->db->name, i, col->name, col->num.u);
    *v = (int64_t)col->num.i;
    return 0;
}

static int db_get_u64(jh_stmt *st, unsigned i, uint64_t *v)
{
    int rc = 0;
    db_col *col = get_col(st, i, v, "get_u64", &rc);

    if (col == NULL)
        return rc;
    if (col->kind != K_INT)
        return wrong_type(st, i, col, "get_u64", "an integer column");
    if (!col->is_unsigned && col->num.i < 0)
        return jh__ctx_error(st->run->ctx, -ERANGE,
                            "db %s: get_u64: column %u (%s): %lld does not fit in uint64",
                            st->run->db->name, i, col->name, col->num.i);
    *v = (uint64_t)col->num.u;
    return 0;
}

static int db_get_double(jh_stmt *st, unsigned i, double *v)
{
    int rc = 0;
    db_col *col = get_col(st, i, v, "get_double", &rc);

    if (col == NULL)
        return rc;
    if (col->kind == K_DOUBLE) {
        *v = col->num.d;
        return 0;
    }
    if (col->kind == K_DECIMAL) {
        col->buf[col->len] = '\0';
        *v = strtod(col->buf, NULL);
        return 0;
    }
    return wrong_type(st, i, col, "get_double", "a FLOAT, DOUBLE or DECIMAL column");
}

static int db_get_str(jh_stmt *st, unsigned i, const char **v, size_t *len)
{
    int rc = 0;
    db_col *col = get_col(st, i, v, "get_str", &rc);
    size_t n;

    if (col == NULL)
        return rc;
    switch (col->kind) {
    case K_INT:
        if (col->is_unsigned)
            n = (size_t)snprintf(col->txt, sizeof(col->txt), "%llu", col->num.u);
        else
            n = (size_t)snprintf(col->txt, sizeof(col->txt), "%lld", col->num.i);
        *v = col->txt;
        break;
    case K_DOUBLE:
        /* The shortest of 15..17 digits that reads back as the same
         * double (3.141592653589793, not 3.1415926535897931). */
        for (int prec = 15; prec <= 17; prec++) {
            n = (size_t)snprintf(col->txt, sizeof(col->txt), "%.*g", prec, col->num.d);
            if (strtod(col->txt, NULL) == col->num.d)
                break;
        }
        *v = col->txt;
        break;
    default:
        col->buf[col->len] = '\0';
        n = col->len;
        *v = col->buf;
    }
    if (len != NULL)
        *len = n;
    return 0;
}

static int64_t db_affected_rows(jh_stmt *st)
{
    return st != NULL ? st->affected : -EINVAL;
}

static uint64_t db_insert_id(jh_stmt *st)
{
    return st != NULL ? st->insert_id : 0;
}

static void db_close(jh_stmt *st)
{
    if (st != NULL)
        stmt_destroy(st);
}

/* ---- transactions ---------------------------------------------------- */

static int db_begin(jh_ctx *c)
{
    struct jh__db_run *run;
    int rc;

    if (c == NULL)
        return -EINVAL;
    if ((rc = run_get(c, "begin", &run)) != 0)
        return rc;
    /* START TRANSACTION inside one would silently commit the first. */
    if (run->in_txn || run->txn_lost)
        return jh__ctx_error(c, -EINVAL, "db %s: begin: a transaction is already open%s",
                            run->db->name,
                            run->txn_lost ? " (rolled back by the server: deadlock; commit or "
                                            "roll back first)" : "");
    if ((rc = run_query(run, "begin", "START TRANSACTION")) != 0)
        return rc;
    run->in_txn = 1;
    return 0;
}

/* What commit and rollback start with: the run's db state, which may not
 * exist yet (NULL) since neither opens a connection. */
static int txn_run(jh_ctx *c, struct jh__db_run **run)
{
    int rc;

    if (c == NULL)
        return -EINVAL;
    if ((rc = jh__ctx_need(c, JH_SVC_DB)) != 0)
        return rc;
    *run = jh__ctx_run_state(c, JH_RUN_SLOT_DB);
    return 0;
}

static int db_commit(jh_ctx *c)
{
    struct jh__db_run *run;
    int rc;

    if ((rc = txn_run(c, &run)) != 0)
        return rc;
    if (run != NULL && run->txn_lost) {
        run->txn_lost = 0;
        return jh__ctx_error(c, -EIO,
                            "db %s: commit: transaction rolled back by the server: deadlock",
                            run->db->name);
    }
    if (run == NULL || !run->in_txn)
        return jh__ctx_error(c, -EINVAL, "db %s: commit: no transaction is open",
                            jh__ctx_services(c)->db->name);
    run->ctx = c;
    run_saw(run, c);
    if ((rc = run_query(run, "commit", "COMMIT")) != 0) {
        run->txn_lost = 0; /* this failure already told the plugin */
        return rc;
    }
    run->in_txn = 0;
    return 0;
}

/* Rolling back when no transaction is open is a no-op, so error paths can
 * call it unconditionally. */
static int db_rollback(jh_ctx *c)
{
    struct jh__db_run *run;
    int rc;

    if ((rc = txn_run(c, &run)) != 0)
        return rc;
    if (run != NULL && run->txn_lost) {
        run->txn_lost = 0; /* the server already did it */
        return 0;
    }
    if (run == NULL || !run->in_txn)
        return 0;
    run->ctx = c;
    run_saw(run, c);
    rc = run_query(run, "rollback", "ROLLBACK");
    /* Failed or not, it is over: a broken or killed connection is closed
     * at run end, which rolls back on the server. */
    if (rc == 0 || run->broken || run->killed)
        run->in_txn = 0;
    return rc;
}

static const jh_db_api api_table = {
    .size = sizeof(jh_db_api),
    .prepare = db_prepare,
    .bind_i64 = db_bind_i64,
    .bind_u64 = db_bind_u64,
    .bind_double = db_bind_double,
    .bind_str = db_bind_str,
    .bind_blob = db_bind_blob,
    .bind_null = db_bind_null,
    .execute = db_execute,
    .fetch = db_fetch,
    .column_count = db_column_count,
    .is_null = db_is_null,
    .get_i64 = db_get_i64,
    .get_u64 = db_get_u64,
    .get_double = db_get_double,
    .get_str = db_get_str,
    .affected_rows = db_affected_rows,
    .insert_id = db_insert_id,
    .close = db_close,
    .begin = db_begin,
    .commit = db_commit,
    .rollback = db_rollback,
};

const jh_db_api *jh__db_api_table(void)
{
    return &api_table;
}

/* ---- end of a run ---------------------------------------------------- */

static void warn_rollback(struct jh_ctx *c, struct jh__db_run *run, const char *how)
{
    jh__logger *log = c->env != NULL ? c->env->log : NULL;

    if (jh__log_enabled(log, JH_LOG_WARN)) {
        jh__kv kv[5];
        size_t n = 0;
        kv[n++] = JH_KV_S("db", run->db->name);
        if (c->job != NULL)
            kv[n++] = JH_KV_S("job", c->job);
        if (c->plugin.name != NULL)
            kv[n++] = JH_KV_S("plugin", c->plugin.name);
        if (c->run_id != 0)
            kv[n++] = JH_KV_U("run_id", c->run_id);
        kv[n++] = JH_KV_S("msg", how);
        jh__log_kv(log, JH_LOG_WARN, "db.rollback", kv, n);
    }
    /* Keep the handler's own last error if it had one. */
    if (c->lasterr[0] == '\0')
        jh__ctx_error(c, 0, "db %s: %s", run->db->name, how);
}

/* ROLLBACK or COM_RESET_CONNECTION at run end, under the watchdog like
 * any call of the run; 0 if it worked. */
static int end_query(struct jh__db_run *run, int reset)
{
    watch w;
    int r;

    watch_begin(run, &w);
    r = reset ? mysql_reset_connection(run->conn) : mysql_real_query(run->conn, "ROLLBACK", 8);
    if (watch_end(run, &w))
        return -ETIMEDOUT;
    return r != 0 ? -EIO : 0;
}

/*
 * Statements first (they belong to the connection), then the transaction:
 * ROLLBACK on a healthy connection, or nothing on one that is about to be
 * closed (the server rolls back a closed session).  A healthy connection
 * is then reset (COM_RESET_CONNECTION: session variables, temporary
 * tables, user locks) so the next run, maybe another plugin's, starts
 * clean, and goes back to the pool.  A run past its deadline or cancelled
 * gets no more round trips: its connection is closed instead (the next
 * run opens one), so a hung server cannot hold a finished run.
 */
static void db_run_end(struct jh_ctx *c, void *data)
{
    struct jh__db_run *run = data;
    int healthy, expired;

    run->ctx = c;
    while (run->stmts != NULL)
        stmt_destroy(run->stmts);
    run_saw(run, c);
    expired = (run->cancel != NULL && atomic_load(run->cancel)) ||
              (run->deadline != INT64_MAX && jh__ctx_now(c) >= run->deadline);
    healthy = run->conn != NULL && !run->broken && !run->killed && !expired;
    if (run->in_txn) {
        if (healthy && end_query(run, 0) != 0)
            healthy = 0;
        warn_rollback(c, run, healthy ? "the run left a transaction open: rolled back"
                                      : "the run left a transaction open: rolled back by "
                                        "closing the connection");
    }
    if (healthy && end_query(run, 1) != 0)
        healthy = 0;
    if (run->conn != NULL) {
        if (healthy)
            pool_put(run->db, run->conn);
        else
            mysql_close(run->conn);
    }
    jh__db_unref(run->db);
    free(run);
}
