#!/bin/sh
# host_bench.sh BUILDDIR MODE [ARGS] - jobhostd end to end, figures from its log.
#   throughput [SECONDS]  1,000 no-op jobs every 1 ms, 2 workers, log to a file
#                         on /dev/shm; runs/s = run.finish lines / seconds
#   lateness [SECONDS]    10,000 jobs every 1 s, jitter 1 s (spread over the
#                         second); started - scheduled from the log: p50/p99/max
#   memory [N]            N (100,000) jobs every 1 h: RSS per schedule, time
#                         to host.ready, time for a reload that changes one job
#   reload [N]            N (100,000) jobs every 1 h; SIGHUP after changing one
#                         job's schedule in place: ms from SIGHUP to reload.ok
#   idle [SECONDS]        one job an hour away: syscalls over SECONDS (strace -c)
set -eu
b=$(cd "${1:?BUILDDIR}" && pwd); mode=${2:-throughput}; arg=${3:-}
make -s -C "$b" bench/noop.so jobhostd >/dev/null
w=$(mktemp -d /dev/shm/jh-bench.XXXXXX); trap 'rm -rf "$w"' EXIT
mkdir -p "$w/conf.d" "$w/plugins"; cp "$b/bench/noop.so" "$w/plugins/"
jobs() { # N EVERY [extra key]
    awk -v n="$1" -v e="$2" -v x="${3:-}" 'BEGIN { print "[host]\nworkers = 2\n";
        for (i = 0; i < n; i++) printf "[job j%d]\nplugin = noop\nhandler = noop\nevery = %s\n%s\n", i, e, x }'
}
run() { # seconds
    "$b/jobhostd" -c "$w/conf.d" -p "$w/plugins" 2>"$w/log" & pid=$!
    sleep "$1"; kill -TERM $pid; wait $pid || true
}
case "$mode" in
throughput)
    s=${arg:-5}
    jobs 1000 1ms "concurrency = allow
max_running = 1000" > "$w/conf.d/jobs.ini"
    run "$s"
    awk -v s="$s" '/event=run.finish/ { n++ } END { printf "throughput runs=%d seconds=%s runs_per_sec=%.0f\n", n, s, n / s }' "$w/log" ;;
lateness)
    s=${arg:-30}
    jobs 10000 1s "jitter = 1s" > "$w/conf.d/jobs.ini"
    run "$s"
    grep 'event=run.finish' "$w/log" | sed 's/.* scheduled=\([0-9.]*\) started=\([0-9.]*\).*/\1 \2/' |
        awk '{ printf "%.1f\n", ($2 - $1) * 1e6 }' | sort -n > "$w/lat"
    awk '{ a[NR] = $1 } END { printf "lateness runs=%d p50_us=%s p99_us=%s max_us=%s\n", NR, a[int(NR * 0.5)], a[int(NR * 0.99)], a[NR] }' "$w/lat" ;;
memory)
    n=${arg:-100000}
    : > "$w/conf.d/jobs.ini"
    "$b/jobhostd" -c "$w/conf.d" -p "$w/plugins" 2>"$w/log0" & pid=$!; sleep 1
    base=$(awk '/VmRSS/ { print $2 }' /proc/$pid/status); kill -TERM $pid; wait $pid || true
    jobs "$n" 1h > "$w/conf.d/jobs.ini"
    t0=$(date +%s.%N)
    "$b/jobhostd" -c "$w/conf.d" -p "$w/plugins" 2>"$w/log" & pid=$!
    while ! grep -q host.ready "$w/log"; do sleep 0.01; done
    t1=$(date +%s.%N)
    rss=$(awk '/VmRSS/ { print $2 }' /proc/$pid/status)

    printf '[job extra]\nplugin = noop\nhandler = noop\nevery = 1h\n' > "$w/conf.d/zz.ini"
    r0=$(date +%s.%N); kill -HUP $pid
    while ! grep -q 'reload.ok\|reload.failed' "$w/log"; do sleep 0.005; done
    r1=$(date +%s.%N)
    kill -TERM $pid; wait $pid || true
    awk -v n="$n" -v a="$base" -v r="$rss" -v t0="$t0" -v t1="$t1" -v r0="$r0" -v r1="$r1" 'BEGIN {
        printf "memory jobs=%d rss_kb=%d base_kb=%d bytes_per_schedule=%.0f startup_ms=%.0f reload_one_ms=%.0f\n",
            n, r, a, (r - a) * 1024 / n, (t1 - t0) * 1000, (r1 - r0) * 1000 }'
    grep -o 'event=reload[.a-z]* .*' "$w/log" | head -1 ;;
reload)
    n=${arg:-100000}
    jobs "$n" 1h > "$w/conf.d/jobs.ini"
    "$b/jobhostd" -c "$w/conf.d" -p "$w/plugins" 2>"$w/log" & pid=$!
    while ! grep -q host.ready "$w/log"; do sleep 0.01; done
    # the same file with one job changed (j0: every 1h -> 2h); rename so the
    # host never reads a half-written file
    jobs "$n" 1h | awk 'NR == 7 && $0 == "every = 1h" { $0 = "every = 2h" } { print }' > "$w/new.ini"
    mv "$w/new.ini" "$w/conf.d/jobs.ini"
    r0=$(date +%s.%N); kill -HUP $pid
    while ! grep -q 'reload.ok\|reload.failed' "$w/log"; do sleep 0.005; done
    r1=$(date +%s.%N)
    kill -TERM $pid; wait $pid || true
    awk -v n="$n" -v r0="$r0" -v r1="$r1" 'BEGIN { printf "reload jobs=%d changed_one_ms=%.0f\n", n, (r1 - r0) * 1000 }'
    grep -o 'event=reload[.a-z]* .*' "$w/log" | head -1 ;;
idle)
    s=${arg:-10}
    jobs 1 1h > "$w/conf.d/jobs.ini"
    "$b/jobhostd" -c "$w/conf.d" -p "$w/plugins" 2>"$w/log" & pid=$!; sleep 1
    timeout -s INT "$s" strace -c -f -p $pid > "$w/strace" 2>&1 || true
    kill -TERM $pid; wait $pid || true
    n=$(awk '$NF == "total" { print $(NF-2) }' "$w/strace")
    echo "idle seconds=$s syscalls=${n:-0} (strace -c -f over all threads; empty table = none)"
    grep -v 'attached\|detached' "$w/strace" || true ;;
esac
