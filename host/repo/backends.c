/*
 * backends.c - see backends.h.
 */
#include "backends.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "events.h"
#include "redis.h"

_Static_assert(JH_RUN_SLOTS <= JH_CTX_RUN_HOOKS, "a backend's run hook slot is missing");

enum { KIND_DB = 0, KIND_REDIS = 1 };

struct entry {
    int kind;
    const char *name;   /* in the conf of the state owning the set */
    const void *conf;   /* jh__conf_mysql / jh__conf_redis in that conf */
    void *obj;          /* jh__db / jh__redis: one reference */
};

struct jh__backends {
    struct entry *v;
    size_t n, cap;
};

int jh__backends_new(jh__backends **out)
{
    return (*out = calloc(1, sizeof(**out))) == NULL ? -ENOMEM : 0;
}

static void obj_ref(int kind, void *obj)
{
    if (kind == KIND_DB)
        jh__db_ref(obj);
    else
        jh__redis_ref(obj);
}

static void obj_unref(int kind, void *obj)
{
    if (kind == KIND_DB)
        jh__db_unref(obj);
    else
        jh__redis_unref(obj);
}

void jh__backends_free(jh__backends *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->n; i++)
        obj_unref(b->v[i].kind, b->v[i].obj);
    free(b->v);
    free(b);
}

static struct entry *find(const jh__backends *b, int kind, const char *name)
{
    for (size_t i = 0; b != NULL && i < b->n; i++)
        if (b->v[i].kind == kind && strcmp(b->v[i].name, name) == 0)
            return &b->v[i];
    return NULL;
}

static int same_conf(int kind, const void *a, const void *b)
{
    if (a == NULL || b == NULL)
        return 0;
    return kind == KIND_DB ? jh__conf_mysql_equal(a, b) : jh__conf_redis_equal(a, b);
}

static int add(jh__backends *set, int kind, const char *name, const void *conf, void *obj,
               jh_err *e);

/*
 * The object for section `name` of `kind`: already in `set`, else the old
 * set's if its settings are unchanged, else a new one.  Returns it with a
 * reference for the caller.
 */
static int get_obj(jh__backends *set, const jh__backends *old, int kind, const char *name,
                   const void *conf, void **obj, jh_err *e)
{
    struct entry *en = find(set, kind, name), *o;
    int rc;

    if (en == NULL) {
        const char *sname = kind == KIND_DB ? ((const jh__conf_mysql *)conf)->name
                                            : ((const jh__conf_redis *)conf)->name;
        o = find(old, kind, name);
        if (o != NULL && same_conf(kind, o->conf, conf)) {
            obj_ref(kind, o->obj);
            *obj = o->obj;
        } else if (kind == KIND_DB) {
            if ((rc = jh__db_new(conf, (jh__db **)obj, e)) < 0)
                return rc;
        } else if ((rc = jh__redis_new(conf, (jh__redis **)obj, e)) < 0) {
            return rc;
        }
        /* add() takes the set's own reference; drop the one made above. */
        rc = add(set, kind, sname, conf, *obj, e);
        obj_unref(kind, *obj);
        if (rc < 0)
            return rc;
        en = find(set, kind, name);
    }
    obj_ref(kind, en->obj);
    *obj = en->obj;
    return 0;
}

static int add(jh__backends *set, int kind, const char *name, const void *conf, void *obj,
               jh_err *e)
{
    if (find(set, kind, name) != NULL)
        return 0;
    if (set->n == set->cap) {
        size_t ncap = set->cap ? 2 * set->cap : 4;
        struct entry *nv = realloc(set->v, ncap * sizeof(*nv));
        if (nv == NULL)
            return jh__err_set(e, -ENOMEM, "out of memory");
        set->v = nv;
        set->cap = ncap;
    }
    obj_ref(kind, obj);
    set->v[set->n++] = (struct entry){kind, name, conf, obj};
    return 0;
}

int jh__backends_adopt(jh__backends *set, const jh__conf *conf, const jh__services *svc,
                      const jh__conf_plugin *sec, jh_err *e)
{
    const void *c;
    int rc;

    if (svc == NULL || sec == NULL)
        return 0;
    /* The copy was reused because these sections are unchanged, so the
     * new conf's section describes the same object. */
    if (svc->db != NULL && sec->mysql != NULL && (c = jh__conf_find_mysql(conf, sec->mysql)) &&
        (rc = add(set, KIND_DB, ((const jh__conf_mysql *)c)->name, c, svc->db, e)) < 0)
        return rc;
    if (svc->redis != NULL && sec->redis != NULL && (c = jh__conf_find_redis(conf, sec->redis)) &&
        (rc = add(set, KIND_REDIS, ((const jh__conf_redis *)c)->name, c, svc->redis, e)) < 0)
        return rc;
    return 0;
}

void jh__services_release(jh__services *svc)
{
    if (svc == NULL)
        return;
    if (svc->db != NULL)
        jh__db_unref(svc->db);
    if (svc->redis != NULL)
        jh__redis_unref(svc->redis);
    free(svc);
}

int jh__backends_satisfied(uint32_t requires, const jh__conf_plugin *sec)
{
    if ((requires & JH_SVC_DB) && (sec == NULL || sec->mysql == NULL))
        return 0;
    if ((requires & JH_SVC_REDIS) && (sec == NULL || sec->redis == NULL))
        return 0;
    return 1;
}

