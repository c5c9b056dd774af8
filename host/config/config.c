/*
 * config.c - conf.d/ *.ini files into one validated jh__conf snapshot.
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
 *
 * [plugin] sections name backend sections ([mysql], [redis], [kafka]) that
 * may be defined in any file, before or after; those references are
 * resolved by finish() once every file has been read.  Passwords are read
 * (password_file / password_env) while parsing and never appear in a
 * message: errors name the key, the file or the variable, not the value.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "time/cron.h"
#include "time/duration.h"
#include "runtime/log.h"
#include "outbox/outbox.h"
#include "time/tz.h"

/* ---- arena: every string of a snapshot lives here -------------------- */

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    char data[];
} chunk;

static char *arena_strdup(jh__conf *c, const char *s)
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

enum sec_type { SEC_NONE, SEC_HOST, SEC_PLUGIN, SEC_JOB, SEC_MYSQL, SEC_REDIS, SEC_KAFKA,
                SEC_BAD };

typedef struct name_set {   /* open addressing, for duplicate names */
    const char **names;
    size_t *idx;
    size_t cap, n;
} name_set;

/* What outlives one file of a load: names seen so far and array capacities. */
typedef struct load_state {
    name_set jobs, plugins, mysql, redis;
    size_t jobs_cap, plugins_cap, mysql_cap, redis_cap;
} load_state;

typedef struct parser {
    jh__conf *conf;
    load_state *ld;
    jh_err *e;
    int failed;
    const char *file;        /* arena copy */
    const char *text;        /* remaining input */
    int line;                /* line number of the last line read */
    int long_line;           /* first over-long line, 0 if none */
    /* current section */
    int sec;
    size_t sec_index;
    char sec_label[160];     /* "mysql main", for messages */
    /* Keys of the current [plugin] / backend section already set (a
     * section cannot be reopened, so this is per section) and their lines,
     * for duplicate messages. */
    unsigned sec_seen;
    int sec_line[16];
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
    jh__err_set(p->e, code, "%s:%d: %s", p->file, line, msg);
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

/* Order matters: the index is the switch case in host_key() and the slot in
 * jh__conf.host_set_ (which must have room for all of them). */
static const char *const host_keys[] = {"workers",         "shutdown_timeout",
                                        "plugins_dir",     "log_format",
                                        "log_level",       "state_dir",
                                        "outbox_sync",     "outbox_sync_interval",
                                        "event_max_bytes"};
static const char *const job_keys[] = {"plugin", "handler", "every", "cron", "timezone",
                                       "jitter", "run_on_start", "concurrency",
                                       "max_running", "timeout", "enabled"};

/* Keys a [plugin] section sets for the host, not for the plugin. */
static const char *const plugin_host_keys[] = {"mysql", "redis", "events", "enabled"};
static const char *const mysql_keys[] = {"host", "port", "socket", "user", "password_file",
                                         "password_env", "database", "charset",
                                         "connect_timeout", "read_timeout", "write_timeout"};
static const char *const redis_keys[] = {"host", "port", "socket", "db", "password_file",
                                         "password_env", "prefix", "connect_timeout",
                                         "timeout"};
#define NKEYS(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
    const char *word;
    int sec;
} named_sections[] = {
    {"plugin", SEC_PLUGIN}, {"job", SEC_JOB},     {"mysql", SEC_MYSQL},
    {"redis", SEC_REDIS},   {"kafka", SEC_KAFKA},
};

/* Registers `nm` in `set` and makes room for one more element in *arr; on a
 * duplicate, reports it (naming the first definition) and returns -1. */
static int new_section(parser *p, int line, const char *word, const char *nm, name_set *set,
                       void **arr, size_t *cap, size_t n, size_t elem, size_t pos_off)
{
    long prev = set_lookup_or_add(set, nm, n);

    if (prev >= 0) {
        const jh__conf_pos *fp =
            (const jh__conf_pos *)(const void *)((const char *)*arr + (size_t)prev * elem + pos_off);
        if (strcmp(word, "job") == 0)
            fail(p, line, -EEXIST, "[job %s]: duplicate job (first defined at %s:%d)", nm,
                 fp->file, fp->line);
        else
            fail(p, line, -EEXIST, "[%s %s]: duplicate section (first at %s:%d)", word, nm,
                 fp->file, fp->line);
        return -1;
    }
    if (prev == -2 || grow_array(arr, cap, n + 1, elem) < 0) {
        fail(p, line, -ENOMEM, "out of memory");
        return -1;
    }
    memset((char *)*arr + n * elem, 0, elem);
    return 0;
}

