/*
 * duration.h - Go-style durations: "250ms", "5s", "1h30m", "1.5s", "2d".
 *
 * Units: ns, us (or µs), ms, s, m, h, d.  A number without a unit is an
 * error (is "5" seconds or minutes?), except a bare "0".  The result must be
 * positive unless allow_zero is set, and at most 100 years.
 */
#ifndef JH_DURATION_H
#define JH_DURATION_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

int jh__duration_parse(const char *s, int allow_zero, int64_t *out_ns, jh_err *e);

/* Shortest exact form, e.g. 5400000000000 -> "1h30m", 250000000 -> "250ms". */
void jh__duration_format(int64_t ns, char *buf, size_t len);

#endif
