/*
 * reload.c - build a host state from disk, diff it against the running one.
 *
 * Job rules (README "Configuration"):
 *   - every [job] names a loaded plugin and one of its handlers;
 *   - a [job] that sets neither `every` nor `cron` takes its handler's
 *     default schedule (and the handler's zone unless it sets `timezone`);
 *     a handler with no default then is an error;
 *   - each handler with a default schedule that no [job] names becomes the
 *     implicit job "PLUGIN.HANDLER", so a .so dropped in with no ini runs;
 *   - job names are unique (an implicit name taken by a [job] is an error).
 * Plugin rules: *.so files in the plugins directory (hidden files skipped)
 * are loaded in name order; two files declaring the same plugin name, or a
 * [plugin NAME] section with no such plugin, are errors.
 */
#include "reload.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "repo/backends.h"
#include "time/cron.h"
#include "time/duration.h"
#include "runtime/log.h"
#include "time/tz.h"

/* ---- plugin copies -------------------------------------------------- */

static void log_plugin_event(const jh__host_env *env, const char *event, const char *name,
                             const char *version, const char *file, const char *abi)
{
    if (env == NULL || env->log == NULL)
        return;
    jh__kv kv[] = {
        JH_KV_S("plugin", name),
        JH_KV_S("version", version),
        JH_KV_S("file", file),
        JH_KV_S("abi", abi),
    };
    jh__log_kv(env->log, JH_LOG_INFO, event, kv, JH_COUNTOF(kv) - (abi == NULL));
}

static jh__hcopy *hcopy_new(jh__plugin *p, const jh__host_env *env)
{
    jh__hcopy *c = malloc(sizeof(*c));

    if (c == NULL)
        return NULL;
    atomic_init(&c->refs, 1);
    c->plugin = p;
    c->env = env;
    return c;
}

