/*
 * sched_overdue.t - runs that outlive their timeout are reported once
 * (overdue()), and a tick whose earlier run waits for a worker is skipped
 * with reason "queued", not "running".
 *
 * Part 1, manual mode with an injected clock: the exact `over` and the
 * margin (1 s, or 10% of the timeout if longer).  Part 2, a real loop with
 * one worker: a run that ignores its 50 ms timeout holds the worker; the
 * other job's run waits in the queue, its ticks are "queued", and the
 * overdue report comes once, about 1 s past the deadline.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sched/sched.h"
#include "lib/tap.h"

#define S 1000000000LL
#define MS 1000000LL

/* ---- part 1: manual mode -------------------------------------------- */

static int64_t now = 1767225600LL * S;
static int64_t clock_fn(void *a) { (void)a; return now; }
static int64_t exec_advance;
static char events[64][80];
static int nev;

static void event(const char *fmt, long long a, long long b)
{
    if (nev < 64)
        snprintf(events[nev++], sizeof(events[0]), fmt, a, b);
}

static int m_exec(jh__run *r) { (void)r; now += exec_advance; return 0; }
static void m_done(jh__run *r) { event("done %lld result=%lld", (long long)r->run_id, r->result); }
static void m_skip(jh__sjob *j, void *u, int64_t s, const char *why)
{
    (void)j; (void)u; (void)s; (void)why;
    event("skip", 0, 0);
}
static void m_overdue(jh__run *r, int64_t over, int started)
{
    event("overdue %lld over=%lld", (long long)r->run_id, started ? over : -1);
}

static const jh__sched_ops m_ops = {m_exec, m_done, m_skip, NULL, m_overdue};

/* One run of a job with `timeout` that takes `takes`; the events it gave. */
static void one_run(jh__sched *s, int64_t timeout, int64_t takes)
{
    jh__sched_spec sp = {.kind = JH_SCHED_EVERY, .every = 3600 * S, .enabled = 1,
                         .max_running = 1, .timeout = timeout, .run_on_start = 1};
    jh__sjob *j;

    nev = 0;
    exec_advance = takes;
    if (jh__sched_add(s, &sp, NULL, &j) < 0)
        bail("add");
    jh__sched_advance(s);
    jh__sched_remove(s, j);
}

static void test_manual(void)
{
    jh__sched_opts o = {.manual = 1, .ops = &m_ops, .now = clock_fn};
    jh__sched *s;

    if (jh__sched_new(&o, &s) < 0 || jh__sched_start(s) < 0)
        bail("sched");
    ok(JH__SCHED_OVERDUE_MARGIN(2 * S) == S && JH__SCHED_OVERDUE_MARGIN(20 * S) == 2 * S,
       "margin: 1 s, or 10%% of the timeout if longer");
    one_run(s, 2 * S, 2 * S + 999 * MS);
    ok(nev == 1 && strcmp(events[0], "done 1 result=2") == 0,
       "999 ms past a 2 s timeout: a timeout, not overdue (%s)", events[0]);
    one_run(s, 2 * S, 3 * S + 250 * MS);
    ok(nev == 2 && strcmp(events[0], "overdue 2 over=1250000000") == 0 &&
           strcmp(events[1], "done 2 result=2") == 0,
       "1.25 s past a 2 s timeout: overdue once, with how long, then done (%s)", events[0]);
    one_run(s, 20 * S, 21 * S + 500 * MS);
    ok(nev == 1, "1.5 s past a 20 s timeout: within its 2 s margin");
    one_run(s, 20 * S, 22 * S);
    ok(nev == 2 && strcmp(events[0], "overdue 4 over=2000000000") == 0,
       "2 s past a 20 s timeout: overdue (%s)", events[0]);
    one_run(s, 0, 100 * S);
    ok(nev == 1 && strcmp(events[0], "done 5 result=0") == 0, "no timeout: never overdue");
    jh__sched_free(s);
}

