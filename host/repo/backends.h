/*
 * backends.h - turning a [plugin] section's bindings (mysql = main,
 * redis = cache, events = bus) into live backend objects.
 *
 * Each host state (reload.h) owns one jh__backends: the db and redis
 * objects its plugins are bound to, by section name, so that plugins
 * naming the same section share one object (one connection pool).  When a
 * reload builds the next state it passes the running state's set as `old`:
 * a section whose settings did not change keeps its object, and with it
 * its open connections; a changed section gets a new object, and the old
 * one lives until the last copy bound to it is gone.
 *
 * Rules checked here, each an error naming the plugin, its file and the
 * section to fix (load errors: --check and reload catch them, not a run):
 *   - a service the plugin requires (jh_plugin_desc.requires) is not bound;
 *   - mysql = or events = is bound but the plugin does not declare the
 *     service (redis = is always allowed: it also moves the plugin's
 *     lock / job status / idempotency from the in-process store to Redis,
 *     which every plugin may use; the raw command table still needs
 *     JH_SVC_REDIS declared);
 *   - a binding names a section that does not exist (config.c reports it
 *     with file:line first; this is the backstop).
 * JH_SVC_EVENTS needs no binding: the host's outbox always takes events;
 * `events = NAME` must name the host's one [kafka] section.
 */
#ifndef JH_BACKENDS_H
#define JH_BACKENDS_H

#include "config/config.h"
#include "base/err.h"
#include "plugin/plugin.h"
#include "plugin/services.h"
#include "runtime/ctx.h"
#include "service.h"

typedef struct jh__backends jh__backends;
struct jh__events;

int jh__backends_new(jh__backends **out);
/* Drop the set's references (objects still bound to plugins live on). */
void jh__backends_free(jh__backends *b);

/*
 * Services for plugin `p` under configuration `conf` (its section `sec`,
 * may be NULL).  `old` / `old_conf` (may be NULL) offer objects to reuse.
 * On success *out must be attached with jh__plugin_set_services(p, *out,
 * jh__services_release).
 */
int jh__backends_bind(jh__backends *set, const jh__conf *conf, const jh__backends *old,
                     const jh__plugin *p, const jh__conf_plugin *sec,
                     struct jh__events *events, jh__services **out, jh_err *e);
void jh__services_release(jh__services *svc);

/*
 * The repository a copy bound to `svc` sees: lock / status / idempotency
 * over svc->redis when it is bound, else over the in-process store, plus
 * the db, redis and events tables.  jh__backends_bind stores it in
 * svc->repo; services built by hand (tests) set it the same way.
 */
const jh_repo *jh__services_repo(const jh__services *svc);
/* The repository of a copy bound to no redis: what a running host hands
 * to contexts whose plugin brings none (jh__host_env.repo). */
const jh_repo *jh__full_repo(void);

/* Put the objects of a reused copy's services (bound by `sec` of `conf`)
 * into `set`, so later binds in the same state share them. */
int jh__backends_adopt(jh__backends *set, const jh__conf *conf, const jh__services *svc,
                      const jh__conf_plugin *sec, jh_err *e);

/* 1 if every service `requires` names is bound by `sec` (events always
 * is): what `enabled = auto` loads a plugin on. */
int jh__backends_satisfied(uint32_t requires, const jh__conf_plugin *sec);

/* 1 if the backend sections `sec` binds have equal settings in a and b
 * (a reload may then keep a plugin copy bound to the old objects). */
int jh__backends_same(const jh__conf *a, const jh__conf *b, const jh__conf_plugin *sec);

#endif
