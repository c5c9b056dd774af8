/*
 * heap.h - an intrusive binary min-heap of int64 keys (due times).
 *
 * The element embeds a jh__heap_node and sets its key; the heap keeps an
 * array of node pointers and writes each node's index into it, so removal
 * and re-keying are O(log n) without a search.  Equal keys come out in the
 * order they went in (each push or re-key takes a fresh sequence number),
 * as libuv orders its timers by timeout and start_id.
 *
 * The key lives in the node, not behind a compare callback: every
 * comparison reads two adjacent words of the node, with no indirect call.
 *
 * Only growing the array allocates, and only jh__heap_push() and
 * jh__heap_reserve() grow it; both report -ENOMEM and leave the heap as it
 * was.  A caller that takes an element out to put it back later after code
 * that may push others (callbacks) uses jh__heap_take() / jh__heap_put():
 * the element's slot is kept for it, so putting it back cannot fail.
 */
#ifndef JH_SCHED_HEAP_H
#define JH_SCHED_HEAP_H

#include <stddef.h>
#include <stdint.h>

#define JH__HEAP_NONE SIZE_MAX /* jh__heap_node.i when not in a heap */

typedef struct jh__heap_node {
    int64_t key;
    uint64_t seq;     /* tie-break: set by the heap */
    size_t i;         /* index in the heap, or JH__HEAP_NONE */
} jh__heap_node;

typedef struct jh__heap {
    jh__heap_node **v;
    size_t n, cap;
    size_t kept;      /* slots held by jh__heap_take() */
    uint64_t seq;
} jh__heap;

/* The element that embeds node `p` as `member`. */
#define jh__heap_entry(p, type, member) ((type *)(void *)((char *)(p) - offsetof(type, member)))

static inline void jh__heap_node_init(jh__heap_node *x)
{
    x->i = JH__HEAP_NONE;
}

static inline int jh__heap_has(const jh__heap_node *x)
{
    return x->i != JH__HEAP_NONE;
}

static inline jh__heap_node *jh__heap_min(const jh__heap *h)
{
    return h->n > 0 ? h->v[0] : NULL;
}

/* The nodes in array order, i < h->n: to change keys in place, then
 * jh__heap_rebuild(). */
static inline jh__heap_node *jh__heap_at(const jh__heap *h, size_t i)
{
    return h->v[i];
}

/* The empty heap is all zeros; free releases the array (not the nodes). */
void jh__heap_free(jh__heap *h);

/* Room for `extra` more pushes, so that they cannot fail.  0 or -ENOMEM. */
int jh__heap_reserve(jh__heap *h, size_t extra);

/* Insert x (x->key set, x not in a heap).  0 or -ENOMEM (heap unchanged). */
int jh__heap_push(jh__heap *h, jh__heap_node *x);

/* Take x out; nothing if it is not in. */
void jh__heap_remove(jh__heap *h, jh__heap_node *x);

/* x (in the heap) gets `key` and goes behind the nodes of equal key, as if
 * removed and pushed again, without allocating. */
void jh__heap_rekey(jh__heap *h, jh__heap_node *x, int64_t key);

/*
 * Take x (in the heap) out but keep its slot: each take is balanced by one
 * jh__heap_put() (of x, re-keyed, or of any node) that cannot fail, or by
 * jh__heap_unkeep() when nothing goes back.
 */
void jh__heap_take(jh__heap *h, jh__heap_node *x);
void jh__heap_put(jh__heap *h, jh__heap_node *x);
void jh__heap_unkeep(jh__heap *h);

/* After the caller changed the keys of nodes in place: restore the order. */
void jh__heap_rebuild(jh__heap *h);

#endif