static void section_header(parser *p, const char *raw, int line)
{
    jh__conf *c = p->conf;
    load_state *ld = p->ld;
    const char *name = NULL, *word = NULL;
    int sec = SEC_BAD;
    size_t wl = strcspn(raw, " ");

    p->sec_seen = 0;
    p->sec_label[0] = '\0';
    if (strcmp(raw, "host") == 0) {
        p->sec = SEC_HOST;
        if (c->host.pos.file == NULL)
            c->host.pos = (jh__conf_pos){p->file, line};
        return;
    }
    for (size_t i = 0; i < NKEYS(named_sections); i++)
        if (strlen(named_sections[i].word) == wl && strncmp(raw, named_sections[i].word, wl) == 0) {
            word = named_sections[i].word;
            sec = named_sections[i].sec;
        }
    if (word == NULL) {
        fail(p, line, -EINVAL,
             "unknown section [%s] (expected [host], [plugin NAME], [job NAME], [mysql NAME], "
             "[redis NAME] or [kafka NAME])",
             raw);
        p->sec = SEC_BAD;
        return;
    }
    name = raw + wl;
    while (*name == ' ')
        name++;
    if (*name == '\0') {
        fail(p, line, -EINVAL, "[%s]: missing name (expected [%s NAME])", raw, word);
        p->sec = SEC_BAD;
        return;
    }
    if (!valid_name(name)) {
        fail(p, line, -EINVAL, "[%s]: bad %s name \"%s\" (use letters, digits, _ . -)", raw, word,
             name);
        p->sec = SEC_BAD;
        return;
    }
    char *nm = arena_strdup(c, name);
    if (nm == NULL) {
        fail(p, line, -ENOMEM, "out of memory");
        p->sec = SEC_BAD;
        return;
    }
    snprintf(p->sec_label, sizeof(p->sec_label), "%s %s", word, nm);
    p->sec = SEC_BAD; /* until the section exists */
    jh__conf_pos here = {p->file, line};
    switch (sec) {
    case SEC_JOB: {
        if (new_section(p, line, word, nm, &ld->jobs, (void **)&c->jobs, &ld->jobs_cap, c->n_jobs,
                        sizeof(*c->jobs), offsetof(jh__conf_job, pos)) < 0)
            return;
        jh__conf_job *j = &c->jobs[c->n_jobs];
        j->name = nm;
        j->max_running = 1;
        j->enabled = 1;
        j->pos = here;
        p->sec_index = c->n_jobs++;
        break;
    }
    case SEC_PLUGIN: {
        if (new_section(p, line, word, nm, &ld->plugins, (void **)&c->plugins, &ld->plugins_cap,
                        c->n_plugins, sizeof(*c->plugins), offsetof(jh__conf_plugin, pos)) < 0)
            return;
        jh__conf_plugin *pl = &c->plugins[c->n_plugins];
        pl->name = nm;
        pl->enabled = 1;
        pl->pos = here;
        p->sec_index = c->n_plugins++;
        break;
    }
    case SEC_MYSQL: {
        if (new_section(p, line, word, nm, &ld->mysql, (void **)&c->mysql, &ld->mysql_cap,
                        c->n_mysql, sizeof(*c->mysql), offsetof(jh__conf_mysql, pos)) < 0)
            return;
        jh__conf_mysql *m = &c->mysql[c->n_mysql];
        m->name = nm;
        m->host = "127.0.0.1"; /* string literals: the arena never frees them */
        m->port = 3306;
        m->charset = "utf8mb4";
        m->connect_timeout = 5LL * 1000000000;
        m->read_timeout = m->write_timeout = 30LL * 1000000000;
        m->pos = here;
        p->sec_index = c->n_mysql++;
        break;
    }
    case SEC_REDIS: {
        if (new_section(p, line, word, nm, &ld->redis, (void **)&c->redis, &ld->redis_cap,
                        c->n_redis, sizeof(*c->redis), offsetof(jh__conf_redis, pos)) < 0)
            return;
        jh__conf_redis *r = &c->redis[c->n_redis];
        r->name = nm;
        r->host = "127.0.0.1";
        r->port = 6379;
        r->prefix = "";
        r->connect_timeout = r->timeout = 2LL * 1000000000;
        r->pos = here;
        p->sec_index = c->n_redis++;
        break;
    }
    case SEC_KAFKA: {
        /* One librdkafka producer serves every plugin's events; a second
         * cluster would need a second producer and outbox. */
        if (c->n_kafka > 0) {
            if (strcmp(c->kafka[0].name, nm) == 0)
                fail(p, line, -EEXIST, "[kafka %s]: duplicate section (first at %s:%d)", nm,
                     c->kafka[0].pos.file, c->kafka[0].pos.line);
            else
                fail(p, line, -EINVAL,
                     "[kafka %s]: only one [kafka] section is supported (one producer per "
                     "process; [kafka %s] is at %s:%d)",
                     nm, c->kafka[0].name, c->kafka[0].pos.file, c->kafka[0].pos.line);
            return;
        }
        if ((c->kafka = calloc(1, sizeof(*c->kafka))) == NULL) {
            fail(p, line, -ENOMEM, "out of memory");
            return;
        }
        c->kafka[0].name = nm;
        c->kafka[0].pos = here;
        p->sec_index = c->n_kafka++;
        break;
    }
    }
    p->sec = sec;
}

