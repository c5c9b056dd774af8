/*
 * heap.c - the array behind heap.h: v[0] is the minimum, v[i]'s children
 * are v[2i+1] and v[2i+2].  The array only grows (doubling); a scheduler's
 * job count is what it was a moment ago.
 */
#include "heap.h"

#include <errno.h>
#include <stdlib.h>

static int less(const jh__heap_node *a, const jh__heap_node *b)
{
    return a->key < b->key || (a->key == b->key && a->seq < b->seq);
}

static void place(jh__heap *h, size_t i, jh__heap_node *x)
{
    h->v[i] = x;
    x->i = i;
}

/* Move the hole at i up to where x belongs, and put x there. */
static void sift_up(jh__heap *h, size_t i, jh__heap_node *x)
{
    while (i > 0 && less(x, h->v[(i - 1) / 2])) {
        place(h, i, h->v[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    place(h, i, x);
}

static void sift_down(jh__heap *h, size_t i, jh__heap_node *x)
{
    for (;;) {
        size_t l = 2 * i + 1, m = l;
        if (l >= h->n)
            break;
        if (l + 1 < h->n && less(h->v[l + 1], h->v[l]))
            m = l + 1;
        if (!less(h->v[m], x))
            break;
        place(h, i, h->v[m]);
        i = m;
    }
    place(h, i, x);
}

/* x is at i with a changed key (or moved there): put it where it belongs. */
static void fix(jh__heap *h, size_t i, jh__heap_node *x)
{
    if (i > 0 && less(x, h->v[(i - 1) / 2]))
        sift_up(h, i, x);
    else
        sift_down(h, i, x);
}

void jh__heap_free(jh__heap *h)
{
    free(h->v);
    h->v = NULL;
    h->n = h->cap = h->kept = 0;
}

int jh__heap_reserve(jh__heap *h, size_t extra)
{
    size_t want = h->n + h->kept + extra, nc = h->cap ? h->cap : 16;
    jh__heap_node **v;

    if (want <= h->cap)
        return 0;
    while (nc < want)
        nc *= 2;
    if ((v = realloc(h->v, nc * sizeof(*v))) == NULL)
        return -ENOMEM;
    h->v = v;
    h->cap = nc;
    return 0;
}

int jh__heap_push(jh__heap *h, jh__heap_node *x)
{
    int rc = jh__heap_reserve(h, 1);

    if (rc < 0)
        return rc;
    x->seq = h->seq++;
    sift_up(h, h->n++, x);
    return 0;
}

void jh__heap_remove(jh__heap *h, jh__heap_node *x)
{
    size_t i = x->i;
    jh__heap_node *last;

    if (i == JH__HEAP_NONE)
        return;
    x->i = JH__HEAP_NONE;
    last = h->v[--h->n];
    if (last != x)
        fix(h, i, last);
}

void jh__heap_rekey(jh__heap *h, jh__heap_node *x, int64_t key)
{
    x->key = key;
    x->seq = h->seq++;
    fix(h, x->i, x);
}

void jh__heap_take(jh__heap *h, jh__heap_node *x)
{
    jh__heap_remove(h, x);
    h->kept++;
}

void jh__heap_put(jh__heap *h, jh__heap_node *x)
{
    /* n + kept <= cap, so the slot is there: no reserve, no failure. */
    h->kept--;
    x->seq = h->seq++;
    sift_up(h, h->n++, x);
}

void jh__heap_unkeep(jh__heap *h)
{
    h->kept--;
}

void jh__heap_rebuild(jh__heap *h)
{
    for (size_t i = h->n / 2; i-- > 0;)
        sift_down(h, i, h->v[i]);
}
