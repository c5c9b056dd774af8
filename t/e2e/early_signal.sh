#!/bin/sh
# early_signal.sh - SIGHUP sent right after start, before the loop's
# handlers are installed, does not kill the daemon (issue 9.11): 20 starts,
# each sent SIGHUP at once; each must log host.ready and stop with SIGTERM
# and status 0.  Emits TAP.
top_builddir=${top_builddir:-.}
. "${top_srcdir:-.}/t/lib/tap.sh"
D="$top_builddir/jobhostd"
P="$top_builddir/t/plugins/h_basic.so"
W="$top_builddir/t/early_signal.dir"
ROUNDS=20

# exec_wait PID: spin until PID's main() runs: SIGHUP blocked (the fix), or
# (a build without it) its plugin mapped, which jh_host_new does before the
# signal handlers exist.  A signal sent earlier would hit the shell's child
# before exec, or ld.so, which no code of ours can protect.
exec_wait() {
    i=0
    while [ $i -lt 20000 ]; do
        blk=$(sed -n 's/^SigBlk:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null)
        case "$blk" in *[13579bdf]) return 0 ;; esac
        grep -q "jobhost:h_basic" "/proc/$1/maps" 2>/dev/null && return 0
        i=$((i + 1))
    done
}

if [ ! -x "$D" ] || [ ! -f "$P" ]; then
    echo "1..0 # SKIP jobhostd or t/plugins/h_basic.so not built"
    exit 0
fi
echo "1..3"
rm -rf "$W"
mkdir -p "$W/conf.d" "$W/plugins"
cp "$P" "$W/plugins/h_basic.so"
# Many jobs make the load (the window before the handlers) longer.
i=0
while [ $i -lt 3000 ]; do
    printf '[job j%d]\nplugin = h_basic\nhandler = tick\nevery = 1h\n\n' $i
    i=$((i + 1))
done > "$W/conf.d/20-jobs.ini"

ready=0; stopped=0; r=0
while [ $r -lt $ROUNDS ]; do
    : > "$W/log"
    "$D" -c "$W/conf.d" -p "$W/plugins" -s "$W/state" 2> "$W/log" &
    pid=$!
    exec_wait $pid
    kill -HUP $pid 2>/dev/null
    if wait_for "$W/log" "event=host.ready" 30; then
        ready=$((ready + 1))
    else
        echo "# round $r: no host.ready"; sed 's/^/# /' "$W/log" | tail -3
    fi
    kill -TERM $pid 2>/dev/null
    wait $pid; st=$?
    if [ $st -eq 0 ]; then stopped=$((stopped + 1)); else echo "# round $r: exit status $st"; fi
    r=$((r + 1))
done
[ $ready -eq $ROUNDS ]; echo "$([ $? -eq 0 ] || printf 'not ')ok 1 - host.ready in $ready of $ROUNDS starts sent SIGHUP at once"
[ $stopped -eq $ROUNDS ]; echo "$([ $? -eq 0 ] || printf 'not ')ok 2 - exit status 0 after SIGTERM in $stopped of $ROUNDS"
# The SIGHUP held back during start-up is not lost: it reloads.
: > "$W/log"
"$D" -c "$W/conf.d" -p "$W/plugins" -s "$W/state" 2> "$W/log" &
pid=$!
exec_wait $pid
kill -HUP $pid
wait_for "$W/log" "event=reload.ok" 30; st=$?
echo "$([ $st -eq 0 ] || printf 'not ')ok 3 - the early SIGHUP is delivered once the loop runs (reload.ok)"
kill -TERM $pid 2>/dev/null; wait $pid
rm -rf "$W"
