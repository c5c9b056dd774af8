/*
 * plugin_load - what loading a plugin costs: private copy + ELF check +
 * dlopen + descriptor copy (+ init/fini) + dlclose, per plugin.
 *
 *   bench/plugin_load [PLUGIN.so [N]]     (default t/plugins/ok_v1.so, 1000)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "runtime/ctx.h"
#include "plugin/plugin.h"

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "t/plugins/ok_v1.so";
    int n = argc > 2 ? atoi(argv[2]) : 1000;
    jh__host_env env = {0};
    jh__logger *log;
    jh__store *store;
    jh__plugin *p;
    jh_err e;
    double t0, t1, t2;

    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

    if (n <= 0 || jh__log_new(null, JH_LOGFMT_LOGFMT, JH_LOG_INFO, &log) < 0 ||
        jh__store_new(NULL, NULL, &store) < 0)
        return 2;
    env = (jh__host_env){.log = log, .repo = jh__store_repo(), .store = store};
    t0 = now_s();
    for (int i = 0; i < n; i++) {
        if (jh__plugin_open(path, &p, &e) < 0) {
            fprintf(stderr, "%s\n", e.msg);
            return 1;
        }
        jh__plugin_unref(p);
    }
    t1 = now_s();
    for (int i = 0; i < n; i++) {
        if (jh__plugin_open(path, &p, &e) < 0 || jh__plugin_init(p, NULL, &env, &e) < 0) {
            fprintf(stderr, "%s\n", e.msg);
            return 1;
        }
        jh__plugin_unref(p);
    }
    t2 = now_s();
    printf("%s: open+unref %.1f us, open+init+unref %.1f us (mean of %d)\n", path,
           (t1 - t0) / n * 1e6, (t2 - t1) / n * 1e6, n);
    jh__store_free(store);
    jh__log_free(log);
    close(null);
    return 0;
}