static void host_key(parser *p, const char *key, const char *value, int line)
{
    jh__conf_host *h = &p->conf->host;
    jh__conf_pos *set = p->conf->host_set_;
    size_t k;
    char hint[64];
    jh_err e;
    int n;

    _Static_assert(NKEYS(host_keys) <= NKEYS(((jh__conf *)0)->host_set_),
                   "jh__conf.host_set_ needs a slot per [host] key");
    for (k = 0; k < NKEYS(host_keys); k++)
        if (strcmp(key, host_keys[k]) == 0)
            break;
    if (k == NKEYS(host_keys)) {
        suggest(key, host_keys, k, hint, sizeof(hint));
        fail(p, line, -EINVAL, "[host]: unknown key \"%s\"%s", key, hint);
        return;
    }
    if (set[k].file != NULL) {
        fail(p, line, -EEXIST, "[host]: duplicate key \"%s\" (first set at %s:%d)", key,
             set[k].file, set[k].line);
        return;
    }
    set[k] = (jh__conf_pos){p->file, line};
    switch (k) {
    case 0:
        if (parse_int(value, 1, 256, &h->workers) < 0)
            fail(p, line, -EINVAL, "[host]: workers \"%s\": expected a number from 1 to 256",
                 value);
        break;
    case 1:
        if (jh__duration_parse(value, 1, &h->shutdown_timeout, &e) < 0)
            fail(p, line, e.code, "[host]: shutdown_timeout: %s", e.msg);
        break;
    case 2:
        if ((h->plugins_dir = arena_strdup(p->conf, value)) == NULL)
            fail(p, line, -ENOMEM, "out of memory");
        break;
    case 3:
        if (jh__log_parse_format(value, &h->log_format) < 0)
            fail(p, line, -EINVAL, "[host]: log_format \"%s\": expected logfmt or json", value);
        break;
    case 4:
        if (jh__log_parse_level(value, &h->log_level) < 0)
            fail(p, line, -EINVAL,
                 "[host]: log_level \"%s\": expected debug, info, warn or error", value);
        break;
    case 5:
        if (*value == '\0')
            fail(p, line, -EINVAL, "[host]: state_dir: empty value");
        else if ((h->state_dir = arena_strdup(p->conf, value)) == NULL)
            fail(p, line, -ENOMEM, "out of memory");
        break;
    case 6:
        if (strcmp(value, "always") == 0)
            h->outbox_sync = JH_OUTBOX_SYNC_ALWAYS;
        else if (strcmp(value, "interval") == 0)
            h->outbox_sync = JH_OUTBOX_SYNC_INTERVAL;
        else
            fail(p, line, -EINVAL, "[host]: outbox_sync \"%s\": expected always or interval",
                 value);
        break;
    case 7:
        if (jh__duration_parse(value, 0, &h->outbox_sync_interval, &e) < 0)
            fail(p, line, e.code, "[host]: outbox_sync_interval: %s", e.msg);
        else if (h->outbox_sync_interval < 1000000 || h->outbox_sync_interval > 10000000000LL)
            fail(p, line, -ERANGE, "[host]: outbox_sync_interval \"%s\": expected 1ms to 10s",
                 value);
        break;
    case 8:
        if (parse_int(value, 1, 64L * 1024 * 1024, &n) < 0)
            fail(p, line, -EINVAL,
                 "[host]: event_max_bytes \"%s\": expected a number of bytes from 1 to 67108864",
                 value);
        else
            h->event_max_bytes = n;
        break;
    }
}

/* Index of `key` in the section's `known` keys, or -1 after reporting it
 * unknown (with a hint) or set twice in this section. */
static int section_key(parser *p, const char *key, const char *const *known, size_t n,
                       const char *extra_hint, int line)
{
    char hint[64];
    size_t k;

    for (k = 0; k < n; k++)
        if (strcmp(key, known[k]) == 0)
            break;
    if (k == n) {
        suggest(key, known, n, hint, sizeof(hint));
        fail(p, line, -EINVAL, "[%s]: unknown key \"%s\"%s", p->sec_label, key,
             hint[0] ? hint : extra_hint ? extra_hint : "");
        return -1;
    }
    if (p->sec_seen & (1u << k)) {
        fail(p, line, -EEXIST, "[%s]: duplicate key \"%s\" (first set at line %d)", p->sec_label,
             key, p->sec_line[k]);
        return -1;
    }
    p->sec_seen |= 1u << k;
    p->sec_line[k] = line;
    return (int)k;
}

/* An arena copy of a value that must not be empty, or NULL (reported). */
static const char *str_value(parser *p, const char *key, const char *value, int line)
{
    const char *s;

    if (*value == '\0') {
        fail(p, line, -EINVAL, "[%s]: %s: empty value", p->sec_label, key);
        return NULL;
    }
    if ((s = arena_strdup(p->conf, value)) == NULL)
        fail(p, line, -ENOMEM, "out of memory");
    return s;
}

static void port_value(parser *p, const char *value, int *out, int line)
{
    if (parse_int(value, 1, 65535, out) < 0)
        fail(p, line, -EINVAL, "[%s]: port \"%s\": expected a number from 1 to 65535",
             p->sec_label, value);
}

static void duration_value(parser *p, const char *key, const char *value, int64_t *out, int line)
{
    jh_err e;

    if (jh__duration_parse(value, 0, out, &e) < 0)
        fail(p, line, e.code, "[%s]: %s: %s", p->sec_label, key, e.msg);
}

/*
 * A relative password_file is taken from the directory that holds the conf
 * dir, like plugins_dir (/etc/jobhost/conf.d + secrets/db ->
 * /etc/jobhost/secrets/db), so it does not depend on the daemon's working
 * directory.  A conf dir without a '/' (conf.d, or "." for a string) leaves
 * it relative to the working directory, which is that parent.
 */
static void resolve_path(const char *conf_dir, const char *path, char *out, size_t len)
{
    const char *slash = strrchr(conf_dir, '/');

    while (slash != NULL && slash > conf_dir && slash[1] == '\0')
        slash = memrchr(conf_dir, '/', (size_t)(slash - conf_dir));
    if (path[0] == '/' || slash == NULL)
        snprintf(out, len, "%s", path);
    else
        snprintf(out, len, "%.*s%s", (int)(slash - conf_dir) + 1, conf_dir, path);
}

#define SECRET_MAX 4096

/*
 * password_file / password_env into *out (an arena copy).  The file's
 * content, or the variable's value, is never put in a message; the buffer
 * that held it is wiped.  `other` is the index of the other password key in
 * this section, for "choose one".
 */
