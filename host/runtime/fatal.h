/*
 * fatal.h - a last log line when plugin code takes the process down.
 *
 * Plugins run in the host's process: a handler or an init that
 * dereferences NULL, aborts or calls exit() ends jobhostd.  Until runs are
 * isolated, jh__fatal_install() makes the end say who did it: a handler
 * for SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT (on an alternate stack,
 * so a stack overflow is reported too) writes ONE line with only
 * async-signal-safe calls (no stdio, no malloc, no locks):
 *
 *   ts=... level=error event=host.crash signal=SIGSEGV addr=0x0 job=j plugin=p handler=h run_id=7 msg="..."
 *
 * then restores the default action and re-raises, so the exit status
 * stays 128 + the signal (139, 134, ...) and a core dump still happens.
 * An atexit() handler writes the same line with cause=exit when exit() is
 * called while plugin code runs on that thread (the status is the
 * plugin's).  _exit() and SIGKILL cannot be caught.
 *
 * "Who": each thread keeps, in a thread-local, what plugin code it is
 * running: jh__ctx_init() (runtime/ctx.c) sets it for every context (a
 * run, or a plugin's init or fini: jh__fatal_note() names those) and
 * jh__ctx_finish() clears it.  A crash outside plugin code has no job
 * fields (where=host).
 */
#ifndef JH_FATAL_H
#define JH_FATAL_H

#include <stdint.h>

#include "log.h"

/* Process-wide, once (jobhostd's main). */
void jh__fatal_install(void);

/* Where the line goes: the logger's fd and format (NULL: fd 2, logfmt).
 * The logger must outlive the setting; set NULL before freeing it. */
void jh__fatal_set_log(const jh__logger *log);

/* This thread now runs plugin code (strings must live until _leave). */
void jh__fatal_enter(const char *job, const char *plugin, const char *handler, uint64_t run_id);
/* Name the phase when there is no handler: "init", "fini". */
void jh__fatal_note(const char *handler);
void jh__fatal_leave(void);

/* Tests: format the line for signal `sig` (0: exit) into buf; its length. */
size_t jh__fatal_format(char *buf, size_t cap, int sig, const void *addr, int json);

#endif
