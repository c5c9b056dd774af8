/*
 * repo.t - the in-process repository through the public inline API of
 * jobhost.h, on a real jh_ctx: locks (owner, TTL, auto-release), status,
 * idempotency, jh_fail, cancellation, bad arguments, an older host's
 * smaller tables; and the store under 4 contending threads.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "runtime/ctx.h"
#include "lib/tap.h"

static int64_t fake_now = 1000000000000LL;
static int64_t clock_fn(void *arg) { (void)arg; return fake_now; }

static jh__store *store;
static atomic_int holders[8];
static atomic_int violations;

static void *contend(void *arg)
{
    char owner[16], key[16];
    snprintf(owner, sizeof(owner), "t%ld", (long)(intptr_t)arg);
    for (int i = 0; i < 20000; i++) {
        int k = i % 8;
        snprintf(key, sizeof(key), "k%d", k);
        if (jh__store_lock_acquire(store, key, owner, 60000000000LL) == 0) {
            if (atomic_fetch_add(&holders[k], 1) != 0)
                atomic_fetch_add(&violations, 1);
            atomic_fetch_sub(&holders[k], 1);
            jh__store_lock_release(store, key, owner);
        }
    }
    return NULL;
}

int main(void)
{
    jh__host_env env = {0};
    struct jh_ctx a, b;
    atomic_int cancel = 0;
    char buf[8];
    int devnull = open("/dev/null", 1);

    plan_lazy();
    jh__log_new(devnull, 0, JH_LOG_INFO, &env.log);
    jh__store_new(clock_fn, NULL, &env.store);
    env.repo = jh__store_repo();
    env.now = clock_fn;
    /* A deadline an hour away: the clock moves 74 s below. */
    jh__ctx_init(&a, &env, NULL, "sync", "run", 1, fake_now, fake_now + 3600000000000LL, &cancel);
    jh__ctx_init(&b, &env, NULL, "sync", "run", 2, fake_now, INT64_MAX, NULL);
    jh_ctx *ca = (jh_ctx *)&a, *cb = (jh_ctx *)&b;

    is_int(jh_lock_acquire(ca, "job:sync", 10000), 0, "run 1 takes the lock");
    is_int(jh_lock_acquire(cb, "job:sync", 10000), -EBUSY, "run 2 finds it held");
    is_int(jh_lock_release(cb, "job:sync"), -EPERM, "run 2 cannot release run 1's lock");
    is_int(jh_lock_acquire(cb, "job:sync", 10000), -EBUSY, "so it is still held");
    fake_now += 11000000000LL; /* past the TTL */
    is_int(jh_lock_acquire(cb, "job:sync", 10000), 0, "after the TTL run 2 takes it");
    is_int(jh_lock_release(ca, "job:sync"), -EPERM, "the expired owner cannot free the new owner's lock");
    jh__ctx_finish(&b); /* b still holds it: released by the host */
    is_int(jh_lock_acquire(ca, "job:sync", 10000), 0, "released at the end of run 2");
    is_int(jh_lock_release(ca, "job:sync"), 0, "run 1 releases");
    is_int(jh_lock_release(ca, "job:sync"), -ENOENT, "twice: not held");

    is_int(jh_status_set(ca, "sync", "done 42 users", 60000), 0, "status set");
    is_int(jh_status_get(cb, "sync", buf, sizeof(buf)), 13, "get returns the full length");
    is_str(buf, "done 42", "into a small buffer, truncated and terminated");
    fake_now += 61000000000LL;
    is_int(jh_status_get(cb, "sync", buf, sizeof(buf)), -ENOENT, "status expired");
    is_int(jh_processed_check(ca, "msg-1"), 0, "message not processed");
    is_int(jh_processed_mark(ca, "msg-1", 1000), 0, "mark");
    is_int(jh_processed_check(cb, "msg-1"), 1, "seen by another run");
    fake_now += 2000000000LL;
    is_int(jh_processed_check(cb, "msg-1"), 0, "mark expired");

    is_int(jh_lock_acquire(ca, NULL, 10), -EINVAL, "NULL key: -EINVAL, no crash");
    is_int(jh_status_set(ca, "x", NULL, 0), -EINVAL, "NULL value");
    is_int(jh_status_get(ca, "x", NULL, 4), -EINVAL, "NULL buffer");
    is_int(jh_processed_mark(ca, NULL, 1), -EINVAL, "NULL message id");

    /* Bad arguments: -EINVAL with the reason in jh_last_error(). */
