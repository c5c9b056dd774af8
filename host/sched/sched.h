/*
 * sched.h - the scheduler: timers on one libuv loop, runs on a worker pool.
 *
 * Generic over what a job is: the host gives each job an opaque `udata`
 * and three callbacks.  exec() runs on a worker thread, never on the loop
 * thread, so a slow job delays no other job's start; done() and skip() run
 * on the loop thread.
 *
 * Time: fire times are wall-clock (CLOCK_REALTIME ns).  Timers are kept in
 * one min-heap and armed on a timerfd; a clock step (NTP, an admin) is
 * detected with TFD_TIMER_CANCEL_ON_SET and handled so that cron jobs still
 * fire at the right wall time and interval jobs keep their period (they
 * are paced on CLOCK_MONOTONIC).  libuv timers are not used: they have
 * millisecond granularity and follow the monotonic clock only.
 *
 * Tests use manual mode (opts.manual = 1): no timerfd and no threads; the
 * test sets the clock and calls jh__sched_advance(), and exec() runs inline.
 */
#ifndef JH_SCHED_H
#define JH_SCHED_H

#include <stdatomic.h>
#include <stdint.h>
#include <uv.h>

#include "base/clock.h"     /* jh_now_fn */
#include "config/config.h" /* JH_SCHED_*, JH_CONC_* */
#include "time/cron.h"

typedef struct jh__sched jh__sched;
typedef struct jh__sjob jh__sjob;

enum jh__run_result {
    JH_RUN_OK = 0,
    JH_RUN_ERROR = 1,     /* exec returned < 0 */
    JH_RUN_TIMEOUT = 2,   /* the deadline passed before exec returned */
    JH_RUN_CANCELLED = 3  /* the scheduler was stopping */
};

typedef struct jh__run {
    jh__sjob *job;
    void *udata;          /* the job's udata when the run started */
    uint64_t run_id;      /* unique in this scheduler, from 1 */
    int64_t scheduled;    /* planned fire time, realtime ns */
    int64_t fired;        /* when the loop handed it to a worker, realtime ns */
    int64_t started;      /* exec start, realtime ns */
    int64_t finished;     /* exec end, realtime ns */
    int64_t deadline;     /* realtime ns, INT64_MAX if no timeout */
    atomic_int cancel;    /* set at the deadline or on stop */
    int rc;               /* exec's return value */
    int result;           /* JH_RUN_* (set before done()) */
    void *priv_;          /* scheduler-private */
} jh__run;

typedef struct jh__sched_ops {
    int (*exec)(jh__run *run);                         /* worker thread */
    void (*done)(jh__run *run);                        /* loop thread */
    void (*skip)(jh__sjob *job, void *udata, int64_t scheduled, const char *reason);
    /* The job was removed and has no run in flight: release udata. */
    void (*release)(void *udata);
    /* Optional, loop thread: the run is still in flight `over` ns past its
     * deadline, and the overdue margin, JH__SCHED_OVERDUE_MARGIN(timeout),
     * has passed; called once per run.  `started`: 0 if the run is still
     * queued for a worker.  (Manual mode: called at the run's end if it
     * finished that late.) */
    void (*overdue)(jh__run *run, int64_t over, int started);
} jh__sched_ops;

/* How long past its deadline a run may go before it is reported overdue:
 * 1 s, or 10% of its timeout if that is longer. */
#define JH__SCHED_OVERDUE_MARGIN(timeout) ((timeout) / 10 > 1000000000LL ? (timeout) / 10 : 1000000000LL)

typedef struct jh__sched_opts {
    uv_loop_t *loop;      /* may be NULL in manual mode */
    int workers;          /* >= 1 */
    const jh__sched_ops *ops;
    int manual;           /* tests: no timerfd, no threads */
    jh_now_fn now;        /* realtime ns; NULL = clock_gettime */
    jh_now_fn now_mono;   /* monotonic ns; NULL = clock_gettime */
    void *now_arg;
} jh__sched_opts;

typedef struct jh__sched_spec {
    int kind;             /* JH_SCHED_EVERY or JH_SCHED_CRON */
    int64_t every;        /* ns */
    jh__cron *cron;        /* owned by the scheduler from add/update on */
    int64_t jitter;       /* ns; delay = stable hash(jitter_key) % jitter */
    const char *jitter_key;
    int run_on_start;
    int concurrency;      /* JH_CONC_FORBID or JH_CONC_ALLOW */
    int max_running;      /* >= 1 */
    int64_t timeout;      /* ns, 0 = none */
    int enabled;
} jh__sched_spec;

int jh__sched_new(const jh__sched_opts *opts, jh__sched **out);

/* Start firing (timerfd watcher, workers). Jobs added before are armed. */
int jh__sched_start(jh__sched *s);

int jh__sched_add(jh__sched *s, const jh__sched_spec *spec, void *udata, jh__sjob **out);

/*
 * Replace a job's spec and udata.  If the schedule itself (kind, every or
 * cron text and zone, jitter) is unchanged, the job keeps its phase: its
 * next fire time stays as it was, so no fire is missed or doubled across a
 * reload.  Runs in flight keep their old udata.
 */
int jh__sched_update(jh__sched *s, jh__sjob *job, const jh__sched_spec *spec, void *udata);

/* True if `spec` would keep the job's phase (same schedule). */
int jh__sched_same_schedule(const jh__sjob *job, const jh__sched_spec *spec);

/* Remove a job; release(udata) is called once no run of it is in flight. */
void jh__sched_remove(jh__sched *s, jh__sjob *job);

/* Next planned fire (realtime ns), INT64_MAX if disabled. */
int64_t jh__sched_next_fire(const jh__sjob *job);
int jh__sched_running(const jh__sjob *job);
/* Runs handed to the worker pool that no worker has started yet. */
int jh__sched_queued(const jh__sched *s);

/*
 * Stop: no new fires, set cancel on every running run, wait up to
 * `timeout` ns for them, then call cb on the loop thread with the number
 * of runs still in flight (0 = clean).  Runs that outlive the timeout are
 * abandoned (the process is expected to exit).
 */
void jh__sched_stop(jh__sched *s, int64_t timeout, void (*cb)(jh__sched *, int left, void *arg),
                   void *arg);

/* After stop's callback (or before start): free everything.  Closing the
 * uv handles is asynchronous; run the loop once more after this. */
void jh__sched_free(jh__sched *s);

/*
 * The wall clock was set: replan every cron job from the new wall time
 * (policy in sched.c).  The scheduler calls this itself when its
 * CLOCK_REALTIME cancel-on-set timerfd reports a clock set; it is public
 * so that a test can inject opts.now, move it, and simulate the step
 * without touching the system clock.  Loop thread only.
 */
void jh__sched_clock_stepped(jh__sched *s);

/* Manual mode: fire everything due at now() and run it inline. */
void jh__sched_advance(jh__sched *s);

#endif