static void password_value(parser *p, int is_file, const char *value, size_t other,
                           const char **out, int line)
{
    const char *key = is_file ? "password_file" : "password_env";
    char buf[SECRET_MAX + 2], path[4096];
    const char *secret;
    ssize_t n;
    size_t len = 0;
    struct stat st;
    int fd;

    if (p->sec_seen & (1u << other)) {
        fail(p, line, -EINVAL, "[%s]: both password_file and password_env set (line %d): "
             "choose one", p->sec_label, p->sec_line[other]);
        return;
    }
    if (*value == '\0') {
        fail(p, line, -EINVAL, "[%s]: %s: empty value", p->sec_label, key);
        return;
    }
    if (!is_file) {
        if ((secret = getenv(value)) == NULL) {
            fail(p, line, -ENOENT, "[%s]: password_env \"%s\": variable not set", p->sec_label,
                 value);
            return;
        }
        if ((*out = arena_strdup(p->conf, secret)) == NULL)
            fail(p, line, -ENOMEM, "out of memory");
        return;
    }
    resolve_path(p->conf->dir, value, path, sizeof(path));
    /* O_NONBLOCK: a FIFO (or a device) with no writer must not hang start-up
     * or a reload; only a regular file is accepted. */
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0) {
        int err = errno;
        fail(p, line, -err, "[%s]: password_file \"%s\": cannot open: %s", p->sec_label, path,
             strerror(err));
        return;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        fail(p, line, -EINVAL, "[%s]: password_file \"%s\": not a regular file", p->sec_label,
             path);
        goto out;
    }
    /* Read up to SECRET_MAX + 1 bytes: one more than allowed tells "too long". */
    while (len < SECRET_MAX + 1) {
        n = read(fd, buf + len, SECRET_MAX + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int err = errno;
            fail(p, line, -err, "[%s]: password_file \"%s\": cannot read: %s", p->sec_label,
                 path, strerror(err));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > SECRET_MAX) {
        fail(p, line, -EFBIG, "[%s]: password_file \"%s\": longer than %d bytes", p->sec_label,
             path, SECRET_MAX);
        goto out;
    }
    buf[len] = '\0';
    if (strlen(buf) != len) {
        fail(p, line, -EINVAL, "[%s]: password_file \"%s\": contains a NUL byte", p->sec_label,
             path);
        goto out;
    }
    /* Editors end files with a newline that is not part of the password:
     * strip one ("\n" or "\r\n"), and only one. */
    if (len > 0 && buf[len - 1] == '\n') {
        buf[--len] = '\0';
        if (len > 0 && buf[len - 1] == '\r')
            buf[--len] = '\0';
    }
    if ((*out = arena_strdup(p->conf, buf)) == NULL)
        fail(p, line, -ENOMEM, "out of memory");
out:
    explicit_bzero(buf, sizeof(buf));
    close(fd);
}

_Static_assert(NKEYS(mysql_keys) <= NKEYS(((parser *)0)->sec_line) &&
                   NKEYS(redis_keys) <= NKEYS(((parser *)0)->sec_line) &&
                   NKEYS(plugin_host_keys) <= NKEYS(((parser *)0)->sec_line),
               "parser.sec_line needs a slot per key of a section");

static void mysql_key(parser *p, const char *key, const char *value, int line)
{
    jh__conf_mysql *m = &p->conf->mysql[p->sec_index];
    int k = section_key(p, key, mysql_keys, NKEYS(mysql_keys), NULL, line);

    switch (k) {
    case 0:
        m->host = str_value(p, key, value, line);
        break;
    case 1:
        port_value(p, value, &m->port, line);
        break;
    case 2:
        m->socket = str_value(p, key, value, line);
        break;
    case 3:
        m->user = str_value(p, key, value, line);
        break;
    case 4:
    case 5:
        password_value(p, k == 4, value, k == 4 ? 5 : 4, &m->password, line);
        break;
    case 6:
        m->database = str_value(p, key, value, line);
        break;
    case 7:
        m->charset = str_value(p, key, value, line);
        break;
    case 8:
        duration_value(p, key, value, &m->connect_timeout, line);
        break;
    case 9:
        duration_value(p, key, value, &m->read_timeout, line);
        break;
    case 10:
        duration_value(p, key, value, &m->write_timeout, line);
        break;
    default:
        break;
    }
}

static void redis_key(parser *p, const char *key, const char *value, int line)
{
    jh__conf_redis *r = &p->conf->redis[p->sec_index];
    int k = section_key(p, key, redis_keys, NKEYS(redis_keys), NULL, line);

    switch (k) {
    case 0:
        r->host = str_value(p, key, value, line);
        break;
    case 1:
        port_value(p, value, &r->port, line);
        break;
    case 2:
        r->socket = str_value(p, key, value, line);
        break;
    case 3:
        if (parse_int(value, 0, 15, &r->db) < 0)
            fail(p, line, -EINVAL, "[%s]: db \"%s\": expected a number from 0 to 15",
                 p->sec_label, value);
        break;
    case 4:
    case 5:
        password_value(p, k == 4, value, k == 4 ? 5 : 4, &r->password, line);
        break;
    case 6:
        /* Empty is the default and allowed. */
        if ((r->prefix = arena_strdup(p->conf, value)) == NULL)
            fail(p, line, -ENOMEM, "out of memory");
        break;
    case 7:
        duration_value(p, key, value, &r->connect_timeout, line);
        break;
    case 8:
        duration_value(p, key, value, &r->timeout, line);
        break;
    default:
        break;
    }
}

#define RDKAFKA_PREFIX "rdkafka."

