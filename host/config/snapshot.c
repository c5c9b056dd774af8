/*
 * snapshot.c - what the rest of the host asks of a loaded snapshot:
 * sections by name, whether a section changed across a reload (field by
 * field, from the same tables that parsed them), a [plugin]'s keys against
 * the plugin's descriptor, and freeing (secrets wiped first).
 */
#include "keymap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- lookups ----------------------------------------------------------- */

const jh__conf_plugin *jh__conf_find_plugin(const jh__conf *c, const char *name)
{
    return jh__conf_find(c, JH_CONF_PLUGIN, name);
}

const jh__conf_mysql *jh__conf_find_mysql(const jh__conf *c, const char *name)
{
    return jh__conf_find(c, JH_CONF_MYSQL, name);
}

const jh__conf_redis *jh__conf_find_redis(const jh__conf *c, const char *name)
{
    return jh__conf_find(c, JH_CONF_REDIS, name);
}

const jh__conf_kafka *jh__conf_find_kafka(const jh__conf *c, const char *name)
{
    return jh__conf_find(c, JH_CONF_KAFKA, name);
}

const jh__conf_kv *jh__conf_plugin_get(const jh__conf_plugin *p, const char *key)
{
    for (size_t i = 0; p != NULL && i < p->n_kv; i++)
        if (strcmp(p->kv[i].key, key) == 0)
            return &p->kv[i];
    return NULL;
}

/* ---- equality ------------------------------------------------------------ */

/* Two optional strings: both NULL, or both set and equal. */
static int str_eq(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Same key/value lists in any order (keys are unique within a list). */
static int kv_equal(const jh__conf_kv *a, size_t na, const jh__conf_kv *b, size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++) {
        size_t k;
        for (k = 0; k < nb; k++)
            if (strcmp(a[i].key, b[k].key) == 0)
                break;
        if (k == nb || strcmp(a[i].value, b[k].value) != 0)
            return 0;
    }
    return 1;
}

#define AT(type, sec, off) (*(const type *)(const void *)((const char *)(sec) + (off)))

static int field_equal(const jh__conf_key *k, const void *a, const void *b)
{
    switch (k->type) {
    case JH_K_INT:
    case JH_K_BOOL:
    case JH_K_ENUM:
        return AT(int, a, k->off) == AT(int, b, k->off);
    case JH_K_BYTES:
    case JH_K_DURATION:
        return AT(int64_t, a, k->off) == AT(int64_t, b, k->off);
    case JH_K_KVLIST:
        return kv_equal(AT(jh__conf_kv *, a, k->off), AT(size_t, a, k->n_off),
                        AT(jh__conf_kv *, b, k->off), AT(size_t, b, k->n_off));
    default: /* strings and secrets */
        return str_eq(AT(char *, a, k->off), AT(char *, b, k->off));
    }
}

/* Every field of the kind's rows (not the name). */
static int fields_equal(int kind, const void *a, const void *b)
{
    const jh__conf_section *sd = jh__conf_section_of(kind);

    for (size_t i = 0; i < sd->n_keys; i++)
        if (!field_equal(&sd->keys[i], a, b))
            return 0;
    return 1;
}

/* A backend section: the same name and fields, or both absent. */
static int backend_equal(int kind, const void *a, const void *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return str_eq(*(const char *const *)a, *(const char *const *)b) && fields_equal(kind, a, b);
}

int jh__conf_mysql_equal(const jh__conf_mysql *a, const jh__conf_mysql *b)
{
    return backend_equal(JH_CONF_MYSQL, a, b);
}

int jh__conf_redis_equal(const jh__conf_redis *a, const jh__conf_redis *b)
{
    return backend_equal(JH_CONF_REDIS, a, b);
}

int jh__conf_kafka_equal(const jh__conf_kafka *a, const jh__conf_kafka *b)
{
    return backend_equal(JH_CONF_KAFKA, a, b);
}

int jh__conf_plugin_equal(const jh__conf_plugin *a, const jh__conf_plugin *b)
{
    /* No section at all is the same as an empty one: no keys, no backends,
     * enabled. */
    static const jh__conf_plugin none = {.enabled = 1};

    return fields_equal(JH_CONF_PLUGIN, a != NULL ? a : &none, b != NULL ? b : &none);
}

/* ---- a [plugin] against its descriptor ----------------------------------- */

