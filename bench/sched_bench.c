/*
 * sched_bench - the scheduler's figures for the README.
 *   bench/sched_bench throughput [SECONDS]   fire -> worker no-op -> run.finish
 *                                            logged to /dev/null, 2 workers
 *   bench/sched_bench lateness [SECONDS]     10,000 interval jobs at 1 s spread
 *                                            over the second: started - scheduled
 *   bench/sched_bench memory [N]             RSS per scheduled job (N = 100,000)
 *   bench/sched_bench idle [SECONDS]         one job an hour away; loop wake-ups
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include "runtime/log.h"
#include "sched/sched.h"

static jh__logger *logger;
static atomic_long runs;
static int64_t *lat, *lat_fire;
static atomic_long nlat;
static long lat_cap;

static int exec_noop(jh__run *r)
{
    (void)r;
    return 0;
}

static int exec_lat(jh__run *r)
{
    long i = atomic_fetch_add(&nlat, 1);
    if (i < lat_cap)
{
        lat[i] = r->started - r->scheduled;
        lat_fire[i] = r->fired - r->scheduled;
    }
    return 0;
}

static void done_log(jh__run *r)
{
    jh__kv kv[] = {JH_KV_S("job", "bench"), JH_KV_S("plugin", "bench"),
                  JH_KV_S("handler", "noop"), JH_KV_U("run_id", r->run_id),
                  JH_KV_T("scheduled", r->scheduled), JH_KV_T("started", r->started),
                  JH_KV_MSEC("duration_ms", r->finished - r->started), JH_KV_S("result", "ok")};
    jh__log_kv(logger, 1, "run.finish", kv, sizeof(kv) / sizeof(kv[0]));
    atomic_fetch_add(&runs, 1);
}

static void skip_cb(jh__sjob *j, void *u, int64_t s, const char *why) { (void)j; (void)u; (void)s; (void)why; }

static int64_t mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void on_stop_timer(uv_timer_t *t) { uv_stop(t->loop); }

static long rss_kb(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f && fscanf(f, "%ld %ld", &pages, &rss) != 2)
        rss = 0;
    if (f)
        fclose(f);
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static jh__sched *make(uv_loop_t *loop, jh__sched_ops *ops)
{
    jh__sched_opts o = {.loop = loop, .workers = 2, .ops = ops};
    jh__sched *s;
    if (jh__sched_new(&o, &s) < 0)
        exit(1);
    return s;
}

static void run_for(uv_loop_t *loop, double secs)
{
    static uv_timer_t t; /* static: its close completes in a later uv_run */
    uv_timer_init(loop, &t);
    uv_timer_start(&t, on_stop_timer, (uint64_t)(secs * 1000), 0);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t, NULL);
}

static void on_stopped(jh__sched *s, int left, void *arg)
{
    (void)s;
    (void)left;
    *(int *)arg = 1;
}

