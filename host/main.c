/*
 * main.c - jobhostd: the host on libuv's default loop, driven by signals.
 *
 *   SIGHUP          reload (coalesced; see jh_host_request_reload)
 *   SIGTERM/SIGINT  stop: no new fires, cancel running contexts, wait up to
 *                   [host] shutdown_timeout, fini every plugin, exit 0.
 *                   A second SIGTERM/SIGINT while stopping exits at once
 *                   with status 128 + signal (143 / 130), the shell's
 *                   convention for "killed by", without waiting or fini.
 *
 * Exit status: 0 after a clean stop or a good --check; 1 for a start-up or
 * --check error (the message, with file:line for configuration, goes to
 * stderr) and for output that could not be written to stdout (--check,
 * --outbox-dump, --version, --cron-next, --help: a full disk or a closed
 * pipe must not pass for success); 2 for a usage error.
 *
 * Before anything else main() blocks SIGHUP, SIGTERM and SIGINT (a SIGHUP
 * sent while the configuration loads must not kill the daemon with the
 * default action) and opens /dev/null on any of fds 0-2 that is closed (a
 * supervisor may start us with them closed: the log would otherwise go
 * into whatever file libuv opened next, and libuv asserts fd > 2).  The
 * signals are unblocked once libuv's handles for them are started, or at
 * once in the other modes.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "runtime/fatal.h"
#include "time/cron.h"
#include "host.h"
#include "jobhost.h"
#include "time/tz.h"

struct daemon {
    uv_loop_t *loop;
    jh_host *host;
    uv_signal_t hup, term, intr;
    int stopping;
    int left;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: jobhostd [-c|--conf-dir DIR] [-p|--plugins-dir DIR] [-s|--state-dir DIR]\n"
            "                [--check | --outbox-dump]\n"
            "       jobhostd --cron-next 'EXPR' [--tz ZONE] [--from TIME] [-n N]\n"
            "       jobhostd --version | -h|--help\n"
            "\n"
            "  -c, --conf-dir DIR     configuration directory (*.ini), default conf.d\n"
            "  -p, --plugins-dir DIR  plugins directory (*.so); overrides [host]\n"
            "                         plugins_dir, default plugins beside the conf dir\n"
            "  -s, --state-dir DIR    state directory (the event outbox); overrides\n"
            "                         [host] state_dir, default state beside the conf dir\n"
            "      --check            validate the configuration, load and init every\n"
            "                         plugin, print the schedule, exit 0 or 1\n"
            "      --outbox-dump      print the events kept in the outbox, exit\n"
            "      --cron-next EXPR   print the next fire times of a cron expression\n"
            "      --version          print the version and plugin ABI\n"
            "\n"
            "Signals: SIGHUP reloads; SIGTERM/SIGINT stop (a second one exits at once).\n");
}

static void on_stopped(jh_host *h, int left, void *arg)
{
    struct daemon *d = arg;

    (void)h;
    d->left = left;
    /* The scheduler's handles stay open until jh_host_free(): leave the
     * loop explicitly. */
    uv_stop(d->loop);
    uv_close((uv_handle_t *)&d->hup, NULL);
    uv_close((uv_handle_t *)&d->term, NULL);
    uv_close((uv_handle_t *)&d->intr, NULL);
}

static void on_hup(uv_signal_t *s, int signum)
{
    struct daemon *d = s->data;

    (void)signum;
    if (!d->stopping)
        jh_host_request_reload(d->host);
}

static void on_stop_signal(uv_signal_t *s, int signum)
{
    struct daemon *d = s->data;

    if (d->stopping) {
        static const char msg[] = "jobhostd: second signal, exiting now\n";
        ssize_t w = write(2, msg, sizeof(msg) - 1);
        (void)w;
        _exit(128 + signum);
    }
    d->stopping = 1;
    jh_host_stop(d->host, on_stopped, d);
}

static int signal_on(struct daemon *d, uv_signal_t *s, uv_signal_cb cb, int signum)
{
    int rc = uv_signal_init(d->loop, s);

    s->data = d;
    return rc < 0 ? rc : uv_signal_start(s, cb, signum);
}

/* The signal mask main() found, restored once handlers are in place. */
static sigset_t saved_mask;

static void block_signals(void)
{
    sigset_t s;

    sigemptyset(&s);
    sigaddset(&s, SIGHUP);
    sigaddset(&s, SIGTERM);
    sigaddset(&s, SIGINT);
    sigprocmask(SIG_BLOCK, &s, &saved_mask);
}

static void unblock_signals(void)
{
    sigprocmask(SIG_SETMASK, &saved_mask, NULL);
}

/* /dev/null on each of fds 0-2 that is closed.  -1 if one cannot be opened. */
static int reserve_std_fds(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
            continue;
        /* The lower ones are open, so open() returns fd itself. */
        int got = open("/dev/null", O_RDWR);
        if (got != fd) {
            if (got >= 0)
                close(got);
            return -1;
        }
    }
    return 0;
}

