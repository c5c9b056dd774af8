/*
 * host.h - the embeddable job host: configuration + plugins + scheduler.
 *
 * jobhostd's main() is a thin wrapper around this; another program can put
 * the host on its own libuv loop.  All functions are called on the loop
 * thread.
 */
#ifndef JH_HOST_H
#define JH_HOST_H

#include <stdio.h>
#include <uv.h>

#include "err.h"
#include "store.h"

typedef struct jh_host jh_host;

typedef struct jh_host_opts {
    const char *conf_dir;     /* default "conf.d" */
    const char *plugins_dir;  /* overrides [host] plugins_dir; default "plugins" */
    uv_loop_t *loop;          /* required */
    int log_fd;               /* default 2 (stderr) when 0 is not wanted: use -1 for 2 */
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
/* Stop: logs host.stop when done and calls cb. */
void jh_host_stop(jh_host *h, void (*cb)(jh_host *h, void *arg), void *arg);
void jh_host_free(jh_host *h);

/* --check: validate configuration, load and init every plugin, print the
 * schedule to `out`, fini and unload.  Returns 0 or a negative code. */
int jh_host_check(const jh_host_opts *opts, FILE *out, jh_err *e);

#endif