#define BAD(call, why)                                                         \
    do {                                                                       \
        a.lasterr[0] = '\0';                                                  \
        is_int(call, -EINVAL, #call ": -EINVAL");                              \
        like(a.lasterr, why, "  with the reason (%s)", a.lasterr);             \
    } while (0)
    BAD(jh_lock_acquire(ca, NULL, 10), "lock acquire: NULL key");
    BAD(jh_lock_acquire(ca, "k", 0), "lock acquire k: ttl 0 ms must be > 0");
    BAD(jh_lock_release(ca, NULL), "lock release: NULL key");
    BAD(jh_status_set(ca, NULL, "v", 0), "status set: NULL job");
    BAD(jh_status_set(ca, "x", NULL, 0), "status set x: NULL value");
    BAD(jh_status_get(ca, "x", NULL, 4), "status get x: NULL buffer");
    BAD(jh_idem_check(ca, NULL), "idem check: NULL message id");
    BAD(jh_processed_mark(ca, NULL, 1), "idem mark: NULL message id");
#undef BAD

    /* Acquire after the deadline or a cancellation fails like the Redis
     * path; release, status and idempotency keep working. */
    {
        struct jh_ctx d;
        jh_ctx *cd = (jh_ctx *)&d;
        atomic_int cx = 0;

        jh__ctx_init(&d, &env, NULL, "late", "run", 9, fake_now, fake_now + 1000, &cx);
        is_int(jh_lock_acquire(cd, "job:late", 10000), 0, "before the deadline: taken");
        fake_now += 2000;
        is_int(jh_lock_acquire(cd, "job:late2", 10000), -ETIMEDOUT,
               "after the deadline: -ETIMEDOUT");
        like(d.lasterr, "lock acquire job:late2: the run's deadline has passed", "reason: %s",
             d.lasterr);
        is_int(jh_lock_acquire(cb, "job:late2", 10000), 0, "so no lock was left behind");
        is_int(jh_lock_release(cb, "job:late2"), 0, "(released)");
        is_int(jh_status_set(cd, "late", "timed out", 0), 0, "status still works");
        is_int(jh_lock_release(cd, "job:late"), 0, "release still works");
        jh__ctx_finish(&d);
        jh__ctx_init(&d, &env, NULL, "late", "run", 10, fake_now, INT64_MAX, &cx);
        atomic_store(&cx, 1);
        is_int(jh_lock_acquire(cd, "job:late", 10000), -ECANCELED,
               "after a cancellation: -ECANCELED");
        like(d.lasterr, "lock acquire job:late: the run was cancelled", "reason: %s", d.lasterr);
        is_int(jh_lock_acquire(cb, "job:late", 10000), 0, "and nothing was taken");
        jh_lock_release(cb, "job:late");
        jh__ctx_finish(&d);
    }

    is_int(jh_fail(ca, -EIO, "db down: %d", 7), -EIO, "jh_fail returns its code");
    is_str(a.errmsg, "db down: 7", "and stores the message");
    ok(!jh_cancelled(cb), "no deadline, not cancelled");
    jh__ctx_init(&a, &env, NULL, "sync", "run", 3, fake_now, fake_now + 5000000000LL, &cancel);
    ok(!jh_cancelled(ca), "before the deadline: not cancelled");
    fake_now += 5000000000LL;
    ok(jh_cancelled(ca), "at the deadline: cancelled");
    jh__ctx_init(&a, &env, NULL, "sync", "run", 4, fake_now, INT64_MAX, &cancel);
    atomic_store(&cancel, 1);
    ok(jh_cancelled(ca), "cancel flag set by the host");
    is_int(jh_run_id(ca), 4, "run id");
    is_str(jh_ctx_job(ca), "sync", "job name");
    ok(jh_now(ca) == fake_now, "the host's clock");

    atomic_store(&cancel, 0); /* the calls below are not about cancellation */
    /* An older host whose lock table ends before `release`. */
    jh_lock_api old_lock = *jh__store_repo()->lock;
    jh_repo old_repo = *jh__store_repo();
    old_lock.size = offsetof(jh_lock_api, release);
    old_repo.lock = &old_lock;
    env.repo = &old_repo;
    is_int(jh_lock_release(ca, "k"), -ENOSYS, "a member the host lacks: -ENOSYS");
    ok(jh_lock_acquire(ca, "k", 10) == 0, "members it has still work");
    env.repo = jh__store_repo();
    jh__ctx_finish(&a);

    /* Contention: 4 threads, 8 keys, never two holders at once. */
    pthread_t th[4];
    jh__store_free(env.store);
    jh__store_new(NULL, NULL, &store);
    for (long i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, contend, (void *)i);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    is_int(atomic_load(&violations), 0, "4 threads x 20,000 cycles: one holder at a time");
    is_int((long long)jh__store_count(store), 0, "every lock released");
    for (int i = 0; i < 100000; i++) {
        char k[24];
        snprintf(k, sizeof(k), "m%d", i);
        jh__store_processed_mark(store, k, i % 2 ? 1 : 0); /* half expire in 1 ns */
    }
    usleep(1000);
    is_int((long long)jh__store_count(store), 50000, "100,000 marks, the expired half swept");
    jh__store_free(store);
    jh__log_free(env.log);
    close(devnull);
    return done_testing();
}
