/*
 * fatal.c - the crash line: see fatal.h.
 *
 * Everything the signal handler calls is async-signal-safe: clock_gettime,
 * write, sigaction's raise, and the small formatter below (no stdio, no
 * malloc, no locks, no locale).  What it reads: a thread-local of plain
 * pointers and an integer, set before plugin code runs on the thread and
 * cleared after (a signal fence orders them against the handler), and an
 * atomic pointer to the logger for its fd and format.
 */
#include "fatal.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ALT_SIZE (64 * 1024)

struct current {
    const char *job, *plugin, *handler;
    uint64_t run_id;
    int active;
};

static _Thread_local struct current cur;

static _Thread_local int alt_done;
static _Atomic(const jh__logger *) fatal_log;
static atomic_int installed;
static pthread_key_t alt_key;
static pthread_once_t alt_once = PTHREAD_ONCE_INIT;

/* ---- the formatter --------------------------------------------------- */

typedef struct out {
    char *b;
    size_t n, cap;
} out;

static void put(out *o, const char *s)
{
    for (; *s != '\0' && o->n < o->cap; s++)
        o->b[o->n++] = *s;
}

static void put_num(out *o, uint64_t v, unsigned base, int width)
{
    char d[24];
    int i = 0;

    do {
        d[i++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v != 0 && i < 24);
    while (i < width && i < 24)
        d[i++] = '0';
    while (i > 0 && o->n < o->cap)
        o->b[o->n++] = d[--i];
}

/* A string value: quoted (and " \ escaped, control bytes as ?) in JSON
 * or when logfmt needs it. */
static void put_val(out *o, const char *s, int json)
{
    int q = json || *s == '\0' || strpbrk(s, " =\"\\") != NULL;

    if (q)
        put(o, "\"");
    for (; *s != '\0' && o->n + 2 < o->cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (q && (c == '"' || c == '\\'))
            o->b[o->n++] = '\\';
        o->b[o->n++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    if (q)
        put(o, "\"");
}

static void key(out *o, const char *k, int json)
{
    put(o, json ? ",\"" : " ");
    put(o, k);
    put(o, json ? "\":" : "=");
}

static void field_s(out *o, const char *k, const char *v, int json)
{
    key(o, k, json);
    put_val(o, v != NULL ? v : "-", json);
}

/* Unix ns -> 2026-11-22T12:00:00.000123Z (days to civil: H. Hinnant). */
static void put_ts(out *o)
{
    struct timespec ts;
    int64_t s, z, era, doe, yoe, doy, mp, d, m, y;

    clock_gettime(CLOCK_REALTIME, &ts);
    s = ts.tv_sec;
    z = s / 86400 + 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = yoe + era * 400 + (m <= 2);
    put_num(o, (uint64_t)y, 10, 4), put(o, "-"), put_num(o, (uint64_t)m, 10, 2), put(o, "-");
    put_num(o, (uint64_t)d, 10, 2), put(o, "T"), put_num(o, (uint64_t)(s % 86400 / 3600), 10, 2);
    put(o, ":"), put_num(o, (uint64_t)(s % 3600 / 60), 10, 2), put(o, ":");
    put_num(o, (uint64_t)(s % 60), 10, 2), put(o, ".");
    put_num(o, (uint64_t)ts.tv_nsec / 1000, 10, 6), put(o, "Z");
}

static const char *sig_name(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGABRT: return "SIGABRT";
    default: return "?";
    }
}

/* The cause, then who: the fields of the thread's plugin code, if any. */
static void put_cause(out *o, int sig, const void *addr, int json)
{
    if (sig == 0) {
        field_s(o, "cause", "exit", json);
    } else {
        field_s(o, "signal", sig_name(sig), json);
        if (sig != SIGABRT) {
            key(o, "addr", json);
            put(o, json ? "\"0x" : "0x");
            put_num(o, (uint64_t)(uintptr_t)addr, 16, 1);
            put(o, json ? "\"" : "");
        }
    }
    if (!cur.active) {
        field_s(o, "where", "host", json);
        return;
    }
    field_s(o, "job", cur.job, json);
    field_s(o, "plugin", cur.plugin, json);
    field_s(o, "handler", cur.handler, json);
    key(o, "run_id", json);
    put_num(o, cur.run_id, 10, 1);
}

size_t jh__fatal_format(char *buf, size_t cap, int sig, const void *addr, int json)
{
    out o = {buf, 0, cap > 2 ? cap - 2 : 0};

    put(&o, json ? "{\"ts\":\"" : "ts=");
    put_ts(&o);
    put(&o, json ? "\",\"level\":\"error\",\"event\":\"host.crash\""
                 : " level=error event=host.crash");
    put_cause(&o, sig, addr, json);
    field_s(&o, "msg",
            sig == 0     ? "plugin called exit(): the host exits (plugins share its process)"
            : cur.active ? "fatal signal in plugin code: the host exits (plugins share its process)"
                         : "fatal signal in the host",
            json);
    if (json)
        o.b[o.n++] = '}';
    o.b[o.n++] = '\n';
    return o.n;
}

/* ---- the handlers ---------------------------------------------------- */

static void write_line(int sig, const void *addr)
{
    const jh__logger *log = atomic_load(&fatal_log);
    char buf[1024];
    size_t n = jh__fatal_format(buf, sizeof(buf), sig, addr, log != NULL && jh__log_json(log));
    int fd = log != NULL ? jh__log_fd(log) : 2;

    for (size_t done = 0; done < n;) {
        ssize_t w = write(fd, buf + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
}

static void on_fatal(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    write_line(sig, si != NULL ? si->si_addr : NULL);
    /* SA_RESETHAND made the action the default again and SA_NODEFER lets
     * it through now: the process ends with 128 + sig (a fault returning
     * would also fault again, under the default action). */
    raise(sig);
}

static void on_exit_call(void)
{
    if (cur.active)
        write_line(0, NULL);
}

/* ---- alternate signal stacks ----------------------------------------- */

static void alt_free(void *p)
{
    stack_t ss, old;

    memset(&ss, 0, sizeof(ss));
    ss.ss_flags = SS_DISABLE;
    if (sigaltstack(NULL, &old) == 0 && old.ss_sp == p)
        sigaltstack(&ss, NULL);
    free(p);
}

static void alt_key_make(void)
{
    pthread_key_create(&alt_key, alt_free);
}

/* Give this thread an alternate stack unless it has one (a sanitizer's). */
static void alt_ensure(void *mem)
{
    stack_t ss, old;

    alt_done = 1;
    if (sigaltstack(NULL, &old) < 0 || !(old.ss_flags & SS_DISABLE))
        return;
    if (mem == NULL) {
        pthread_once(&alt_once, alt_key_make);
        if ((mem = malloc(ALT_SIZE)) == NULL)
            return;
        pthread_setspecific(alt_key, mem); /* freed at the thread's exit */
    }
    memset(&ss, 0, sizeof(ss));
    ss.ss_sp = mem;
    ss.ss_size = ALT_SIZE;
    sigaltstack(&ss, NULL);
}

void jh__fatal_install(void)
{
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    static char main_alt[ALT_SIZE];
    struct sigaction sa;

    if (atomic_exchange(&installed, 1))
        return;
    alt_ensure(main_alt);
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_fatal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);
    atexit(on_exit_call);
}

void jh__fatal_set_log(const jh__logger *log)
{
    atomic_store(&fatal_log, log);
}

void jh__fatal_enter(const char *job, const char *plugin, const char *handler, uint64_t run_id)
{
    if (!alt_done && atomic_load_explicit(&installed, memory_order_relaxed))
        alt_ensure(NULL);
    cur.job = job;
    cur.plugin = plugin;
    cur.handler = handler;
    cur.run_id = run_id;
    atomic_signal_fence(memory_order_seq_cst);
    cur.active = 1;
    atomic_signal_fence(memory_order_seq_cst);
}

void jh__fatal_note(const char *handler)
{
    cur.handler = handler;
    atomic_signal_fence(memory_order_seq_cst);
}

void jh__fatal_leave(void)
{
    cur.active = 0;
    atomic_signal_fence(memory_order_seq_cst);
}
