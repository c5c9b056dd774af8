/*
 * host.c - the embeddable host: configuration + plugins + scheduler on one
 * libuv loop.  jobhostd's main() is a thin wrapper around it.
 *
 * Threads: everything here runs on the loop thread except host_exec(),
 * which the scheduler calls on a worker.  host_exec() only reads the
 * immutable jh__hjob it is given and the shared env (whose logger and store
 * are thread-safe); the one thing it hands back besides the return code,
 * a message attached with jh_fail(), goes through a small mutex-protected
 * list keyed by run id (see msg_put/msg_take), because jh__run has no slot
 * for it.
 */
#include "host.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "config/config.h"
#include "time/cron.h"
#include "runtime/ctx.h"
#include "repo/backends.h"
#include "repo/events.h"
#include "runtime/fatal.h"
#include "runtime/log.h"
#include "reload.h"
#include "sched/sched.h"
#include "time/tz.h"

struct run_msg {
    uint64_t run_id;
    struct run_msg *next;
    char msg[];
};

struct jh_host {
    uv_loop_t *loop;
    char *conf_dir;
    char *plugins_opt;        /* -p, or NULL */
    char *state_dir;          /* resolved at start; the outbox is STATE/outbox */
    char *state_opt;          /* -s, or NULL */
    int64_t events_drain;     /* shutdown_timeout: runs + outbox drain share it */
    int64_t stop_started;     /* realtime ns when stop began */
    int abandoned;            /* stop left runs behind: keep what they use */
    int log_fd;
    jh__host_env env;
    jh__sched *sched;
    jh__hstate st;             /* the running state */
    jh__retired *retired;      /* former udata of updated jobs, see reload.h */
    uv_timer_t reload_timer;  /* coalesces reload requests */
    int reload_pending;
    int reloading;
    int stopping;
    int started;
    unsigned long reloads;
    void (*stop_cb)(jh_host *, int, void *);
    void *stop_arg;
    /* messages attached by runs, until done() logs them */
    pthread_mutex_t msg_lock;
    atomic_size_t n_msgs;
    struct run_msg *msgs;
};

static const char *const result_names[] = {"ok", "error", "timeout", "cancelled"};

static int64_t realtime_ns(void *arg)
{
    (void)arg;
    return jh__realtime_ns();
}

/* ---- messages from runs --------------------------------------------- */

static void msg_put(jh_host *h, uint64_t run_id, const char *msg)
{
    size_t len = strlen(msg);
    struct run_msg *m = malloc(sizeof(*m) + len + 1);

    if (m == NULL)
        return; /* the run is still logged, without its message */
    m->run_id = run_id;
    memcpy(m->msg, msg, len + 1);
    pthread_mutex_lock(&h->msg_lock);
    m->next = h->msgs;
    h->msgs = m;
    atomic_fetch_add(&h->n_msgs, 1);
    pthread_mutex_unlock(&h->msg_lock);
}

/* The message of run_id (caller frees), or NULL.  Lock-free when none. */
static struct run_msg *msg_take(jh_host *h, uint64_t run_id)
{
    struct run_msg **pp, *m = NULL;

    if (atomic_load(&h->n_msgs) == 0)
        return NULL;
    pthread_mutex_lock(&h->msg_lock);
    for (pp = &h->msgs; *pp != NULL; pp = &(*pp)->next) {
        if ((*pp)->run_id == run_id) {
            m = *pp;
            *pp = m->next;
            atomic_fetch_sub(&h->n_msgs, 1);
            break;
        }
    }
    pthread_mutex_unlock(&h->msg_lock);
    return m;
}

/* ---- scheduler callbacks -------------------------------------------- */

static jh_host *host_of(jh__hjob *j)
{
    return j->owner;
}

