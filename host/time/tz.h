/*
 * tz.h - IANA time zones read from the system tzdata (TZif files).
 *
 * Zones are loaded once, kept in a process-wide cache and never freed
 * before jh__tz_cache_free(), so a `const jh__tz *` stays valid for the life
 * of the process and can be shared between threads without locks.  No
 * function here reads or sets TZ or calls tzset()/localtime(): those are
 * neither thread-safe nor fast.  Instants past the last transition in the
 * file follow the POSIX TZ footer of TZif v2+ files, so far-future dates
 * (to 2099 and beyond) are exact.
 */
#ifndef JH_TZ_H
#define JH_TZ_H

#include <stdint.h>

#include "civil.h"
#include "base/err.h"

typedef struct jh__tz jh__tz;

/*
 * Find a zone by IANA name ("America/New_York", "UTC").  NULL or "" means
 * the host's zone: $TZ if set to a zone name, else /etc/localtime, else UTC.
 * Searches $TZDIR if set, else /usr/share/zoneinfo.  Thread-safe.
 * Errors: -ENOENT "timezone \"Mars/Base\": not found in /usr/share/zoneinfo",
 *         -EINVAL for a file that is not valid TZif (names the file and why).
 */
int jh__tz_get(const char *name, const jh__tz **out, jh_err *e);

const char *jh__tz_name(const jh__tz *tz);

/* UTC offset in seconds east of Greenwich in force at utc_sec. */
int jh__tz_offset(const jh__tz *tz, int64_t utc_sec);

/* utc_sec -> local civil time; *gmtoff (may be NULL) gets the offset. */
void jh__tz_to_local(const jh__tz *tz, int64_t utc_sec, jh__civil *out, int *gmtoff);

/*
 * Local wall time -> UTC.  `local_sec` is the wall time encoded as if it
 * were UTC (jh__civil_to_secs of the local fields).  Returns how many
 * instants show that wall time: 1 (normal; out[0]), 2 (fall-back overlap;
 * out[0] < out[1]) or 0 (spring-forward gap; out[0] is set to the first
 * instant after the gap, i.e. the transition instant).
 */
int jh__tz_from_local(const jh__tz *tz, int64_t local_sec, int64_t out[2]);

/*
 * The first transition (offset change) strictly after utc_sec, or
 * INT64_MAX if none; *before and *after (may be NULL) get the offsets.
 */
int64_t jh__tz_next_transition(const jh__tz *tz, int64_t utc_sec, int *before, int *after);

/*
 * The constant-offset period containing utc_sec: [*start, *end) with
 * offset *off; *off_prev is the offset before *start and *off_next the one
 * from *end on.  *start is INT64_MIN and *end INT64_MAX at the ends of
 * time.  One binary search; the cron engine walks these periods.
 */
void jh__tz_segment(const jh__tz *tz, int64_t utc_sec, int64_t *start, int64_t *end, int *off,
                   int *off_prev, int *off_next);

/* Free every cached zone; only for leak checkers at process exit. */
void jh__tz_cache_free(void);

#endif
