/*
 * sched_oom.t - running out of memory while scheduling: every failure is
 * reported to the caller (an error code, or skip() with "out_of_memory"),
 * and no armed job silently stops firing.
 *
 * malloc and realloc are wrapped (-Wl,--wrap=malloc,--wrap=realloc): they
 * fail while the test says so.  The heaps grow with realloc, runs come
 * from malloc, jobs from calloc (never failed here).  A full heap is made
 * by adding jobs with realloc failing until an add is refused, so nothing
 * depends on the heap's growth policy.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sched/sched.h"
#include "lib/tap.h"

#define S 1000000000LL
#define MS 1000000LL

void *__real_malloc(size_t n);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_realloc(void *p, size_t n);

static atomic_int fail_malloc, fail_realloc;

void *__wrap_malloc(size_t n)
{
    if (atomic_load(&fail_malloc)) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_malloc(n);
}

void *__wrap_realloc(void *p, size_t n)
{
    if (atomic_load(&fail_realloc)) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_realloc(p, n);
}

static int64_t now = 1767225600LL * S; /* 2026-01-01T00:00:00Z */
static int64_t clock_fn(void *a) { (void)a; return now; }

static jh__sched *cur;
static atomic_int nexec, ndone, nskip_oom, nskip_other;
static int add_in_skip, add_in_skip_rc = 1;
static const jh__sched_spec hourly = {.kind = JH_SCHED_EVERY, .every = 3600 * S, .enabled = 1,
                                      .max_running = 1};

static int exec_cb(jh__run *r)
{
    (void)r;
    atomic_fetch_add(&nexec, 1);
    return 0;
}

static void done_cb(jh__run *r)
{
    (void)r;
    atomic_fetch_add(&ndone, 1);
}

static void skip_cb(jh__sjob *j, void *u, int64_t s, const char *why)
{
    (void)j;
    (void)u;
    (void)s;
    atomic_fetch_add(strcmp(why, "out_of_memory") == 0 ? &nskip_oom : &nskip_other, 1);
    if (add_in_skip) {
        /* A callback that schedules more work while the heap is full. */
        add_in_skip = 0;
        atomic_store(&fail_malloc, 0);
        add_in_skip_rc = jh__sched_add(cur, &hourly, NULL, NULL);
    }
}

static const jh__sched_ops ops = {exec_cb, done_cb, skip_cb, NULL, NULL};

static jh__sched *manual(void)
{
    jh__sched_opts o = {.manual = 1, .ops = &ops, .now = clock_fn};
    jh__sched *s;

    if (jh__sched_new(&o, &s) < 0 || jh__sched_start(s) < 0)
        bail("sched");
    return s;
}

/* Add hourly jobs with realloc failing until one is refused: the job heap
 * is then exactly full.  Returns the refusal. */
static int fill(jh__sched *s)
{
    int rc = 0;

    atomic_store(&fail_realloc, 1);
    for (int i = 0; i < 1 << 20 && rc == 0; i++)
        rc = jh__sched_add(s, &hourly, NULL, NULL);
    return rc;
}

/* A disabled job enabled by an update, with no room in the heap. */
static void test_update(void)
{
    jh__sched *s = manual();
    jh__sched_spec off = {.kind = JH_SCHED_EVERY, .every = S, .enabled = 0, .max_running = 1};
    jh__sched_spec on = off;
    jh__sjob *j;

    on.enabled = 1;
    if (jh__sched_add(s, &hourly, NULL, NULL) < 0)
        bail("add");
    is_int(fill(s), -ENOMEM, "add: a heap that cannot grow refuses the job with -ENOMEM");
    is_int(jh__sched_add(s, &off, NULL, &j), 0, "a disabled job needs no room: added");
    is_int(jh__sched_update(s, j, &on, NULL), -ENOMEM,
           "update enabling it: -ENOMEM reported, not a job silently left unarmed");
    ok(jh__sched_same_schedule(j, &off) && jh__sched_next_fire(j) == INT64_MAX,
       "  and the job keeps its old spec");
    atomic_store(&fail_realloc, 0);
    is_int(jh__sched_update(s, j, &on, NULL), 0, "the same update once memory is back");
    ok(jh__sched_next_fire(j) != INT64_MAX, "  arms it");
    now += S;
    jh__sched_advance(s);
    is_int(nexec, 1, "  and it fires");
    jh__sched_free(s);
}