static void hcopy_ref(jh__hcopy *c)
{
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

static void hcopy_unref(jh__hcopy *c)
{
    char name[80], version[80], file[4096];

    if (c == NULL || atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
        return;
    /* The strings live in the plugin: copy them before it goes. */
    snprintf(name, sizeof(name), "%s", jh__plugin_name(c->plugin));
    snprintf(version, sizeof(version), "%s",
             jh__plugin_desc_of(c->plugin)->version ? jh__plugin_desc_of(c->plugin)->version : "");
    snprintf(file, sizeof(file), "%s", jh__plugin_path(c->plugin));
    jh__plugin_unref(c->plugin); /* the last reference: fini, dlclose */
    log_plugin_event(c->env, "plugin.unload", name, version, file, NULL);
    free(c);
}

/* ---- jobs ----------------------------------------------------------- */

void jh__hjob_ref(jh__hjob *j)
{
    atomic_fetch_add_explicit(&j->refs, 1, memory_order_relaxed);
}

void jh__hjob_unref(jh__hjob *j)
{
    if (j == NULL || atomic_fetch_sub_explicit(&j->refs, 1, memory_order_acq_rel) != 1)
        return;
    jh__cron_free(j->cron);
    hcopy_unref(j->copy);
    free(j->name);
    free(j->cron_text);
    free(j->tz_name);
    free(j);
}

static int streq_null(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

/* Same plugin copy, handler and every scheduling key: nothing to do. */
static int hjob_equal(const jh__hjob *a, const jh__hjob *b)
{
    return a->plugin == b->plugin && strcmp(a->handler->name, b->handler->name) == 0 &&
           a->kind == b->kind && a->every == b->every &&
           streq_null(a->cron_text, b->cron_text) && streq_null(a->tz_name, b->tz_name) &&
           a->jitter == b->jitter && a->run_on_start == b->run_on_start &&
           a->concurrency == b->concurrency && a->max_running == b->max_running &&
           a->timeout == b->timeout && a->enabled == b->enabled;
}

void jh__hjob_describe(const jh__hjob *j, char *buf, size_t len)
{
    char d[64];

    if (j->kind == JH_SCHED_EVERY) {
        jh__duration_format(j->every, d, sizeof(d));
        snprintf(buf, len, "every %s", d);
    } else {
        snprintf(buf, len, "cron %s%s%s%s", j->cron_text, j->tz_name ? " (" : "",
                 j->tz_name ? j->tz_name : "", j->tz_name ? ")" : "");
    }
}

int64_t jh__hjob_next(const jh__hjob *j, int64_t now_ns)
{
    int64_t next;

    if (!j->enabled)
        return INT64_MAX;
    if (j->kind == JH_SCHED_EVERY)
        return now_ns + j->every;
    if (j->cron == NULL || jh__cron_next(j->cron, now_ns, &next) < 0)
        return INT64_MAX;
    return next;
}

static const char *where_file(const jh__conf_pos *pos)
{
    return pos->file ? pos->file : "(config)";
}

/*
 * Resolve the schedule of a job: the ini's, else the handler's default.
 * `pos` and `who` locate errors ("conf.d/x.ini:3: [job a]" or
 * "plugins/x.so: handler \"h\"").
 */
static int hjob_schedule(jh__hjob *j, const jh__conf_job *cj, const char *who, jh_err *e)
{
    const jh_handler *h = j->handler;
    const char *tz = NULL;
    const jh__tz *zone;
    int rc;

    if (cj != NULL && cj->kind != JH_SCHED_NONE) {
        j->kind = cj->kind;
        j->every = cj->every;
        if (cj->kind == JH_SCHED_CRON && (j->cron_text = strdup(cj->cron)) == NULL)
            return jh__err_set(e, -ENOMEM, "%s: out of memory", who);
        tz = cj->timezone;
    } else if (h->every != NULL) {
        j->kind = JH_SCHED_EVERY;
        rc = jh__duration_parse(h->every, 0, &j->every, e);
        if (rc == 0 && j->every < JH__EVERY_MIN_NS)
            rc = jh__err_set(e, -ERANGE, "below the minimum of 1ms");
        if (rc < 0) {
            jh__err_prefix(e, "%s: handler \"%s\" of %s: default every \"%s\"", who,
                          h->name, jh__plugin_path(j->plugin), h->every);
            return rc;
        }
    } else if (h->cron != NULL) {
        j->kind = JH_SCHED_CRON;
        if ((j->cron_text = strdup(h->cron)) == NULL)
            return jh__err_set(e, -ENOMEM, "%s: out of memory", who);
        tz = (cj != NULL && (cj->set & JH_JOB_SET_TIMEZONE)) ? cj->timezone : h->timezone;
    } else {
        return jh__err_set(e, -EINVAL,
                          "%s: no schedule: set `every` or `cron` (handler \"%s\" of plugin "
                          "\"%s\" declares no default)",
                          who, h->name, jh__plugin_name(j->plugin));
    }
    if (tz != NULL && *tz != '\0' && (j->tz_name = strdup(tz)) == NULL)
        return jh__err_set(e, -ENOMEM, "%s: out of memory", who);
    if (j->kind != JH_SCHED_CRON)
        return 0;
    if ((rc = jh__tz_get(j->tz_name, &zone, e)) < 0 ||
        (rc = jh__cron_parse(j->cron_text, zone, &j->cron, e)) < 0) {
        jh__err_prefix(e, "%s", who);
        return rc;
    }
    return 0;
}

static int hjob_new(jh__hplug *hp, const jh_handler *h, const jh__conf_job *cj, jh__hjob **out,
                    jh_err *e)
{
    static atomic_uint_fast64_t gen; /* shared by hosts on other loops */
    char who[512];
    jh__hjob *j = calloc(1, sizeof(*j));
    int rc = -ENOMEM;

    if (j == NULL)
        return jh__err_set(e, -ENOMEM, "out of memory");
    atomic_init(&j->refs, 1);
    j->gen = (uint64_t)atomic_fetch_add(&gen, 1) + 1;
    hcopy_ref(hp->copy);
    j->copy = hp->copy;
    j->plugin = hp->plugin;
    j->handler = h;
    if (cj != NULL) {
        j->name = strdup(cj->name);
        j->jitter = cj->jitter;
        j->run_on_start = cj->run_on_start;
        j->concurrency = cj->concurrency;
        j->max_running = cj->max_running > 0 ? cj->max_running : 1;
        j->timeout = cj->timeout;
        j->enabled = cj->enabled;
        snprintf(who, sizeof(who), "%s:%d: [job %s]", where_file(&cj->pos), cj->pos.line,
                 cj->name);
    } else {
        size_t n = strlen(jh__plugin_name(hp->plugin)) + strlen(h->name) + 2;
        if ((j->name = malloc(n)) != NULL)
            snprintf(j->name, n, "%s.%s", jh__plugin_name(hp->plugin), h->name);
        j->implicit = 1;
        j->concurrency = JH_CONC_FORBID;
        j->max_running = 1;
        j->enabled = 1;
        snprintf(who, sizeof(who), "%s: implicit job %s", hp->path, j->name ? j->name : "?");
    }
    if (j->name == NULL) {
        jh__err_set(e, -ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = hjob_schedule(j, cj, who, e)) < 0)
        goto fail;
    *out = j;
    return 0;
fail:
    jh__hjob_unref(j);
    return rc;
}

/* ---- plugins -------------------------------------------------------- */

/* `d` relative to the directory that holds conf_dir (absolute d as is;
 * unset d = `dflt` relative to the working directory). */
static char *beside_conf(const char *conf_dir, const char *d, const char *dflt)
{
    const char *slash;
    char *out;

    if (d == NULL || *d == '\0')
        return strdup(dflt);
    if (d[0] == '/')
        return strdup(d);
    /* Relative to the directory holding the conf dir, so the same ini works
     * whatever the daemon's working directory: conf.d -> ./plugins,
     * /etc/jobhost/conf.d -> /etc/jobhost/plugins. */
    slash = strrchr(conf_dir, '/');
    while (slash != NULL && slash > conf_dir && slash[1] == '\0')
        slash = memrchr(conf_dir, '/', (size_t)(slash - conf_dir));
    if (slash == NULL)
        return strdup(d);
    size_t plen = (size_t)(slash - conf_dir) + 1, n = plen + strlen(d) + 1;
    if ((out = malloc(n)) == NULL)
        return NULL;
    memcpy(out, conf_dir, plen);
    strcpy(out + plen, d);
    return out;
}

char *jh__hstate_plugins_dir(const char *conf_dir, const jh__conf *conf, const char *opt)
{
    if (opt != NULL && *opt != '\0')
        return strdup(opt);
    /* Unset, the default "plugins" sits beside the conf dir too, as the
     * README and conf.d/00-host.ini say (`cd / && jobhostd -c
     * /etc/jobhost/conf.d` loads /etc/jobhost/plugins). */
    const char *d = conf != NULL ? conf->host.plugins_dir : NULL;

    return beside_conf(conf_dir, d != NULL && *d != '\0' ? d : "plugins", "plugins");
}

char *jh__hstate_state_dir(const char *conf_dir, const jh__conf *conf, const char *opt)
{
    if (opt != NULL && *opt != '\0')
        return strdup(opt);
    /* The default too sits beside the conf dir: two hosts with their own
     * conf dirs never share an outbox by accident. */
    const char *d = conf != NULL && conf->host.state_dir != NULL ? conf->host.state_dir : "state";
    return beside_conf(conf_dir, d, "state");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* dir/ *.so (regular files, not hidden) as full paths in name order. */
static int scan_dir(const char *dir, char ***out, size_t *n_out, jh_err *e)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **v = NULL, path[PATH_MAX];
    size_t n = 0, cap = 0;
    struct stat st;

    if (d == NULL)
        return jh__err_set(e, -errno, "plugins directory \"%s\": %s", dir, strerror(errno));
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (de->d_name[0] == '.' || len < 4 || strcmp(de->d_name + len - 3, ".so") != 0)
            continue;
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path))
            continue;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            char **nv = realloc(v, cap * sizeof(*v));
            if (nv == NULL)
                goto nomem;
            v = nv;
        }
        if ((v[n] = strdup(path)) == NULL)
            goto nomem;
        n++;
    }
    closedir(d);
    if (n > 0)
        qsort(v, n, sizeof(*v), cmp_str);
    *out = v;
    *n_out = n;
    return 0;