/* ---- part 2: a real loop, one worker -------------------------------- */

static atomic_int release_hog;
static int hog_tag, beat_tag;
static int beat_queued, beat_running, beat_done, hog_skips, n_overdue;
static uint64_t overdue_id;
static int overdue_started;
static int64_t overdue_over;

static int r_exec(jh__run *r)
{
    struct timespec ts = {0, 5 * MS};

    while (r->udata == &hog_tag && !atomic_load(&release_hog))
        nanosleep(&ts, NULL); /* ignores its cancellation */
    return 0;
}
static void r_done(jh__run *r) { beat_done += r->udata == &beat_tag; }
static void r_skip(jh__sjob *j, void *u, int64_t s, const char *why)
{
    (void)j; (void)s;
    if (u == &hog_tag)
        hog_skips++;
    else if (strcmp(why, "queued") == 0)
        beat_queued++;
    else if (strcmp(why, "running") == 0)
        beat_running++;
}
static void r_overdue(jh__run *r, int64_t over, int started)
{
    if (n_overdue++ == 0) {
        overdue_id = r->run_id;
        overdue_over = over;
        overdue_started = started;
    }
}

static const jh__sched_ops r_ops = {r_exec, r_done, r_skip, NULL, r_overdue};

static void release_cb(uv_timer_t *t)
{
    (void)t;
    atomic_store(&release_hog, 1);
}

static void quit_cb(uv_timer_t *t) { uv_stop(t->loop); }
static void stopped(jh__sched *s, int left, void *arg) { (void)s; *(int *)arg = left + 1; }

static void test_loop(void)
{
    uv_loop_t *loop = uv_default_loop();
    jh__sched_opts o = {.loop = loop, .workers = 1, .ops = &r_ops};
    jh__sched_spec hog = {.kind = JH_SCHED_EVERY, .every = 3600 * S, .enabled = 1,
                          .max_running = 1, .timeout = 50 * MS, .run_on_start = 1};
    jh__sched_spec beat = {.kind = JH_SCHED_EVERY, .every = 100 * MS, .enabled = 1,
                           .max_running = 1};
    uv_timer_t rel, quit;
    jh__sched *s;
    int stop_left = 0;

    if (jh__sched_new(&o, &s) < 0 || jh__sched_add(s, &hog, &hog_tag, NULL) < 0 ||
        jh__sched_add(s, &beat, &beat_tag, NULL) < 0 || jh__sched_start(s) < 0)
        bail("sched");
    uv_timer_init(loop, &rel);
    uv_timer_init(loop, &quit);
    uv_timer_start(&rel, release_cb, 1400, 0);
    uv_timer_start(&quit, quit_cb, 1700, 0);
    uv_run(loop, UV_RUN_DEFAULT);
    jh__sched_stop(s, 5 * S, stopped, &stop_left);
    while (stop_left == 0)
        uv_run(loop, UV_RUN_ONCE);
    jh__sched_free(s);
    uv_close((uv_handle_t *)&rel, NULL);
    uv_close((uv_handle_t *)&quit, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);

    is_int(n_overdue, 1, "one overdue report for the run that ignored its timeout");
    ok(overdue_id == 1 && overdue_started == 1, "naming the hog's run (id 1), running");
    ok(overdue_over >= S && overdue_over < S + 300 * MS,
       "about 1 s past its deadline (%lld ms)", (long long)(overdue_over / MS));
    ok(beat_queued >= 5, "the starved job's ticks are skipped as queued (%d)", beat_queued);
    is_int(beat_running, 0, "never as running: its run had not started");
    ok(beat_done >= 1, "it runs once the worker is free (%d runs)", beat_done);
    is_int(hog_skips, 0, "(the hog itself had no tick)");
}

int main(void)
{
    plan_lazy();
    test_manual();
    test_loop();
    return done_testing();
}
