/*
 * cron.h - cron expressions: parse once, then compute next fire times.
 *
 * A pure module: no I/O after parse (the zone is resolved by the caller),
 * no globals; a parsed jh__cron is immutable and may be shared by threads.
 *
 * Syntax (see README "Schedule syntax"): 6 fields `sec min hour dom month
 * dow` or classic 5 fields (sec = 0); `*`, `?`, lists, ranges, steps, names,
 * L, L-n, nW, LW, nL, n#k; macros @yearly @annually @monthly @weekly @daily
 * @midnight @hourly and `@every DURATION`.
 */
#ifndef JH_CRON_H
#define JH_CRON_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "tz.h"

typedef struct jh__cron jh__cron;

/* The shortest interval a schedule may have: `every =`, `@every` and a
 * handler's default every.  Anything shorter would only spin the loop
 * (every = 1ns ran 10,000 times a second and logged twice as many skips). */
#define JH__EVERY_MIN_NS 1000000

/*
 * Parse `expr`, evaluated in zone `tz` (NULL = UTC).  On error returns
 * -EINVAL and a message that names the field and column and what was
 * expected, e.g.
 *   cron: field 3 (hour) "25": value out of range 0-23 at column 7
 * An expression that can never fire (0 0 0 30 2 *) is rejected with why.
 */
int jh__cron_parse(const char *expr, const jh__tz *tz, jh__cron **out, jh_err *e);
void jh__cron_free(jh__cron *c);

/*
 * Next fire time strictly after `after_ns` (UTC ns since the epoch), in
 * *next_ns.  Returns 0, or -ERANGE when there is none before year 10000.
 * Bounded: never loops more than a fixed number of field jumps.
 * For `@every D` this is after_ns + D.
 */
int jh__cron_next(const jh__cron *c, int64_t after_ns, int64_t *next_ns);

/* For `@every D`: returns 1 and sets *every_ns; otherwise returns 0. */
int jh__cron_every(const jh__cron *c, int64_t *every_ns);

/* The expression as given, and whether two parsed expressions are the same
 * schedule (same text and zone): a reload keeps a job's phase only then. */
const char *jh__cron_text(const jh__cron *c);
int jh__cron_equal(const jh__cron *a, const jh__cron *b);

/* The zone the expression is evaluated in. */
const jh__tz *jh__cron_tz(const jh__cron *c);

/*
 * Format an instant as ISO 8601 with milliseconds and the zone's offset:
 * "2026-03-08T03:00:00.000-04:00" (UTC prints "+00:00").
 */
void jh__cron_format_time(const jh__tz *tz, int64_t ns, char *buf, size_t len);

/*
 * `jobhostd --cron-next 'EXPR' [--tz ZONE] [--from TIME] [-n N]`: argv
 * starts at the expression.  Prints to stdout; returns the process exit
 * status (0, or 2 for a bad expression/argument, with the error on stderr).
 */
int jh__cron_cli(int argc, char **argv);

#endif
