#!/bin/sh
# crash.sh - plugin code that takes jobhostd down is named in the log:
# one host.crash line (job, plugin, handler, run id, signal) for a handler
# that dereferences NULL, aborts or calls exit(7), and for an init that
# crashes; the exit status stays 128 + the signal (139, 134) or the
# plugin's (7).  Emits TAP.  Needs jobhostd and t/plugins/h_crash.so.
top_builddir=${top_builddir:-.}
. "${top_srcdir:-.}/t/lib/tap.sh"
D="$top_builddir/jobhostd"
P="$top_builddir/t/plugins/h_crash.so"
W="$top_builddir/t/crash.dir"

if [ ! -x "$D" ] || [ ! -f "$P" ]; then
    echo "1..0 # SKIP jobhostd or t/plugins/h_crash.so not built"
    exit 0
fi
ulimit -c 0 2>/dev/null
# A sanitizer runtime keeps its own SEGV handler unless told to let ours in.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}allow_user_segv_handler=1"
export ASAN_OPTIONS
rm -rf "$W"
mkdir -p "$W/conf.d" "$W/plugins"
cp "$P" "$W/plugins/h_crash.so"

# run_case HANDLER [INI-EXTRA] [IN_INIT]: run jobhostd until it ends (10 s
# at most); sets $st to its exit status, the log is $W/log.
run_case() {
    {
        printf '[host]\n%s\n\n[plugin h_crash]\nin_init = %s\n\n' "${2:-}" "${3:-}"
        printf '[job c]\nplugin = h_crash\nhandler = %s\nevery = 1h\nrun_on_start = true\n' "$1"
    } > "$W/conf.d/10.ini"
    : > "$W/log"
    "$D" -c "$W/conf.d" -p "$W/plugins" -s "$W/state" 2>> "$W/log" &
    pid=$!
    i=0
    while kill -0 $pid 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    kill -KILL $pid 2>/dev/null
    wait $pid
    st=$?
}

run_case segv
[ "$st" -eq 139 ]; ok $? "NULL dereference in a handler: exit status 139 (got $st)"
[ "$(count "$W/log" 'event=host.crash')" -eq 1 ]; ok $? "one host.crash line"
grep -q 'level=error event=host.crash signal=SIGSEGV addr=0x0 job=c plugin=h_crash handler=segv run_id=1 msg="fatal signal in plugin code' "$W/log"
ok $? "it names the signal, the address, job, plugin, handler and run id"
[ "$(tail -n 1 "$W/log" | grep -c 'event=host.crash')" -eq 1 ]; ok $? "and is the last line"

run_case abort
[ "$st" -eq 134 ]; ok $? "abort() in a handler: exit status 134 (got $st)"
grep -q 'event=host.crash signal=SIGABRT job=c plugin=h_crash handler=abort run_id=1 ' "$W/log"
ok $? "host.crash names SIGABRT and the run"
[ "$(count "$W/log" 'event=host.crash')" -eq 1 ]; ok $? "one line"

run_case exit
[ "$st" -eq 7 ]; ok $? "exit(7) in a handler: exit status 7 (got $st)"
grep -q 'event=host.crash cause=exit job=c plugin=h_crash handler=exit run_id=1 msg="plugin called exit()' "$W/log"
ok $? "host.crash says the plugin called exit(), naming the run"

run_case segv "" segv
[ "$st" -eq 139 ]; ok $? "NULL dereference in init: exit status 139 (got $st)"
grep -q 'event=host.crash signal=SIGSEGV addr=0x0 job=- plugin=h_crash handler=init run_id=0 ' "$W/log"
ok $? "host.crash names the plugin's init"

run_case abort "log_format = json"
[ "$st" -eq 134 ]; ok $? "log_format = json: abort, status 134 (got $st)"
grep -q '"level":"error","event":"host.crash","signal":"SIGABRT","job":"c","plugin":"h_crash","handler":"abort","run_id":1,"msg":"' "$W/log"
ok $? "the line is JSON like the others"

# A clean stop writes no crash line (the exit() hook only fires in plugin code).
printf '[job c]\nplugin = h_crash\nhandler = exit\nevery = 1h\nenabled = false\n' > "$W/conf.d/10.ini"
: > "$W/log"
"$D" -c "$W/conf.d" -p "$W/plugins" -s "$W/state" 2>> "$W/log" &
pid=$!
i=0
while ! grep -q host.ready "$W/log" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
kill -TERM $pid
wait $pid
st=$?
[ "$st" -eq 0 ] && [ "$(count "$W/log" 'host.crash')" -eq 0 ]; ok $? "SIGTERM: exit 0, no host.crash line (got $st)"

echo "1..$n"
[ $failed -eq 0 ] && rm -rf "$W"
exit $failed
