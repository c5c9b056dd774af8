/*
 * sched_manual.t - the scheduler in manual mode: an injected clock, runs
 * executed inline by jh__sched_advance().  Exact fire times for interval and
 * cron jobs, jitter, run_on_start, results, phase kept across updates,
 * release of removed jobs, and clock jumps for cron jobs.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sched/sched.h"
#include "lib/tap.h"

#define S 1000000000LL
static int64_t now = 1767225600LL * S; /* 2026-01-01T00:00:00Z */
static int64_t clock_fn(void *a) { (void)a; return now; }

static int64_t fired[64];
static int nfired, released, last_result, exec_rc;
static int64_t exec_advance;

static int exec_cb(jh__run *r)
{
    if (nfired < 64)
        fired[nfired] = r->scheduled;
    nfired++;
    now += exec_advance;
    return exec_rc;
}
static void done_cb(jh__run *r) { last_result = r->result; }
static void skip_cb(jh__sjob *j, void *u, int64_t s, const char *why) { (void)j; (void)u; (void)s; (void)why; }
static void release_cb(void *u) { (void)u; released++; }

static const jh__sched_ops ops = {exec_cb, done_cb, skip_cb, release_cb, NULL};

static jh__sched *mk(void)
{
    jh__sched_opts o = {.manual = 1, .ops = &ops, .now = clock_fn};
    jh__sched *s;
    if (jh__sched_new(&o, &s) < 0 || jh__sched_start(s) < 0)
        bail("sched");
    return s;
}

static void step_to(jh__sched *s, int64_t t, int64_t dt)
{
    while (now < t) {
        now += dt;
        jh__sched_advance(s);
    }
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
    jh__sched *s;
    jh__sjob *j;
    int64_t t0 = now;

    plan_lazy();
    /* interval: every 5 s from the add time */
    s = mk();
    jh__sched_spec every5 = {.kind = JH_SCHED_EVERY, .every = 5 * S, .enabled = 1, .max_running = 1};
    jh__sched_add(s, &every5, NULL, &j);
    step_to(s, t0 + 21 * S, S / 10);
    is_int(nfired, 4, "every 5s: 4 fires in 21 s");
    ok(fired[0] == t0 + 5 * S && fired[3] == t0 + 20 * S, "at +5 s ... +20 s exactly");
    /* same schedule: phase kept across 100 updates */
    for (int i = 0; i < 100; i++)
        jh__sched_update(s, j, &every5, NULL);
    step_to(s, t0 + 26 * S, S / 10);
    is_int(nfired, 5, "100 updates with the same schedule: no missed or doubled fire");
    is_int(fired[4], t0 + 25 * S, "still on the +25 s phase");
    /* changed schedule: re-phased from now */
    jh__sched_spec every2 = every5;
    every2.every = 2 * S;
    int64_t at = now;
    jh__sched_update(s, j, &every2, NULL);
    step_to(s, at + 2 * S, S / 100);
    is_int(fired[5], at + 2 * S, "a changed schedule starts its new period");
    jh__sched_remove(s, j);
    is_int(released, 1, "remove releases the job's udata once");
    int before = nfired;
    step_to(s, now + 10 * S, S / 10);
    is_int(nfired, before, "a removed job no longer fires");

    /* results */
    nfired = 0;
    jh__sched_spec to = {.kind = JH_SCHED_EVERY, .every = S, .enabled = 1, .max_running = 1,
                        .timeout = 2 * S};
    jh__sched_add(s, &to, NULL, &j);
    exec_advance = 3 * S; /* the run takes 3 s, past its 2 s timeout */
    step_to(s, now + S, S / 10);
    is_int(last_result, JH_RUN_TIMEOUT, "a run past its deadline is a timeout");
    exec_advance = 0;
    exec_rc = -EIO;
    step_to(s, now + 2 * S, S / 10);
    is_int(last_result, JH_RUN_ERROR, "rc < 0 is an error");
    exec_rc = 0;
    step_to(s, now + 2 * S, S / 10);
    is_int(last_result, JH_RUN_OK, "rc 0 is ok");
    jh__sched_remove(s, j);

    /* jitter: stable per key, below the bound; run_on_start */
    nfired = 0;
    t0 = now;
    jh__sched_spec jit = {.kind = JH_SCHED_EVERY, .every = 10 * S, .enabled = 1, .max_running = 1,
                         .jitter = 3 * S, .jitter_key = "job-a", .run_on_start = 1};
    jh__sched_add(s, &jit, NULL, &j);
    jh__sched_advance(s);
    is_int(nfired, 1, "run_on_start: runs at once");
    step_to(s, t0 + 25 * S, S / 100);
    int64_t off = fired[1] - (t0 + 10 * S);
    ok(nfired == 3 && off >= 0 && off < 3 * S, "jittered by %lld ms (< 3 s)", (long long)(off / 1000000));
    is_int(fired[2] - fired[1], 10 * S, "and keeps its period");
    jh__sched *s2 = mk();
    jh__sjob *j2;
    jh__sched_spec jit2 = jit;
    jit2.run_on_start = 0;
    jh__sched_remove(s, j);
    nfired = 0;
    int64_t base = now;
    jh__sched_add(s2, &jit2, NULL, &j2);
    step_to(s2, base + 14 * S, S / 1000);
    ok(nfired == 1 && fired[0] - (base + 10 * S) == off,
       "the same key gets the same jitter in another scheduler (stable per job)");
    jit2.jitter_key = "job-b";
    jh__sched_update(s2, j2, &jit2, NULL);
    ok(jh__sched_next_fire(j2) != INT64_MAX, "another key re-phases the job");
    jh__sched_remove(s2, j2);
    jh__sched_free(s2);

    /* cron: exact wall times; a forward jump fires once; a backward one never refires */
    nfired = 0;
    now = 1767225600LL * S + S / 2; /* 00:00:00.5 */
    jh__sched_spec cr = {.kind = JH_SCHED_CRON, .cron = cron("*/10 * * * * *"), .enabled = 1,
                        .max_running = 1};
    jh__sched_add(s, &cr, NULL, &j);
    step_to(s, 1767225600LL * S + 31 * S, S / 100);
    is_int(nfired, 3, "*/10 s: 3 fires in 30 s");
    ok(fired[0] == 1767225610LL * S && fired[2] == 1767225630LL * S, "at :10, :20, :30 exactly");
    now += 3600 * S; /* the clock jumps an hour forward */
    jh__sched_advance(s);
    jh__sched_advance(s);
    is_int(nfired, 4, "an hour jump forward fires once, not 360 times");
    int64_t last = fired[3];
    now -= 1800 * S; /* and half an hour back */
    step_to(s, now + 60 * S, S / 10);
    is_int(nfired, 4, "after a jump back nothing already run fires again");
    ok(fired[3] == last, "(the last fire stays the last)");
    jh__sched_remove(s, j);

    /* concurrency in manual mode: a run is inline, so it never overlaps */
    is_int(released, 5, "every removed job released exactly once");
    jh__sched_free(s);
    jh__tz_cache_free();
    return done_testing();
}
