/*
 * store.c - in-process lock / status / idempotency entries with TTLs.
 *
 * One chained hash table for all three kinds (the kind is part of the key's
 * identity), one mutex.  Critical sections are a lookup and maybe an
 * insert, so a single lock is cheaper than anything finer.  Expired entries
 * are removed when touched, and an amortised sweep walks a few buckets on
 * every write so that keys nobody touches again do not pile up.
 */
#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"

enum kind { K_LOCK = 0, K_STATUS = 1, K_IDEM = 2 };

typedef struct entry {
    struct entry *next;
    uint64_t hash;
    int64_t expires;   /* ns; INT64_MAX = never */
    char *value;       /* owner token, status value, or NULL */
    unsigned char kind;
    char key[];
} entry;

struct jh__store {
    pthread_mutex_t mu;
    entry **buckets;
    size_t nbuckets;   /* power of two */
    size_t count;
    size_t sweep_pos;
    jh_now_fn now;
    void *now_arg;
};

#define SWEEP_PER_WRITE 4

static int64_t default_now(void *arg)
{
    (void)arg;
    return jh__realtime_ns();
}

static uint64_t hash_key(int kind, const char *s)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)kind;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

int jh__store_new(jh_now_fn now, void *now_arg, jh__store **out)
{
    jh__store *s;
    int rc;

    if (out == NULL)
        return -EINVAL;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    s->nbuckets = 64;
    s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
    if (s->buckets == NULL) {
        rc = -ENOMEM;
        goto fail_buckets;
    }
    if ((rc = pthread_mutex_init(&s->mu, NULL)) != 0) {
        rc = -rc;
        goto fail_mutex;
    }
    s->now = now ? now : default_now;
    s->now_arg = now_arg;
    *out = s;
    return 0;

fail_mutex:
    free(s->buckets);
fail_buckets:
    free(s);
    return rc;
}

static void entry_free(entry *e)
{
    free(e->value);
    free(e);
}

void jh__store_free(jh__store *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->nbuckets; i++)
        for (entry *e = s->buckets[i], *n; e != NULL; e = n) {
            n = e->next;
            entry_free(e);
        }
    free(s->buckets);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* Unlink and free every expired entry of bucket i. */
static void sweep_bucket(jh__store *s, size_t i, int64_t now)
{
    entry **pp = &s->buckets[i];
    while (*pp != NULL) {
        entry *e = *pp;
        if (e->expires <= now) {
            *pp = e->next;
            entry_free(e);
            s->count--;
        } else
            pp = &e->next;
    }
}

static void sweep_some(jh__store *s, int64_t now)
{
    for (int i = 0; i < SWEEP_PER_WRITE; i++) {
        sweep_bucket(s, s->sweep_pos, now);
        s->sweep_pos = (s->sweep_pos + 1) & (s->nbuckets - 1);
    }
}