nomem:
    closedir(d);
    free_names(v, n);
    return jh__err_set(e, -ENOMEM, "out of memory");
}

/* The running copy of `path` if neither the file, nor its [plugin]
 * section, nor the backend sections it binds changed. */
static jh__hcopy *find_reusable(const jh__hstate *old, const char *path, const jh__file_id *id,
                               const jh__conf *conf)
{
    if (old == NULL)
        return NULL;
    for (size_t i = 0; i < old->n_plugins; i++) {
        jh__plugin *p = old->plugins[i].plugin;
        const jh__conf_plugin *sec;
        if (strcmp(old->plugins[i].path, path) != 0 ||
            !jh__file_id_equal(jh__plugin_file_id(p), id))
            continue;
        sec = jh__conf_find_plugin(conf, jh__plugin_name(p));
        /* A missing section equals an empty, enabled one with no
         * bindings (jh__conf_plugin_equal). */
        if (jh__conf_plugin_equal(jh__plugin_section(p), sec) &&
            jh__backends_same(old->conf, conf, sec))
            return old->plugins[i].copy;
    }
    return NULL;
}

static void log_plugin_load(const jh__host_env *env, const jh__plugin *p)
{
    const jh_plugin_desc *d = jh__plugin_desc_of(p);
    char abi[32];

    snprintf(abi, sizeof(abi), "%u.%u", (unsigned)d->abi_major, (unsigned)d->abi_minor);
    log_plugin_event(env, "plugin.load", jh__plugin_name(p), d->version ? d->version : "",
                     jh__plugin_path(p), abi);
}