/* The status to exit with once everything for stdout is written: `status`,
 * or 1 (with a message on stderr) if stdout could not be written. */
static int stdout_done(int status)
{
    int rc = fflush(stdout), err = errno;

    if (rc == 0 && !ferror(stdout))
        return status;
    fprintf(stderr, "jobhostd: cannot write to stdout: %s\n",
            rc != 0 ? strerror(err) : "write error");
    return 1;
}

static int run_daemon(const jh_host_opts *opts)
{
    struct daemon d = {.loop = opts->loop};
    jh_err e = {0};
    int rc;

    if (jh_host_new(opts, &d.host, &e) < 0) {
        fprintf(stderr, "jobhostd: %s\n", e.msg);
        return 1;
    }
    if ((rc = signal_on(&d, &d.hup, on_hup, SIGHUP)) < 0 ||
        (rc = signal_on(&d, &d.term, on_stop_signal, SIGTERM)) < 0 ||
        (rc = signal_on(&d, &d.intr, on_stop_signal, SIGINT)) < 0 ||
        (rc = jh_host_start(d.host)) < 0) {
        fprintf(stderr, "jobhostd: cannot start: %s\n", uv_strerror(rc));
        return 1;
    }
    /* A signal that came while loading waits for the loop's handlers. */
    unblock_signals();
    uv_run(d.loop, UV_RUN_DEFAULT);
    if (d.left > 0) {
        /* Runs outlived shutdown_timeout and still use plugin code and the
         * host's logger: leave without freeing anything under them. */
        fprintf(stderr, "jobhostd: %d run(s) abandoned at shutdown_timeout\n", d.left);
        _exit(0);
    }
    jh_host_free(d.host);
    uv_run(d.loop, UV_RUN_DEFAULT);
    return 0;
}

enum mode { MODE_RUN, MODE_CHECK, MODE_DUMP, MODE_VERSION, MODE_HELP };

/* argv into opts and *mode.  0, or -EINVAL for a usage error (reported). */
static int parse_args(int argc, char **argv, jh_host_opts *opts, enum mode *mode)
{
    static const struct option longopts[] = {
        {"conf-dir", required_argument, NULL, 'c'},
        {"plugins-dir", required_argument, NULL, 'p'},
        {"state-dir", required_argument, NULL, 's'},
        {"check", no_argument, NULL, 'k'},
        {"outbox-dump", no_argument, NULL, 'O'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int check = 0, dump = 0, c;

    while ((c = getopt_long(argc, argv, "c:p:s:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': opts->conf_dir = optarg; break;
        case 'p': opts->plugins_dir = optarg; break;
        case 's': opts->state_dir = optarg; break;
        case 'k': check = 1; break;
        case 'O': dump = 1; break;
        case 'V': *mode = MODE_VERSION; return 0;
        case 'h': *mode = MODE_HELP; return 0;
        default: usage(stderr); return -EINVAL;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "jobhostd: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return -EINVAL;
    }
    if (check && dump) {
        fprintf(stderr, "jobhostd: --check and --outbox-dump exclude each other\n");
        return -EINVAL;
    }
    *mode = check ? MODE_CHECK : dump ? MODE_DUMP : MODE_RUN;
    return 0;
}

/* --check or --outbox-dump: the report on stdout, an error on stderr. */
static int run_report(const jh_host_opts *opts, enum mode mode)
{
    jh_err e = {0};
    int rc = mode == MODE_CHECK ? jh_host_check(opts, stdout, &e)
                                : jh_host_outbox_dump(opts, stdout, &e);

    if (rc < 0) {
        fprintf(stderr, "jobhostd: %s\n", e.msg);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    jh_host_opts opts = {.conf_dir = "conf.d", .log_fd = 2};
    enum mode mode;
    int status;

    block_signals();
    if (reserve_std_fds() < 0)
        return 1; /* nowhere to say why: stderr is what could not be opened */
    /* --cron-next takes the rest of the line (it has options of its own). */
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--cron-next") == 0) {
            unblock_signals();
            return stdout_done(jh__cron_cli(argc - i - 1, argv + i + 1));
        }
    if (parse_args(argc, argv, &opts, &mode) < 0)
        return 2;
    if (mode != MODE_RUN)
        unblock_signals();
    if (mode == MODE_VERSION) {
        printf("jobhostd %s (plugin ABI %d.%d)\n", PACKAGE_VERSION, JH_ABI_MAJOR, JH_ABI_MINOR);
        return stdout_done(0);
    }
    if (mode == MODE_HELP) {
        usage(stdout);
        return stdout_done(0);
    }
    signal(SIGPIPE, SIG_IGN);
    jh__fatal_install(); /* a crash in plugin code names it: runtime/fatal.h */
    if (mode == MODE_RUN) {
        opts.loop = uv_default_loop();
        status = run_daemon(&opts);
        uv_loop_close(opts.loop);
    } else {
        status = stdout_done(run_report(&opts, mode));
    }
    jh__tz_cache_free();
    return status;
}
