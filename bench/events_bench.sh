#!/bin/sh
# events_bench.sh BUILDDIR [N_PER_THREAD [N_ALWAYS_PER_THREAD [STATE_PARENT]]]
#   events/s through send_with_key -> outbox -> mock Kafka cluster with 4
#   sender threads (outbox_sync = interval, then always; then send_batch of
#   100 in always and interval mode, N_PER_THREAD each), beside librdkafka
#   producing directly to the same mock cluster in the same run.  Use a
#   build configured without --enable-sanitizers for figures; STATE_PARENT
#   (default /var/tmp) should be on a real disk for the always-mode fsyncs.
set -eu
b=$(cd "${1:?BUILDDIR}" && pwd)
make -s -C "$b" bench/events_bench t/plugins/events_p.so >/dev/null
exec "$b/bench/events_bench" "$b/t/plugins/events_p.so" "${2:-25000}" "${3:-2500}" "${4:-/var/tmp}"