static void log_plugin_skip(const jh__host_env *env, const jh__plugin *p, const char *reason)
{
    jh__kv kv[] = {
        JH_KV_S("plugin", jh__plugin_name(p)),
        JH_KV_S("file", jh__plugin_path(p)),
        JH_KV_S("reason", reason),
    };
    jh__log_kv(env->log, JH_LOG_INFO, "plugin.skip", kv, JH_COUNTOF(kv));
}

/* Keep an opened plugin that stays idle: its jobs are checked against it
 * but not scheduled. */
static int skip_plugin(jh__hstate *st, jh__plugin *p, const jh__host_env *env, const char *why,
                       jh_err *e)
{
    jh__plugin **nv = realloc(st->skipped, (st->n_skipped + 1) * sizeof(*nv));

    if (nv == NULL) {
        jh__plugin_unref(p);
        return jh__err_set(e, -ENOMEM, "out of memory");
    }
    st->skipped = nv;
    st->skipped[st->n_skipped++] = p;
    log_plugin_skip(env, p, why);
    return 0;
}

/*
 * Open, check the [plugin] keys, bind the backends and init a new copy of
 * `path`.  *out stays NULL (and rc 0) when the section disables the plugin
 * (enabled = false, or auto without the services it requires).
 */
static int load_one(jh__hstate *st, const jh__hstate *old, const char *path,
                    const jh__host_env *env, jh__hcopy **out, jh_err *e)
{
    const jh__conf *conf = st->conf;
    jh__services *svc = NULL;
    jh__plugin *p;
    const jh__conf_plugin *sec;
    int rc;

    *out = NULL;
    if ((rc = jh__plugin_open(path, &p, e)) < 0)
        return rc;
    sec = jh__conf_find_plugin(conf, jh__plugin_name(p));
    if (sec != NULL && sec->enabled == 0)
        return skip_plugin(st, p, env, "enabled = false", e);
    if (sec != NULL && sec->enabled < 0 &&
        !jh__backends_satisfied(jh__plugin_desc_of(p)->requires, sec))
        return skip_plugin(st, p, env, "enabled = auto and a service it requires is not bound",
                           e);
    if ((sec != NULL && (rc = jh__conf_check_plugin(sec, jh__plugin_desc_of(p), e)) < 0) ||
        (rc = jh__backends_bind(st->backends, conf, old ? old->backends : NULL, p, sec,
                               env->events, &svc, e)) < 0) {
        jh__plugin_unref(p);
        return rc;
    }
    jh__plugin_set_services(p, svc, jh__services_release);
    if ((rc = jh__plugin_init(p, sec, env, e)) < 0) {
        jh__plugin_unref(p);
        return rc;
    }
    if ((*out = hcopy_new(p, env)) == NULL) {
        jh__plugin_unref(p);
        return jh__err_set(e, -ENOMEM, "out of memory");
    }
    log_plugin_load(env, p);
    return 0;
}