static void kafka_key(parser *p, const char *key, const char *value, int line)
{
    static const char *const known[] = {"brokers"};
    jh__conf_kafka *kf = &p->conf->kafka[p->sec_index];
    const char *prop;

    if (strncmp(key, RDKAFKA_PREFIX, sizeof(RDKAFKA_PREFIX) - 1) != 0) {
        if (section_key(p, key, known, 1,
                        " (librdkafka properties are written rdkafka.<property>)", line) == 0)
            kf->brokers = str_value(p, key, value, line);
        return;
    }
    prop = key + sizeof(RDKAFKA_PREFIX) - 1;
    if (*prop == '\0') {
        fail(p, line, -EINVAL, "[%s]: \"%s\": missing the property name", p->sec_label, key);
        return;
    }
    /* Two spellings of the broker list would disagree on a reload. */
    if (strcmp(prop, "bootstrap.servers") == 0 || strcmp(prop, "metadata.broker.list") == 0) {
        fail(p, line, -EINVAL, "[%s]: %s: set brokers instead", p->sec_label, key);
        return;
    }
    for (size_t i = 0; i < kf->n_props; i++)
        if (strcmp(kf->props[i].key, prop) == 0) {
            fail(p, line, -EEXIST, "[%s]: duplicate key \"%s\" (first set at line %d)",
                 p->sec_label, key, kf->props[i].pos.line);
            return;
        }
    /* Values are passed through verbatim (they may be secrets, such as
     * sasl.password): librdkafka checks them when the producer is built. */
    jh__conf_kv *kv = realloc(kf->props, (kf->n_props + 1) * sizeof(*kv));
    if (kv == NULL) {
        fail(p, line, -ENOMEM, "out of memory");
        return;
    }
    kf->props = kv;
    kv[kf->n_props].key = arena_strdup(p->conf, prop);
    kv[kf->n_props].value = arena_strdup(p->conf, value);
    kv[kf->n_props].pos = (jh__conf_pos){p->file, line};
    if (kv[kf->n_props].key == NULL || kv[kf->n_props].value == NULL) {
        fail(p, line, -ENOMEM, "out of memory");
        return;
    }
    kf->n_props++;
}

/* mysql / redis / events / enabled of a [plugin] section. */
static void plugin_host_key(parser *p, jh__conf_plugin *pl, size_t k, const char *value,
                            int line)
{
    const char *key = plugin_host_keys[k];
    jh__conf_pos pos = {p->file, line};

    if (p->sec_seen & (1u << k)) {
        fail(p, line, -EEXIST, "[plugin %s]: duplicate key \"%s\" (first set at line %d)",
             pl->name, key, p->sec_line[k]);
        return;
    }
    p->sec_seen |= 1u << k;
    p->sec_line[k] = line;
    switch (k) {
    case 0:
        pl->mysql = str_value(p, key, value, line);
        pl->mysql_pos = pos;
        break;
    case 1:
        pl->redis = str_value(p, key, value, line);
        pl->redis_pos = pos;
        break;
    case 2:
        pl->events = str_value(p, key, value, line);
        pl->events_pos = pos;
        break;
    case 3:
        if (strcmp(value, "auto") == 0)
            pl->enabled = -1;
        else if (parse_bool(value, &pl->enabled) < 0)
            fail(p, line, -EINVAL,
                 "[plugin %s]: enabled \"%s\": expected true, false or auto", pl->name, value);
        break;
    }
}

static void plugin_key(parser *p, const char *key, const char *value, int line)
{
    jh__conf *c = p->conf;
    jh__conf_plugin *pl = &c->plugins[p->sec_index];

    for (size_t k = 0; k < NKEYS(plugin_host_keys); k++)
        if (strcmp(key, plugin_host_keys[k]) == 0) {
            plugin_host_key(p, pl, k, value, line);
            return;
        }
    for (size_t i = 0; i < pl->n_kv; i++)
        if (strcmp(pl->kv[i].key, key) == 0) {
            fail(p, line, -EEXIST, "[plugin %s]: duplicate key \"%s\" (first set at line %d)",
                 pl->name, key, pl->kv[i].pos.line);
            return;
        }
    /* Sections are small: grow by one, the arena holds the strings. */
    jh__conf_kv *kv = realloc(pl->kv, (pl->n_kv + 1) * sizeof(*kv));
    if (kv == NULL) {
        fail(p, line, -ENOMEM, "out of memory");
        return;
    }
    pl->kv = kv;
    kv[pl->n_kv].key = arena_strdup(c, key);
    kv[pl->n_kv].value = arena_strdup(c, value);
    kv[pl->n_kv].pos = (jh__conf_pos){p->file, line};
    if (kv[pl->n_kv].key == NULL || kv[pl->n_kv].value == NULL) {
        fail(p, line, -ENOMEM, "out of memory");
        return;
    }
    pl->n_kv++;
}

