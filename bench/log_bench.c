/*
 * log_bench - cost of one typical run.finish line (the line every run
 * writes), formatted and written with one write(2) to /dev/null.
 *   bench/log_bench [seconds] [threads]      (defaults 1, 1)
 * Prints `log format=logfmt|json threads=N ns_per_line=X lines_per_sec=Y`.
 * ns_per_line is wall time per line per thread (includes the write(2));
 * a last line gives the bare write(2) of 200 bytes to /dev/null for
 * comparison, so formatting cost = ns_per_line - write_ns.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "jobhost.h"
#include "runtime/log.h"

static jh__logger *log_;
static double secs;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *worker(void *arg)
{
    long *lines = arg;
    uint64_t run_id = 1;
    int64_t sched = 1795294208000000000LL;
    double t0 = now_s();
    long n = 0;

    do {
        for (int i = 0; i < 1000; i++, n++, run_id++) {
            jh__kv kv[] = {JH_KV_S("job", "heartbeat.tick"),
                          JH_KV_S("plugin", "heartbeat"),
                          JH_KV_S("handler", "tick"),
                          JH_KV_U("run_id", run_id),
                          JH_KV_T("scheduled", sched),
                          JH_KV_T("started", sched + 412345),
                          JH_KV_MSEC("duration_ms", 3100000 + i),
                          JH_KV_S("result", "ok")};
            jh__log_kv(log_, JH_LOG_INFO, "run.finish", kv, JH_COUNTOF(kv));
        }
    } while (now_s() - t0 < secs);
    *lines = n;
    return NULL;
}

int main(int argc, char **argv)
{
    int nthreads = argc > 2 ? atoi(argv[2]) : 1;
    int fd = open("/dev/null", O_WRONLY);
    static const char *const names[] = {"logfmt", "json"};

    secs = argc > 1 ? atof(argv[1]) : 1.0;
    if (fd < 0 || nthreads < 1 || nthreads > 64 || jh__log_new(fd, 0, JH_LOG_INFO, &log_) < 0) {
        fprintf(stderr, "usage: log_bench [seconds] [threads 1-64]\n");
        return 2;
    }
    for (int f = 0; f < 2; f++) {
        pthread_t th[64];
        long lines[64], total = 0;
        double t0, el;

        jh__log_set_format(log_, f);
        t0 = now_s();
        for (int i = 0; i < nthreads; i++)
            pthread_create(&th[i], NULL, worker, &lines[i]);
        for (int i = 0; i < nthreads; i++) {
            pthread_join(th[i], NULL);
            total += lines[i];
        }
        el = now_s() - t0;
        printf("log format=%s threads=%d ns_per_line=%.0f lines_per_sec=%.0f\n", names[f],
               nthreads, el * 1e9 * nthreads / (double)total, (double)total / el);
    }
    {
        static const char blank[200];
        long n = 0;
        double t0 = now_s(), el;

        do
            for (int i = 0; i < 1000; i++, n++)
                if (write(fd, blank, sizeof(blank)) < 0)
                    return 1;
        while (now_s() - t0 < secs);
        el = now_s() - t0;
        printf("write_only bytes=200 write_ns=%.0f\n", el * 1e9 / (double)n);
    }
    jh__log_free(log_);
    close(fd);
    return 0;
}
