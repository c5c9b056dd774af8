/*
 * config.c - conf.d/ *.ini files into one validated jh_conf snapshot.
 *
 * inih does the tokenising; we feed it through our own line reader
 * (ini_parse_stream) because Debian's inih is built without line numbers in
 * the handler (INI_HANDLER_LINENO 0), silently cuts lines at 200 bytes
 * (INI_MAX_LINE) and never reports empty sections.  The reader counts lines,
 * refuses over-long ones and notes every section header, so each error can
 * say file:line.
 *
 * What inih does to values (documented for users in the README): leading
 * and trailing space is trimmed; a `;` preceded by white space starts a
 * comment; lines starting with `;` or `#` are comments; an indented line
 * continues the previous value (we refuse that: a key set twice is an
 * error, and a continuation looks exactly like one).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cron.h"
#include "duration.h"
#include "log.h"
#include "tz.h"

/* ---- arena: every string of a snapshot lives here -------------------- */

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    char data[];
} chunk;

static char *arena_strdup(jh_conf *c, const char *s)
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

static int grow_array(void **arr, size_t *cap, size_t need, size_t elem)
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

/* ---- parse state ----------------------------------------------------- */

enum sec_type { SEC_NONE, SEC_HOST, SEC_PLUGIN, SEC_JOB, SEC_BAD };

typedef struct name_set {   /* open addressing, for duplicate names */
    const char **names;
    size_t *idx;
    size_t cap, n;
} name_set;

typedef struct parser {
    jh_conf *conf;
    jh_err *e;
    int failed;
    const char *file;        /* arena copy */
    const char *text;        /* remaining input */
    int line;                /* line number of the last line read */
    int long_line;           /* first over-long line, 0 if none */
    /* current section */
    int sec;
    size_t sec_index;
    char sec_raw[256];       /* as inih reports it */
    size_t plugins_cap, jobs_cap;
    /* [host] keys already set: positions for duplicate messages */
    jh_conf_pos host_set[8];
    name_set jobs_by_name, plugins_by_name;
} parser;

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* Returns the index stored for `name`, or inserts `idx` and returns -1. */
static long set_lookup_or_add(name_set *s, const char *name, size_t idx)
{
    if (s->n * 2 >= s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 64;
        const char **nn = calloc(ncap, sizeof(*nn));
        size_t *ni = calloc(ncap, sizeof(*ni));
        if (nn == NULL || ni == NULL) {
            free(nn);
            free(ni);
            return -2;
        }
        for (size_t i = 0; i < s->cap; i++)
            if (s->names[i] != NULL) {
                size_t j = str_hash(s->names[i]) & (ncap - 1);
                while (nn[j] != NULL)
                    j = (j + 1) & (ncap - 1);
                nn[j] = s->names[i];
                ni[j] = s->idx[i];
            }
        free(s->names);
        free(s->idx);
        s->names = nn;
        s->idx = ni;
        s->cap = ncap;
    }
    size_t j = str_hash(name) & (s->cap - 1);
    while (s->names[j] != NULL) {
        if (strcmp(s->names[j], name) == 0)
            return (long)s->idx[j];
        j = (j + 1) & (s->cap - 1);
    }
    s->names[j] = name;
    s->idx[j] = idx;
    s->n++;
    return -1;
}

static void set_free(name_set *s)
{
    free(s->names);
    free(s->idx);
}