static void finish(uv_loop_t *loop, jh__sched *s)
{
    int stopped = 0;

    /* Wait for the runs in flight: freeing with runs in flight abandons
     * the scheduler's handles and the loop below would never end. */
    jh__sched_stop(s, 10000000000LL, on_stopped, &stopped);
    while (!stopped)
        uv_run(loop, UV_RUN_ONCE);
    jh__sched_free(s);
    uv_run(loop, UV_RUN_DEFAULT);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "throughput";
    double secs = argc > 2 ? atof(argv[2]) : 0;
    uv_loop_t loop;
    jh__sched_ops ops = {.exec = exec_noop, .done = done_log, .skip = skip_cb};
    int devnull = open("/dev/null", O_WRONLY);

    uv_loop_init(&loop);
    jh__log_new(devnull, JH_LOGFMT_LOGFMT, 0, &logger);
    if (strcmp(mode, "throughput") == 0) {
        /* 1,000 jobs every 1 ms: 1,000,000 fires/s offered; what completes is
         * what the path sustains (a busy job's extra ticks are skipped). */
        jh__sched *s = make(&loop, &ops);
        jh__sched_spec sp = {.kind = JH_SCHED_EVERY, .every = 1000000, .enabled = 1,
                            .concurrency = JH_CONC_ALLOW, .max_running = 1000};
        for (int i = 0; i < 1000; i++)
            jh__sched_add(s, &sp, NULL, NULL);
        jh__sched_start(s);
        int64_t t0 = mono();
        run_for(&loop, secs > 0 ? secs : 5);
        double el = (mono() - t0) / 1e9;
        printf("throughput runs=%ld seconds=%.2f runs_per_sec=%.0f workers=2\n", (long)runs, el,
               runs / el);
        finish(&loop, s);
    } else if (strcmp(mode, "lateness") == 0) {
        int n = 10000;
        double d = secs > 0 ? secs : 30;
        lat_cap = (long)(n * (d + 2));
        lat = malloc(sizeof(*lat) * (size_t)lat_cap);
        lat_fire = malloc(sizeof(*lat) * (size_t)lat_cap);
        ops.exec = exec_lat;
        jh__sched *s = make(&loop, &ops);
        char key[32];
        for (int i = 0; i < n; i++) {
            /* jitter spreads the jobs over the second, stably per key */
            snprintf(key, sizeof(key), "job-%d", i);
            jh__sched_spec sp = {.kind = JH_SCHED_EVERY, .every = 1000000000, .enabled = 1,
                                .max_running = 1, .jitter = 1000000000, .jitter_key = key};
            jh__sched_add(s, &sp, NULL, NULL);
        }
        jh__sched_start(s);
        run_for(&loop, d);
        finish(&loop, s); /* workers joined: lat[] is ours to read */
        long m = atomic_load(&nlat) < lat_cap ? atomic_load(&nlat) : lat_cap;
        qsort(lat, (size_t)m, sizeof(*lat), cmp64);
        printf("lateness jobs=%d seconds=%.0f runs=%ld p50_us=%.1f p99_us=%.1f max_us=%.1f\n", n,
               d, m, lat[m / 2] / 1e3, lat[(long)(m * 0.99)] / 1e3, lat[m - 1] / 1e3);
        qsort(lat_fire, (size_t)m, sizeof(*lat), cmp64);
        printf("  of which timer (fired - scheduled): p50_us=%.1f p99_us=%.1f max_us=%.1f\n",
               lat_fire[m / 2] / 1e3, lat_fire[(long)(m * 0.99)] / 1e3, lat_fire[m - 1] / 1e3);
        free(lat);
        free(lat_fire);
    } else if (strcmp(mode, "memory") == 0) {
        int n = secs > 0 ? (int)secs : 100000;
        jh__sched *s = make(&loop, &ops);
        jh__sjob **jobs = malloc(sizeof(*jobs) * (size_t)n);
        long before = rss_kb();
        int64_t t0 = mono();
        for (int i = 0; i < n; i++) {
            jh__sched_spec sp = {.kind = JH_SCHED_EVERY, .every = 3600000000000LL, .enabled = 1,
                                .max_running = 1};
            jh__sched_add(s, &sp, NULL, &jobs[i]);
        }
        double add_ms = (mono() - t0) / 1e6;
        long after = rss_kb();
        printf("memory jobs=%d rss_bytes_per_job=%.0f add_ms=%.1f\n", n,
               (after - before) * 1024.0 / n, add_ms);
        free(jobs);
        finish(&loop, s);
    } else if (strcmp(mode, "idle") == 0) {
        jh__sched *s = make(&loop, &ops);
        jh__sched_spec sp = {.kind = JH_SCHED_EVERY, .every = 3600000000000LL, .enabled = 1,
                            .max_running = 1};
        jh__sched_add(s, &sp, NULL, NULL);
        jh__sched_start(s);
        printf("idle pid=%d seconds=%.0f (watch with: strace -c -f -p PID)\n", (int)getpid(),
               secs > 0 ? secs : 10);
        fflush(stdout);
        run_for(&loop, secs > 0 ? secs : 10);
        finish(&loop, s);
    }
    jh__log_free(logger);
    uv_loop_close(&loop);
    close(devnull);
    return 0;
}
