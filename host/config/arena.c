/*
 * arena.c - the string arena, growable arrays and the name set of a
 * snapshot (see arena.h).
 */
#include "arena.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    char data[];
} chunk;

char *jh__conf_strdup(jh__conf *c, const char *s)
{
    size_t n = strlen(s) + 1;
    chunk *ch = c->arena_;

    if (ch == NULL || ch->cap - ch->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        chunk *nc = malloc(sizeof(*nc) + cap);
        if (nc == NULL)
            return NULL;
        nc->next = ch;
        nc->used = 0;
        nc->cap = cap;
        c->arena_ = ch = nc;
    }
    char *p = ch->data + ch->used;
    memcpy(p, s, n);
    ch->used += n;
    return p;
}

void jh__conf_arena_free(jh__conf *c)
{
    for (chunk *ch = c->arena_, *n; ch != NULL; ch = n) {
        n = ch->next;
        free(ch);
    }
    c->arena_ = NULL;
}

int jh__conf_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 16;
    while (ncap < need)
        ncap *= 2;
    void *p = realloc(*arr, ncap * elem);
    if (p == NULL)
        return -ENOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* The slot of `name` in a table of cap (a power of two) slots: where it
 * is, or the empty slot where it would go. */
static size_t slot(const char *const *names, size_t cap, const char *name)
{
    size_t j = str_hash(name) & (cap - 1);

    while (names[j] != NULL && strcmp(names[j], name) != 0)
        j = (j + 1) & (cap - 1);
    return j;
}

/* Doubles the table (kept at most half full, so probes stay short). */
static int names_grow(jh__conf_names *s)
{
    size_t ncap = s->cap ? s->cap * 2 : 64;
    const char **nn = calloc(ncap, sizeof(*nn));
    size_t *ni = calloc(ncap, sizeof(*ni));

    if (nn == NULL || ni == NULL) {
        free(nn);
        free(ni);
        return -ENOMEM;
    }
    for (size_t i = 0; i < s->cap; i++)
        if (s->names[i] != NULL) {
            size_t j = slot(nn, ncap, s->names[i]);
            nn[j] = s->names[i];
            ni[j] = s->idx[i];
        }
    free(s->names);
    free(s->idx);
    s->names = nn;
    s->idx = ni;
    s->cap = ncap;
    return 0;
}

int jh__conf_names_add(jh__conf_names *s, const char *name, size_t idx, size_t *prev)
{
    int rc;

    if (s->n * 2 >= s->cap && (rc = names_grow(s)) < 0)
        return rc;
    size_t j = slot(s->names, s->cap, name);
    if (s->names[j] != NULL) {
        *prev = s->idx[j];
        return -EEXIST;
    }
    s->names[j] = name;
    s->idx[j] = idx;
    s->n++;
    return 0;
}

void jh__conf_names_free(jh__conf_names *s)
{
    free(s->names);
    free(s->idx);
}