/* Worker thread. */
static int host_exec(jh__run *run)
{
    jh__hjob *j = run->udata;
    jh_host *h = host_of(j);
    struct jh_ctx c;
    int rc;

    jh__ctx_init(&c, &h->env, jh__plugin_ctx(j->plugin), j->name, j->handler->name,
                run->run_id, run->scheduled, run->deadline, &run->cancel);
    if (jh__log_enabled(h->env.log, JH_LOG_DEBUG)) {
        jh__kv kv[] = {
            JH_KV_S("job", j->name),
            JH_KV_S("plugin", jh__plugin_name(j->plugin)),
            JH_KV_S("handler", j->handler->name),
            JH_KV_U("run_id", run->run_id),
            JH_KV_T("scheduled", run->scheduled),
        };
        jh__log_kv(h->env.log, JH_LOG_DEBUG, "run.start", kv, JH_COUNTOF(kv));
    }
    rc = j->handler->fn(&c);
    /* A failing run with no message of its own reports the service call
     * that failed ("db main: execute: ..."). */
    if (c.errmsg[0] != '\0')
        msg_put(h, run->run_id, c.errmsg);
    else if (rc < 0 && c.lasterr[0] != '\0')
        msg_put(h, run->run_id, c.lasterr);
    jh__ctx_finish(&c);
    return rc;
}

/* Loop thread. */
static void host_done(jh__run *run)
{
    jh__hjob *j = run->udata;
    jh_host *h = host_of(j);
    struct run_msg *m = msg_take(h, run->run_id);
    int res = run->result >= 0 && run->result <= JH_RUN_CANCELLED ? run->result : JH_RUN_ERROR;
    const char *err = m ? m->msg : run->rc < 0 ? strerror(-run->rc) : NULL;
    jh__kv kv[] = {
        JH_KV_S("job", j->name),
        JH_KV_S("plugin", jh__plugin_name(j->plugin)),
        JH_KV_S("handler", j->handler->name),
        JH_KV_U("run_id", run->run_id),
        JH_KV_T("scheduled", run->scheduled),
        JH_KV_T("started", run->started),
        JH_KV_MSEC("duration_ms", run->finished - run->started),
        JH_KV_S("result", result_names[res]),
        JH_KV_S("error", err),
    };

    jh__log_kv(h->env.log, res == JH_RUN_OK ? JH_LOG_INFO : JH_LOG_WARN, "run.finish", kv,
              JH_COUNTOF(kv) - (err == NULL));
    free(m);
    if (h->retired != NULL)
        jh__retired_done(&h->retired, run);
}

static void host_skip(jh__sjob *sj, void *udata, int64_t scheduled, const char *reason)
{
    jh__hjob *j = udata;
    jh__kv kv[] = {
        JH_KV_S("job", j->name),
        JH_KV_S("plugin", jh__plugin_name(j->plugin)),
        JH_KV_S("handler", j->handler->name),
        JH_KV_T("scheduled", scheduled),
        JH_KV_S("reason", reason),
    };

    (void)sj;
    jh__log_kv(host_of(j)->env.log, JH_LOG_INFO, "run.skip", kv, JH_COUNTOF(kv));
}

/* Loop thread: a run still in flight well past its deadline holds a
 * worker (or waits for one); say so once, with how long. */
static void host_overdue(jh__run *run, int64_t over, int started)
{
    jh__hjob *j = run->udata;
    jh_host *h = host_of(j);
    jh__kv kv[] = {
        JH_KV_S("job", j->name),
        JH_KV_S("plugin", jh__plugin_name(j->plugin)),
        JH_KV_S("handler", j->handler->name),
        JH_KV_U("run_id", run->run_id),
        JH_KV_T("scheduled", run->scheduled),
        JH_KV_MSEC("timeout_ms", run->deadline - run->fired),
        JH_KV_MSEC("over_ms", over),
        JH_KV_S("state", started ? "running" : "queued"),
        JH_KV_I("queued", jh__sched_queued(h->sched)),
    };

    jh__log_kv(h->env.log, JH_LOG_WARN, "run.overdue", kv, JH_COUNTOF(kv));
}

static void host_release(void *udata)
{
    jh__hjob_unref(udata);
}

static const jh__sched_ops host_ops = {
    .exec = host_exec,
    .done = host_done,
    .skip = host_skip,
    .release = host_release,
    .overdue = host_overdue,
};

/* ---- lifecycle ------------------------------------------------------ */

static void log_reload_failed(jh_host *h, const jh_err *e)
{
    jh__kv kv[] = {JH_KV_S("error", e->msg)};
    jh__log_kv(h->env.log, JH_LOG_ERROR, "reload.failed", kv, JH_COUNTOF(kv));
}

static void reload_timer_cb(uv_timer_t *t)
{
    jh_host *h = t->data;
    jh_err e;

    h->reload_pending = 0;
    jh_host_reload(h, &e); /* logs reload.ok / reload.failed itself */
}

