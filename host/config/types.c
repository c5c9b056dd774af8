/*
 * types.c - the typed stores of the key map: a value of each JH_K_* type
 * parsed into its field, or refused with the message users see:
 *
 *   [mysql main]: port "0": expected a number from 1 to 65535
 *   [job x]: every: duration "5": expected a unit
 *   [host]: log_format "xml": expected logfmt or json
 *
 * The "expected ..." text is made from the row (range, words) unless the
 * row says it (.expect).
 */
#include "keymap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "time/duration.h"

/* The field of row k in section sec. */
#define FIELD(type, sec, k) ((type *)(void *)((char *)(sec) + (k)->off))

static int bad_value(jh__conf_parser *p, int code, const char *key, const char *value,
                     const char *expect)
{
    return jh__conf_fail(p, code, "[%s]: %s \"%s\": expected %s", p->label, key, value, expect);
}

static int oom(jh__conf_parser *p)
{
    return jh__conf_fail(p, -ENOMEM, "out of memory");
}

static int store_str(jh__conf_parser *p, const jh__conf_key *k, void *sec, const char *key,
                     const char *value)
{
    const char *s;

    if (*value == '\0' && !(k->flags & JH_KF_EMPTY))
        return jh__conf_empty(p, key);
    if ((s = jh__conf_strdup(p->conf, value)) == NULL)
        return oom(p);
    *FIELD(const char *, sec, k) = s;
    return 0;
}

static int parse_long(const char *v, long lo, long hi, long *out)
{
    char *end;
    long x;

    errno = 0;
    x = strtol(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || x < lo || x > hi)
        return -EINVAL;
    *out = x;
    return 0;
}

/* JH_K_INT (an int) and JH_K_BYTES (an int64_t). */
static int store_int(jh__conf_parser *p, const jh__conf_key *k, void *sec, const char *key,
                     const char *value)
{
    char expect[80];
    long x;

    if (parse_long(value, (long)k->lo, (long)k->hi, &x) < 0) {
        if (k->expect != NULL)
            snprintf(expect, sizeof(expect), "%s", k->expect);
        else
            snprintf(expect, sizeof(expect), "a number%s from %lld to %lld",
                     k->type == JH_K_BYTES ? " of bytes" : "", (long long)k->lo,
                     (long long)k->hi);
        return bad_value(p, -EINVAL, key, value, expect);
    }
    if (k->type == JH_K_BYTES)
        *FIELD(int64_t, sec, k) = x;
    else
        *FIELD(int, sec, k) = (int)x;
    return 0;
}

static const jh__conf_word bool_words[] = {
    {"true", 1}, {"yes", 1}, {"on", 1}, {"1", 1}, {"false", 0}, {"no", 0}, {"off", 0}, {"0", 0},
};

/* "true, false or auto", "debug, info, warn or error": what a bool or an
 * enum row accepts, as its message says it. */
static void expect_words(const jh__conf_key *k, char *out, size_t len)
{
    const char *w[16];
    size_t n = 0, off = 0;

    if (k->type == JH_K_BOOL) {
        w[n++] = "true";
        w[n++] = "false";
    }
    for (const jh__conf_word *x = k->names; x != NULL && x->word != NULL && n < 16; x++)
        w[n++] = x->word;
    out[0] = '\0';
    for (size_t i = 0; i < n && off < len; i++) {
        int m = snprintf(out + off, len - off, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ",
                         w[i]);
        off += m > 0 ? (size_t)m : 0;
    }
}

/* JH_K_BOOL and JH_K_ENUM: a word into an int. */
static int store_word(jh__conf_parser *p, const jh__conf_key *k, void *sec, const char *key,
                      const char *value)
{
    char expect[128];

    for (const jh__conf_word *x = k->names; x != NULL && x->word != NULL; x++)
        if (strcmp(value, x->word) == 0) {
            *FIELD(int, sec, k) = x->value;
            return 0;
        }
    for (size_t i = 0; k->type == JH_K_BOOL && i < sizeof(bool_words) / sizeof(bool_words[0]);
         i++)
        if (strcmp(value, bool_words[i].word) == 0) {
            *FIELD(int, sec, k) = bool_words[i].value;
            return 0;
        }
    expect_words(k, expect, sizeof(expect));
    return bad_value(p, -EINVAL, key, value, expect);
}

static int store_duration(jh__conf_parser *p, const jh__conf_key *k, void *sec,
                          const char *key, const char *value)
{
    int64_t *ns = FIELD(int64_t, sec, k);
    char lo[32], hi[32], expect[80];
    jh_err e;

    if (jh__duration_parse(value, (k->flags & JH_KF_ZERO) != 0, ns, &e) < 0)
        return jh__conf_fail(p, e.code, "[%s]: %s: %s", p->label, key, e.msg);
    if (k->hi > 0 && (*ns < k->lo || *ns > k->hi)) {
        jh__duration_format(k->lo, lo, sizeof(lo));
        jh__duration_format(k->hi, hi, sizeof(hi));
        snprintf(expect, sizeof(expect), "%s to %s", lo, hi);
        return bad_value(p, -ERANGE, key, value, expect);
    }
    return 0;
}

/*
 * A key = value list: the plugin's own keys, rdkafka.* properties (stored
 * without the prefix).  Sections are small: the list grows by one, the
 * arena holds the strings.
 */
static int store_kvlist(jh__conf_parser *p, const jh__conf_key *k, void *sec, const char *key,
                        const char *value)
{
    jh__conf_kv **list = FIELD(jh__conf_kv *, sec, k), *kv;
    size_t *n = (size_t *)(void *)((char *)sec + k->n_off);
    const char *name = key + (k->flags & JH_KF_PREFIX ? strlen(k->name) : 0);

    for (size_t i = 0; i < *n; i++)
        if (strcmp((*list)[i].key, name) == 0)
            return jh__conf_duplicate(p, key, &(*list)[i].pos);
    if ((kv = realloc(*list, (*n + 1) * sizeof(*kv))) == NULL)
        return oom(p);
    *list = kv;
    kv[*n].key = jh__conf_strdup(p->conf, name);
    kv[*n].value = jh__conf_strdup(p->conf, value);
    kv[*n].pos = (jh__conf_pos){p->file, p->line};
    if (kv[*n].key == NULL || kv[*n].value == NULL)
        return oom(p);
    (*n)++;
    return 0;
}

int jh__conf_store(jh__conf_parser *p, const jh__conf_key *k, void *sec, const char *key,
                   const char *value)
{
    static const jh__conf_parse_fn stores[JH_K_N_TYPES] = {
        [JH_K_STR] = store_str,
        [JH_K_INT] = store_int,
        [JH_K_BYTES] = store_int,
        [JH_K_BOOL] = store_word,
        [JH_K_ENUM] = store_word,
        [JH_K_DURATION] = store_duration,
        [JH_K_SECRET_FILE] = jh__conf_secret_file,
        [JH_K_SECRET_ENV] = jh__conf_secret_env,
        [JH_K_KVLIST] = store_kvlist,
    };

    return stores[k->type](p, k, sec, key, value);
}
