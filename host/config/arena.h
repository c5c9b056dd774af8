/*
 * arena.h - memory of a configuration snapshot (internal to host/config).
 *
 * Every string of a snapshot is copied into one arena, freed in one go with
 * the snapshot; section arrays grow by doubling; a name set finds a
 * duplicate section name among 100,000 jobs without a quadratic scan.
 */
#ifndef JH_CONFIG_ARENA_H
#define JH_CONFIG_ARENA_H

#include <stddef.h>

#include "config.h"

/* A copy of s in c's arena, or NULL when out of memory. */
char *jh__conf_strdup(jh__conf *c, const char *s);
/* Frees c's arena (every string jh__conf_strdup returned). */
void jh__conf_arena_free(jh__conf *c);

/* Makes room for `need` elements of `elem` bytes in *arr (capacity *cap).
 * Returns 0 or -ENOMEM (the array is left as it was). */
int jh__conf_grow(void **arr, size_t *cap, size_t need, size_t elem);

/* Names of the sections of one kind, each with its index in its array
 * (open addressing; the names are not copied). */
typedef struct jh__conf_names {
    const char **names;
    size_t *idx;
    size_t cap, n;
} jh__conf_names;

/* Adds name with index idx: 0; -EEXIST with the first one's index in
 * *prev when the name is already there; -ENOMEM. */
int jh__conf_names_add(jh__conf_names *s, const char *name, size_t idx, size_t *prev);
void jh__conf_names_free(jh__conf_names *s);

#endif