static void job_key(parser *p, const char *key, const char *value, int line)
{
    jh__conf_job *j = &p->conf->jobs[p->sec_index];
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
        j->plugin_pos = (jh__conf_pos){p->file, line};
        break;
    case 1:
        j->handler = arena_strdup(p->conf, value);
        j->handler_pos = (jh__conf_pos){p->file, line};
        break;
    case 2:
    case 3:
        if (j->set & JH_JOB_SET_SCHEDULE) {
            fail(p, line, -EINVAL, "[job %s]: both every and cron set (line %d): choose one",
                 j->name, j->sched_pos.line);
            return;
        }
        j->set |= JH_JOB_SET_SCHEDULE;
        j->sched_pos = (jh__conf_pos){p->file, line};
        if (k == 2) {
            if (jh__duration_parse(value, 0, &ns, &e) < 0) {
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
        j->tz_pos = (jh__conf_pos){p->file, line};
        j->set |= JH_JOB_SET_TIMEZONE;
        break;
    case 5:
        if (jh__duration_parse(value, 1, &j->jitter, &e) < 0)
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
        if (jh__duration_parse(value, 0, &j->timeout, &e) < 0)
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
    case SEC_MYSQL:
        mysql_key(p, key, value, p->line);
        break;
    case SEC_REDIS:
        redis_key(p, key, value, p->line);
        break;
    case SEC_KAFKA:
        kafka_key(p, key, value, p->line);
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

static int parse_text(jh__conf *c, const char *file, const char *text, load_state *ld,
                      jh_err *e)
{
    parser p;
    int rc;

    memset(&p, 0, sizeof(p));
    p.conf = c;
    p.ld = ld;
    p.e = e;
    p.text = text;
    p.file = arena_strdup(c, file);
    if (p.file == NULL)
        return jh__err_set(e, -ENOMEM, "out of memory");
    /* Size the job array once from a count of headers: with 100,000 jobs,
     * growing by doubling copies the array again and again.
     * (A byte loop, not strstr: ASan's strstr checks the whole remaining
     * text on every call, which made this quadratic under the sanitizers.) */
    size_t headers = 0;
    for (const char *q = text; *q != '\0'; q++)
        if (*q == '[' && strncmp(q, "[job ", 5) == 0)
            headers++;
    if (headers > 0 && grow_array((void **)&c->jobs, &ld->jobs_cap, c->n_jobs + headers,
                                  sizeof(*c->jobs)) < 0)
        return jh__err_set(e, -ENOMEM, "out of memory");
    rc = ini_parse_stream(reader, &p, on_key, &p);
    if (p.failed)
        return e ? e->code : -EINVAL;
    if (p.long_line)
        return jh__err_set(e, -EINVAL, "%s:%d: line longer than %d characters", file,
                          p.long_line, INI_MAX_LINE - 2);
    if (rc > 0)
        return jh__err_set(e, -EINVAL, "%s:%d: syntax error (expected [section] or key = value)",
                          file, rc);
    if (rc < 0)
        return jh__err_set(e, -ENOMEM, "%s: cannot parse (out of memory)", file);
    return 0;
}

static void load_state_free(load_state *ld)
{
    set_free(&ld->jobs);
    set_free(&ld->plugins);
    set_free(&ld->mysql);
    set_free(&ld->redis);
}

/* " (did you mean \"main\"?)" among the names of n sections of `elem`
 * bytes each, whose first member is their name. */
static void suggest_section(const char *name, const void *arr, size_t n, size_t elem, char *out,
                            size_t len)
{
    const char *best = NULL;
    int bd = 3;

    for (size_t i = 0; i < n; i++) {
        const char *cand = *(const char *const *)(const void *)((const char *)arr + i * elem);
        int d = edit_distance(name, cand);
        if (d < bd) {
            bd = d;
            best = cand;
        }
    }
    if (best != NULL)
        snprintf(out, len, " (did you mean \"%s\"?)", best);
    else
        out[0] = '\0';
}

/* Backend sections: required keys.  [plugin] sections: the sections they
 * name exist (they may be in any file, hence here). */
static int finish_backends(jh__conf *c, jh_err *e)
{
    char hint[200];

    for (size_t i = 0; i < c->n_mysql; i++) {
        const jh__conf_mysql *m = &c->mysql[i];
        const char *missing = m->user == NULL ? "user" : m->database == NULL ? "database" : NULL;
        if (missing != NULL)
            return jh__err_set(e, -EINVAL, "%s:%d: [mysql %s]: missing key \"%s\"", m->pos.file,
                              m->pos.line, m->name, missing);
    }
    for (size_t i = 0; i < c->n_kafka; i++)
        if (c->kafka[i].brokers == NULL)
            return jh__err_set(e, -EINVAL, "%s:%d: [kafka %s]: missing key \"brokers\"",
                              c->kafka[i].pos.file, c->kafka[i].pos.line, c->kafka[i].name);
    for (size_t i = 0; i < c->n_plugins; i++) {
        const jh__conf_plugin *pl = &c->plugins[i];
        if (pl->mysql != NULL && jh__conf_find_mysql(c, pl->mysql) == NULL) {
            suggest_section(pl->mysql, c->mysql, c->n_mysql, sizeof(*c->mysql), hint,
                            sizeof(hint));
            return jh__err_set(e, -ENOENT, "%s:%d: [plugin %s]: mysql = \"%s\": no [mysql %s] "
                              "section%s", pl->mysql_pos.file, pl->mysql_pos.line, pl->name,
                              pl->mysql, pl->mysql, hint);
        }
        if (pl->redis != NULL && jh__conf_find_redis(c, pl->redis) == NULL) {
            suggest_section(pl->redis, c->redis, c->n_redis, sizeof(*c->redis), hint,
                            sizeof(hint));
            return jh__err_set(e, -ENOENT, "%s:%d: [plugin %s]: redis = \"%s\": no [redis %s] "
                              "section%s", pl->redis_pos.file, pl->redis_pos.line, pl->name,
                              pl->redis, pl->redis, hint);
        }
        if (pl->events != NULL && jh__conf_find_kafka(c, pl->events) == NULL) {
            suggest_section(pl->events, c->kafka, c->n_kafka, sizeof(*c->kafka), hint,
                            sizeof(hint));
            return jh__err_set(e, -ENOENT, "%s:%d: [plugin %s]: events = \"%s\": no [kafka %s] "
                              "section%s", pl->events_pos.file, pl->events_pos.line, pl->name,
                              pl->events, pl->events, hint);
        }
    }
    return 0;
}

/* Checks that need the whole snapshot: required keys, cron in its zone. */
static int finish(jh__conf *c, jh_err *e)
{
    int rc;

    if ((rc = finish_backends(c, e)) < 0)
        return rc;
    for (size_t i = 0; i < c->n_jobs; i++) {
        jh__conf_job *j = &c->jobs[i];
        const jh__tz *tz = NULL;
        jh__cron *cr = NULL;
        jh_err ce;

        if (j->plugin == NULL)
            return jh__err_set(e, -EINVAL, "%s:%d: [job %s]: missing key \"plugin\"",
                              j->pos.file, j->pos.line, j->name);
        if (j->handler == NULL)
            return jh__err_set(e, -EINVAL, "%s:%d: [job %s]: missing key \"handler\"",
                              j->pos.file, j->pos.line, j->name);
        if (j->max_running > 1 && j->concurrency != JH_CONC_ALLOW)
            return jh__err_set(e, -EINVAL,
                              "%s:%d: [job %s]: max_running = %d needs concurrency = allow",
                              j->pos.file, j->max_running_line, j->name, j->max_running);
        if (j->timezone != NULL && jh__tz_get(j->timezone, &tz, &ce) < 0)
            return jh__err_set(e, ce.code, "%s:%d: [job %s]: %s", j->tz_pos.file,
                              j->tz_pos.line, j->name, ce.msg);
        if (j->timezone != NULL && j->kind != JH_SCHED_CRON && (j->set & JH_JOB_SET_SCHEDULE))
            return jh__err_set(e, -EINVAL, "%s:%d: [job %s]: timezone applies only to cron",
                              j->tz_pos.file, j->tz_pos.line, j->name);
        if (j->kind == JH_SCHED_CRON) {
            if (tz == NULL && jh__tz_get(NULL, &tz, &ce) < 0)
                return jh__err_set(e, ce.code, "%s:%d: [job %s]: %s", j->sched_pos.file,
                                  j->sched_pos.line, j->name, ce.msg);
            if (jh__cron_parse(j->cron, tz, &cr, &ce) < 0)
                return jh__err_set(e, ce.code, "%s:%d: [job %s]: %s", j->sched_pos.file,
                                  j->sched_pos.line, j->name, ce.msg);
            jh__cron_free(cr);
        }
    }
    return 0;
}

static jh__conf *conf_new(const char *dir)
{
    jh__conf *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->host.workers = 2;
    c->host.shutdown_timeout = 30LL * 1000000000;
    c->host.outbox_sync = JH_OUTBOX_SYNC_ALWAYS;
    c->host.outbox_sync_interval = 5LL * 1000000;
    c->host.event_max_bytes = 1048576;
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
        return jh__err_set(e, -errno, "%s: cannot open: %s", path, strerror(errno));
    do {
        if (grow_array((void **)&buf, &cap, len + 65537, 1) < 0) {
            free(buf);
            fclose(f);
            return jh__err_set(e, -ENOMEM, "%s: out of memory", path);
        }
        n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
    } while (n > 0);
    if (ferror(f)) {
        int err = errno;
        free(buf);
        fclose(f);
        return jh__err_set(e, -err, "%s: read error: %s", path, strerror(err));
    }
    fclose(f);
    buf[len] = '\0';
    if (strlen(buf) != len) {
        free(buf);
        return jh__err_set(e, -EINVAL, "%s: contains a NUL byte (not a text file)", path);
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

int jh__conf_load_dir(const char *dir, jh__conf **out, jh_err *e)
{
    DIR *d;
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0;
    load_state ld = {0};
    jh__conf *c = NULL;
    int rc = 0;

    if ((d = opendir(dir)) == NULL)
        return jh__err_set(e, -errno, "%s: cannot open configuration directory: %s", dir,
                          strerror(errno));
    while ((de = readdir(d)) != NULL) {
        if (!is_ini(de->d_name))
            continue;
        if (grow_array((void **)&names, &cap, n + 1, sizeof(*names)) < 0 ||
            (names[n] = strdup(de->d_name)) == NULL) {
            rc = jh__err_set(e, -ENOMEM, "out of memory");
            goto out;
        }
        n++;
    }
    if (n > 0)
        qsort(names, n, sizeof(*names), cmp_names);
    if ((c = conf_new(dir)) == NULL) {
        rc = jh__err_set(e, -ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char path[4096], *text = NULL;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        size_t tlen;
        if ((rc = read_file(path, &text, e)) < 0)
            goto out;
        tlen = strlen(text); /* before parsing, which may cut it up */
        rc = parse_text(c, path, text, &ld, e);
        /* The text may hold rdkafka.* secrets inline: do not leave them in
         * freed memory. */
        explicit_bzero(text, tlen);
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
    load_state_free(&ld);
    if (rc < 0) {
        jh__conf_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int jh__conf_load_string(const char *name, const char *text, jh__conf **out, jh_err *e)
{
    load_state ld = {0};
    jh__conf *c = conf_new(".");
    int rc;

    if (c == NULL)
        return jh__err_set(e, -ENOMEM, "out of memory");
    rc = parse_text(c, name, text, &ld, e);
    if (rc == 0)
        rc = finish(c, e);
    load_state_free(&ld);
    if (rc < 0) {
        jh__conf_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* Passwords live in the arena like every string; wipe them before the
 * memory goes back to malloc. */
static void wipe(const char *s)
{
    if (s != NULL)
        explicit_bzero((char *)s, strlen(s));
}

void jh__conf_free(jh__conf *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_plugins; i++)
        free(c->plugins[i].kv);
    free(c->plugins);
    free(c->jobs);
    for (size_t i = 0; i < c->n_mysql; i++)
        wipe(c->mysql[i].password);
    free(c->mysql);
    for (size_t i = 0; i < c->n_redis; i++)
        wipe(c->redis[i].password);
    free(c->redis);
    /* rdkafka.* values may be secrets too (sasl.password, ssl.key.password). */
    for (size_t i = 0; i < c->n_kafka; i++) {
        for (size_t k = 0; k < c->kafka[i].n_props; k++)
            wipe(c->kafka[i].props[k].value);
        free(c->kafka[i].props);
    }
    free(c->kafka);
    for (chunk *ch = c->arena_, *n; ch != NULL; ch = n) {
        n = ch->next;
        free(ch);
    }
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

const jh__conf_plugin *jh__conf_find_plugin(const jh__conf *c, const char *name)
{
    for (size_t i = 0; c != NULL && name != NULL && i < c->n_plugins; i++)
        if (strcmp(c->plugins[i].name, name) == 0)
            return &c->plugins[i];
    return NULL;
}

/* Backend sections are few (a handful per configuration): a linear scan. */
const jh__conf_mysql *jh__conf_find_mysql(const jh__conf *c, const char *name)
{
    for (size_t i = 0; c != NULL && name != NULL && i < c->n_mysql; i++)
        if (strcmp(c->mysql[i].name, name) == 0)
            return &c->mysql[i];
    return NULL;
}

const jh__conf_redis *jh__conf_find_redis(const jh__conf *c, const char *name)
{
    for (size_t i = 0; c != NULL && name != NULL && i < c->n_redis; i++)
        if (strcmp(c->redis[i].name, name) == 0)
            return &c->redis[i];
    return NULL;
}

const jh__conf_kafka *jh__conf_find_kafka(const jh__conf *c, const char *name)
{
    for (size_t i = 0; c != NULL && name != NULL && i < c->n_kafka; i++)
        if (strcmp(c->kafka[i].name, name) == 0)
            return &c->kafka[i];
    return NULL;
}

/* Two optional strings: both NULL, or both set and equal. */
static int str_eq(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int jh__conf_mysql_equal(const jh__conf_mysql *a, const jh__conf_mysql *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return str_eq(a->name, b->name) && str_eq(a->host, b->host) && a->port == b->port &&
           str_eq(a->socket, b->socket) && str_eq(a->user, b->user) &&
           str_eq(a->password, b->password) && str_eq(a->database, b->database) &&
           str_eq(a->charset, b->charset) && a->connect_timeout == b->connect_timeout &&
           a->read_timeout == b->read_timeout && a->write_timeout == b->write_timeout;
}

int jh__conf_redis_equal(const jh__conf_redis *a, const jh__conf_redis *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return str_eq(a->name, b->name) && str_eq(a->host, b->host) && a->port == b->port &&
           str_eq(a->socket, b->socket) && a->db == b->db &&
           str_eq(a->password, b->password) && str_eq(a->prefix, b->prefix) &&
           a->connect_timeout == b->connect_timeout && a->timeout == b->timeout;
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

int jh__conf_kafka_equal(const jh__conf_kafka *a, const jh__conf_kafka *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return str_eq(a->name, b->name) && str_eq(a->brokers, b->brokers) &&
           kv_equal(a->props, a->n_props, b->props, b->n_props);
}

const jh__conf_kv *jh__conf_plugin_get(const jh__conf_plugin *p, const char *key)
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

int jh__conf_check_plugin(const jh__conf_plugin *p, const jh_plugin_desc *d, jh_err *e)
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
        /* A near miss of a declared key or of a host key (mysql, enabled...). */
        const char *best = NULL;
        int bd = 3;
        for (k = 0; k < d->n_config_keys + NKEYS(plugin_host_keys); k++) {
            const char *cand = k < d->n_config_keys ? desc_key(d, k)->name
                                                    : plugin_host_keys[k - d->n_config_keys];
            int dist = cand != NULL ? edit_distance(p->kv[i].key, cand) : 99;
            if (dist < bd) {
                bd = dist;
                best = cand;
            }
        }
        char hint[200] = "";
        if (best != NULL)
            snprintf(hint, sizeof(hint), " (did you mean \"%s\"?)", best);
        return jh__err_set(e, -EINVAL,
                          "%s:%d: [plugin %s]: unknown key \"%s\" (%s declares: %s)%s",
                          p->kv[i].pos.file, p->kv[i].pos.line, p->name, p->kv[i].key, p->name,
                          d->n_config_keys ? declared : "no keys", hint);
    }
    return 0;
}

int jh__conf_plugin_equal(const jh__conf_plugin *a, const jh__conf_plugin *b)
{
    /* No section at all is the same as an empty one: no keys, no backends,
     * enabled. */
    static const jh__conf_plugin none = {.enabled = 1};

    if (a == NULL)
        a = &none;
    if (b == NULL)
        b = &none;
    return str_eq(a->mysql, b->mysql) && str_eq(a->redis, b->redis) &&
           str_eq(a->events, b->events) && a->enabled == b->enabled &&
           kv_equal(a->kv, a->n_kv, b->kv, b->n_kv);
}