static int fail(parser *p, int line, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(parser *p, int line, int code, const char *fmt, ...)
{
    char msg[JH_ERRMSG_MAX - 300];
    va_list ap;

    if (p->failed)
        return 0;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    jh_err_set(p->e, code, "%s:%d: %s", p->file, line, msg);
    p->failed = 1;
    return 0;
}

/* Levenshtein distance, small strings only (key names). */
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

/* " (did you mean \"cron\"?)" or "" */
static void suggest(const char *key, const char *const *known, size_t n, char *out, size_t len)
{
    const char *best = NULL;
    int bd = 3;

    for (size_t i = 0; i < n; i++) {
        int d = edit_distance(key, known[i]);
        if (d < bd) {
            bd = d;
            best = known[i];
        }
    }
    if (best != NULL)
        snprintf(out, len, " (did you mean \"%s\"?)", best);
    else
        out[0] = '\0';
}

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

static int parse_bool(const char *v, int *out)
{
    static const char *const t[] = {"true", "yes", "on", "1"};
    static const char *const f[] = {"false", "no", "off", "0"};

    for (int i = 0; i < 4; i++) {
        if (strcmp(v, t[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcmp(v, f[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -EINVAL;
}

static int parse_int(const char *v, long lo, long hi, int *out)
{
    char *end;
    long x;

    errno = 0;
    x = strtol(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || x < lo || x > hi)
        return -EINVAL;
    *out = (int)x;
    return 0;
}

/* ---- sections -------------------------------------------------------- */

static const char *const host_keys[] = {"workers", "shutdown_timeout", "plugins_dir",
                                        "log_format", "log_level"};
static const char *const job_keys[] = {"plugin", "handler", "every", "cron", "timezone",
                                       "jitter", "run_on_start", "concurrency",
                                       "max_running", "timeout", "enabled"};

#define SEC_PREFIX_MATCH(raw, word) \
    (strncmp(raw, word, sizeof(word) - 1) == 0 && (raw)[sizeof(word) - 1] == ' ')

static void section_header(parser *p, const char *raw, int line)
{
    jh_conf *c = p->conf;
    const char *name;

    snprintf(p->sec_raw, sizeof(p->sec_raw), "%s", raw);
    if (strcmp(raw, "host") == 0) {
        p->sec = SEC_HOST;
        if (c->host.pos.file == NULL)
            c->host.pos = (jh_conf_pos){p->file, line};
        return;
    }
    if (SEC_PREFIX_MATCH(raw, "plugin") || SEC_PREFIX_MATCH(raw, "job")) {
        int is_job = raw[0] == 'j';
        name = raw + (is_job ? 4 : 7);
        while (*name == ' ')
            name++;
        if (!valid_name(name)) {
            fail(p, line, -EINVAL, "[%s]: bad %s name \"%s\" (use letters, digits, _ . -)", raw,
                 is_job ? "job" : "plugin", name);
            p->sec = SEC_BAD;
            return;
        }
        char *nm = arena_strdup(c, name);
        if (nm == NULL) {
            fail(p, line, -ENOMEM, "out of memory");
            return;
        }
        if (is_job) {
            long prev = set_lookup_or_add(&p->jobs_by_name, nm, c->n_jobs);
            if (prev >= 0) {
                fail(p, line, -EEXIST, "[job %s]: duplicate job (first defined at %s:%d)", nm,
                     c->jobs[prev].pos.file, c->jobs[prev].pos.line);
                p->sec = SEC_BAD;
                return;
            }
            if (prev == -2 || grow_array((void **)&c->jobs, &p->jobs_cap, c->n_jobs + 1,
                                         sizeof(*c->jobs)) < 0) {
                fail(p, line, -ENOMEM, "out of memory");
                return;
            }
            jh_conf_job *j = &c->jobs[c->n_jobs];
            memset(j, 0, sizeof(*j));
            j->name = nm;
            j->max_running = 1;
            j->enabled = 1;
            j->pos = (jh_conf_pos){p->file, line};
            p->sec = SEC_JOB;
            p->sec_index = c->n_jobs++;
        } else {
            long prev = set_lookup_or_add(&p->plugins_by_name, nm, c->n_plugins);
            if (prev >= 0) {
                fail(p, line, -EEXIST, "[plugin %s]: duplicate section (first at %s:%d)", nm,
                     c->plugins[prev].pos.file, c->plugins[prev].pos.line);
                p->sec = SEC_BAD;
                return;
            }
            if (prev == -2 || grow_array((void **)&c->plugins, &p->plugins_cap,
                                         c->n_plugins + 1, sizeof(*c->plugins)) < 0) {
                fail(p, line, -ENOMEM, "out of memory");
                return;
            }
            jh_conf_plugin *pl = &c->plugins[c->n_plugins];
            memset(pl, 0, sizeof(*pl));
            pl->name = nm;
            pl->pos = (jh_conf_pos){p->file, line};
            p->sec = SEC_PLUGIN;
            p->sec_index = c->n_plugins++;
        }
        return;
    }
    fail(p, line, -EINVAL, "unknown section [%s] (expected [host], [plugin NAME] or [job NAME])",
         raw);
    p->sec = SEC_BAD;
}

static void host_key(parser *p, const char *key, const char *value, int line)
{
    jh_conf_host *h = &p->conf->host;
    size_t k;
    char hint[64];
    jh_err e;

    for (k = 0; k < sizeof(host_keys) / sizeof(host_keys[0]); k++)
        if (strcmp(key, host_keys[k]) == 0)
            break;
    if (k == sizeof(host_keys) / sizeof(host_keys[0])) {
        suggest(key, host_keys, k, hint, sizeof(hint));
        fail(p, line, -EINVAL, "[host]: unknown key \"%s\"%s", key, hint);
        return;
    }
    if (p->host_set[k].file != NULL) {
        fail(p, line, -EEXIST, "[host]: duplicate key \"%s\" (first set at %s:%d)", key,
             p->host_set[k].file, p->host_set[k].line);
        return;
    }
    p->host_set[k] = (jh_conf_pos){p->file, line};
    switch (k) {
    case 0:
        if (parse_int(value, 1, 256, &h->workers) < 0)
            fail(p, line, -EINVAL, "[host]: workers \"%s\": expected a number from 1 to 256",
                 value);
        break;
    case 1:
        if (jh_duration_parse(value, 1, &h->shutdown_timeout, &e) < 0)
            fail(p, line, e.code, "[host]: shutdown_timeout: %s", e.msg);
        break;
    case 2:
        if ((h->plugins_dir = arena_strdup(p->conf, value)) == NULL)
            fail(p, line, -ENOMEM, "out of memory");
        break;
    case 3:
        if (jh_log_parse_format(value, &h->log_format) < 0)
            fail(p, line, -EINVAL, "[host]: log_format \"%s\": expected logfmt or json", value);
        break;
    case 4:
        if (jh_log_parse_level(value, &h->log_level) < 0)
            fail(p, line, -EINVAL,
                 "[host]: log_level \"%s\": expected debug, info, warn or error", value);
        break;
    }
}

static void plugin_key(parser *p, const char *key, const char *value, int line)
{
    jh_conf *c = p->conf;
    jh_conf_plugin *pl = &c->plugins[p->sec_index];

    for (size_t i = 0; i < pl->n_kv; i++)
        if (strcmp(pl->kv[i].key, key) == 0) {
            fail(p, line, -EEXIST, "[plugin %s]: duplicate key \"%s\" (first set at line %d)",
                 pl->name, key, pl->kv[i].pos.line);
            return;
        }
    /* Sections are small: grow by one, the arena holds the strings. */
    jh_conf_kv *kv = realloc(pl->kv, (pl->n_kv + 1) * sizeof(*kv));
    if (kv == NULL) {
        fail(p, line, -ENOMEM, "out of memory");
        return;
    }
    pl->kv = kv;
    kv[pl->n_kv].key = arena_strdup(c, key);
    kv[pl->n_kv].value = arena_strdup(c, value);
    kv[pl->n_kv].pos = (jh_conf_pos){p->file, line};
    if (kv[pl->n_kv].key == NULL || kv[pl->n_kv].value == NULL) {
        fail(p, line, -ENOMEM, "out of memory");
        return;
    }
    pl->n_kv++;
}

static void job_key(parser *p, const char *key, const char *value, int line)
{
    jh_conf_job *j = &p->conf->jobs[p->sec_index];
    size_t k, nk = sizeof(job_keys) / sizeof(job_keys[0]);
    char hint[64];
    jh_err e;
    int64_t ns;

    for (k = 0; k < nk; k++)
        if (strcmp(key, job_keys[k]) == 0)
            break;
    if (k == nk) {
        suggest(key, job_keys, nk, hint, sizeof(hint));
        fail(p, line, -EINVAL, "[job %s]: unknown key \"%s\"%s", j->name, key, hint);
        return;
    }
    if (j->seen & (1u << k)) {
        fail(p, line, -EEXIST, "[job %s]: duplicate key \"%s\"", j->name, key);
        return;
    }
    j->seen |= 1u << k;
    if (*value == '\0') {
        fail(p, line, -EINVAL, "[job %s]: %s: empty value", j->name, key);
        return;
    }
    switch (k) {
    case 0:
        j->plugin = arena_strdup(p->conf, value);
        j->plugin_pos = (jh_conf_pos){p->file, line};
        break;
    case 1:
        j->handler = arena_strdup(p->conf, value);
        j->handler_pos = (jh_conf_pos){p->file, line};
        break;
    case 2:
    case 3:
        if (j->set & JH_JOB_SET_SCHEDULE) {
            fail(p, line, -EINVAL, "[job %s]: both every and cron set (line %d): choose one",
                 j->name, j->sched_pos.line);
            return;
        }
        j->set |= JH_JOB_SET_SCHEDULE;
        j->sched_pos = (jh_conf_pos){p->file, line};
        if (k == 2) {
            if (jh_duration_parse(value, 0, &ns, &e) < 0) {
                fail(p, line, e.code, "[job %s]: every: %s", j->name, e.msg);
                return;
            }
            j->kind = JH_SCHED_EVERY;
            j->every = ns;
        } else {
            j->kind = JH_SCHED_CRON;
            j->cron = arena_strdup(p->conf, value); /* checked once the zone is known */
        }
        break;
    case 4:
        j->timezone = arena_strdup(p->conf, value);
        j->tz_pos = (jh_conf_pos){p->file, line};
        j->set |= JH_JOB_SET_TIMEZONE;
        break;
    case 5:
        if (jh_duration_parse(value, 1, &j->jitter, &e) < 0)
            fail(p, line, e.code, "[job %s]: jitter: %s", j->name, e.msg);
        j->set |= JH_JOB_SET_JITTER;
        break;
    case 6:
        if (parse_bool(value, &j->run_on_start) < 0)
            fail(p, line, -EINVAL, "[job %s]: run_on_start \"%s\": expected true or false",
                 j->name, value);
        j->set |= JH_JOB_SET_RUN_ON_START;
        break;
    case 7:
        if (strcmp(value, "forbid") == 0)
            j->concurrency = JH_CONC_FORBID;
        else if (strcmp(value, "allow") == 0)
            j->concurrency = JH_CONC_ALLOW;
        else
            fail(p, line, -EINVAL, "[job %s]: concurrency \"%s\": expected forbid or allow",
                 j->name, value);
        j->set |= JH_JOB_SET_CONCURRENCY;
        break;
    case 8:
        if (parse_int(value, 1, 1000000, &j->max_running) < 0)
            fail(p, line, -EINVAL, "[job %s]: max_running \"%s\": expected a number >= 1",
                 j->name, value);
        j->max_running_line = line;
        j->set |= JH_JOB_SET_MAX_RUNNING;
        break;
    case 9:
        if (jh_duration_parse(value, 0, &j->timeout, &e) < 0)
            fail(p, line, e.code, "[job %s]: timeout: %s", j->name, e.msg);
        j->set |= JH_JOB_SET_TIMEOUT;
        break;
    case 10:
        if (parse_bool(value, &j->enabled) < 0)
            fail(p, line, -EINVAL, "[job %s]: enabled \"%s\": expected true or false", j->name,
                 value);
        j->set |= JH_JOB_SET_ENABLED;
        break;
    }
    if ((k <= 1 || k == 3 || k == 4) && !p->failed &&
        ((k == 0 && j->plugin == NULL) || (k == 1 && j->handler == NULL) ||
         (k == 3 && j->cron == NULL) || (k == 4 && j->timezone == NULL)))
        fail(p, line, -ENOMEM, "out of memory");
}

static int on_key(void *user, const char *section, const char *key, const char *value)
{
    parser *p = user;

    if (p->failed)
        return 1;
    (void)section; /* our reader already switched sections, with line numbers */
    switch (p->sec) {
    case SEC_NONE:
        fail(p, p->line, -EINVAL, "key \"%s\" outside any section", key);
        break;
    case SEC_HOST:
        host_key(p, key, value, p->line);
        break;
    case SEC_PLUGIN:
        plugin_key(p, key, value, p->line);
        break;
    case SEC_JOB:
        job_key(p, key, value, p->line);
        break;
    default:
        break;
    }
    return 1;
}

/*
 * fgets-like reader for ini_parse_stream.  It also spots section headers
 * (so empty sections and their line numbers are known) and lines too long
 * for inih.
 */
static char *reader(char *str, int num, void *stream)
{
    parser *p = stream;
    const char *s = p->text, *nl;
    size_t len;

    if (*s == '\0')
        return NULL;
    nl = strchr(s, '\n');
    len = nl ? (size_t)(nl - s) + 1 : strlen(s);
    p->line++;
    p->text = s + len;
    if (len >= (size_t)num - 1) {
        if (p->long_line == 0)
            p->long_line = p->line;
        len = 0; /* hand inih an empty line; the error is reported later */
    }
    memcpy(str, s, len);
    str[len] = '\0';
    /* Section header?  Trim and look for [ ... ]. */
    const char *a = str;
    while (*a == ' ' || *a == '\t')
        a++;
    if (*a == '[' && !p->failed) {
        const char *b = strchr(a, ']');
        if (b == NULL) {
            fail(p, p->line, -EINVAL, "section header without ']'");
            return str;
        }
        char raw[256];
        size_t n = (size_t)(b - a - 1);
        if (n >= sizeof(raw))
            n = sizeof(raw) - 1;
        memcpy(raw, a + 1, n);
        raw[n] = '\0';
        /* trim inside the brackets */
        char *r = raw;
        while (*r == ' ')
            r++;
        size_t rl = strlen(r);
        while (rl > 0 && r[rl - 1] == ' ')
            r[--rl] = '\0';
        section_header(p, r, p->line);
    }
    /* An indented line after a key is a continuation in inih: refuse it. */
    if ((str[0] == ' ' || str[0] == '\t') && *a != '\0' && *a != ';' && *a != '#' &&
        *a != '[' && !p->failed && p->sec != SEC_NONE)
        fail(p, p->line, -EINVAL, "indented line: continuation lines are not supported");
    return str;
}

static int parse_text(jh_conf *c, const char *file, const char *text, name_set *jobs,
                      name_set *plugins, size_t *jobs_cap, size_t *plugins_cap, jh_err *e)
{
    parser p;
    int rc;

    memset(&p, 0, sizeof(p));
    p.conf = c;
    p.e = e;
    p.text = text;
    p.file = arena_strdup(c, file);
    if (p.file == NULL)
        return jh_err_set(e, -ENOMEM, "out of memory");
    p.jobs_by_name = *jobs;
    p.plugins_by_name = *plugins;
    p.jobs_cap = *jobs_cap;
    p.plugins_cap = *plugins_cap;
    /* Size the job array once from a count of headers: with 100,000 jobs,
     * growing by doubling copies the array again and again. */
    size_t headers = 0;
    for (const char *q = strstr(text, "[job "); q != NULL; q = strstr(q + 5, "[job "))
        headers++;
    if (headers > 0 && grow_array((void **)&c->jobs, &p.jobs_cap, c->n_jobs + headers,
                                  sizeof(*c->jobs)) < 0)
        return jh_err_set(e, -ENOMEM, "out of memory");
    /* [host] keys may appear once in the whole configuration. */
    memcpy(p.host_set, c->host_set_, sizeof(p.host_set));
    rc = ini_parse_stream(reader, &p, on_key, &p);
    memcpy(c->host_set_, p.host_set, sizeof(p.host_set));
    *jobs = p.jobs_by_name;
    *plugins = p.plugins_by_name;
    *jobs_cap = p.jobs_cap;
    *plugins_cap = p.plugins_cap;
    if (p.failed)
        return e ? e->code : -EINVAL;
    if (p.long_line)
        return jh_err_set(e, -EINVAL, "%s:%d: line longer than %d characters", file,
                          p.long_line, INI_MAX_LINE - 2);
    if (rc > 0)
        return jh_err_set(e, -EINVAL, "%s:%d: syntax error (expected [section] or key = value)",
                          file, rc);
    if (rc < 0)
        return jh_err_set(e, -ENOMEM, "%s: cannot parse (out of memory)", file);
    return 0;
}

/* Checks that need the whole snapshot: required keys, cron in its zone. */
static int finish(jh_conf *c, jh_err *e)
{
    for (size_t i = 0; i < c->n_jobs; i++) {
        jh_conf_job *j = &c->jobs[i];
        const jh_tz *tz = NULL;
        jh_cron *cr = NULL;
        jh_err ce;

        if (j->plugin == NULL)
            return jh_err_set(e, -EINVAL, "%s:%d: [job %s]: missing key \"plugin\"",
                              j->pos.file, j->pos.line, j->name);
        if (j->handler == NULL)
            return jh_err_set(e, -EINVAL, "%s:%d: [job %s]: missing key \"handler\"",
                              j->pos.file, j->pos.line, j->name);
        if (j->max_running > 1 && j->concurrency != JH_CONC_ALLOW)
            return jh_err_set(e, -EINVAL,
                              "%s:%d: [job %s]: max_running = %d needs concurrency = allow",
                              j->pos.file, j->max_running_line, j->name, j->max_running);
        if (j->timezone != NULL && jh_tz_get(j->timezone, &tz, &ce) < 0)
            return jh_err_set(e, ce.code, "%s:%d: [job %s]: %s", j->tz_pos.file,
                              j->tz_pos.line, j->name, ce.msg);
        if (j->timezone != NULL && j->kind != JH_SCHED_CRON && (j->set & JH_JOB_SET_SCHEDULE))
            return jh_err_set(e, -EINVAL, "%s:%d: [job %s]: timezone applies only to cron",
                              j->tz_pos.file, j->tz_pos.line, j->name);
        if (j->kind == JH_SCHED_CRON) {
            if (tz == NULL && jh_tz_get(NULL, &tz, &ce) < 0)
                return jh_err_set(e, ce.code, "%s:%d: [job %s]: %s", j->sched_pos.file,
                                  j->sched_pos.line, j->name, ce.msg);
            if (jh_cron_parse(j->cron, tz, &cr, &ce) < 0)
                return jh_err_set(e, ce.code, "%s:%d: [job %s]: %s", j->sched_pos.file,
                                  j->sched_pos.line, j->name, ce.msg);
            jh_cron_free(cr);
        }
    }
    return 0;
}

static jh_conf *conf_new(const char *dir)
{
    jh_conf *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->host.workers = 2;
    c->host.shutdown_timeout = 30LL * 1000000000;
    c->host.log_format = JH_LOGFMT_LOGFMT;
    c->host.log_level = JH_LOG_INFO;
    c->dir = arena_strdup(c, dir);
    if (c->dir == NULL) {
        free(c);
        return NULL;
    }
    return c;
}

static int read_file(const char *path, char **out, jh_err *e)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0, n;

    if (f == NULL)
        return jh_err_set(e, -errno, "%s: cannot open: %s", path, strerror(errno));
    do {
        if (grow_array((void **)&buf, &cap, len + 65537, 1) < 0) {
            free(buf);
            fclose(f);
            return jh_err_set(e, -ENOMEM, "%s: out of memory", path);
        }
        n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
    } while (n > 0);
    if (ferror(f)) {
        int err = errno;
        free(buf);
        fclose(f);
        return jh_err_set(e, -err, "%s: read error: %s", path, strerror(err));
    }
    fclose(f);
    buf[len] = '\0';
    if (strlen(buf) != len) {
        free(buf);
        return jh_err_set(e, -EINVAL, "%s: contains a NUL byte (not a text file)", path);
    }
    *out = buf;
    return 0;
}

static int is_ini(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && n > 4 && strcmp(name + n - 4, ".ini") == 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int jh_conf_load_dir(const char *dir, jh_conf **out, jh_err *e)
{
    DIR *d;
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0, jobs_cap = 0, plugins_cap = 0;
    name_set jobs = {0}, plugins = {0};
    jh_conf *c = NULL;
    int rc = 0;

    if ((d = opendir(dir)) == NULL)
        return jh_err_set(e, -errno, "%s: cannot open configuration directory: %s", dir,
                          strerror(errno));
    while ((de = readdir(d)) != NULL) {
        if (!is_ini(de->d_name))
            continue;
        if (grow_array((void **)&names, &cap, n + 1, sizeof(*names)) < 0 ||
            (names[n] = strdup(de->d_name)) == NULL) {
            rc = jh_err_set(e, -ENOMEM, "out of memory");
            goto out;
        }
        n++;
    }
    if (n > 0)
        qsort(names, n, sizeof(*names), cmp_names);
    if ((c = conf_new(dir)) == NULL) {
        rc = jh_err_set(e, -ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char path[4096], *text = NULL;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if ((rc = read_file(path, &text, e)) < 0)
            goto out;
        rc = parse_text(c, path, text, &jobs, &plugins, &jobs_cap, &plugins_cap, e);
        free(text);
        if (rc < 0)
            goto out;
    }
    rc = finish(c, e);
out:
    closedir(d);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    set_free(&jobs);
    set_free(&plugins);
    if (rc < 0) {
        jh_conf_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int jh_conf_load_string(const char *name, const char *text, jh_conf **out, jh_err *e)
{
    name_set jobs = {0}, plugins = {0};
    size_t jobs_cap = 0, plugins_cap = 0;
    jh_conf *c = conf_new(".");
    int rc;

    if (c == NULL)
        return jh_err_set(e, -ENOMEM, "out of memory");
    rc = parse_text(c, name, text, &jobs, &plugins, &jobs_cap, &plugins_cap, e);
    if (rc == 0)
        rc = finish(c, e);
    set_free(&jobs);
    set_free(&plugins);
    if (rc < 0) {
        jh_conf_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void jh_conf_free(jh_conf *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_plugins; i++)
        free(c->plugins[i].kv);
    free(c->plugins);
    free(c->jobs);
    for (chunk *ch = c->arena_, *n; ch != NULL; ch = n) {
        n = ch->next;
        free(ch);
    }
    free(c);
}

void jh_conf_drop_jobs(jh_conf *c)
{
    if (c == NULL)
        return;
    free(c->jobs);
    c->jobs = NULL;
    c->n_jobs = 0;
}

const jh_conf_plugin *jh_conf_find_plugin(const jh_conf *c, const char *name)
{
    for (size_t i = 0; c != NULL && i < c->n_plugins; i++)
        if (strcmp(c->plugins[i].name, name) == 0)
            return &c->plugins[i];
    return NULL;
}

const jh_conf_kv *jh_conf_plugin_get(const jh_conf_plugin *p, const char *key)
{
    for (size_t i = 0; p != NULL && i < p->n_kv; i++)
        if (strcmp(p->kv[i].key, key) == 0)
            return &p->kv[i];
    return NULL;
}

/* i-th declared key of a descriptor, whatever its element size. */
static const jh_config_key *desc_key(const jh_plugin_desc *d, size_t i)
{
    return (const jh_config_key *)(const void *)((const char *)d->config_keys +
                                                 i * d->config_key_size);
}

int jh_conf_check_plugin(const jh_conf_plugin *p, const jh_plugin_desc *d, jh_err *e)
{
    if (p == NULL)
        return 0;
    for (size_t i = 0; i < p->n_kv; i++) {
        size_t k;
        for (k = 0; k < d->n_config_keys; k++)
            if (desc_key(d, k)->name != NULL && strcmp(desc_key(d, k)->name, p->kv[i].key) == 0)
                break;
        if (k < d->n_config_keys)
            continue;
        /* Name the key and what is declared; never echo the value (it may
         * be a misspelt secret). */
        char declared[512] = "";
        size_t off = 0;
        for (k = 0; k < d->n_config_keys && off < sizeof(declared) - 1; k++) {
            int w = snprintf(declared + off, sizeof(declared) - off, "%s%s", k ? ", " : "",
                             desc_key(d, k)->name ? desc_key(d, k)->name : "?");
            if (w < 0)
                break;
            off += (size_t)w;
        }
        return jh_err_set(e, -EINVAL, "%s:%d: [plugin %s]: unknown key \"%s\" (%s declares: %s)",
                          p->kv[i].pos.file, p->kv[i].pos.line, p->name, p->kv[i].key, p->name,
                          d->n_config_keys ? declared : "no keys");
    }
    return 0;
}

int jh_conf_plugin_equal(const jh_conf_plugin *a, const jh_conf_plugin *b)
{
    size_t na = a ? a->n_kv : 0, nb = b ? b->n_kv : 0;

    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++) {
        const jh_conf_kv *o = jh_conf_plugin_get(b, a->kv[i].key);
        if (o == NULL || strcmp(o->value, a->kv[i].value) != 0)
            return 0;
    }
    return 1;
}