/* i-th declared key of a descriptor, whatever its element size. */
static const jh_config_key *desc_key(const jh_plugin_desc *d, size_t i)
{
    return (const jh_config_key *)(const void *)((const char *)d->config_keys +
                                                 i * d->config_key_size);
}

static int declares(const jh_plugin_desc *d, const char *key)
{
    for (size_t k = 0; k < d->n_config_keys; k++)
        if (desc_key(d, k)->name != NULL && strcmp(desc_key(d, k)->name, key) == 0)
            return 1;
    return 0;
}

/* "title, limit" (cut where it does not fit). */
static void declared_list(const jh_plugin_desc *d, char *out, size_t len)
{
    size_t off = 0;

    out[0] = '\0';
    for (size_t k = 0; k < d->n_config_keys && off < len - 1; k++) {
        int w = snprintf(out + off, len - off, "%s%s", k ? ", " : "",
                         desc_key(d, k)->name ? desc_key(d, k)->name : "?");
        if (w < 0)
            break;
        off += (size_t)w;
    }
}

static int undeclared(const jh__conf_plugin *p, const jh__conf_kv *kv, const jh_plugin_desc *d,
                      jh_err *e)
{
    const jh__conf_section *sd = jh__conf_section_of(JH_CONF_PLUGIN);
    jh__conf_near near = JH_CONF_NEAR_INIT;
    char declared[512], hint[200];

    declared_list(d, declared, sizeof(declared));
    /* A near miss of a declared key or of a host key (mysql, enabled...). */
    for (size_t k = 0; k < d->n_config_keys; k++)
        jh__conf_near_offer(&near, kv->key, desc_key(d, k)->name);
    for (size_t k = 0; k < sd->n_keys; k++)
        if (!(sd->keys[k].flags & JH_KF_PREFIX))
            jh__conf_near_offer(&near, kv->key, sd->keys[k].name);
    jh__conf_near_hint(&near, hint, sizeof(hint));
    /* Name the key and what is declared; never echo the value (it may be a
     * misspelt secret). */
    return jh__err_set(e, -EINVAL, "%s:%d: [plugin %s]: unknown key \"%s\" (%s declares: %s)%s",
                       kv->pos.file, kv->pos.line, p->name, kv->key, p->name,
                       d->n_config_keys ? declared : "no keys", hint);
}

int jh__conf_check_plugin(const jh__conf_plugin *p, const jh_plugin_desc *d, jh_err *e)
{
    for (size_t i = 0; p != NULL && i < p->n_kv; i++)
        if (!declares(d, p->kv[i].key))
            return undeclared(p, &p->kv[i], d, e);
    return 0;
}

/* ---- freeing ------------------------------------------------------------- */

/* Passwords live in the arena like every string; wipe them before the
 * memory goes back to malloc. */
static void wipe(const char *s)
{
    if (s != NULL)
        explicit_bzero((char *)s, strlen(s));
}

static void free_field(const jh__conf_key *k, void *sec)
{
    void *field = (char *)sec + k->off;

    if (k->type == JH_K_SECRET_FILE || k->type == JH_K_SECRET_ENV)
        wipe(*(const char **)field);
    if (k->type != JH_K_KVLIST)
        return;
    /* rdkafka.* values may be secrets too (sasl.password, ssl.key.password). */
    jh__conf_kv *kv = *(jh__conf_kv **)field;
    size_t n = *(size_t *)(void *)((char *)sec + k->n_off);
    for (size_t i = 0; (k->flags & JH_KF_SECRET) && i < n; i++)
        wipe(kv[i].value);
    free(kv);
}

static void free_sections(jh__conf *c, const jh__conf_section *sd)
{
    for (size_t i = 0; i < jh__conf_count(c, sd); i++)
        for (size_t k = 0; k < sd->n_keys; k++)
            free_field(&sd->keys[k], jh__conf_at(c, sd, i));
    free(*(void **)(void *)((char *)c + sd->arr_off));
}

void jh__conf_free(jh__conf *c)
{
    if (c == NULL)
        return;
    for (int kind = 0; kind < JH_CONF_N_KINDS; kind++)
        if (jh__conf_section_of(kind)->named)
            free_sections(c, jh__conf_section_of(kind));
    jh__conf_arena_free(c);
    free(c);
}

void jh__conf_drop_jobs(jh__conf *c)
{
    if (c == NULL)
        return;
    free(c->jobs);
    c->jobs = NULL;
    c->n_jobs = 0;
}
