/*
 * id.c - message ids: 128 random bits per record.
 *
 * getrandom() per append is a system call that costs as much as the rest
 * of an append, so each thread seeds a xoshiro256** generator from it once
 * (and again in a forked child, which would otherwise repeat its parent's
 * ids).
 */
#include "outbox_int.h"

#include <stdatomic.h>
#include <sys/random.h>
#include <unistd.h>

#include "base/clock.h"

static atomic_uint fork_gen;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static void on_fork_child(void) { atomic_fetch_add(&fork_gen, 1); }
static void atfork_init(void) { pthread_atfork(NULL, NULL, on_fork_child); }

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static void seed(uint64_t st[4])
{
    static atomic_ullong ctr;

    if (getrandom(st, 4 * sizeof(*st), 0) != (ssize_t)(4 * sizeof(*st))) {
        /* No entropy source: time, pid and a counter still differ. */
        st[0] = (uint64_t)jh__realtime_ns();
        st[1] = (uint64_t)getpid();
        st[2] = atomic_fetch_add(&ctr, 1);
        st[3] = (uint64_t)jh__monotonic_ns() | 1;
    }
}

/* xoshiro256**: the next 64 bits. */
static uint64_t next64(uint64_t st[4])
{
    uint64_t r = rotl(st[1] * 5, 7) * 9, t = st[1] << 17;

    st[2] ^= st[0];
    st[3] ^= st[1];
    st[1] ^= st[2];
    st[0] ^= st[3];
    st[2] ^= t;
    st[3] = rotl(st[3], 45);
    return r;
}

void jh__ob_random_id(unsigned char id[16])
{
    static _Thread_local uint64_t st[4];
    static _Thread_local unsigned gen;
    static _Thread_local int seeded;

    pthread_once(&atfork_once, atfork_init);
    if (!seeded || gen != atomic_load(&fork_gen)) {
        seed(st);
        gen = atomic_load(&fork_gen);
        seeded = 1;
    }
    put64(id, next64(st));
    put64(id + 8, next64(st));
}
