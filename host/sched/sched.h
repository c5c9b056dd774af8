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
 * test sets the clock and calls jh_sched_advance(), and exec() runs inline.
 */
#ifndef JH_SCHED_H
#define JH_SCHED_H

#include <stdatomic.h>
#include <stdint.h>
#include <uv.h>

#include "config/config.h" /* JH_SCHED_*, JH_CONC_* */
#include "time/cron.h"
#include "runtime/store.h"  /* jh_now_fn */

typedef struct jh_sched jh_sched;
typedef struct jh_sjob jh_sjob;

enum jh_run_result {
    JH_RUN_OK = 0,
    JH_RUN_ERROR = 1,     /* exec returned < 0 */
    JH_RUN_TIMEOUT = 2,   /* the deadline passed before exec returned */
    JH_RUN_CANCELLED = 3  /* the scheduler was stopping */
};

typedef struct jh_run {
    jh_sjob *job;
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
} jh_run;

typedef struct jh_sched_ops {
    int (*exec)(jh_run *run);                         /* worker thread */
    void (*done)(jh_run *run);                        /* loop thread */
    void (*skip)(jh_sjob *job, void *udata, int64_t scheduled, const char *reason);
    /* The job was removed and has no run in flight: release udata. */
    void (*release)(void *udata);
} jh_sched_ops;

typedef struct jh_sched_opts {
    uv_loop_t *loop;      /* may be NULL in manual mode */
    int workers;          /* >= 1 */
    const jh_sched_ops *ops;
    int manual;           /* tests: no timerfd, no threads */
    jh_now_fn now;        /* realtime ns; NULL = clock_gettime */
    jh_now_fn now_mono;   /* monotonic ns; NULL = clock_gettime */
    void *now_arg;
} jh_sched_opts;

typedef struct jh_sched_spec {
    int kind;             /* JH_SCHED_EVERY or JH_SCHED_CRON */
    int64_t every;        /* ns */
    jh_cron *cron;        /* owned by the scheduler from add/update on */
    int64_t jitter;       /* ns; delay = stable hash(jitter_key) % jitter */
    const char *jitter_key;
    int run_on_start;
    int concurrency;      /* JH_CONC_FORBID or JH_CONC_ALLOW */
    int max_running;      /* >= 1 */
    int64_t timeout;      /* ns, 0 = none */
    int enabled;
} jh_sched_spec;

int jh_sched_new(const jh_sched_opts *opts, jh_sched **out);

/* Start firing (timerfd watcher, workers). Jobs added before are armed. */
int jh_sched_start(jh_sched *s);

int jh_sched_add(jh_sched *s, const jh_sched_spec *spec, void *udata, jh_sjob **out);

/*
 * Replace a job's spec and udata.  If the schedule itself (kind, every or
 * cron text and zone, jitter) is unchanged, the job keeps its phase: its
 * next fire time stays as it was, so no fire is missed or doubled across a
 * reload.  Runs in flight keep their old udata.
 */
int jh_sched_update(jh_sched *s, jh_sjob *job, const jh_sched_spec *spec, void *udata);

/* True if `spec` would keep the job's phase (same schedule). */
int jh_sched_same_schedule(const jh_sjob *job, const jh_sched_spec *spec);

/* Remove a job; release(udata) is called once no run of it is in flight. */
void jh_sched_remove(jh_sched *s, jh_sjob *job);

/* Next planned fire (realtime ns), INT64_MAX if disabled. */
int64_t jh_sched_next_fire(const jh_sjob *job);
int jh_sched_running(const jh_sjob *job);

/*
 * Stop: no new fires, set cancel on every running run, wait up to
 * `timeout` ns for them, then call cb on the loop thread with the number
 * of runs still in flight (0 = clean).  Runs that outlive the timeout are
 * abandoned (the process is expected to exit).
 */
void jh_sched_stop(jh_sched *s, int64_t timeout, void (*cb)(jh_sched *, int left, void *arg),
                   void *arg);

/* After stop's callback (or before start): free everything.  Closing the
 * uv handles is asynchronous; run the loop once more after this. */
void jh_sched_free(jh_sched *s);

/*
 * The wall clock was set: replan every cron job from the new wall time
 * (policy in sched.c).  The scheduler calls this itself when its
 * CLOCK_REALTIME cancel-on-set timerfd reports a clock set; it is public
 * so that a test can inject opts.now, move it, and simulate the step
 * without touching the system clock.  Loop thread only.
 */
void jh_sched_clock_stepped(jh_sched *s);

/* Manual mode: fire everything due at now() and run it inline. */
void jh_sched_advance(jh_sched *s);

#endif