static int env_open(jh_host *h, const jh__conf *conf, const jh_host_opts *o)
{
    int rc;

    h->env.now = o->now ? o->now : realtime_ns;
    h->env.now_arg = o->now_arg;
    if ((rc = jh__log_new(h->log_fd, conf->host.log_format, conf->host.log_level,
                         &h->env.log)) < 0)
        return rc;
    jh__fatal_set_log(h->env.log); /* a crash line goes where the log goes */
    if ((rc = jh__store_new(o->now, o->now_arg, &h->env.store)) < 0)
        return rc;
    h->env.repo = jh__full_repo();
    return 0;
}

/* The events service: one per process, opened at start, kept across
 * reloads (its settings need a restart, see kafka_changed). */
static int events_open(jh_host *h, const jh__conf *conf, jh_err *e)
{
    jh__events_opts eo;

    memset(&eo, 0, sizeof(eo));
    eo.state_dir = h->state_dir;
    eo.sync = conf->host.outbox_sync;
    eo.sync_interval_ns = conf->host.outbox_sync_interval;
    eo.max_bytes = (size_t)conf->host.event_max_bytes;
    eo.kafka = conf->n_kafka > 0 ? &conf->kafka[0] : NULL;
    eo.log = h->env.log;
    return jh__events_new(&eo, &h->env.events, e);
}

