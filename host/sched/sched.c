/*
 * sched.c - when jobs fire, and the life of each run.
 *
 * Every enabled job sits in one min-heap keyed by its due time on
 * CLOCK_MONOTONIC (ties: insertion sequence, so equal times fire FIFO), and
 * one timerfd (CLOCK_MONOTONIC, absolute, nanosecond resolution) is armed
 * at the heap's minimum.  Runs with a timeout sit in a second heap keyed by
 * their deadline; the timerfd is armed at the earlier of the two minima.
 *
 * Wall-clock time and clock steps.  Cron jobs are planned in wall-clock
 * time (next_real) and converted to a monotonic due time with the current
 * real-minus-monotonic offset.  A second timerfd on CLOCK_REALTIME, armed
 * far in the future with TFD_TIMER_CANCEL_ON_SET, becomes readable (read()
 * fails with ECANCELED) whenever the system clock is set; we then replan
 * every cron job from the new wall time.  Policy on a step:
 *   - forward over a fire time: that time fires once, late (like cron(8)
 *     for jumps of less than three hours), never once per skipped time;
 *   - backward: nothing already run fires again: the next time is computed
 *     strictly after max(now, last fired time).
 * Interval jobs live on the monotonic clock only, so a step neither bursts
 * nor stalls them: they keep their period and phase.
 * When a cron job's timer fires we also re-check the wall clock (NTP slews
 * the two clocks apart slowly) and re-arm if it is still early.
 */
#include "sched.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "heap.h"
#include "workers.h"

#define NS 1000000000LL

typedef struct run_priv run_priv;

struct jh__sjob {
    jh__heap_node due;      /* key: due time, CLOCK_MONOTONIC ns; in s->due if armed */
    int64_t next_real;      /* cron: planned wall time (without jitter) */
    int64_t last_real;      /* cron: last planned time that fired */
    int64_t jitter_off;     /* ns, stable per job */
    jh__sched_spec spec;     /* spec.cron owned */
    void *udata;
    jh__sjob *fire_next;     /* chain of jobs being fired */
    jh__sjob *all_prev, *all_next; /* every job, armed or not */
    int running;
    atomic_int waiting;     /* runs of it queued, not started (workers decrement) */
    int removed;
    int started_now;        /* run_on_start fired; next adds the jitter */
};

struct run_priv {
    jh__work work;           /* first: workers hand it back */
    jh__run run;
    jh__sched *s;
    jh__heap_node deadline; /* key: CLOCK_MONOTONIC ns; in s->timeouts if timed */
    int64_t timeout;        /* the job's timeout when the run fired, ns */
    int64_t deadline_mono;
    int timed_out;          /* the deadline passed; then the key is the overdue time */
    atomic_int begun;       /* a worker started it */
    run_priv *prev, *next;  /* in-flight list */
};

struct jh__sched {
    jh__sched_opts o;
    jh__heap due;           /* armed jobs by due time */
    jh__sjob *all;
    jh__heap timeouts;      /* runs with a timeout, by deadline */
    uint64_t run_seq;
    atomic_int waiting;     /* runs queued for a worker, not started */
    run_priv *inflight;
    int n_inflight;
    run_priv *free_runs;
    int started, stopping, closing, pending_closes;
    int tfd, step_fd;
    uv_poll_t tpoll, spoll;
    uv_timer_t stop_timer;
    jh__workers *workers;
    void (*stop_cb)(jh__sched *, int, void *);
    void *stop_arg;
    int64_t armed_at;
};

/* ---- clocks ---------------------------------------------------------- */

static int64_t now_real(const jh__sched *s)
{
    return s->o.now ? s->o.now(s->o.now_arg) : jh__realtime_ns();
}

static int64_t now_mono(const jh__sched *s)
{
    if (s->o.now_mono)
        return s->o.now_mono(s->o.now_arg);
    /* An injected realtime clock with no monotonic one: use it for both
     * (tests that step "the clock" then step both). */
    return s->o.now ? s->o.now(s->o.now_arg) : jh__monotonic_ns();
}