static void grow(jh__store *s)
{
    size_t n = s->nbuckets * 2;
    entry **b = calloc(n, sizeof(*b));

    if (b == NULL)
        return; /* keep working with longer chains */
    for (size_t i = 0; i < s->nbuckets; i++)
        for (entry *e = s->buckets[i], *nx; e != NULL; e = nx) {
            nx = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    free(s->buckets);
    s->buckets = b;
    s->nbuckets = n;
    s->sweep_pos = 0;
}

/* Find a live entry; an expired one found on the way is dropped. */
static entry **find(jh__store *s, int kind, const char *key, uint64_t h, int64_t now)
{
    entry **pp = &s->buckets[h & (s->nbuckets - 1)];
    while (*pp != NULL) {
        entry *e = *pp;
        if (e->expires <= now) {
            *pp = e->next;
            entry_free(e);
            s->count--;
            continue;
        }
        if (e->hash == h && e->kind == kind && strcmp(e->key, key) == 0)
            return pp;
        pp = &e->next;
    }
    return NULL;
}

static int64_t expiry(int64_t now, int64_t ttl)
{
    return ttl <= 0 || ttl > INT64_MAX - now ? INT64_MAX : now + ttl;
}

/* Insert or replace (kind, key) with value; called with the lock held. */
static int put(jh__store *s, int kind, const char *key, const char *value, int64_t ttl,
               int64_t now)
{
    uint64_t h = hash_key(kind, key);
    entry **pp = find(s, kind, key, h, now);
    char *v = NULL;

    if (value != NULL && (v = strdup(value)) == NULL)
        return -ENOMEM;
    if (pp != NULL) {
        free((*pp)->value);
        (*pp)->value = v;
        (*pp)->expires = expiry(now, ttl);
        sweep_some(s, now); /* (*pp) is live: the sweep cannot free it */
        return 0;
    }
    size_t klen = strlen(key);
    entry *e = malloc(sizeof(*e) + klen + 1);
    if (e == NULL) {
        free(v);
        return -ENOMEM;
    }
    memcpy(e->key, key, klen + 1);
    e->hash = h;
    e->kind = (unsigned char)kind;
    e->value = v;
    e->expires = expiry(now, ttl);
    e->next = s->buckets[h & (s->nbuckets - 1)];
    s->buckets[h & (s->nbuckets - 1)] = e;
    if (++s->count > s->nbuckets * 2)
        grow(s);
    sweep_some(s, now);
    return 0;
}

/* put() at the store's clock, under the lock. */
static int put_locked(jh__store *s, int kind, const char *key, const char *value, int64_t ttl)
{
    int64_t now = s->now(s->now_arg);
    int rc;

    pthread_mutex_lock(&s->mu);
    rc = put(s, kind, key, value, ttl, now);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int jh__store_lock_acquire(jh__store *s, const char *key, const char *owner, int64_t ttl_ns)
{
    int rc;
    int64_t now;
    entry **pp;

    if (s == NULL || key == NULL || owner == NULL || ttl_ns <= 0)
        return -EINVAL;
    now = s->now(s->now_arg);
    pthread_mutex_lock(&s->mu);
    pp = find(s, K_LOCK, key, hash_key(K_LOCK, key), now);
    if (pp != NULL && strcmp((*pp)->value, owner) != 0)
        rc = -EBUSY;
    else
        rc = put(s, K_LOCK, key, owner, ttl_ns, now);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int jh__store_lock_release(jh__store *s, const char *key, const char *owner)
{
    int rc = 0;
    int64_t now;
    entry **pp;

    if (s == NULL || key == NULL || owner == NULL)
        return -EINVAL;
    now = s->now(s->now_arg);
    pthread_mutex_lock(&s->mu);
    pp = find(s, K_LOCK, key, hash_key(K_LOCK, key), now);
    if (pp == NULL)
        rc = -ENOENT;
    else if (strcmp((*pp)->value, owner) != 0)
        rc = -EPERM;
    else {
        entry *e = *pp;
        *pp = e->next;
        entry_free(e);
        s->count--;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int jh__store_status_set(jh__store *s, const char *job, const char *value, int64_t ttl_ns)
{
    if (s == NULL || job == NULL || value == NULL)
        return -EINVAL;
    return put_locked(s, K_STATUS, job, value, ttl_ns);
}

int jh__store_status_get(jh__store *s, const char *job, char *buf, size_t len)
{
    int rc;
    int64_t now;
    entry **pp;

    if (s == NULL || job == NULL || (buf == NULL && len > 0))
        return -EINVAL;
    now = s->now(s->now_arg);
    pthread_mutex_lock(&s->mu);
    pp = find(s, K_STATUS, job, hash_key(K_STATUS, job), now);
    if (pp == NULL)
        rc = -ENOENT;
    else {
        size_t n = strlen((*pp)->value);
        if (len > 0) {
            size_t c = n < len - 1 ? n : len - 1;
            memcpy(buf, (*pp)->value, c);
            buf[c] = '\0';
        }
        rc = n > INT32_MAX ? INT32_MAX : (int)n;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int jh__store_processed_check(jh__store *s, const char *message_id)
{
    int rc;
    int64_t now;

    if (s == NULL || message_id == NULL)
        return -EINVAL;
    now = s->now(s->now_arg);
    pthread_mutex_lock(&s->mu);
    rc = find(s, K_IDEM, message_id, hash_key(K_IDEM, message_id), now) != NULL;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int jh__store_processed_mark(jh__store *s, const char *message_id, int64_t ttl_ns)
{
    if (s == NULL || message_id == NULL)
        return -EINVAL;
    return put_locked(s, K_IDEM, message_id, NULL, ttl_ns);
}

size_t jh__store_entries(jh__store *s)
{
    size_t n;

    pthread_mutex_lock(&s->mu);
    n = s->count;
    pthread_mutex_unlock(&s->mu);
    return n;
}

size_t jh__store_count(jh__store *s)
{
    size_t n;
    int64_t now = s->now(s->now_arg);

    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->nbuckets; i++)
        sweep_bucket(s, i, now);
    n = s->count;
    pthread_mutex_unlock(&s->mu);
    return n;
}
