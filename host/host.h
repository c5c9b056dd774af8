/*
 * host.h - the embeddable job host: configuration + plugins + scheduler.
 *
 * jobhostd's main() is a thin wrapper around this; another program can put
 * the host on its own libuv loop.  All functions are called on the loop
 * thread.
 *
 * Plugins directory: opts.plugins_dir (jobhostd -p) if set; else [host]
 * plugins_dir; else "plugins".  A relative path from the ini or the default
 * is taken from the directory holding the conf dir (conf_dir "conf.d" ->
 * "plugins"; "/etc/jobhost/conf.d" -> "/etc/jobhost/plugins"), so it means
 * the same whatever the working directory.  *.so files
 * (not hidden ones, so "plugins/.x.so.new" mid-deploy is ignored) load in
 * name order.
 *
 * Jobs: each [job] names a loaded plugin and handler; one that sets no
 * schedule takes the handler's default.  Each handler with a default
 * schedule that no [job] names runs as the implicit job "PLUGIN.HANDLER".
 * Errors carry file:line (config) or the plugin's file.
 *
 * Events logged: plugin.load, plugin.unload, host.ready, run.start (debug),
 * run.finish, run.skip, reload.ok, reload.failed, host.stop.
 */
#ifndef JH_HOST_H
#define JH_HOST_H

#include <stdio.h>
#include <uv.h>

#include "base/err.h"
#include "runtime/store.h"

typedef struct jh_host jh_host;

typedef struct jh_host_opts {
    const char *conf_dir;     /* default "conf.d" */
    const char *plugins_dir;  /* overrides [host] plugins_dir; default "plugins" beside conf_dir */
    const char *state_dir;    /* overrides [host] state_dir; default "state" */
    uv_loop_t *loop;          /* required */
    int log_fd;               /* where events go; <= 0 means 2 (stderr) */
    jh_now_fn now;            /* NULL = CLOCK_REALTIME */
    void *now_arg;
} jh_host_opts;

/* Load configuration and plugins, build the schedule.  Nothing fires yet. */
int jh_host_new(const jh_host_opts *opts, jh_host **out, jh_err *e);
/* Start firing; logs host.ready. */
int jh_host_start(jh_host *h);
/* Rescan conf.d/ and the plugins directory; all or nothing (reload.ok /
 * reload.failed logged either way). */
int jh_host_reload(jh_host *h, jh_err *e);
/*
 * Ask for a reload from a signal handler's callback (loop thread).  Any
 * number of requests before the reload starts coalesce into one; a request
 * made while a reload runs causes exactly one more afterwards.  Ignored once
 * stopping.
 */
void jh_host_request_reload(jh_host *h);
/* Number of reloads attempted so far (ok + failed), for tests. */
unsigned long jh_host_reloads(const jh_host *h);

/*
 * Stop: no new fires, cancel running contexts, wait up to [host]
 * shutdown_timeout, drop every job and plugin (fini runs for each plugin
 * nothing of which still runs), log host.stop, then call cb with the
 * number of runs abandoned at the timeout (0 = clean).
 */
void jh_host_stop(jh_host *h, void (*cb)(jh_host *h, int left, void *arg), void *arg);
/* After stop's callback (or instead of start): free everything.  Handles
 * close asynchronously: run the loop once more after this.  If stop
 * reported runs abandoned (left > 0), they still use plugin code and the
 * host: exit the process instead (jobhostd does). */
void jh_host_free(jh_host *h);

/* --check: validate configuration, load and init every plugin, print the
 * schedule to `out`, fini and unload.  Returns 0 or a negative code. */
int jh_host_check(const jh_host_opts *opts, FILE *out, jh_err *e);

/* --outbox-dump: print the events kept in the outbox of the state dir
 * the options and configuration name.  Read only. */
int jh_host_outbox_dump(const jh_host_opts *opts, FILE *out, jh_err *e);

#endif
