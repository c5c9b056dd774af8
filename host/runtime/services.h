/*
 * services.h - the backends one plugin is bound to, and the per-run state
 * they keep in a context.
 *
 * A [plugin NAME] section binds backends by name (mysql = main, redis =
 * cache, events = bus).  The host resolves those names into a jh__services
 * when it loads the plugin's copy and attaches it to the copy
 * (jh__plugin_set_services); the copy holds one reference on each backend,
 * so a backend whose section a reload changed lives until the last run of
 * the old copy has finished.  Every context of a run reaches its backends
 * through ctx->plugin.
 */
#ifndef JH_SERVICES_H
#define JH_SERVICES_H

struct jh__db;
struct jh__redis;
struct jh__events;

typedef struct jh__services {
    struct jh__db *db;          /* NULL: no mysql = in the plugin's section */
    struct jh__redis *redis;    /* NULL: lock/status/idem use the in-process store */
    struct jh__events *events;  /* the host's outbox (+ Kafka when bound); never NULL
                                * in a running host; NULL in unit tests */
    unsigned declared;         /* the plugin's JH_SVC_* requires bits */
} jh__services;

#endif