/* ---- planning -------------------------------------------------------- */

static uint64_t fnv1a(const char *k)
{
    uint64_t h = 1469598103934665603ULL;
    for (; k != NULL && *k; k++)
        h = (h ^ (unsigned char)*k) * 1099511628211ULL;
    /* final avalanche so similar names spread over the whole range */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

static int64_t jitter_of(const jh__sched_spec *sp)
{
    return sp->jitter > 0 ? (int64_t)(fnv1a(sp->jitter_key) % (uint64_t)sp->jitter) : 0;
}

/* Plan a cron job's next fire strictly after `after` (real ns) and set its
 * monotonic due time.  Returns 0, or -ERANGE when it never fires again. */
static int plan_cron(jh__sched *s, jh__sjob *j, int64_t after, int64_t real, int64_t mono)
{
    int64_t next;

    if (jh__cron_next(j->spec.cron, after, &next) < 0)
        return -ERANGE;
    j->next_real = next;
    j->due.key = next + j->jitter_off - real + mono;
    return 0;
}

/* Put a job in the heap for its first fire.  0, or -ENOMEM (not armed). */
static int arm_first(jh__sched *s, jh__sjob *j)
{
    int64_t real = now_real(s), mono = now_mono(s);

    if (!j->spec.enabled)
        return 0;
    if (j->spec.kind == JH_SCHED_EVERY) {
        j->due.key = mono + j->spec.every + j->jitter_off;
        if (j->spec.run_on_start) {
            j->due.key = mono; /* at once, then on the jittered phase */
            j->started_now = 1;
        }
    } else {
        if (plan_cron(s, j, real > j->last_real ? real : j->last_real, real, mono) < 0)
            return 0; /* never fires again: stays idle */
        if (j->spec.run_on_start) {
            j->next_real = real;
            j->due.key = mono;
        }
    }
    return jh__heap_push(&s->due, &j->due);
}

/* After a fire at planned due time, plan the next one.  j was taken out
 * of the heap with jh__heap_take(): it goes back into its kept slot. */
static void rearm_after_fire(jh__sched *s, jh__sjob *j, int64_t real, int64_t mono)
{
    if (j->spec.kind == JH_SCHED_EVERY) {
        int64_t e = j->spec.every;
        if (j->due.key + e > mono)
            j->due.key += e;
        else /* fell behind: skip whole periods, keep the phase, no burst */
            j->due.key += e * ((mono - j->due.key) / e + 1);
        if (j->started_now) {
            j->due.key += j->jitter_off;
            j->started_now = 0;
        }
    } else {
        int64_t after = j->next_real > real ? j->next_real : real;
        if (j->last_real > after)
            after = j->last_real;
        if (plan_cron(s, j, after, real, mono) < 0) {
            jh__heap_unkeep(&s->due); /* never fires again: stays idle */
            return;
        }
    }
    jh__heap_put(&s->due, &j->due);
}

/* ---- runs ------------------------------------------------------------ */

static run_priv *run_new(jh__sched *s)
{
    run_priv *r = s->free_runs;

    if (r != NULL)
        s->free_runs = r->next;
    else if ((r = malloc(sizeof(*r))) == NULL)
        return NULL;
    memset(r, 0, sizeof(*r));
    r->s = s;
    jh__heap_node_init(&r->deadline);
    r->run.priv_ = r;
    atomic_init(&r->run.cancel, 0);
    atomic_init(&r->begun, 0);
    return r;
}

static void run_free(jh__sched *s, run_priv *r)
{
    r->next = s->free_runs;
    s->free_runs = r;
}

static void inflight_add(jh__sched *s, run_priv *r)
{
    r->prev = NULL;
    r->next = s->inflight;
    if (s->inflight)
        s->inflight->prev = r;
    s->inflight = r;
    s->n_inflight++;
}

static void inflight_del(jh__sched *s, run_priv *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        s->inflight = r->next;
    if (r->next)
        r->next->prev = r->prev;
    s->n_inflight--;
}

static void job_free(jh__sched *s, jh__sjob *j)
{
    if (j->all_prev)
        j->all_prev->all_next = j->all_next;
    else
        s->all = j->all_next;
    if (j->all_next)
        j->all_next->all_prev = j->all_prev;
    jh__cron_free(j->spec.cron);
    free(j);
}

/* A removed job that no run uses any more: its udata goes back, it goes. */
static void release_job(jh__sched *s, jh__sjob *j)
{
    if (s->o.ops->release)
        s->o.ops->release(j->udata);
    job_free(s, j);
}

static void exec_work(jh__work *w, void *arg)
{
    run_priv *r = (run_priv *)(void *)w;
    jh__sched *s = arg;

    atomic_store(&r->begun, 1);
    atomic_fetch_sub(&r->run.job->waiting, 1);
    atomic_fetch_sub(&s->waiting, 1);
    r->run.started = now_real(s);
    r->run.rc = s->o.ops->exec(&r->run);
    r->run.finished = now_real(s);
}

static void arm_timer(jh__sched *s);
static void maybe_stopped(jh__sched *s);

static void done_work(jh__work *w, void *arg)
{
    run_priv *r = (run_priv *)(void *)w;
    jh__sched *s = arg;
    jh__sjob *j = r->run.job;

    jh__heap_remove(&s->timeouts, &r->deadline);
    inflight_del(s, r);
    j->running--;
    /* Manual mode has no timer: an overdue run is reported at its end. */
    if (s->o.manual && r->timeout > 0 && s->o.ops->overdue != NULL &&
        r->run.finished - r->run.deadline >= JH__SCHED_OVERDUE_MARGIN(r->timeout))
        s->o.ops->overdue(&r->run, r->run.finished - r->run.deadline, 1);
    if (r->timed_out || r->run.finished >= r->run.deadline)
        r->run.result = JH_RUN_TIMEOUT;
    else if (s->stopping && atomic_load(&r->run.cancel))
        r->run.result = JH_RUN_CANCELLED;
    else
        r->run.result = r->run.rc < 0 ? JH_RUN_ERROR : JH_RUN_OK;
    s->o.ops->done(&r->run);
    if (j->removed && j->running == 0)
        release_job(s, j);
    run_free(s, r);
    if (!s->o.manual)
        arm_timer(s);
    maybe_stopped(s);
}

/* A run of j planned for `scheduled` (real ns), its deadline timer armed;
 * NULL when out of memory. */
static run_priv *run_prepare(jh__sched *s, jh__sjob *j, int64_t scheduled, int64_t real,
                             int64_t mono)
{
    run_priv *r = run_new(s);

    if (r == NULL)
        return NULL;
    r->run.job = j;
    r->run.udata = j->udata;
    r->run.scheduled = scheduled;
    r->run.fired = real;
    r->run.deadline = INT64_MAX;
    if (j->spec.timeout > 0) {
        r->timeout = j->spec.timeout;
        r->run.deadline = real + j->spec.timeout;
        r->deadline.key = r->deadline_mono = mono + j->spec.timeout;
        /* Manual mode has no timer: the deadline is checked at done(). */
        if (!s->o.manual && jh__heap_push(&s->timeouts, &r->deadline) < 0) {
            run_free(s, r);
            return NULL;
        }
    }
    r->run.run_id = ++s->run_seq;
    return r;
}

/* Start a run of j planned for `scheduled` (real ns); returns it queued
 * to be handed to the workers, or NULL if skipped (reported to skip()).
 * A run with no room for its deadline timer is skipped too: it would not
 * be cancelled at its timeout. */
static run_priv *start_run(jh__sched *s, jh__sjob *j, int64_t scheduled, int64_t real,
                           int64_t mono)
{
    int limit = j->spec.concurrency == JH_CONC_ALLOW ? j->spec.max_running : 1;
    const char *reason;
    run_priv *r;

    if (j->running >= limit && j->spec.concurrency == JH_CONC_ALLOW)
        reason = "max_running";
    else if (j->running >= limit) /* its run has not started: "queued" */
        reason = atomic_load(&j->waiting) > 0 ? "queued" : "running";
    else if ((r = run_prepare(s, j, scheduled, real, mono)) == NULL)
        reason = "out_of_memory";
    else {
        atomic_fetch_add(&j->waiting, 1);
        atomic_fetch_add(&s->waiting, 1);
        j->running++;
        inflight_add(s, r);
        return r;
    }
    s->o.ops->skip(j, j->udata, scheduled, reason);
    return NULL;
}

/*
 * Take every job due at `mono` out of the heap: the chain through
 * fire_next, the last taken first.  Collect first, so callbacks that add
 * or update jobs cannot make the firing loop see a job twice; each job
 * keeps its heap slot, so a callback that adds jobs cannot leave it
 * without room to go back.
 */
static jh__sjob *collect_due(jh__sched *s, int64_t real, int64_t mono)
{
    jh__sjob *due = NULL;
    jh__heap_node *m;

    while ((m = jh__heap_min(&s->due)) != NULL && m->key <= mono) {
        jh__sjob *j = jh__heap_entry(m, jh__sjob, due);
        /* Cron: the monotonic estimate can run ahead of a slewed wall clock. */
        if (j->spec.kind == JH_SCHED_CRON && j->next_real + j->jitter_off > real) {
            jh__heap_rekey(&s->due, m, mono + (j->next_real + j->jitter_off - real));
            continue;
        }
        jh__heap_take(&s->due, m);
        j->fire_next = due;
        due = j;
    }
    return due;
}

/* The planned time (real ns) of the fire of j due now; a cron job's
 * planned time is marked fired. */
static int64_t fire_time(jh__sjob *j, int64_t real, int64_t mono)
{
    if (j->spec.kind == JH_SCHED_EVERY)
        return j->due.key - mono + real;
    j->last_real = j->next_real;
    return j->next_real + j->jitter_off;
}

/* Fire everything due at `mono`; returns the runs to hand to workers. */
static run_priv *fire_due(jh__sched *s, int64_t real, int64_t mono, run_priv **tail, int *count)
{
    run_priv *head = NULL;
    jh__sjob *due = collect_due(s, real, mono);

    *tail = NULL;
    *count = 0;
    while (due != NULL) {
        jh__sjob *j = due;
        due = j->fire_next;
        j->fire_next = NULL;
        run_priv *r = start_run(s, j, fire_time(j, real, mono), real, mono);
        rearm_after_fire(s, j, real, mono);
        if (r == NULL)
            continue;
        r->work.next = NULL;
        if (*tail)
            (*tail)->work.next = &r->work;
        else
            head = r;
        *tail = r;
        (*count)++;
    }
    return head;
}

/*
 * Runs whose deadline passed are cancelled; each stays in the heap, keyed
 * by its overdue time (deadline + margin), and is reported to overdue()
 * once if still in flight then, so that a run ignoring its cancellation
 * (and the worker it holds) is visible in the log.
 */
static void expire_timeouts(jh__sched *s, int64_t mono)
{
    jh__heap_node *m;

    while ((m = jh__heap_min(&s->timeouts)) != NULL && m->key <= mono) {
        run_priv *r = jh__heap_entry(m, run_priv, deadline);
        if (r->timed_out) { /* its overdue time */
            jh__heap_remove(&s->timeouts, m);
            s->o.ops->overdue(&r->run, mono - r->deadline_mono, atomic_load(&r->begun));
            continue;
        }
        r->timed_out = 1;
        atomic_store(&r->run.cancel, 1);
        if (s->o.ops->overdue != NULL)
            jh__heap_rekey(&s->timeouts, m, m->key + JH__SCHED_OVERDUE_MARGIN(r->timeout));
        else
            jh__heap_remove(&s->timeouts, m);
    }
}

/* ---- the timerfds ---------------------------------------------------- */

static void arm_timer(jh__sched *s)
{
    const jh__heap_node *due = jh__heap_min(&s->due), *to = jh__heap_min(&s->timeouts);
    struct itimerspec its;
    int64_t at = INT64_MAX;

    /* Before start there is no timerfd: start arms it. */
    if (s->o.manual || s->closing || !s->started)
        return;
    if (due != NULL && !s->stopping)
        at = due->key;
    if (to != NULL && to->key < at)
        at = to->key;
    if (at == s->armed_at)
        return;
    s->armed_at = at;
    memset(&its, 0, sizeof(its));
    if (at != INT64_MAX) {
        if (at <= 0)
            at = 1; /* 0 would disarm */
        its.it_value.tv_sec = at / NS;
        its.it_value.tv_nsec = at % NS;
    }
    timerfd_settime(s->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void process(jh__sched *s)
{
    int64_t real = now_real(s), mono = now_mono(s);
    run_priv *tail, *head;
    int n;

    expire_timeouts(s, mono);
    if (s->stopping)
        return;
    head = fire_due(s, real, mono, &tail, &n);
    if (head == NULL)
        return;
    if (s->o.manual) {
        for (run_priv *r = head, *nx; r != NULL; r = nx) {
            nx = (run_priv *)(void *)r->work.next;
            r->work.next = NULL;
            exec_work(&r->work, s);
            done_work(&r->work, s);
        }
        return;
    }
    jh__workers_submit_list(s->workers, &head->work, &tail->work, n);
}

static void on_timer(uv_poll_t *p, int status, int events)
{
    jh__sched *s = p->data;
    uint64_t ticks;

    if (read(s->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
        return;
    s->armed_at = -1; /* the kernel disarmed it */
    process(s);
    arm_timer(s);
}

static void arm_step_detector(jh__sched *s)
{
    struct itimerspec its;

    memset(&its, 0, sizeof(its));
    /* Far in the future: it never expires, it only reports clock sets. */
    its.it_value.tv_sec = jh__realtime_ns() / NS + 10LL * 365 * 86400;
    timerfd_settime(s->step_fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL);
}

/* The wall clock was set: replan every cron job from the new wall time. */
static void replan_cron(jh__sched *s)
{
    int64_t real = now_real(s), mono = now_mono(s);

    for (size_t i = 0; i < s->due.n; i++) {
        jh__sjob *j = jh__heap_entry(jh__heap_at(&s->due, i), jh__sjob, due);
        if (j->spec.kind != JH_SCHED_CRON)
            continue;
        if (j->next_real <= real && j->next_real != j->last_real) {
            /* stepped forward over it: fire once, now (unless that time
             * already fired and no later one could be planned) */
            j->due.key = mono;
        } else {
            int64_t after = real > j->last_real ? real - 1 : j->last_real;
            if (plan_cron(s, j, after, real, mono) < 0)
                j->due.key = INT64_MAX;
        }
    }
    jh__heap_rebuild(&s->due);
    s->armed_at = -1;
    arm_timer(s);
}

static void on_step(uv_poll_t *p, int status, int events)
{
    jh__sched *s = p->data;
    uint64_t ticks;

    if (read(s->step_fd, &ticks, sizeof(ticks)) < 0 && errno == ECANCELED) {
        arm_step_detector(s);
        jh__sched_clock_stepped(s); /* the path t/sched/sched_step.t drives */
    }
}

/* ---- public ---------------------------------------------------------- */

int jh__sched_new(const jh__sched_opts *opts, jh__sched **out)
{
    jh__sched *s;

    if (opts == NULL || opts->ops == NULL || opts->ops->exec == NULL ||
        opts->ops->done == NULL || opts->ops->skip == NULL ||
        (!opts->manual && (opts->loop == NULL || opts->workers < 1)))
        return -EINVAL;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    s->o = *opts;
    s->tfd = s->step_fd = -1;
    s->armed_at = -1;
    *out = s;
    return 0;
}

/* The loop's side (not in manual mode): the timers, their watchers and
 * the worker pool. */
static int start_loop(jh__sched *s)
{
    int rc;

    s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (s->tfd < 0)
        return -errno;
    s->step_fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
    if (s->step_fd < 0) {
        rc = -errno;
        goto fail_step;
    }
    rc = jh__workers_new(s->o.loop, s->o.workers, exec_work, done_work, s, &s->workers);
    if (rc < 0)
        goto fail_workers;
    uv_poll_init(s->o.loop, &s->tpoll, s->tfd);
    uv_poll_init(s->o.loop, &s->spoll, s->step_fd);
    s->tpoll.data = s->spoll.data = s;
    uv_poll_start(&s->tpoll, UV_READABLE, on_timer);
    uv_poll_start(&s->spoll, UV_READABLE, on_step);
    uv_timer_init(s->o.loop, &s->stop_timer);
    s->stop_timer.data = s;
    arm_step_detector(s);
    return 0;

fail_workers:
    close(s->step_fd);
    s->step_fd = -1;
fail_step:
    close(s->tfd);
    s->tfd = -1;
    return rc;
}

int jh__sched_start(jh__sched *s)
{
    int rc;

    if (s->started)
        return -EALREADY;
    if (!s->o.manual && (rc = start_loop(s)) < 0)
        return rc;
    s->started = 1;
    arm_timer(s); /* jobs added before start */
    return 0;
}

static int spec_valid(const jh__sched_spec *sp)
{
    if (sp->kind == JH_SCHED_EVERY)
        return sp->every > 0;
    if (sp->kind == JH_SCHED_CRON)
        return sp->cron != NULL;
    return 0;
}

int jh__sched_add(jh__sched *s, const jh__sched_spec *spec, void *udata, jh__sjob **out)
{
    jh__sjob *j;
    int rc;

    if (s == NULL || spec == NULL || !spec_valid(spec))
        return -EINVAL;
    j = calloc(1, sizeof(*j));
    if (j == NULL)
        return -ENOMEM;
    j->spec = *spec;
    j->spec.jitter_key = NULL; /* not owned; only its hash is kept */
    if (j->spec.max_running < 1)
        j->spec.max_running = 1;
    j->jitter_off = jitter_of(spec);
    j->udata = udata;
    jh__heap_node_init(&j->due);
    j->last_real = INT64_MIN;
    rc = arm_first(s, j);
    if (rc < 0) {
        free(j);
        return rc;
    }
    j->all_next = s->all;
    if (s->all)
        s->all->all_prev = j;
    s->all = j;
    if (out)
        *out = j;
    arm_timer(s);
    return 0;
}

int jh__sched_same_schedule(const jh__sjob *j, const jh__sched_spec *sp)
{
    if (j->spec.kind != sp->kind || j->jitter_off != jitter_of(sp) ||
        j->spec.enabled != sp->enabled)
        return 0;
    if (sp->kind == JH_SCHED_EVERY)
        return j->spec.every == sp->every;
    return jh__cron_equal(j->spec.cron, sp->cron);
}

int jh__sched_update(jh__sched *s, jh__sjob *j, const jh__sched_spec *spec, void *udata)
{
    int same, rc;

    if (s == NULL || j == NULL || spec == NULL || !spec_valid(spec))
        return -EINVAL;
    same = jh__sched_same_schedule(j, spec);
    /* A new schedule arms the job again: a job not armed now needs a new
     * slot, taken before anything changes, so that running out of memory
     * leaves the job as it was. */
    if (!same && !jh__heap_has(&j->due) && (rc = jh__heap_reserve(&s->due, 1)) < 0)
        return rc;
    if (j->spec.cron != spec->cron)
        jh__cron_free(j->spec.cron);
    int keep_start = spec->run_on_start;
    j->spec = *spec;
    j->spec.jitter_key = NULL;
    if (j->spec.max_running < 1)
        j->spec.max_running = 1;
    j->udata = udata;
    if (same)
        return 0; /* keeps its heap position: same phase */
    jh__heap_remove(&s->due, &j->due);
    j->jitter_off = jitter_of(spec);
    j->spec.run_on_start = 0; /* a changed schedule starts on its phase */
    rc = arm_first(s, j);     /* cannot fail: room reserved above */
    j->spec.run_on_start = keep_start;
    arm_timer(s);
    return rc;
}

void jh__sched_remove(jh__sched *s, jh__sjob *j)
{
    if (s == NULL || j == NULL)
        return;
    jh__heap_remove(&s->due, &j->due);
    j->removed = 1;
    if (j->running == 0)
        release_job(s, j);
    arm_timer(s);
}

int64_t jh__sched_next_fire(const jh__sjob *j)
{
    if (!jh__heap_has(&j->due))
        return INT64_MAX;
    if (j->spec.kind == JH_SCHED_CRON)
        return j->next_real + j->jitter_off;
    return j->due.key - jh__monotonic_ns() + jh__realtime_ns();
}

int jh__sched_running(const jh__sjob *j)
{
    return j->running;
}

int jh__sched_queued(const jh__sched *s)
{
    return atomic_load(&s->waiting);
}

static void maybe_stopped(jh__sched *s)
{
    if (!s->stopping || s->stop_cb == NULL || s->n_inflight > 0)
        return;
    void (*cb)(jh__sched *, int, void *) = s->stop_cb;
    s->stop_cb = NULL;
    if (!s->o.manual)
        uv_timer_stop(&s->stop_timer);
    cb(s, 0, s->stop_arg);
}

static void on_stop_timeout(uv_timer_t *t)
{
    jh__sched *s = t->data;
    void (*cb)(jh__sched *, int, void *) = s->stop_cb;

    if (cb == NULL)
        return;
    s->stop_cb = NULL;
    cb(s, s->n_inflight, s->stop_arg);
}

void jh__sched_stop(jh__sched *s, int64_t timeout,
                   void (*cb)(jh__sched *, int left, void *arg), void *arg)
{
    s->stopping = 1;
    s->stop_cb = cb;
    s->stop_arg = arg;
    for (run_priv *r = s->inflight; r != NULL; r = r->next)
        atomic_store(&r->run.cancel, 1);
    if (s->n_inflight > 0 && !s->o.manual && s->started) {
        uint64_t ms = timeout <= 0 ? 0 : (uint64_t)((timeout + 999999) / 1000000);
        uv_timer_start(&s->stop_timer, on_stop_timeout, ms, 0);
    }
    arm_timer(s);
    if (s->n_inflight == 0 || s->o.manual || !s->started)
        maybe_stopped(s);
}

static void on_handle_closed(uv_handle_t *h)
{
    jh__sched *s = h->data;

    if (--s->pending_closes == 0)
        free(s);
}

/* Release every job's udata; free the jobs no run uses. */
static void release_jobs(jh__sched *s)
{
    for (jh__sjob *j = s->all, *nx; j != NULL; j = nx) {
        nx = j->all_next;
        jh__heap_node_init(&j->due);
        if (j->removed)
            continue; /* released already; freed when its run is done */
        if (s->o.ops->release)
            s->o.ops->release(j->udata);
        j->removed = 1;
        if (j->running == 0)
            job_free(s, j);
    }
}

void jh__sched_free(jh__sched *s)
{
    int abandon;

    if (s == NULL)
        return;
    s->closing = 1;
    abandon = s->n_inflight > 0;
    release_jobs(s);
    jh__heap_free(&s->due);
    jh__heap_free(&s->timeouts);
    if (!abandon)
        for (run_priv *r = s->free_runs, *n; r != NULL; r = n) {
            n = r->next;
            free(r);
        }
    if (s->o.manual || !s->started) {
        if (!abandon)
            free(s);
        return;
    }
    jh__workers_close(s->workers, abandon);
    if (abandon)
        return; /* leaked on purpose, see jh__workers_close */
    close(s->tfd);
    close(s->step_fd);
    s->pending_closes = 3;
    uv_close((uv_handle_t *)&s->tpoll, on_handle_closed);
    uv_close((uv_handle_t *)&s->spoll, on_handle_closed);
    uv_close((uv_handle_t *)&s->stop_timer, on_handle_closed);
}

void jh__sched_clock_stepped(jh__sched *s)
{
    if (s == NULL || s->closing)
        return;
    replan_cron(s);
}

void jh__sched_advance(jh__sched *s)
{
    process(s);
}
