/*
 * sched_step.t - wall-clock steps, end to end on a real loop: timerfd,
 * worker threads, jh__sched_clock_stepped().  The system clock is never
 * set (CI machines run other things): the scheduler's realtime source is
 * injected as CLOCK_MONOTONIC + an offset the test moves, and the test
 * reports the step the way the CLOCK_REALTIME cancel-on-set timerfd would.
 *
 * Timeline (wall times on 2026-01-01, T0 = 00:00:00):
 *   start at 00:00:01      A = cron "0 * * * * *", B = cron "30 * * * * *",
 *                          C = every 200 ms
 *   step to 00:00:59.5     B (00:00:30 jumped over) fires once, at once;
 *                          A fires at 00:01:00 exactly (not 58 s later)
 *   step back 45 s         nothing that already ran fires again: A next
 *                          00:02:00, B next 00:01:30; no cron fire for 1.2 s
 *   step to 00:01:29.6     B fires at 00:01:30 exactly, once
 * C keeps its 200 ms period through all of it (no burst, no stall).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sched/sched.h"
#include "lib/tap.h"

#define S 1000000000LL
#define MS 1000000LL
#define T0 (1767225600LL * S)
#define MAXF 256

enum { JA, JB, JC };

static atomic_llong off; /* wall = CLOCK_MONOTONIC + off */

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * S + ts.tv_nsec;
}
static int64_t wall_fn(void *a) { (void)a; return mono_ns() + atomic_load(&off); }
static int64_t mono_fn(void *a) { (void)a; return mono_ns(); }

static void set_wall(int64_t wall) { atomic_store(&off, wall - mono_ns()); }

/* Per job: every fire's scheduled / started (wall) and exec's monotonic time. */
static struct fires {
    int n;
    int64_t sched[MAXF], started[MAXF], mono[MAXF];
} f[3];
static int64_t exec_mono[MAXF]; /* C only; read in done (ordered by the pool) */
static int ids[3] = {JA, JB, JC};

static int exec_cb(jh__run *r)
{
    if (*(int *)r->udata == JC) {
        int i = f[JC].n; /* C never overlaps itself (forbid) */
        if (i < MAXF)
            exec_mono[i] = mono_ns();
    }
    return 0;
}

static void done_cb(jh__run *r)
{
    int id = *(int *)r->udata;
    struct fires *x = &f[id];
    if (x->n < MAXF) {
        x->sched[x->n] = r->scheduled;
        x->started[x->n] = r->started;
        x->mono[x->n] = id == JC ? exec_mono[x->n] : mono_ns();
    }
    x->n++;
}

static void skip_cb(jh__sjob *j, void *u, int64_t s, const char *why)
{
    (void)j;
    (void)s;
    diag("skip job %d: %s", *(int *)u, why);
}

static const jh__sched_ops ops = {exec_cb, done_cb, skip_cb, NULL, NULL};

static jh__sched *sch;
static jh__sjob *ja, *jb;
static int stage;
static int64_t t_start, t_stage, t_step1, t_step3;
static int nA_after1, nB_after1, nA_in2, nB_in2, nA_end;
static int64_t nextA2, nextB2;
static int timed_out, stopped, last_stage;
static uv_timer_t tick;

static void on_stopped(jh__sched *s, int left, void *arg)
{
    (void)s;
    (void)arg;
    if (left)
        diag("%d runs still in flight at stop", left);
    stopped = 1;
}

static void finish(void)
{
    uv_timer_stop(&tick);
    last_stage = stage;
    stage = 99;
    jh__sched_stop(sch, 5 * S, on_stopped, NULL);
}

static void on_tick(uv_timer_t *t)
{
    int64_t now = mono_ns();

    if (now - t_start > 20 * S) { /* generous: the whole timeline is ~3 s */
        timed_out = 1;
        finish();
        return;
    }
    switch (stage) {
    case 0: /* let C settle on its period, then jump forward */
        if (now - t_start < 500 * MS)
            return;
        set_wall(T0 + 59 * S + 500 * MS);
        t_step1 = mono_ns();
        jh__sched_clock_stepped(sch);
        stage = 1;
        return;
    case 1: /* A and B fired; linger to see that neither fires again */
        if (f[JA].n < 1 || f[JB].n < 1) {
            t_stage = now;
            return;
        }
        if (now - t_stage < 300 * MS)
            return;
        nA_after1 = f[JA].n;
        nB_after1 = f[JB].n;
        set_wall(wall_fn(NULL) - 45 * S);
        jh__sched_clock_stepped(sch);
        nextA2 = jh__sched_next_fire(ja);
        nextB2 = jh__sched_next_fire(jb);
        t_stage = now;
        stage = 2;
        return;
    case 2: /* backward: nothing fires again for a while */
        if (now - t_stage < 1200 * MS)
            return;
        nA_in2 = f[JA].n - nA_after1;
        nB_in2 = f[JB].n - nB_after1;
        set_wall(T0 + 89 * S + 600 * MS);
        t_step3 = mono_ns();
        jh__sched_clock_stepped(sch);
        stage = 3;
        return;
    case 3:
        if (f[JB].n < nB_after1 + 1) {
            t_stage = now;
            return;
        }
        if (now - t_stage < 300 * MS)
            return;
        nA_end = f[JA].n;
        finish();
        return;
    }
    (void)t;
}