/* A due job whose skip() callback adds a job to a full heap. */
static void test_fire(void)
{
    jh__sched_spec every = {.kind = JH_SCHED_EVERY, .every = S, .enabled = 1, .max_running = 1};
    jh__sjob *j;

    cur = manual();
    atomic_store(&nexec, 0);
    if (jh__sched_add(cur, &every, NULL, &j) < 0)
        bail("add");
    if (fill(cur) != -ENOMEM)
        bail("fill");
    /* No memory for the run: skipped, and skip() adds a job meanwhile. */
    add_in_skip = 1;
    atomic_store(&fail_malloc, 1);
    now += S;
    jh__sched_advance(cur);
    atomic_store(&fail_malloc, 0);
    is_int(nskip_oom, 1, "fire with no memory for the run: skip(out_of_memory)");
    is_int(add_in_skip_rc, -ENOMEM,
           "an add from skip() is refused with -ENOMEM: the fired job keeps its slot");
    ok(jh__sched_next_fire(j) != INT64_MAX, "the fired job is still armed");
    atomic_store(&fail_realloc, 0);
    now += S;
    jh__sched_advance(cur);
    is_int(nexec, 1, "  and fires then");
    jh__sched_free(cur);
    cur = NULL;
}

static void on_tick(uv_timer_t *t)
{
    if (atomic_load(&nskip_oom) + atomic_load(&ndone) > 0 || ++*(int *)t->data > 400)
        uv_stop(t->loop);
}

static void on_stopped(jh__sched *s, int left, void *arg)
{
    (void)s;
    (void)left;
    *(int *)arg = 1;
}

/* Run the loop until a run is skipped or done (at most ~2 s). */
static void run_until_event(uv_loop_t *loop)
{
    uv_timer_t t;
    int ticks = 0;

    atomic_store(&nskip_oom, 0);
    atomic_store(&ndone, 0);
    uv_timer_init(loop, &t);
    t.data = &ticks;
    uv_timer_start(&t, on_tick, 5, 5);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

/* A run with a timeout and no room for its deadline timer (real loop). */
static void test_timeout(void)
{
    jh__sched_opts o = {.workers = 1, .ops = &ops};
    jh__sched_spec to = {.kind = JH_SCHED_EVERY, .every = 20 * MS, .enabled = 1,
                         .max_running = 1, .timeout = S};
    uv_loop_t loop;
    jh__sched *s;
    int stopped = 0;

    uv_loop_init(&loop);
    o.loop = &loop;
    atomic_store(&nexec, 0);
    if (jh__sched_new(&o, &s) < 0 || jh__sched_add(s, &to, NULL, NULL) < 0)
        bail("sched");
    atomic_store(&fail_realloc, 1);
    if (jh__sched_start(s) < 0)
        bail("start");
    run_until_event(&loop);
    ok(nskip_oom >= 1, "no room for a run's deadline timer: skip(out_of_memory)");
    is_int(nexec, 0, "  rather than a run whose timeout nothing enforces");
    atomic_store(&fail_realloc, 0);
    run_until_event(&loop);
    ok(ndone >= 1 && nexec >= 1, "memory back: the next fire runs");
    jh__sched_stop(s, S, on_stopped, &stopped);
    while (!stopped)
        uv_run(&loop, UV_RUN_ONCE);
    jh__sched_free(s);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
}

int main(void)
{
    plan_lazy();
    test_update();
    test_fire();
    is_int(nskip_other, 0, "no skip for another reason");
    test_timeout();
    return done_testing();
}