int jh__backends_same(const jh__conf *a, const jh__conf *b, const jh__conf_plugin *sec)
{
    if (sec == NULL)
        return 1;
    if (sec->mysql != NULL &&
        !same_conf(KIND_DB, jh__conf_find_mysql(a, sec->mysql), jh__conf_find_mysql(b, sec->mysql)))
        return 0;
    if (sec->redis != NULL && !same_conf(KIND_REDIS, jh__conf_find_redis(a, sec->redis),
                                         jh__conf_find_redis(b, sec->redis)))
        return 0;
    return 1;
}

/* A binding without the declaration, or a requirement without a binding. */
static int check_decl(const jh__plugin *p, const jh__conf_plugin *sec, unsigned bit,
                      const char *bound, const char *key, const char *what, jh_err *e)
{
    uint32_t req = jh__plugin_desc_of(p)->requires;
    const char *name = jh__plugin_name(p);

    /* `redis =` also backs the repository's lock / status / idempotency
     * tables, which every plugin has: binding it needs no declaration. */
    if (bound != NULL && !(req & bit) && bit != JH_SVC_REDIS)
        return jh__err_set(e, -EINVAL,
                          "%s:%d: [plugin %s]: %s = \"%s\": plugin %s (%s) does not use the %s "
                          "service (its descriptor does not require it); remove the key",
                          sec->pos.file ? sec->pos.file : "?", sec->pos.line, name, key, bound,
                          name, jh__plugin_path(p), what);
    if (bound == NULL && (req & bit) && bit != JH_SVC_EVENTS)
        return jh__err_set(e, -ENOENT,
                          "plugin %s (%s) requires the %s service: bind one with `%s = NAME` in "
                          "[plugin %s] and a [%s NAME] section",
                          name, jh__plugin_path(p), what, key, name, key);
    return 0;
}

int jh__backends_bind(jh__backends *set, const jh__conf *conf, const jh__backends *old,
                     const jh__plugin *p, const jh__conf_plugin *sec,
                     struct jh__events *events, jh__services **out, jh_err *e)
{
    const char *my = sec ? sec->mysql : NULL, *rd = sec ? sec->redis : NULL;
    const char *ev = sec ? sec->events : NULL;
    const void *mc = NULL, *rc_ = NULL;
    jh__services *svc;
    void *obj;
    int rc;

    *out = NULL;
    if ((rc = check_decl(p, sec, JH_SVC_DB, my, "mysql", "db", e)) < 0 ||
        (rc = check_decl(p, sec, JH_SVC_REDIS, rd, "redis", "redis", e)) < 0 ||
        (rc = check_decl(p, sec, JH_SVC_EVENTS, ev, "events", "events", e)) < 0)
        return rc;
    if (my != NULL && (mc = jh__conf_find_mysql(conf, my)) == NULL)
        return jh__err_set(e, -ENOENT, "%s:%d: [plugin %s]: mysql = \"%s\": no [mysql %s] section",
                          sec->mysql_pos.file ? sec->mysql_pos.file : "?", sec->mysql_pos.line,
                          sec->name, my, my);
    if (rd != NULL && (rc_ = jh__conf_find_redis(conf, rd)) == NULL)
        return jh__err_set(e, -ENOENT, "%s:%d: [plugin %s]: redis = \"%s\": no [redis %s] section",
                          sec->redis_pos.file ? sec->redis_pos.file : "?", sec->redis_pos.line,
                          sec->name, rd, rd);
    if (ev != NULL && jh__conf_find_kafka(conf, ev) == NULL)
        return jh__err_set(e, -ENOENT, "%s:%d: [plugin %s]: events = \"%s\": no [kafka %s] section",
                          sec->events_pos.file ? sec->events_pos.file : "?", sec->events_pos.line,
                          sec->name, ev, ev);
    if ((svc = calloc(1, sizeof(*svc))) == NULL)
        return jh__err_set(e, -ENOMEM, "out of memory");
    svc->declared = jh__plugin_desc_of(p)->requires;
    svc->events = events;
    if (mc != NULL) {
        if ((rc = get_obj(set, old, KIND_DB, my, mc, &obj, e)) < 0)
            goto fail;
        svc->db = obj;
    }
    if (rc_ != NULL) {
        if ((rc = get_obj(set, old, KIND_REDIS, rd, rc_, &obj, e)) < 0)
            goto fail;
        svc->redis = obj;
    }
    /* The repository is fixed here, once: no call picks its backend. */
    svc->repo = jh__services_repo(svc);
    *out = svc;
    return 0;
fail:
    jh__services_release(svc);
    return rc;
}

/* ---- the repositories ---------------------------------------------------- */

/* The two repositories a copy can see: [0] with lock / status / idem over
 * the in-process store, [1] over redis.  Each of the db, redis and events
 * tables checks per call that the plugin declared and bound the service
 * (jh__ctx_need), so these two serve every plugin. */
static jh_repo full_repos[2];
static pthread_once_t full_repos_once = PTHREAD_ONCE_INIT;

static void full_repos_init(void)
{
    const jh_repo *basics[2] = {jh__store_repo(), jh__redis_repo()};

    for (int i = 0; i < 2; i++) {
        full_repos[i] = *basics[i];
        full_repos[i].db = jh__db_api_table();
        full_repos[i].redis = jh__redis_api_table();
        full_repos[i].events = jh__events_api_table();
    }
}

const jh_repo *jh__services_repo(const jh__services *svc)
{
    pthread_once(&full_repos_once, full_repos_init);
    return &full_repos[svc != NULL && svc->redis != NULL];
}

const jh_repo *jh__full_repo(void)
{
    return jh__services_repo(NULL);
}
