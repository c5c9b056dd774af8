/*
 * readme_keys.t - the README's configuration reference against the key
 * map's tables (host/config/tables.c, through jh__conf_keys()):
 *
 *   - every key of every section kind is in the README table under the
 *     kind's heading ("### [mysql NAME]", "| key | default | meaning |"),
 *     with the default the table gives it ("`5s`", "none", "(required)");
 *   - those README tables list no other key.
 *
 * A key cell may list several keys ("`read_timeout`, `write_timeout`"); a
 * prefix key is written with an upper-case placeholder ("rdkafka.PROPERTY").
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "lib/tap.h"

#define MAX_ROWS 64

typedef struct doc_row {
    char key[64];
    char def[64];
    int line;
} doc_row;

static char *lines[4096];
static size_t n_lines;

static void read_readme(void)
{
    static char text[1 << 20];
    const char *path = tap_src("README");
    FILE *f = fopen(path, "r");
    size_t n;

    if (f == NULL)
        bail("cannot open %s", path);
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    for (char *s = text; *s != '\0' && n_lines < sizeof(lines) / sizeof(lines[0]);) {
        char *nl = strchr(s, '\n');
        lines[n_lines++] = s;
        if (nl == NULL)
            break;
        *nl = '\0';
        s = nl + 1;
    }
}

/* s without surrounding blanks, into out. */
static void trimmed(const char *s, size_t len, char *out, size_t cap)
{
    while (len > 0 && *s == ' ')
        s++, len--;
    while (len > 0 && s[len - 1] == ' ')
        len--;
    if (len >= cap)
        len = cap - 1;
    memcpy(out, s, len);
    out[len] = '\0';
}

/* "| `a`, `b` | `30s` | ..." into one row per key (backquotes dropped). */
static size_t table_row(const char *line, int lineno, doc_row *rows, size_t n, size_t max)
{
    const char *keys = line + 1, *def = strchr(keys, '|'), *end = def ? strchr(def + 1, '|') : NULL;
    char cell[256], d[64];

    if (def == NULL || end == NULL)
        return n;
    trimmed(def + 1, (size_t)(end - def - 1), d, sizeof(d));
    trimmed(keys, (size_t)(def - keys), cell, sizeof(cell));
    for (char *k = strtok(cell, ","); k != NULL && n < max; k = strtok(NULL, ",")) {
        char name[64];
        trimmed(k, strlen(k), name, sizeof(name));
        if (name[0] == '`' && strlen(name) >= 2 && name[strlen(name) - 1] == '`') {
            memmove(name, name + 1, strlen(name) - 2);
            name[strlen(name) - 2] = '\0';
        }
        snprintf(rows[n].key, sizeof(rows[n].key), "%s", name);
        snprintf(rows[n].def, sizeof(rows[n].def), "%s", d);
        rows[n++].line = lineno;
    }
    return n;
}

/* The rows of the first "| key | default | meaning |" table under the
 * heading "### title"; -1 if there is no such heading or table. */
static long readme_table(const char *title, doc_row *rows, size_t max)
{
    char heading[128];
    size_t i, n = 0;

    snprintf(heading, sizeof(heading), "### %s", title);
    for (i = 0; i < n_lines && strcmp(lines[i], heading) != 0; i++)
        ;
    for (i++; i < n_lines && strncmp(lines[i], "| key |", 7) != 0; i++)
        if (strncmp(lines[i], "#", 1) == 0)
            return -1;
    if (i + 1 >= n_lines)
        return -1;
    for (i += 2; i < n_lines && lines[i][0] == '|'; i++)
        n = table_row(lines[i], (int)i + 1, rows, n, max);
    return (long)n;
}

/* Does README key k name the table's key d?  A prefix ("rdkafka.") is
 * written with a placeholder ("rdkafka.PROPERTY"). */
static int names(const char *k, const jh__conf_keydoc *d)
{
    size_t len = strlen(d->name);

    if (!d->prefix)
        return strcmp(k, d->name) == 0;
    if (strncmp(k, d->name, len) != 0 || k[len] == '\0')
        return 0;
    for (k += len; *k != '\0'; k++)
        if (!isupper((unsigned char)*k) && *k != '_')
            return 0;
    return 1;
}

static void check_kind(int kind)
{
    const char *title = jh__conf_kind_title(kind);
    jh__conf_keydoc docs[MAX_ROWS];
    doc_row rows[MAX_ROWS];
    size_t nd = jh__conf_keys(kind, docs, MAX_ROWS);
    long nr = readme_table(title, rows, MAX_ROWS);

    if (!ok(nr > 0, "README: a key table under \"### %s\"", title))
        nr = 0;
    ok(nd > 0 && nd <= MAX_ROWS, "%s: %zu keys in the table", title, nd);
    for (size_t i = 0; i < nd && i < MAX_ROWS; i++) {
        const doc_row *r = NULL;
        for (long j = 0; j < nr && r == NULL; j++)
            if (names(rows[j].key, &docs[i]))
                r = &rows[j];
        is_str(r ? r->def : "(not in the README)", docs[i].def, "%s %s%s: in the README, default %s",
               title, docs[i].name, docs[i].prefix ? "*" : "", docs[i].def);
    }
    for (long j = 0; j < nr; j++) {
        size_t i;
        for (i = 0; i < nd && !names(rows[j].key, &docs[i]); i++)
            ;
        ok(i < nd, "%s: README line %d lists %s, a key of the table", title, rows[j].line,
           rows[j].key);
    }
}

int main(void)
{
    plan_lazy();
    read_readme();
    ok(jh__conf_kind_title(JH_CONF_N_KINDS) == NULL, "kinds end at JH_CONF_N_KINDS");
    for (int kind = 0; kind < JH_CONF_N_KINDS; kind++)
        check_kind(kind);
    return done_testing();
}