static jh__cron *cron(const char *x)
{
    jh__cron *c;
    jh_err e;
    if (jh__cron_parse(x, NULL, &c, &e) < 0)
        bail("%s", e.msg);
    return c;
}

int main(void)
{
    uv_loop_t loop;
    jh__sched_opts o = {.workers = 2, .ops = &ops, .now = wall_fn, .now_mono = mono_fn};
    jh__sched_spec a = {.kind = JH_SCHED_CRON, .cron = cron("0 * * * * *"), .enabled = 1,
                       .max_running = 1};
    jh__sched_spec b = {.kind = JH_SCHED_CRON, .cron = cron("30 * * * * *"), .enabled = 1,
                       .max_running = 1};
    jh__sched_spec c = {.kind = JH_SCHED_EVERY, .every = 200 * MS, .enabled = 1,
                       .max_running = 1};

    plan_lazy();
    uv_loop_init(&loop);
    o.loop = &loop;
    set_wall(T0 + S);
    if (jh__sched_new(&o, &sch) < 0 || jh__sched_start(sch) < 0 ||
        jh__sched_add(sch, &a, &ids[JA], &ja) < 0 || jh__sched_add(sch, &b, &ids[JB], &jb) < 0 ||
        jh__sched_add(sch, &c, &ids[JC], NULL) < 0)
        bail("cannot start the scheduler");
    is_int(jh__sched_next_fire(ja), T0 + 60 * S, "A (every minute at :00) is planned for 00:01:00");
    is_int(jh__sched_next_fire(jb), T0 + 30 * S, "B (every minute at :30) is planned for 00:00:30");
    t_start = mono_ns();
    uv_timer_init(&loop, &tick);
    uv_timer_start(&tick, on_tick, 5, 5);
    while (!stopped)
        uv_run(&loop, UV_RUN_ONCE);
    jh__sched_free(sch);
    uv_close((uv_handle_t *)&tick, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);

    ok(!timed_out, "the timeline completed (last stage: %d of 3)", last_stage);

    /* forward step over B's 00:00:30 and up to A's 00:01:00 */
    is_int(nB_after1, 1, "forward over B's fire time: B fires once, not once per skipped time");
    is_int(f[JB].sched[0], T0 + 30 * S, "  for the 00:00:30 it jumped over");
    ok(f[JB].mono[0] - t_step1 < S, "  at once (%lld ms after the step)",
       (long long)((f[JB].mono[0] - t_step1) / MS));
    is_int(nA_after1, 1, "A fires once after the forward step");
    is_int(f[JA].sched[0], T0 + 60 * S, "  scheduled 00:01:00");
    ok(f[JA].started[0] >= T0 + 60 * S && f[JA].started[0] < T0 + 61 * S,
       "  and started at 00:01:00 wall time (+%lld us), not 58 s later",
       (long long)((f[JA].started[0] - (T0 + 60 * S)) / 1000));
    ok(f[JA].mono[0] - t_step1 > 300 * MS && f[JA].mono[0] - t_step1 < 3 * S,
       "  ~0.5 s after the step (%lld ms)", (long long)((f[JA].mono[0] - t_step1) / MS));

    /* backward step */
    is_int(nextA2, T0 + 120 * S, "backward 45 s: A's next is 00:02:00, not 00:01:00 again");
    is_int(nextB2, T0 + 90 * S, "  B's next is 00:01:30, not 00:00:30 again");
    ok(nA_in2 == 0 && nB_in2 == 0, "  no cron job fires again after the step back (A %d, B %d)",
       nA_in2, nB_in2);

    /* forward again up to B's next */
    ok(f[JB].n == nB_after1 + 1, "forward to 00:01:29.6: B fires once (%d)", f[JB].n - nB_after1);
    is_int(f[JB].sched[1], T0 + 90 * S, "  scheduled 00:01:30");
    ok(f[JB].started[1] >= T0 + 90 * S && f[JB].mono[1] - t_step3 < 3 * S,
       "  on time in wall and real time (%lld ms after the step)",
       (long long)((f[JB].mono[1] - t_step3) / MS));
    is_int(nA_end, 1, "A did not fire again");

    /* the interval job through three steps */
    int n = f[JC].n < MAXF ? f[JC].n : MAXF, bad = 0;
    int64_t lo = INT64_MAX, hi = 0;
    for (int i = 1; i < n; i++) {
        int64_t g = f[JC].mono[i] - f[JC].mono[i - 1];
        lo = g < lo ? g : lo;
        hi = g > hi ? g : hi;
        bad += g < 100 * MS || g > 400 * MS;
    }
    int64_t span = n > 1 ? f[JC].mono[n - 1] - f[JC].mono[0] : 0;
    ok(n >= 10 && bad == 0, "C every 200 ms: %d fires, gaps %lld..%lld ms (no burst, no stall)",
       n, (long long)(lo / MS), (long long)(hi / MS));
    ok(n > 1 && (span + 100 * MS) / (200 * MS) == n - 1,
       "  keeps its period: %d fires over %lld ms", n, (long long)(span / MS));

    jh__tz_cache_free();
    return done_testing();
}
