/*
 * reload.h - the host's state (configuration + loaded plugins + job set),
 * built from disk as a whole and committed to the scheduler as a diff.
 *
 * Start-up, --check and every reload go through the same two steps:
 *
 *   jh__hstate_build()   read nothing but what it is given (a parsed conf),
 *                      scan the plugins directory, reuse or load + init
 *                      each plugin, resolve every job.  On any error it
 *                      drops everything it created and returns the error:
 *                      the caller's current state is never touched.
 *   jh__hstate_commit()  diff the new job set against the running one by job
 *                      name and apply it to the scheduler (add / update /
 *                      remove).  Cannot fail for a reason the user can fix.
 *
 * Private to the host (host.c, reload.c, tests).
 */
#ifndef JH_RELOAD_H
#define JH_RELOAD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "runtime/ctx.h"
#include "base/err.h"
#include "plugin/plugin.h"
#include "sched/sched.h"

/*
 * The host's handle on one loaded plugin copy.  The host takes all its
 * references on a copy through this wrapper, so it knows when the last one
 * goes: it then drops its jh__plugin reference (fini, dlclose) and logs
 * plugin.unload.
 */
typedef struct jh__hcopy {
    atomic_int refs;
    jh__plugin *plugin;          /* one reference */
    const jh__host_env *env;
} jh__hcopy;

/*
 * One job as the host knows it: the scheduler's udata.  Immutable once
 * built, so worker threads read it without locks.  Reference counted: the
 * state that lists it holds one reference and the scheduler one (dropped
 * by the release callback once no run of it is in flight); the job holds
 * one reference on its plugin copy, so a replaced copy lives until its
 * last run has finished.
 */
typedef struct jh__hjob {
    atomic_int refs;
    char *name;
    jh__hcopy *copy;             /* one reference */
    jh__plugin *plugin;          /* copy->plugin */
    const jh_handler *handler;  /* host-side copy inside plugin */
    int implicit;               /* "PLUGIN.HANDLER", from a default schedule */
    /* the resolved schedule (defaults applied), for diffs and --check */
    int kind;                   /* JH_SCHED_EVERY or JH_SCHED_CRON */
    int64_t every;
    char *cron_text;
    char *tz_name;              /* NULL = host zone */
    int64_t jitter;
    int run_on_start;
    int concurrency;
    int max_running;
    int64_t timeout;
    int enabled;
    jh__cron *cron;              /* parsed; handed to the scheduler on add/update */
    jh__sjob *sjob;              /* set once scheduled */
    void *owner;                /* the host (jh__hstate_build's `owner`) */
    uint64_t gen;               /* creation order, see jh__retired */
} jh__hjob;

/*
 * A job's former udata after jh__sched_update().  Runs in flight keep the
 * udata they started with, and the scheduler does not say when the last of
 * them is done, so the host keeps the old hjob here with the number of runs
 * of that job in flight when it was replaced: only those can use it (or an
 * older one); later runs use newer hjobs, which have a higher gen.  Each
 * done() of that job by a run whose udata is not newer counts one down; at
 * zero the reference is dropped, so a replaced plugin copy is finalized
 * right after its last run.
 */
typedef struct jh__retired {
    jh__hjob *job;               /* the scheduler's former reference */
    jh__sjob *sjob;
    int pending;
    struct jh__retired *next;
} jh__retired;

/* Call from the scheduler's done() (loop thread), after using run->udata. */
void jh__retired_done(jh__retired **list, const jh__run *run);
/* Drop every entry (once the scheduler has stopped). */
void jh__retired_clear(jh__retired **list);

typedef struct jh__hplug {
    jh__hcopy *copy;             /* one reference */
    jh__plugin *plugin;          /* copy->plugin */
    char *path;
    int reused;                 /* the same copy as in the previous state */
} jh__hplug;

typedef struct jh__hstate {
    jh__conf *conf;              /* owned */
    struct jh__backends *backends; /* db/redis objects bound to its plugins */
    jh__plugin **skipped;        /* opened, not initialised: enabled = false,
                                 * or auto without its services bound */
    size_t n_skipped;
    char *plugins_dir;
    jh__hplug *plugins;          /* in file name order */
    size_t n_plugins;
    jh__hjob **jobs;             /* sorted by name; one reference each */
    size_t n_jobs;
} jh__hstate;

typedef struct jh__diff_counts {
    size_t added, removed, changed, unchanged;
} jh__diff_counts;

/*
 * The plugins directory for `conf`: `opt` (the -p option) if given, else
 * [host] plugins_dir (relative to the directory that contains the conf
 * dir), else "plugins" (relative to the working directory).  Malloc'd.
 */
char *jh__hstate_plugins_dir(const char *conf_dir, const jh__conf *conf, const char *opt);
/* The state directory (the outbox lives in STATE/outbox): `opt`
 * (--state-dir), else [host] state_dir, else "state", the last two taken
 * from the directory that holds the conf dir (conf.d -> ./state,
 * /etc/jobhost/conf.d -> /etc/jobhost/state). */
char *jh__hstate_state_dir(const char *conf_dir, const jh__conf *conf, const char *opt);

/*
 * Build a state from `conf` (ownership passes to *out on success, and is
 * freed on failure).  `old` (may be NULL) offers plugin copies to reuse:
 * same file identity and an equal [plugin] section.  New copies are
 * initialised with `env` and logged as plugin.load.  Every job gets
 * `owner` (the host) for the scheduler callbacks.
 */
int jh__hstate_build(jh__conf *conf, const char *plugins_dir, const jh__hstate *old,
                   const jh__host_env *env, void *owner, jh__hstate *out, jh_err *e);

/* Apply `next` to the scheduler against `cur` (NULL on first start).
 * Jobs of `next` that equal a running one are replaced by it in `next`;
 * the former udata of updated jobs go to *retired. */
int jh__hstate_commit(jh__sched *s, const jh__hstate *cur, jh__hstate *next,
                     jh__retired **retired, jh__diff_counts *counts);

/* Drop the state's references (jobs, plugins) and free its config. */
void jh__hstate_release(jh__hstate *st);

void jh__hjob_ref(jh__hjob *j);
void jh__hjob_unref(jh__hjob *j);

/* "every 5s" / "cron 0 * * * * * (Europe/Paris)" into buf. */
void jh__hjob_describe(const jh__hjob *j, char *buf, size_t len);

/* Next planned fire from `now_ns` (jitter ignored), or INT64_MAX. */
int64_t jh__hjob_next(const jh__hjob *j, int64_t now_ns);

#endif
