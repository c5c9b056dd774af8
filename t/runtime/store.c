/*
 * store.t - the in-process store on its own, with an injected clock:
 * TTL boundaries, lock owner semantics, status and idempotency, the three
 * kinds kept apart, many keys and the expiry sweep, bad arguments; then
 * several threads contending for the same lock keys (run it under
 * --enable-tsan: the holder's plain counter is a data race if two threads
 * ever hold one key at once).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "runtime/store.h"
#include "lib/tap.h"

#define SEC 1000000000LL

static int64_t fake_now = 1795294208LL * SEC;
static int64_t clock_fn(void *arg)
{
    (void)arg;
    return fake_now;
}

/* ---- contention ----------------------------------------------------- */

#define NTHREADS 4
#define NKEYS 3
#define ROUNDS 20000

static jh__store *shared;
static atomic_int holders[NKEYS];
static atomic_int violations, acquired;
static long inside[NKEYS]; /* plain on purpose: only a lock holder writes it */

static void *contend(void *arg)
{
    char owner[16], key[16];

    snprintf(owner, sizeof(owner), "t%d", (int)(intptr_t)arg);
    for (int i = 0; i < ROUNDS; i++) {
        int k = (i + (int)(intptr_t)arg) % NKEYS;
        snprintf(key, sizeof(key), "job:%d", k);
        if (jh__store_lock_acquire(shared, key, owner, 60 * SEC) != 0)
            continue;
        atomic_fetch_add(&acquired, 1);
        if (atomic_fetch_add(&holders[k], 1) != 0)
            atomic_fetch_add(&violations, 1);
        inside[k]++;
        atomic_fetch_sub(&holders[k], 1);
        if (jh__store_lock_release(shared, key, owner) != 0)
            atomic_fetch_add(&violations, 1);
    }
    return NULL;
}

