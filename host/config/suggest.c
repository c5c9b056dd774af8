/*
 * suggest.c - "did you mean": the nearest of some candidates to a word
 * that matched none of them (unknown keys, undeclared plugin keys, section
 * names a [plugin] binds).  Near is within two edits (Levenshtein); the
 * first of equally near candidates wins, so tables keep their order.
 */
#include "keymap.h"

#include <stdio.h>
#include <string.h>

/* Levenshtein distance, small strings only (key and section names). */
static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int row[64];

    if (la >= 63 || lb >= 63)
        return 99;
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int prev = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int cur = row[j];
            int sub = prev + (a[i - 1] != b[j - 1]);
            int best = row[j] + 1 < row[j - 1] + 1 ? row[j] + 1 : row[j - 1] + 1;
            row[j] = sub < best ? sub : best;
            prev = cur;
        }
    }
    return row[lb];
}

void jh__conf_near_offer(jh__conf_near *n, const char *word, const char *cand)
{
    int d = cand != NULL ? edit_distance(word, cand) : 99;

    if (d < n->dist) {
        n->dist = d;
        n->best = cand;
    }
}

void jh__conf_near_hint(const jh__conf_near *n, char *out, size_t len)
{
    if (n->best != NULL)
        snprintf(out, len, " (did you mean \"%s\"?)", n->best);
    else
        out[0] = '\0';
}