static int streq0(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Settings of the events service that only a restart applies: the
 * running host's (h->state_dir resolved, -s included) against `b`. */
static const char *events_changed(const jh_host *h, const jh__conf *b, const char *state_opt)
{
    const jh__conf *a = h->st.conf;
    const jh__conf_kafka *ka = a->n_kafka ? &a->kafka[0] : NULL;
    const jh__conf_kafka *kb = b->n_kafka ? &b->kafka[0] : NULL;
    char *sd;
    int same;

    if ((ka == NULL) != (kb == NULL) || (ka != NULL && !jh__conf_kafka_equal(ka, kb)))
        return "[kafka]";
    if ((sd = jh__hstate_state_dir(h->conf_dir, b, state_opt)) == NULL)
        return "[host] state_dir (out of memory)";
    same = streq0(sd, h->state_dir);
    free(sd);
    if (!same)
        return "[host] state_dir";
    if (a->host.outbox_sync != b->host.outbox_sync ||
        a->host.outbox_sync_interval != b->host.outbox_sync_interval)
        return "[host] outbox_sync";
    if (a->host.event_max_bytes != b->host.event_max_bytes)
        return "[host] event_max_bytes";
    return NULL;
}

static void host_free_env(jh_host *h)
{
    if (h->env.store != NULL)
        jh__store_free(h->env.store);
    if (h->env.log != NULL) {
        jh__fatal_set_log(NULL);
        jh__log_free(h->env.log);
    }
    h->env.store = NULL;
    h->env.log = NULL;
}

static void opts_free(jh_host *h)
{
    free(h->conf_dir);
    free(h->plugins_opt);
    free(h->state_opt);
}

/* What the host keeps of its options. */
static int opts_copy(jh_host *h, const jh_host_opts *o, jh_err *e)
{
    h->loop = o->loop;
    h->log_fd = o->log_fd > 0 ? o->log_fd : 2;
    h->conf_dir = strdup(o->conf_dir ? o->conf_dir : "conf.d");
    h->plugins_opt = o->plugins_dir ? strdup(o->plugins_dir) : NULL;
    h->state_opt = o->state_dir ? strdup(o->state_dir) : NULL;
    if (h->conf_dir == NULL || (o->plugins_dir && h->plugins_opt == NULL) ||
        (o->state_dir && h->state_opt == NULL)) {
        opts_free(h);
        return jh__err_set(e, -ENOMEM, "out of memory");
    }
    return 0;
}

static int sched_open(jh_host *h, const jh__conf *conf, const jh_host_opts *o, jh_err *e)
{
    jh__sched_opts so;
    int rc;

    memset(&so, 0, sizeof(so));
    so.loop = o->loop;
    so.workers = conf->host.workers > 0 ? conf->host.workers : 2;
    so.ops = &host_ops;
    so.now = o->now;
    so.now_arg = o->now_arg;
    if ((rc = jh__sched_new(&so, &h->sched)) < 0)
        jh__err_set(e, rc, "cannot create the scheduler: %s", strerror(-rc));
    return rc;
}

/* The first state: plugins loaded and initialised, jobs resolved; they go
 * to the scheduler at jh_host_start().  Takes conf, even on failure. */
static int state_open(jh_host *h, jh__conf *conf, jh_err *e)
{
    char *pdir = jh__hstate_plugins_dir(h->conf_dir, conf, h->plugins_opt);
    int rc;

    if (pdir == NULL) {
        jh__conf_free(conf);
        return jh__err_set(e, -ENOMEM, "out of memory");
    }
    rc = jh__hstate_build(conf, pdir, NULL, &h->env, h, &h->st, e);
    free(pdir);
    return rc;
}

int jh_host_new(const jh_host_opts *o, jh_host **out, jh_err *e)
{
    jh_host *h = calloc(1, sizeof(*h));
    jh__conf *conf = NULL;
    int rc;

    if (h == NULL)
        return jh__err_set(e, -ENOMEM, "out of memory");
    pthread_mutex_init(&h->msg_lock, NULL);
    if ((rc = opts_copy(h, o, e)) < 0)
        goto fail_opts;
    if ((rc = jh__conf_load_dir(h->conf_dir, &conf, e)) < 0)
        goto fail_conf;
    if ((rc = env_open(h, conf, o)) < 0) {
        host_free_env(h); /* what env_open opened before it failed */
        jh__err_set(e, rc, "cannot set up logging and store: %s", strerror(-rc));
        goto fail_env;
    }
    if ((h->state_dir = jh__hstate_state_dir(h->conf_dir, conf, o->state_dir)) == NULL) {
        rc = jh__err_set(e, -ENOMEM, "out of memory");
        goto fail_state_dir;
    }
    if ((rc = events_open(h, conf, e)) < 0)
        goto fail_events;
    if ((rc = sched_open(h, conf, o, e)) < 0)
        goto fail_sched;
    rc = state_open(h, conf, e);
    conf = NULL; /* owned by the state now, or freed */
    if (rc < 0)
        goto fail_state;
    uv_timer_init(h->loop, &h->reload_timer);
    h->reload_timer.data = h;
    *out = h;
    return 0;

fail_state:
    jh__sched_free(h->sched); /* never started: freed at once */
fail_sched:
    jh__events_close(h->env.events, 0);
fail_events:
    free(h->state_dir);
fail_state_dir:
    host_free_env(h);
fail_env:
    jh__conf_free(conf);
fail_conf:
    opts_free(h);
fail_opts:
    pthread_mutex_destroy(&h->msg_lock);
    free(h);
    return rc;
}

/* The jobs go to the scheduler only now, once it runs: what was built in
 * jh_host_new() (or a reload before start) is committed as a whole. */
int jh_host_start(jh_host *h)
{
    jh__diff_counts dc;
    int rc = jh__sched_start(h->sched);

    if (rc < 0)
        return rc;
    h->started = 1;
    if ((rc = jh__hstate_commit(h->sched, NULL, &h->st, &h->retired, &dc)) < 0)
        return rc;
    jh__kv kv[] = {
        JH_KV_U("jobs", h->st.n_jobs),
        JH_KV_U("plugins", h->st.n_plugins),
        JH_KV_I("workers", h->st.conf->host.workers),
        JH_KV_S("conf_dir", h->conf_dir),
        JH_KV_S("plugins_dir", h->st.plugins_dir),
    };
    jh__log_kv(h->env.log, JH_LOG_INFO, "host.ready", kv, JH_COUNTOF(kv));
    return 0;
}

/* Read and build the next state; the running one is not touched. */
static int reload_build(jh_host *h, jh__hstate *next, jh_err *e)
{
    jh__conf *conf = NULL;
    const char *what;
    char *pdir;
    int rc;

    if ((rc = jh__conf_load_dir(h->conf_dir, &conf, e)) < 0)
        return rc;
    if ((pdir = jh__hstate_plugins_dir(h->conf_dir, conf, h->plugins_opt)) == NULL) {
        jh__conf_free(conf);
        return jh__err_set(e, -ENOMEM, "out of memory");
    }
    if ((what = events_changed(h, conf, h->state_opt)) != NULL) {
        jh__conf_free(conf);
        free(pdir);
        return jh__err_set(e, -EINVAL, "%s changed: the events service takes its settings at "
                           "start only; restart jobhostd to apply them", what);
    }
    rc = jh__hstate_build(conf, pdir, &h->st, &h->env, h, next, e);
    free(pdir);
    return rc;
}

/* The [host] keys a reload applies to the running host. */
static void reload_host_keys(jh_host *h, const jh__conf *next)
{
    const jh__conf *cur = h->st.conf;

    if (next->host.workers != cur->host.workers) {
        /* The pool is sized at start; say so rather than ignore it quietly. */
        jh__kv kv[] = {
            JH_KV_I("workers", cur->host.workers),
            JH_KV_I("configured", next->host.workers),
            JH_KV_S("msg", "[host] workers takes effect at the next start"),
        };
        jh__log_kv(h->env.log, JH_LOG_WARN, "reload.note", kv, JH_COUNTOF(kv));
    }
    if (next->host.log_format != cur->host.log_format)
        jh__log_set_format(h->env.log, next->host.log_format);
    if (next->host.log_level != cur->host.log_level)
        jh__log_set_level(h->env.log, next->host.log_level);
}

/* reload.ok, with the scheduler's refusal (err) if it refused a job. */
static void log_reload_ok(jh_host *h, const jh__diff_counts *dc, const char *err)
{
    jh__kv kv[] = {
        JH_KV_U("added", dc->added),
        JH_KV_U("removed", dc->removed),
        JH_KV_U("changed", dc->changed),
        JH_KV_U("unchanged", dc->unchanged),
        JH_KV_U("jobs", h->st.n_jobs),
        JH_KV_U("plugins", h->st.n_plugins),
        JH_KV_S("error", err),
    };
    jh__log_kv(h->env.log, err ? JH_LOG_WARN : JH_LOG_INFO, "reload.ok", kv,
               JH_COUNTOF(kv) - (err == NULL));
}

/* Validated: `next` replaces the running state.  A job the scheduler
 * refuses (out of memory) keeps what it ran before; the reload reports it
 * (the log line too, as a reload requested by a signal has no caller). */
static int reload_commit(jh_host *h, jh__hstate *next, jh_err *e)
{
    jh__diff_counts dc;
    int rc = 0;

    reload_host_keys(h, next->conf);
    memset(&dc, 0, sizeof(dc));
    if (h->started)
        rc = jh__hstate_commit(h->sched, &h->st, next, &h->retired, &dc);
    jh__hstate_release(&h->st);
    h->st = *next;
    if (rc < 0)
        jh__err_set(e, rc, "reload: scheduler refused a job: %s", strerror(-rc));
    log_reload_ok(h, &dc, rc < 0 ? e->msg : NULL);
    return rc;
}

int jh_host_reload(jh_host *h, jh_err *e)
{
    jh__hstate next;
    int rc;

    h->reloads++;
    if (h->stopping)
        return jh__err_set(e, -ECANCELED, "host is stopping");
    h->reloading = 1;
    if ((rc = reload_build(h, &next, e)) < 0)
        log_reload_failed(h, e);
    else
        rc = reload_commit(h, &next, e);
    h->reloading = 0;
    return rc;
}

void jh_host_request_reload(jh_host *h)
{
    /* A pending reload already covers this request; one running now does
     * not (it may have read the files already), but since reloads run on
     * this thread a request can only arrive between two of them. */
    if (h->stopping || h->reload_pending)
        return;
    h->reload_pending = 1;
    uv_timer_start(&h->reload_timer, reload_timer_cb, 0, 0);
}

unsigned long jh_host_reloads(const jh_host *h)
{
    return h->reloads;
}

/* Stop gave up on runs (left > 0): name each plugin a run still uses
 * once (plugin.abandoned: no fini, it stays loaded until the process
 * exits); the others get their fini and plugin.unload as usual. */
static void log_abandoned(jh_host *h)
{
    for (size_t i = 0; i < h->st.n_jobs; i++) {
        const jh__hjob *j = h->st.jobs[i];
        size_t k = 0, running = 0;
        if (j->sjob == NULL || jh__sched_running(j->sjob) == 0)
            continue;
        while (k < i && !(h->st.jobs[k]->plugin == j->plugin && h->st.jobs[k]->sjob != NULL &&
                          jh__sched_running(h->st.jobs[k]->sjob) > 0))
            k++;
        if (k < i)
            continue; /* named with an earlier job */
        for (size_t m = i; m < h->st.n_jobs; m++)
            if (h->st.jobs[m]->plugin == j->plugin && h->st.jobs[m]->sjob != NULL)
                running += (size_t)jh__sched_running(h->st.jobs[m]->sjob);
        jh__kv kv[] = {JH_KV_S("plugin", jh__plugin_name(j->plugin)), JH_KV_S("job", j->name),
                       JH_KV_U("runs", running)};
        jh__log_kv(h->env.log, JH_LOG_WARN, "plugin.abandoned", kv, JH_COUNTOF(kv));
    }
}

static void sched_stopped(jh__sched *s, int left, void *arg)
{
    jh_host *h = arg;

    (void)s;
    if (left > 0)
        log_abandoned(h);
    /* Drop every job (the scheduler releases its references once no run
     * is in flight) and every plugin: fini runs for each copy nothing of
     * which still runs. */
    for (size_t i = 0; i < h->st.n_jobs; i++)
        if (h->st.jobs[i]->sjob != NULL)
            jh__sched_remove(h->sched, h->st.jobs[i]->sjob);
    jh__hstate_release(&h->st);
    /* Plugins are gone, nothing sends any more: give delivery what is left
     * of the shutdown budget; what it cannot deliver stays on disk. */
    size_t undelivered = 0;
    if (h->env.events != NULL && left == 0) {
        int64_t spent = realtime_ns(NULL) - h->stop_started;
        int64_t budget = h->events_drain - (spent > 0 ? spent : 0);
        undelivered = jh__events_close(h->env.events, budget < 0 ? 0 : budget);
        h->env.events = NULL;
    }
    /* With runs abandoned (left > 0) the events service stays open: those
     * runs may still send, and every event they record before the process
     * exits is durable.  jh_host_free() then leaves it alone too. */
    h->abandoned = left > 0;
    jh__kv kv[] = {JH_KV_I("abandoned", left), JH_KV_U("events_undelivered", undelivered)};
    jh__log_kv(h->env.log, JH_LOG_INFO, "host.stop", kv, JH_COUNTOF(kv));
    if (h->stop_cb)
        h->stop_cb(h, left, h->stop_arg);
}

void jh_host_stop(jh_host *h, void (*cb)(jh_host *, int, void *), void *arg)
{
    h->stopping = 1;
    h->stop_cb = cb;
    h->stop_arg = arg;
    uv_timer_stop(&h->reload_timer);
    h->reload_pending = 0;
    h->events_drain = h->st.conf ? h->st.conf->host.shutdown_timeout : 0;
    h->stop_started = realtime_ns(NULL);
    jh__sched_stop(h->sched, h->events_drain, sched_stopped, h);
}

static void host_free_cb(uv_handle_t *hd)
{
    jh_host *h = hd->data;

    free(h);
}

void jh_host_free(jh_host *h)
{
    struct run_msg *m;

    if (h == NULL)
        return;
    if (h->sched != NULL)
        jh__sched_free(h->sched);
    jh__retired_clear(&h->retired);
    jh__hstate_release(&h->st);
    while ((m = h->msgs) != NULL) {
        h->msgs = m->next;
        free(m);
    }
    pthread_mutex_destroy(&h->msg_lock);
    if (h->env.events != NULL && !h->abandoned) /* never started, or not stopped */
        jh__events_close(h->env.events, 0);
    h->env.events = NULL;
    host_free_env(h);
    free(h->state_dir);
    opts_free(h);
    if (h->reload_timer.loop != NULL) {
        h->reload_timer.data = h;
        uv_close((uv_handle_t *)&h->reload_timer, host_free_cb);
    } else {
        free(h);
    }
}

/* ---- --check -------------------------------------------------------- */

static void check_print(const jh__hstate *st, int64_t now, FILE *out)
{
    int wj = 3, wp = 6, wh = 7, ws = 8;
    char desc[512], next[64];
    const jh__tz *host_tz = NULL;

    jh__tz_get(NULL, &host_tz, NULL);
    for (size_t i = 0; i < st->n_plugins; i++) {
        const jh_plugin_desc *d = jh__plugin_desc_of(st->plugins[i].plugin);
        fprintf(out, "plugin %s %s (%s, ABI %u.%u)\n", d->name, d->version ? d->version : "",
                st->plugins[i].path, (unsigned)d->abi_major, (unsigned)d->abi_minor);
    }
    for (size_t i = 0; i < st->n_jobs; i++) {
        const jh__hjob *j = st->jobs[i];
        int l;
        jh__hjob_describe(j, desc, sizeof(desc));
        if ((l = (int)strlen(j->name)) > wj) wj = l;
        if ((l = (int)strlen(jh__plugin_name(j->plugin))) > wp) wp = l;
        if ((l = (int)strlen(j->handler->name)) > wh) wh = l;
        if ((l = (int)strlen(desc)) > ws) ws = l;
    }
    fprintf(out, "%-*s  %-*s  %-*s  %-*s  %s\n", wj, "JOB", wp, "PLUGIN", wh, "HANDLER", ws,
            "SCHEDULE", "NEXT");
    for (size_t i = 0; i < st->n_jobs; i++) {
        const jh__hjob *j = st->jobs[i];
        int64_t t = jh__hjob_next(j, now);
        jh__hjob_describe(j, desc, sizeof(desc));
        if (t == INT64_MAX)
            snprintf(next, sizeof(next), "%s", j->enabled ? "never" : "disabled");
        else
            jh__cron_format_time(j->cron ? jh__cron_tz(j->cron) : host_tz, t, next, sizeof(next));
        fprintf(out, "%-*s  %-*s  %-*s  %-*s  %s\n", wj, j->name, wp, jh__plugin_name(j->plugin),
                wh, j->handler->name, ws, desc, next);
    }
}

int jh_host_check(const jh_host_opts *o, FILE *out, jh_err *e)
{
    const char *dir = o->conf_dir ? o->conf_dir : "conf.d";
    jh__host_env env = {0};
    jh__conf *conf = NULL;
    jh__hstate st;
    char *pdir = NULL;
    int rc;

    if ((rc = jh__conf_load_dir(dir, &conf, e)) < 0)
        return rc;
    /* The [kafka] properties, as start-up's events_open would take them. */
    if (conf->n_kafka > 0 &&
        (rc = jh__events_check_kafka(&conf->kafka[0], (size_t)conf->host.event_max_bytes, e)) < 0) {
        jh__conf_free(conf);
        return rc;
    }
    env.now = o->now ? o->now : realtime_ns;
    env.now_arg = o->now_arg;
    env.repo = jh__full_repo();
    /* --check leaves the outbox alone (a running daemon owns it): events
     * sent by a plugin's init fail with -ENOSYS here. */
    /* Quiet: --check's output is the schedule; plugins' warnings still show. */
    if ((rc = jh__log_new(o->log_fd > 0 ? o->log_fd : 2, conf->host.log_format,
                         conf->host.log_level > JH_LOG_WARN ? conf->host.log_level : JH_LOG_WARN,
                         &env.log)) < 0 ||
        (rc = jh__store_new(o->now, o->now_arg, &env.store)) < 0) {
        jh__conf_free(conf);
        jh__err_set(e, rc, "cannot set up logging and store: %s", strerror(-rc));
        goto out;
    }
    if ((pdir = jh__hstate_plugins_dir(dir, conf, o->plugins_dir)) == NULL) {
        jh__conf_free(conf);
        rc = jh__err_set(e, -ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = jh__hstate_build(conf, pdir, NULL, &env, NULL, &st, e)) < 0)
        goto out;
    fprintf(out, "configuration %s OK: %zu plugins, %zu jobs (plugins from %s)\n", dir,
            st.n_plugins, st.n_jobs, pdir);
    check_print(&st, env.now(env.now_arg), out);
    fflush(out);
    jh__hstate_release(&st);
out:
    free(pdir);
    if (env.store != NULL)
        jh__store_free(env.store);
    if (env.log != NULL)
        jh__log_free(env.log);
    return rc;
}

int jh_host_outbox_dump(const jh_host_opts *o, FILE *out, jh_err *e)
{
    const char *dir = o->conf_dir ? o->conf_dir : "conf.d";
    jh__conf *conf = NULL;
    char *state = NULL, *obdir = NULL;
    int rc;

    if ((rc = jh__conf_load_dir(dir, &conf, e)) < 0)
        return rc;
    if ((state = jh__hstate_state_dir(dir, conf, o->state_dir)) == NULL ||
        (obdir = malloc(strlen(state) + sizeof("/outbox"))) == NULL) {
        rc = jh__err_set(e, -ENOMEM, "out of memory");
        goto out;
    }
    strcpy(obdir, state);
    strcat(obdir, "/outbox");
    rc = jh__outbox_dump(obdir, out, e);
out:
    free(obdir);
    free(state);
    jh__conf_free(conf);
    return rc;
}