int main(void)
{
    jh__store *s;
    char buf[16];

    plan_lazy();
    is_int(jh__store_new(clock_fn, NULL, NULL), -EINVAL, "new without out: -EINVAL");
    if (jh__store_new(clock_fn, NULL, &s) < 0)
        bail("jh__store_new");

    /* --- locks --- */
    int64_t t0 = fake_now;
    is_int(jh__store_lock_acquire(s, "L", "a", 10 * SEC), 0, "a acquires L for 10 s");
    is_int(jh__store_lock_acquire(s, "L", "b", 10 * SEC), -EBUSY, "b: busy");
    is_int(jh__store_lock_release(s, "L", "b"), -EPERM, "b cannot release a's lock");
    is_int(jh__store_lock_acquire(s, "L", "b", 10 * SEC), -EBUSY, "the lock stayed with a");
    fake_now = t0 + 5 * SEC;
    is_int(jh__store_lock_acquire(s, "L", "a", 10 * SEC), 0, "a re-acquires: TTL refreshed to t+15 s");
    fake_now = t0 + 15 * SEC - 1;
    is_int(jh__store_lock_acquire(s, "L", "b", 10 * SEC), -EBUSY, "1 ns before the refreshed expiry: busy");
    fake_now = t0 + 15 * SEC;
    is_int(jh__store_lock_release(s, "L", "a"), -ENOENT, "at the expiry: a's release finds nothing");
    is_int(jh__store_lock_acquire(s, "L", "b", 10 * SEC), 0, "the expired lock can be taken by b");
    is_int(jh__store_lock_release(s, "L", "a"), -EPERM, "a (expired owner) cannot release b's lock");
    is_int(jh__store_lock_release(s, "L", "b"), 0, "b releases");
    is_int(jh__store_lock_release(s, "L", "b"), -ENOENT, "twice: -ENOENT");
    is_int(jh__store_lock_acquire(s, "L", "c", 0), -EINVAL, "a lock needs a positive TTL");
    is_int(jh__store_lock_acquire(s, "L", "c", INT64_MAX), 0, "a huge TTL does not overflow");
    fake_now += 200LL * 365 * 86400 * SEC;
    is_int(jh__store_lock_acquire(s, "L", "d", SEC), -EBUSY, "and is still held 200 years later");
    is_int(jh__store_lock_release(s, "L", "c"), 0, "released");

    /* --- status --- */
    t0 = fake_now;
    is_int(jh__store_status_set(s, "job", "running", 2 * SEC), 0, "status set, 2 s");
    is_int(jh__store_status_get(s, "job", buf, sizeof(buf)), 7, "get: its length");
    is_str(buf, "running", "get: its value");
    is_int(jh__store_status_set(s, "job", "done, 1234 rows", 0), 0, "overwritten, no TTL");
    is_int(jh__store_status_get(s, "job", buf, 5), 15, "into 5 bytes: still the full length");
    is_str(buf, "done", "4 bytes + NUL");
    memset(buf, 'Z', sizeof(buf));
    is_int(jh__store_status_get(s, "job", buf, 1), 15, "into 1 byte");
    is_int(buf[0], 0, "just the NUL");
    is_int(buf[1], 'Z', "nothing written past len");
    is_int(jh__store_status_get(s, "job", NULL, 0), 15, "len 0 (NULL buffer): only the length");
    fake_now = t0 + 100 * SEC;
    is_int(jh__store_status_get(s, "job", buf, sizeof(buf)), 15, "ttl 0: does not expire");
    is_int(jh__store_status_set(s, "job2", "x", SEC), 0, "job2 for 1 s");
    fake_now += SEC;
    is_int(jh__store_status_get(s, "job2", buf, sizeof(buf)), -ENOENT, "expired: -ENOENT");
    is_int(jh__store_status_get(s, "nope", buf, sizeof(buf)), -ENOENT, "never set: -ENOENT");

    /* --- idempotency --- */
    is_int(jh__store_processed_check(s, "m1"), 0, "m1 not processed");
    is_int(jh__store_processed_mark(s, "m1", SEC), 0, "mark m1 for 1 s");
    is_int(jh__store_processed_check(s, "m1"), 1, "m1 processed");
    fake_now += SEC / 2;
    is_int(jh__store_processed_mark(s, "m1", SEC), 0, "re-mark after 0.5 s: TTL renewed");
    fake_now += SEC - 1;
    is_int(jh__store_processed_check(s, "m1"), 1, "still processed at +1.5 s - 1 ns");
    fake_now += 1;
    is_int(jh__store_processed_check(s, "m1"), 0, "forgotten at +1.5 s");

    /* --- kinds are separate name spaces --- */
    size_t before = jh__store_count(s);
    jh__store_lock_acquire(s, "same", "o", SEC);
    jh__store_status_set(s, "same", "v", SEC);
    jh__store_processed_mark(s, "same", SEC);
    is_int((long long)(jh__store_count(s) - before), 3, "lock, status and mark named alike: 3 entries");
    is_int(jh__store_lock_release(s, "same", "o"), 0, "releasing the lock...");
    is_int(jh__store_processed_check(s, "same"), 1, "...leaves the mark");
    is_int(jh__store_status_get(s, "same", buf, sizeof(buf)), 1, "...and the status");
    fake_now += SEC;

    /* --- many keys, expiry sweep --- */
    is_int((long long)jh__store_count(s), 1, "after expiry only the ttl-0 status is left");
    long one_s = 0;
    for (int i = 0; i < 50000; i++) {
        char k[24];
        int64_t ttl = i % 5 == 0 ? 0 : (1 + i % 3) * SEC;
        snprintf(k, sizeof(k), "msg-%d", i);
        jh__store_processed_mark(s, k, ttl);
        one_s += ttl == SEC;
    }
    is_int((long long)jh__store_count(s), 50001, "50,000 marks live");
    fake_now += SEC;
    is_int((long long)jh__store_count(s), 50001 - one_s, "after 1 s: the %ld 1-s marks gone", one_s);
    fake_now += 2 * SEC;
    is_int((long long)jh__store_count(s), 10001, "after 3 s: only marks without TTL");
    int found = 0;
    for (int i = 0; i < 50000; i += 5) {
        char k[24];
        snprintf(k, sizeof(k), "msg-%d", i);
        found += jh__store_processed_check(s, k);
    }
    is_int(found, 10000, "and each of those is still found after the table grew");

    /* Amortised sweep: writes alone (no count, no lookup of the dead keys)
     * reclaim expired entries.  The 10,000 live marks stay; 50,000 dead
     * ones are written, expire, and more writes sweep them. */
    for (int i = 0; i < 50000; i++) {
        char k[24];
        snprintf(k, sizeof(k), "dead-%d", i);
        jh__store_processed_mark(s, k, SEC);
    }
    fake_now += 2 * SEC;
    is_int((long long)jh__store_entries(s), 60001, "expired but not yet reclaimed");
    for (int i = 0; i < 100000; i++)
        jh__store_status_set(s, "churn", "x", 0); /* same key: no growth */
    is_int((long long)jh__store_entries(s), 10002,
           "writes alone reclaimed the 50,000 dead marks (10,000 + 2 statuses held)");
    is_int((long long)jh__store_count(s), 10002, "count agrees");

    /* --- bad arguments --- */
    is_int(jh__store_lock_acquire(s, NULL, "o", SEC), -EINVAL, "lock: NULL key");
    is_int(jh__store_lock_acquire(s, "k", NULL, SEC), -EINVAL, "lock: NULL owner");
    is_int(jh__store_lock_acquire(NULL, "k", "o", SEC), -EINVAL, "lock: NULL store");
    is_int(jh__store_lock_release(s, NULL, "o"), -EINVAL, "release: NULL key");
    is_int(jh__store_status_set(s, "j", NULL, 0), -EINVAL, "status: NULL value");
    is_int(jh__store_status_set(s, NULL, "v", 0), -EINVAL, "status: NULL job");
    is_int(jh__store_status_get(s, "job", NULL, 4), -EINVAL, "status: NULL buffer with a length");
    is_int(jh__store_processed_check(s, NULL), -EINVAL, "check: NULL id");
    is_int(jh__store_processed_mark(NULL, "m", 0), -EINVAL, "mark: NULL store");
    is_int((long long)jh__store_count(s), 10002, "bad calls changed nothing");
    jh__store_free(s);
    jh__store_free(NULL);

    /* --- threads contending for the same keys --- */
    pthread_t th[NTHREADS];
    if (jh__store_new(NULL, NULL, &shared) < 0)
        bail("jh__store_new");
    for (int i = 0; i < NTHREADS; i++)
        pthread_create(&th[i], NULL, contend, (void *)(intptr_t)i);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    is_int(atomic_load(&violations), 0, "%d threads on %d keys: never two holders, every release ok",
           NTHREADS, NKEYS);
    long total = 0;
    for (int k = 0; k < NKEYS; k++)
        total += inside[k];
    is_int(total, atomic_load(&acquired), "every acquisition counted once");
    ok(total > 0, "threads did get the locks (%ld times)", total);
    is_int((long long)jh__store_count(shared), 0, "nothing left held");
    jh__store_free(shared);
    return done_testing();
}
