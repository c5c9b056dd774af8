/*
 * services.h - the backends one plugin copy is bound to, and the
 * repository its contexts see.
 *
 * A [plugin NAME] section binds backends by name (mysql = main, redis =
 * cache, events = bus).  The host resolves those names into a jh__services
 * when it loads the plugin's copy (repo/backends.c) and attaches it to the
 * copy (jh__plugin_set_services); the copy holds one reference on each
 * backend, so a backend whose section a reload changed lives until the last
 * run of the old copy has finished.  Every context of the copy gets the
 * services and their repository at jh__ctx_init (jh__plugin_ctx); the
 * backends find them there (jh__ctx_services, repo/service.h).
 *
 * The loader only carries this struct: the repository layer builds and
 * reads it.
 */
#ifndef JH_SERVICES_H
#define JH_SERVICES_H

#include "jobhost.h"

struct jh__db;
struct jh__redis;
struct jh__events;

typedef struct jh__services {
    struct jh__db *db;          /* NULL: no mysql = in the plugin's section */
    struct jh__redis *redis;    /* NULL: lock/status/idem use the in-process store */
    struct jh__events *events;  /* the host's outbox (+ Kafka when bound); never NULL
                                * in a running host; NULL in unit tests */
    unsigned declared;         /* the plugin's JH_SVC_* requires bits */
    /* Picked once, at bind time (jh__services_repo): lock / status / idem
     * over `redis` when bound, else over the in-process store, and the db,
     * redis and events tables.  NULL: the host's (jh__host_env.repo). */
    const jh_repo *repo;
} jh__services;

#endif
