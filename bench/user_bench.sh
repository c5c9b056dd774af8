#!/bin/sh
# user_bench.sh BUILDDIR [RUNS] [always|interval] - the user plugin's
# sync_user over 10,000 pending users, against a private mariadbd and the
# librdkafka mock cluster: the timed phase of t/service/user_e2e.t, RUNS times.
#
# Prints one line per run: wall time and users/s, the time spent in the
# event sends (one send_batch per page of 1,000, so one outbox append: one
# fsync per page with `always`, the host's default, or every 5 ms with
# `interval`), and the rest (21 SQL round trips and the logic) with its
# queries/s.  Use a build configured without
# --enable-sanitizers for figures.
set -eu
b=$(cd "${1:?BUILDDIR}" && pwd); runs=${2:-5}; mode=${3:-interval}
src=$(cd "$(dirname "$0")/.." && pwd)
make -s -C "$b" plugins/user.so t/service/user_e2e.t >/dev/null
top_srcdir=$src top_builddir=$b JH_USER_BENCH_RUNS=$runs JH_USER_OUTBOX_SYNC=$mode \
    sh "$src/t/service/user_e2e.sh" > "$b/user_bench.out" 2>&1 || {
    grep -v '^ok' "$b/user_bench.out" >&2; exit 1; }
grep '^# bench:' "$b/user_bench.out" | sed 's/^# bench: //'
