/*
 * keymap.c - the engine of the key map (see keymap.h): one function sets
 * any key of any section, in this order, which is what every message
 * relies on:
 *
 *   lookup ("unknown key", with "did you mean") -> set twice -> empty
 *   ([job] takes no empty value) -> exclusive pair ("both ... set") ->
 *   position and "set" bit -> the typed store or the key's own handler.
 *
 * Defaults go through the same typed stores, from the tables' strings.
 */
#include "keymap.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int jh__conf_fail(jh__conf_parser *p, int code, const char *fmt, ...)
{
    char msg[JH_ERRMSG_MAX - 300];
    va_list ap;

    if (p->failed)
        return code;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    jh__err_set(p->e, code, "%s:%d: %s", p->file, p->line, msg);
    p->failed = 1;
    return code;
}

int jh__conf_empty(jh__conf_parser *p, const char *key)
{
    return jh__conf_fail(p, -EINVAL, "[%s]: %s: empty value", p->label, key);
}

int jh__conf_duplicate(jh__conf_parser *p, const char *key, const jh__conf_pos *first)
{
    switch (p->sd->dup) {
    case JH_DUP_BARE:
        return jh__conf_fail(p, -EEXIST, "[%s]: duplicate key \"%s\"", p->label, key);
    case JH_DUP_FILE_LINE:
        return jh__conf_fail(p, -EEXIST, "[%s]: duplicate key \"%s\" (first set at %s:%d)",
                             p->label, key, first->file, first->line);
    default:
        return jh__conf_fail(p, -EEXIST, "[%s]: duplicate key \"%s\" (first set at line %d)",
                             p->label, key, first->line);
    }
}

/* ---- sections as arrays ---------------------------------------------- */

void *jh__conf_at(const jh__conf *c, const jh__conf_section *sd, size_t i)
{
    char *arr = *(char *const *)(const void *)((const char *)c + sd->arr_off);

    return arr + i * sd->elem;
}

size_t jh__conf_count(const jh__conf *c, const jh__conf_section *sd)
{
    return *(const size_t *)(const void *)((const char *)c + sd->n_off);
}

void *jh__conf_sec(const jh__conf_parser *p)
{
    /* [host] is the one section that is not an element of an array. */
    return p->sd->named ? jh__conf_at(p->conf, p->sd, p->sec_index) : &p->conf->host;
}

/* Backend sections are few (a handful per configuration): a linear scan. */
const void *jh__conf_find(const jh__conf *c, int kind, const char *name)
{
    const jh__conf_section *sd = jh__conf_section_of(kind);

    for (size_t i = 0; c != NULL && name != NULL && i < jh__conf_count(c, sd); i++) {
        const void *sec = jh__conf_at(c, sd, i);
        if (strcmp(*(const char *const *)sec, name) == 0)
            return sec;
    }
    return NULL;
}

/* ---- one key ----------------------------------------------------------- */

/* The row of `key`: its own, else the first prefix row it starts with. */
static const jh__conf_key *find_key(const jh__conf_section *sd, const char *key)
{
    for (size_t i = 0; i < sd->n_keys; i++)
        if (!(sd->keys[i].flags & JH_KF_PREFIX) && strcmp(sd->keys[i].name, key) == 0)
            return &sd->keys[i];
    for (size_t i = 0; i < sd->n_keys; i++)
        if ((sd->keys[i].flags & JH_KF_PREFIX) &&
            strncmp(key, sd->keys[i].name, strlen(sd->keys[i].name)) == 0)
            return &sd->keys[i];
    return NULL;
}

static int unknown_key(jh__conf_parser *p, const char *key)
{
    const jh__conf_section *sd = p->sd;
    jh__conf_near near = JH_CONF_NEAR_INIT;
    char hint[200];

    /* A prefix is not a key one could have meant. */
    for (size_t i = 0; i < sd->n_keys; i++)
        if (!(sd->keys[i].flags & JH_KF_PREFIX))
            jh__conf_near_offer(&near, key, sd->keys[i].name);
    jh__conf_near_hint(&near, hint, sizeof(hint));
    return jh__conf_fail(p, -EINVAL, "[%s]: unknown key \"%s\"%s", p->label, key,
                         hint[0] ? hint : sd->unknown_hint ? sd->unknown_hint : "");
}

static int mark_seen(jh__conf_parser *p, const jh__conf_key *k, const char *key)
{
    jh__conf_pos *at = &p->seen[k - p->sd->keys];

    if (at->file != NULL)
        return jh__conf_duplicate(p, key, at);
    *at = (jh__conf_pos){p->file, p->line};
    return 0;
}

/* every / cron, password_file / password_env: one of the two.  The pair
 * is named in table order, whichever came first. */
static int exclusive(jh__conf_parser *p, const jh__conf_key *k)
{
    const jh__conf_key *o = k->excl != NULL ? find_key(p->sd, k->excl) : NULL;
    const jh__conf_pos *at = o != NULL ? &p->seen[o - p->sd->keys] : NULL;

    if (at == NULL || at->file == NULL)
        return 0;
    return jh__conf_fail(p, -EINVAL, "[%s]: both %s and %s set (line %d): choose one",
                         p->label, (k < o ? k : o)->name, (k < o ? o : k)->name, at->line);
}

/* Where the key was set and that it was: what a handler's defaults and
 * messages need later. */
static void record(jh__conf_parser *p, const jh__conf_key *k, void *sec)
{
    if (k->pos_off != 0)
        *(jh__conf_pos *)(void *)((char *)sec + k->pos_off) = (jh__conf_pos){p->file, p->line};
    if (k->set_bit != 0)
        *(unsigned *)(void *)((char *)sec + p->sd->set_off) |= k->set_bit;
}

int jh__conf_set_key(jh__conf_parser *p, const char *key, const char *value)
{
    const jh__conf_key *k = find_key(p->sd, key);
    void *sec = jh__conf_sec(p);
    int rc;

    if (k == NULL)
        return unknown_key(p, key);
    /* A prefix row's keys are a list that finds its own duplicates. */
    if (!(k->flags & JH_KF_PREFIX)) {
        if ((rc = mark_seen(p, k, key)) < 0)
            return rc;
        if (p->sd->nonempty && *value == '\0')
            return jh__conf_empty(p, key);
        if ((rc = exclusive(p, k)) < 0)
            return rc;
        record(p, k, sec);
    }
    if (k->parse != NULL)
        return k->parse(p, k, sec, key, value);
    return jh__conf_store(p, k, sec, key, value);
}

int jh__conf_defaults(jh__conf_parser *p, const jh__conf_section *sd, void *sec)
{
    int rc;

    for (size_t i = 0; i < sd->n_keys; i++)
        if (sd->keys[i].def != NULL &&
            (rc = jh__conf_store(p, &sd->keys[i], sec, sd->keys[i].name, sd->keys[i].def)) < 0)
            return rc;
    return 0;
}