static const jh__hplug *find_plugin(const jh__hstate *st, const char *name)
{
    for (size_t i = 0; i < st->n_plugins; i++)
        if (strcmp(jh__plugin_name(st->plugins[i].plugin), name) == 0)
            return &st->plugins[i];
    return NULL;
}

static jh__plugin *find_skipped(const jh__hstate *st, const char *name)
{
    for (size_t i = 0; i < st->n_skipped; i++)
        if (strcmp(jh__plugin_name(st->skipped[i]), name) == 0)
            return st->skipped[i];
    return NULL;
}

static void loaded_names(const jh__hstate *st, char *buf, size_t len)
{
    size_t off = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < st->n_plugins && off + 1 < len; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
                                jh__plugin_name(st->plugins[i].plugin));
    if (st->n_plugins == 0)
        snprintf(buf, len, "none");
}

static void handler_names(const jh__plugin *p, char *buf, size_t len)
{
    size_t off = 0, n = jh__plugin_n_handlers(p);

    buf[0] = '\0';
    for (size_t i = 0; i < n && off + 1 < len; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
                                jh__plugin_handler_at(p, i)->name);
    if (n == 0)
        snprintf(buf, len, "none");
}

static int load_plugins(jh__hstate *st, const jh__hstate *old, const jh__host_env *env, jh_err *e)
{
    char **paths = NULL;
    size_t n = 0;
    int rc;

    if ((rc = scan_dir(st->plugins_dir, &paths, &n, e)) < 0)
        return rc;
    if (n > 0 && (st->plugins = calloc(n, sizeof(*st->plugins))) == NULL) {
        rc = jh__err_set(e, -ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        jh__hplug *hp;
        jh__file_id id;
        const jh__hplug *dup;

        if ((rc = jh__file_id_of(paths[i], &id, e)) < 0)
            goto out;
        hp = &st->plugins[st->n_plugins];
        hp->copy = find_reusable(old, paths[i], &id, st->conf);
        if (hp->copy != NULL) {
            hcopy_ref(hp->copy);
            hp->reused = 1;
            /* Its backends stay in the set, so a new plugin bound to the
             * same sections shares them rather than opening a second pool. */
            if ((rc = jh__backends_adopt(st->backends, st->conf, jh__plugin_services(hp->copy->plugin),
                                        jh__conf_find_plugin(st->conf, jh__plugin_name(hp->copy->plugin)),
                                        e)) < 0) {
                hcopy_unref(hp->copy);
                goto out;
            }
        } else if ((rc = load_one(st, old, paths[i], env, &hp->copy, e)) < 0) {
            goto out;
        } else if (hp->copy == NULL) {
            continue; /* disabled: in st->skipped */
        }
        hp->plugin = hp->copy->plugin;
        hp->path = paths[i];
        paths[i] = NULL;
        st->n_plugins++;
        dup = find_plugin(st, jh__plugin_name(hp->plugin));
        if (dup != hp) {
            rc = jh__err_set(e, -EEXIST, "%s and %s both declare plugin \"%s\"", dup->path,
                            hp->path, jh__plugin_name(hp->plugin));
            goto out;
        }
    }
    rc = 0;
out:
    free_names(paths, n);
    return rc;
}

/* A [plugin NAME] section must configure a loaded plugin. */
static int check_sections(const jh__hstate *st, jh_err *e)
{
    char names[512];

    for (size_t i = 0; i < st->conf->n_plugins; i++) {
        const jh__conf_plugin *s = &st->conf->plugins[i];
        if (find_plugin(st, s->name) != NULL || find_skipped(st, s->name) != NULL)
            continue;
        loaded_names(st, names, sizeof(names));
        return jh__err_set(e, -ENOENT, "%s:%d: [plugin %s]: no such plugin in %s (loaded: %s)",
                          where_file(&s->pos), s->pos.line, s->name, st->plugins_dir, names);
    }
    return 0;
}

/* ---- the job set ---------------------------------------------------- */

static int push_job(jh__hstate *st, size_t *cap, jh__hjob *j, jh_err *e)
{
    if (st->n_jobs == *cap) {
        size_t ncap = *cap ? 2 * *cap : 16;
        jh__hjob **nv = realloc(st->jobs, ncap * sizeof(*nv));
        if (nv == NULL) {
            jh__hjob_unref(j);
            return jh__err_set(e, -ENOMEM, "out of memory");
        }
        st->jobs = nv;
        *cap = ncap;
    }
    st->jobs[st->n_jobs++] = j;
    return 0;
}

static int explicit_job(jh__hstate *st, const jh__conf_job *cj, size_t *cap, jh_err *e)
{
    const jh__hplug *hp = find_plugin(st, cj->plugin);
    jh__plugin *idle = hp == NULL ? find_skipped(st, cj->plugin) : NULL;
    const jh_handler *h;
    jh__hjob *j;
    char names[512];
    int rc;

    if (idle != NULL) {
        /* A disabled plugin's jobs are checked, not scheduled. */
        if (jh__plugin_handler(idle, cj->handler) != NULL)
            return 0;
        handler_names(idle, names, sizeof(names));
        return jh__err_set(e, -ENOENT,
                          "%s:%d: [job %s]: unknown handler \"%s\" in plugin \"%s\" "
                          "(handlers: %s)",
                          where_file(&cj->handler_pos), cj->handler_pos.line, cj->name,
                          cj->handler, cj->plugin, names);
    }
    if (hp == NULL) {
        loaded_names(st, names, sizeof(names));
        return jh__err_set(e, -ENOENT, "%s:%d: [job %s]: unknown plugin \"%s\" (loaded: %s)",
                          where_file(&cj->plugin_pos), cj->plugin_pos.line, cj->name,
                          cj->plugin, names);
    }
    if ((h = jh__plugin_handler(hp->plugin, cj->handler)) == NULL) {
        handler_names(hp->plugin, names, sizeof(names));
        return jh__err_set(e, -ENOENT,
                          "%s:%d: [job %s]: unknown handler \"%s\" in plugin \"%s\" "
                          "(handlers: %s)",
                          where_file(&cj->handler_pos), cj->handler_pos.line, cj->name,
                          cj->handler, cj->plugin, names);
    }
    if ((rc = hjob_new((jh__hplug *)hp, h, cj, &j, e)) < 0)
        return rc;
    return push_job(st, cap, j, e);
}

static int handler_named(const jh__conf *c, const char *plugin, const char *handler)
{
    for (size_t i = 0; i < c->n_jobs; i++)
        if (strcmp(c->jobs[i].plugin, plugin) == 0 && strcmp(c->jobs[i].handler, handler) == 0)
            return 1;
    return 0;
}

static int implicit_jobs(jh__hstate *st, size_t *cap, jh_err *e)
{
    for (size_t i = 0; i < st->n_plugins; i++) {
        jh__hplug *hp = &st->plugins[i];
        size_t n = jh__plugin_n_handlers(hp->plugin);
        for (size_t k = 0; k < n; k++) {
            const jh_handler *h = jh__plugin_handler_at(hp->plugin, k);
            jh__hjob *j;
            int rc;
            if ((h->every == NULL && h->cron == NULL) ||
                handler_named(st->conf, jh__plugin_name(hp->plugin), h->name))
                continue;
            if ((rc = hjob_new(hp, h, NULL, &j, e)) < 0 || (rc = push_job(st, cap, j, e)) < 0)
                return rc;
        }
    }
    return 0;
}

static int cmp_job(const void *a, const void *b)
{
    return strcmp((*(jh__hjob *const *)a)->name, (*(jh__hjob *const *)b)->name);
}

static int build_jobs(jh__hstate *st, jh_err *e)
{
    size_t cap = 0;
    int rc;

    for (size_t i = 0; i < st->conf->n_jobs; i++)
        if ((rc = explicit_job(st, &st->conf->jobs[i], &cap, e)) < 0)
            return rc;
    if ((rc = implicit_jobs(st, &cap, e)) < 0)
        return rc;
    if (st->n_jobs > 1)
        qsort(st->jobs, st->n_jobs, sizeof(*st->jobs), cmp_job);
    for (size_t i = 1; i < st->n_jobs; i++) {
        if (strcmp(st->jobs[i - 1]->name, st->jobs[i]->name) != 0)
            continue;
        /* [job] names are unique (config.c checks); so one is implicit. */
        jh__hjob *imp = st->jobs[i]->implicit ? st->jobs[i] : st->jobs[i - 1];
        jh__conf_pos at = {"(unknown)", 0};
        for (size_t k = 0; k < st->conf->n_jobs; k++)
            if (strcmp(st->conf->jobs[k].name, imp->name) == 0)
                at = st->conf->jobs[k].pos;
        return jh__err_set(e, -EEXIST,
                          "%s:%d: job \"%s\": a [job] has the name of the implicit job of "
                          "handler \"%s\" in %s; rename the [job] or name that handler in it",
                          at.file, at.line, imp->name, imp->handler->name,
                          jh__plugin_path(imp->plugin));
    }
    return 0;
}

int jh__hstate_build(jh__conf *conf, const char *plugins_dir, const jh__hstate *old,
                   const jh__host_env *env, void *owner, jh__hstate *out, jh_err *e)
{
    int rc;

    memset(out, 0, sizeof(*out));
    out->conf = conf;
    if ((out->plugins_dir = strdup(plugins_dir)) == NULL ||
        jh__backends_new(&out->backends) < 0) {
        rc = jh__err_set(e, -ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = load_plugins(out, old, env, e)) < 0 || (rc = check_sections(out, e)) < 0 ||
        (rc = build_jobs(out, e)) < 0)
        goto fail;
    for (size_t i = 0; i < out->n_jobs; i++)
        out->jobs[i]->owner = owner;
    /* Jobs own copies of what they need; the snapshot keeps [host] and
     * [plugin] sections only, so 100,000 jobs do not cost twice. */
    jh__conf_drop_jobs(conf);
    return 0;
fail:
    jh__hstate_release(out);
    return rc;
}

void jh__hstate_release(jh__hstate *st)
{
    for (size_t i = 0; i < st->n_jobs; i++)
        jh__hjob_unref(st->jobs[i]);
    free(st->jobs);
    for (size_t i = 0; i < st->n_plugins; i++) {
        hcopy_unref(st->plugins[i].copy);
        free(st->plugins[i].path);
    }
    free(st->plugins);
    for (size_t i = 0; i < st->n_skipped; i++)
        jh__plugin_unref(st->skipped[i]);
    free(st->skipped);
    jh__backends_free(st->backends);
    free(st->plugins_dir);
    jh__conf_free(st->conf);
    memset(st, 0, sizeof(*st));
}

/* ---- commit --------------------------------------------------------- */

/* The scheduler's spec for j; the parsed cron moves to the scheduler. */
static void spec_of(jh__hjob *j, jh__sched_spec *spec)
{
    memset(spec, 0, sizeof(*spec));
    spec->kind = j->kind;
    spec->every = j->every;
    spec->cron = j->cron;
    j->cron = NULL;
    spec->jitter = j->jitter;
    spec->jitter_key = j->name;
    spec->run_on_start = j->run_on_start;
    spec->concurrency = j->concurrency;
    spec->max_running = j->max_running;
    spec->timeout = j->timeout;
    spec->enabled = j->enabled;
}

static int add_job(jh__sched *s, jh__hjob *j)
{
    jh__sched_spec spec;
    int rc;

    spec_of(j, &spec);
    jh__hjob_ref(j); /* the scheduler's */
    if ((rc = jh__sched_add(s, &spec, j, &j->sjob)) < 0) {
        jh__cron_free(spec.cron); /* refused: not the scheduler's */
        jh__hjob_unref(j);
    }
    return rc;
}

/*
 * Both job lists are sorted by name: one merge pass.  An unchanged job
 * keeps its running hjob (and so its timer and phase); a changed one is
 * updated in place, which keeps the phase when only the plugin copy or
 * non-schedule keys changed (jh__sched_update decides).
 */
void jh__retired_done(jh__retired **list, const jh__run *run)
{
    const jh__hjob *u = run->udata;

    for (jh__retired **pp = list, *r; (r = *pp) != NULL;) {
        if (r->sjob == run->job && u->gen <= r->job->gen && --r->pending == 0) {
            *pp = r->next;
            jh__hjob_unref(r->job);
            free(r);
        } else {
            pp = &r->next;
        }
    }
}

void jh__retired_clear(jh__retired **list)
{
    for (jh__retired *r = *list, *nx; r != NULL; r = nx) {
        nx = r->next;
        jh__hjob_unref(r->job);
        free(r);
    }
    *list = NULL;
}

/* The scheduler dropped `o` for a newer udata: release it now, or once the
 * runs in flight that may use it are done. */
static void retire(jh__retired **list, jh__hjob *o, int in_flight)
{
    jh__retired *r;

    if (in_flight == 0) {
        jh__hjob_unref(o);
        return;
    }
    /* Out of memory: keep the reference for good rather than free what a
     * run may still be using. */
    if ((r = malloc(sizeof(*r))) == NULL)
        return;
    r->job = o;
    r->sjob = o->sjob;
    r->pending = in_flight;
    r->next = *list;
    *list = r;
}

/* `next` lists o in place of n (same name): the scheduler runs o. */
static void keep_running(jh__hstate *next, size_t k, jh__hjob *o)
{
    jh__hjob_ref(o);
    jh__hjob_unref(next->jobs[k]);
    next->jobs[k] = o;
}

/* o's scheduler job takes next->jobs[k]'s spec and udata; o retires.  If
 * the scheduler refuses (out of memory), the job keeps o, and so does
 * `next`: the next reload tries again. */
static int update_job(jh__sched *s, jh__hjob *o, jh__hstate *next, size_t k,
                      jh__retired **retired)
{
    jh__hjob *n = next->jobs[k];
    int in_flight = jh__sched_running(o->sjob);
    jh__sched_spec spec;
    int rc;

    spec_of(n, &spec);
    jh__hjob_ref(n);
    n->sjob = o->sjob;
    if ((rc = jh__sched_update(s, o->sjob, &spec, n)) < 0) {
        jh__cron_free(spec.cron);
        jh__hjob_unref(n);
        keep_running(next, k, o);
        return rc;
    }
    retire(retired, o, in_flight);
    return 0;
}

int jh__hstate_commit(jh__sched *s, const jh__hstate *cur, jh__hstate *next, jh__retired **retired,
                     jh__diff_counts *c)
{
    size_t i = 0, k = 0, nc = cur ? cur->n_jobs : 0;
    int rc = 0, first = 0;

    memset(c, 0, sizeof(*c));
    while (i < nc || k < next->n_jobs) {
        jh__hjob *o = i < nc ? cur->jobs[i] : NULL;
        jh__hjob *n = k < next->n_jobs ? next->jobs[k] : NULL;
        int cmp = o == NULL ? 1 : n == NULL ? -1 : strcmp(o->name, n->name);

        if (cmp < 0) {
            jh__sched_remove(s, o->sjob);
            c->removed++, i++;
            continue;
        }
        /* A job the scheduler refused an add (o->sjob NULL) is added again. */
        if (cmp > 0 || o->sjob == NULL) {
            rc = add_job(s, n);
            c->added++, k++, i += cmp == 0;
        } else if (hjob_equal(o, n)) {
            keep_running(next, k, o);
            c->unchanged++, i++, k++;
            continue;
        } else {
            rc = update_job(s, o, next, k, retired);
            c->changed++, i++, k++;
        }
        if (rc < 0 && first == 0)
            first = rc;
    }
    return first;
}
