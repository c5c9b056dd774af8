/*
 * tsan_threads.c - C11 <threads.h> over the pthread calls ThreadSanitizer
 * sees, linked only into the tests that run librdkafka.
 *
 * Why: Debian's librdkafka makes its threads, mutexes and condition
 * variables with glibc's C11 thrd_create / mtx_lock / cnd_wait, which call
 * pthreads from inside libc where gcc's TSan runtime does not intercept
 * them.  A broker thread is then unknown to TSan and its first intercepted
 * allocation (getaddrinfo's) crashes inside the TSan allocator, and every
 * lock librdkafka takes is invisible, so its own synchronisation reads as
 * races.  Defined in the test program, these take precedence over libc's
 * for librdkafka.so as well, and route every such call through the
 * intercepted pthread_* functions.  glibc's mtx_t, cnd_t and thrd_t are
 * pthread_mutex_t, pthread_cond_t and pthread_t underneath.
 *
 * Outside a -fsanitize=thread build this file is empty.
 */
#if defined(__SANITIZE_THREAD__)
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <threads.h>

_Static_assert(sizeof(mtx_t) == sizeof(pthread_mutex_t), "glibc's mtx_t is a pthread mutex");
_Static_assert(sizeof(cnd_t) == sizeof(pthread_cond_t), "glibc's cnd_t is a pthread cond");

static int result(int rc)
{
    switch (rc) {
    case 0: return thrd_success;
    case ETIMEDOUT: return thrd_timedout;
    case EBUSY: return thrd_busy;
    case ENOMEM: return thrd_nomem;
    default: return thrd_error;
    }
}

struct start {
    thrd_start_t fn;
    void *arg;
};

static void *start_main(void *p)
{
    struct start s = *(struct start *)p;

    free(p);
    return (void *)(intptr_t)s.fn(s.arg);
}

int thrd_create(thrd_t *thr, thrd_start_t fn, void *arg)
{
    struct start *s = malloc(sizeof(*s));
    int rc;

    if (s == NULL)
        return thrd_nomem;
    s->fn = fn;
    s->arg = arg;
    if ((rc = pthread_create(thr, NULL, start_main, s)) != 0)
        free(s);
    return result(rc);
}

int thrd_join(thrd_t thr, int *res)
{
    void *v;
    int rc = pthread_join(thr, &v);

    if (rc == 0 && res != NULL)
        *res = (int)(intptr_t)v;
    return result(rc);
}

int thrd_detach(thrd_t thr) { return result(pthread_detach(thr)); }
void thrd_exit(int res) { pthread_exit((void *)(intptr_t)res); }

int mtx_init(mtx_t *m, int type)
{
    pthread_mutexattr_t a;
    int rc;

    pthread_mutexattr_init(&a);
    if (type & mtx_recursive)
        pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    rc = pthread_mutex_init((pthread_mutex_t *)(void *)m, &a);
    pthread_mutexattr_destroy(&a);
    return result(rc);
}

#define M(m) ((pthread_mutex_t *)(void *)(m))
#define C(c) ((pthread_cond_t *)(void *)(c))

int mtx_lock(mtx_t *m) { return result(pthread_mutex_lock(M(m))); }
int mtx_trylock(mtx_t *m) { return result(pthread_mutex_trylock(M(m))); }
int mtx_timedlock(mtx_t *restrict m, const struct timespec *restrict ts)
{
    return result(pthread_mutex_timedlock(M(m), ts));
}
int mtx_unlock(mtx_t *m) { return result(pthread_mutex_unlock(M(m))); }
void mtx_destroy(mtx_t *m) { pthread_mutex_destroy(M(m)); }

int cnd_init(cnd_t *c) { return result(pthread_cond_init(C(c), NULL)); }
int cnd_signal(cnd_t *c) { return result(pthread_cond_signal(C(c))); }
int cnd_broadcast(cnd_t *c) { return result(pthread_cond_broadcast(C(c))); }
int cnd_wait(cnd_t *c, mtx_t *m) { return result(pthread_cond_wait(C(c), M(m))); }
int cnd_timedwait(cnd_t *restrict c, mtx_t *restrict m, const struct timespec *restrict ts)
{
    return result(pthread_cond_timedwait(C(c), M(m), ts));
}
void cnd_destroy(cnd_t *c) { pthread_cond_destroy(C(c)); }

void call_once(once_flag *f, void (*fn)(void))
{
    pthread_once((pthread_once_t *)(void *)f, fn);
}
#endif
