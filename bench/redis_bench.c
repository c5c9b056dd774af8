/*
 * redis_bench - lock acquire + release cycles per second through the
 * repository's lock table (what a plugin calls: jh_lock_acquire /
 * jh_lock_release over the Redis backend), in one run, so on one pooled
 * connection.  bench/redis_bench.sh starts the server and sets it beside
 * redis-benchmark's SET figure.
 *
 *   redis_bench PORT PLUGIN.so [CYCLES]
 * PLUGIN.so is any plugin file (the bench attaches the backend to it);
 * prints "lock_cycles=N seconds=S cycles_per_sec=R".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "runtime/ctx.h"
#include "repo/backends.h"
#include "plugin/plugin.h"
#include "repo/redis.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    jh__host_env env = {0};
    jh__conf_redis conf = {0};
    jh__services svc = {0};
    jh__redis *r = NULL;
    jh__plugin *p = NULL;
    jh_err e = {0};
    struct jh_ctx c;
    jh_ctx *cx = (jh_ctx *)&c;
    long n;
    double t0, t1;
    int rc = 1;

    if (argc < 3) {
        fprintf(stderr, "usage: %s PORT PLUGIN.so [CYCLES]\n", argv[0]);
        return 2;
    }
    n = argc > 3 ? atol(argv[3]) : 100000;
    conf.name = "bench";
    conf.host = "127.0.0.1";
    conf.port = atoi(argv[1]);
    conf.prefix = "bench:";
    if (jh__redis_new(&conf, &r, &e) < 0 || jh__plugin_open(argv[2], &p, &e) < 0) {
        fprintf(stderr, "redis_bench: %s\n", e.msg);
        goto out;
    }
    svc.redis = r;
    svc.declared = JH_SVC_REDIS;
    svc.repo = jh__services_repo(&svc);
    jh__plugin_set_services(p, &svc, NULL);
    if (jh__store_new(NULL, NULL, &env.store) < 0)
        goto out;
    env.repo = jh__full_repo();
    jh__ctx_init(&c, &env, jh__plugin_ctx(p), "bench", "lock", 1, 0, INT64_MAX, NULL);
    /* Warm up: connect, load the scripts. */
    for (int i = 0; i < 1000; i++)
        if (jh_lock_acquire(cx, "k", 10000) != 0 || jh_lock_release(cx, "k") != 0) {
            fprintf(stderr, "redis_bench: %s\n", c.lasterr);
            goto finish;
        }
    t0 = now_s();
    for (long i = 0; i < n; i++)
        if (jh_lock_acquire(cx, "k", 10000) != 0 || jh_lock_release(cx, "k") != 0) {
            fprintf(stderr, "redis_bench: cycle %ld: %s\n", i, c.lasterr);
            goto finish;
        }
    t1 = now_s();
    printf("lock_cycles=%ld seconds=%.3f cycles_per_sec=%.0f\n", n, t1 - t0, n / (t1 - t0));
    rc = 0;
finish:
    jh__ctx_finish(&c);
out:
    jh__plugin_unref(p);
    jh__redis_unref(r);
    jh__store_free(env.store);
    return rc;
}
