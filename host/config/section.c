/*
 * section.c - a "[...]" header opens a section: [host], or [word NAME] for
 * a named kind, whose sections live in an array of the snapshot.
 *
 * A named section cannot be reopened: a second [job x] or [mysql main],
 * in any file, is refused naming the first; so is a second [host] (it
 * could only split the host's keys over places), when it closes, so that
 * a duplicate key inside it is reported as such.  Opening applies the
 * kind's defaults.
 */
#include "keymap.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int valid_name(const char *s)
{
    if (*s == '\0' || strlen(s) > 128)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-'))
            return 0;
    return 1;
}

static int open_host(jh__conf_parser *p)
{
    jh__conf *c = p->conf;

    p->sd = jh__conf_section_of(JH_CONF_HOST);
    p->seen = c->host_set_;
    snprintf(p->label, sizeof(p->label), "host");
    if (c->host.pos.file != NULL)
        p->host_again = p->line; /* an error once the section closes */
    else
        c->host.pos = (jh__conf_pos){p->file, p->line};
    return 0;
}

static const jh__conf_pos *header_pos(const jh__conf_section *sd, const void *sec)
{
    return (const jh__conf_pos *)(const void *)((const char *)sec + sd->pos_off);
}

static int duplicate_section(jh__conf_parser *p, const jh__conf_section *sd, const char *nm,
                             size_t first)
{
    const jh__conf_pos *at = header_pos(sd, jh__conf_at(p->conf, sd, first));

    /* A [job] has always said "duplicate job". */
    if (sd->kind == JH_CONF_JOB)
        return jh__conf_fail(p, -EEXIST, "[job %s]: duplicate job (first defined at %s:%d)", nm,
                             at->file, at->line);
    return jh__conf_fail(p, -EEXIST, "[%s %s]: duplicate section (first at %s:%d)", sd->word,
                         nm, at->file, at->line);
}

static int second_single(jh__conf_parser *p, const jh__conf_section *sd, const char *nm)
{
    const void *first = jh__conf_at(p->conf, sd, 0);
    const jh__conf_pos *at = header_pos(sd, first);

    return jh__conf_fail(p, -EINVAL,
                         "[%s %s]: only one [%s] section is supported (%s; [%s %s] is at %s:%d)",
                         sd->word, nm, sd->word, sd->single_why, sd->word,
                         *(const char *const *)first, at->file, at->line);
}

/* A new element of sd's array named nm, with the kind's defaults. */
static int open_named(jh__conf_parser *p, const jh__conf_section *sd, const char *nm)
{
    jh__conf *c = p->conf;
    void **arr = (void **)(void *)((char *)c + sd->arr_off);
    size_t *n = (size_t *)(void *)((char *)c + sd->n_off), first;
    int rc = jh__conf_names_add(&p->ld->names[sd->kind], nm, *n, &first);
    char *sec;

    if (rc == -EEXIST)
        return duplicate_section(p, sd, nm, first);
    if (rc == 0 && sd->single && *n > 0)
        return second_single(p, sd, nm);
    if (rc < 0 || jh__conf_grow(arr, &p->ld->cap[sd->kind], *n + 1, sd->elem) < 0)
        return jh__conf_fail(p, -ENOMEM, "out of memory");
    sec = (char *)*arr + *n * sd->elem;
    memset(sec, 0, sd->elem);
    *(const char **)(void *)sec = nm;
    *(jh__conf_pos *)(void *)(sec + sd->pos_off) = (jh__conf_pos){p->file, p->line};
    p->sd = sd;
    p->sec_index = (*n)++;
    p->seen = p->sec_seen;
    return jh__conf_defaults(p, sd, sec);
}

int jh__conf_close_section(jh__conf_parser *p)
{
    const jh__conf_pos *first = &p->conf->host.pos;
    int line = p->host_again;

    p->host_again = 0;
    if (line == 0 || p->failed)
        return 0;
    p->failed = 1;
    return jh__err_set(p->e, -EEXIST, "%s:%d: [host]: duplicate section (first at %s:%d)",
                       p->file, line, first->file, first->line);
}

int jh__conf_open_section(jh__conf_parser *p, const char *raw)
{
    size_t wl = strcspn(raw, " ");
    const jh__conf_section *sd;
    const char *name;
    char *nm;

    if (jh__conf_close_section(p) < 0)
        return -EEXIST;
    p->sd = NULL; /* until the section exists */
    p->label[0] = '\0';
    memset(p->sec_seen, 0, sizeof(p->sec_seen));
    if (strcmp(raw, "host") == 0)
        return open_host(p);
    if ((sd = jh__conf_section_named(raw, wl)) == NULL)
        return jh__conf_fail(p, -EINVAL,
                             "unknown section [%s] (expected [host], [plugin NAME], [job NAME], "
                             "[mysql NAME], [redis NAME] or [kafka NAME])",
                             raw);
    for (name = raw + wl; *name == ' '; name++)
        ;
    if (*name == '\0')
        return jh__conf_fail(p, -EINVAL, "[%s]: missing name (expected [%s NAME])", raw,
                             sd->word);
    if (!valid_name(name))
        return jh__conf_fail(p, -EINVAL, "[%s]: bad %s name \"%s\" (use letters, digits, _ . -)",
                             raw, sd->word, name);
    if ((nm = jh__conf_strdup(p->conf, name)) == NULL)
        return jh__conf_fail(p, -ENOMEM, "out of memory");
    snprintf(p->label, sizeof(p->label), "%s %s", sd->word, nm);
    return open_named(p, sd, nm);
}
