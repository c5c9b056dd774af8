#!/bin/sh
# e2e_daemon.sh - jobhostd as a process: --check, start-up errors, SIGHUP,
# SIGTERM (waits for the running job, runs fini, exits 0) and a second
# signal (exits at once).  Emits TAP.
#
# Needs jobhostd and t/plugins/h_basic.so in $top_builddir (make check
# builds both).
top_builddir=${top_builddir:-.}
. "${top_srcdir:-.}/t/lib/tap.sh"
D="$top_builddir/jobhostd"
P="$top_builddir/t/plugins/h_basic.so"
W="$top_builddir/t/e2e_daemon.dir"

if [ ! -x "$D" ] || [ ! -f "$P" ]; then
    echo "1..0 # SKIP jobhostd or t/plugins/h_basic.so not built"
    exit 0
fi
rm -rf "$W"
mkdir -p "$W/conf.d" "$W/plugins"
cp "$P" "$W/plugins/h_basic.so"
cat > "$W/conf.d/20-jobs.ini" <<INI
[job t]
plugin  = h_basic
handler = tick
every   = 100ms
INI

# --check, --version, usage
"$D" --check -c "$W/conf.d" -p "$W/plugins" > "$W/out" 2> "$W/err"
ok $? "--check exits 0 on a good configuration"
has "$W/out" "h_basic.auto"; ok $? "--check lists the implicit job"
has "$W/out" "every 100ms"; ok $? "--check shows schedules"
"$D" --version > "$W/out"; ok $? "--version exits 0"
has "$W/out" "ABI 1.1"; ok $? "--version names the plugin ABI"
"$D" --bogus > /dev/null 2>&1; [ $? -eq 2 ]; ok $? "an unknown option exits 2"

printf '[job x]\nplugin = nope\nhandler = tick\nevery = 1s\n' > "$W/conf.d/30-bad.ini"
"$D" --check -c "$W/conf.d" -p "$W/plugins" > "$W/out" 2> "$W/err"
[ $? -eq 1 ]; ok $? "--check exits 1 on an unknown plugin"
has "$W/err" "30-bad.ini:2: \[job x\]: unknown plugin \"nope\""; ok $? "--check names file:line"
"$D" -c "$W/conf.d" -p "$W/plugins" > "$W/out" 2> "$W/err"
[ $? -eq 1 ]; ok $? "start-up with a bad configuration exits 1"
has "$W/err" "30-bad.ini:2"; ok $? "and says where on stderr"
rm -f "$W/conf.d/30-bad.ini"

# run, reload, stop
cat > "$W/conf.d/10-p.ini" <<INI
[host]
shutdown_timeout = 10s

[plugin h_basic]
marker = e2e
sleep_ms = 700
fini_file = $W/fini
INI
: > "$W/log" # empty it now: the shell truncates it only once the child runs
"$D" -c "$W/conf.d" -p "$W/plugins" 2> "$W/log" &
pid=$!
wait_for "$W/log" "event=host.ready" 50; ok $? "jobhostd starts (host.ready)"
wait_for "$W/log" "event=run.finish job=t " 30; ok $? "jobs fire"
printf '[job long]\nplugin = h_basic\nhandler = hang\nevery = 1h\nrun_on_start = true\n' \
    > "$W/conf.d/30-long.ini"
kill -HUP $pid; kill -HUP $pid; kill -HUP $pid
wait_for "$W/log" "event=reload.ok" 30; ok $? "SIGHUP reloads"
wait_for "$W/log" "event=h.begin" 30; ok $? "the job added by the reload runs"
kill -TERM $pid
wait_exit $pid 50; ok $? "SIGTERM stops the daemon"
wait $pid; st=$?
[ $st -eq 0 ]; ok $? "exit status 0 after SIGTERM (got $st)"
has "$W/log" "event=run.finish job=long "; ok $? "the running job finished before exit"
has "$W/log" "event=host.stop"; ok $? "host.stop logged"
has "$W/fini" "fini e2e"; ok $? "fini ran"

# a second signal exits at once
sed -i 's/sleep_ms = 700/sleep_ms = 5000/' "$W/conf.d/10-p.ini"
: > "$W/log" # empty it now: the shell truncates it only once the child runs
"$D" -c "$W/conf.d" -p "$W/plugins" 2> "$W/log" &
pid=$!
wait_for "$W/log" "event=h.begin" 50; ok $? "a long job is running"
kill -TERM $pid
sleep 0.3
kill -0 $pid 2>/dev/null; st=$?
ok $st "the first SIGTERM waits for it"
[ $st -eq 0 ] || sed 's/^/# /' "$W/log"
kill -TERM $pid
wait_exit $pid 20; ok $? "a second SIGTERM exits at once"
wait $pid; st=$?
[ $st -eq 143 ]; ok $? "with status 128+SIGTERM (got $st)"

# the shipped configuration and example plugins
S="${top_srcdir:-.}"
if [ -f "$top_builddir/plugins/sync.so" ] && [ -d "$S/conf.d" ]; then
    "$D" --check -c "$S/conf.d" -p "$top_builddir/plugins" > "$W/out" 2> "$W/err"
    ok $? "--check passes on the shipped conf.d and plugins"
    has "$W/out" "heartbeat.beat" && has "$W/out" "cron 0 \*/1 \* \* \* \*" &&
        has "$W/out" "sync_user"
    ok $? "--check lists heartbeat, report and sync"
    : > "$W/log" # empty it now: the shell truncates it only once the child runs
    "$D" -c "$S/conf.d" -p "$top_builddir/plugins" 2> "$W/log" &
    pid=$!
    wait_for "$W/log" "event=heartbeat.beat" 50; ok $? "the shipped daemon runs heartbeat"
    kill -TERM $pid; wait $pid; ok $? "and stops cleanly"

    # report reads the status heartbeat records in the repository
    mkdir -p "$W/rep.d"
    # plugins/ also holds user.so, which needs a database: keep it idle.
    cat > "$W/rep.d/10.ini" <<INI
[plugin user]
enabled = false

[plugin report]
title = e2e report
watch = heartbeat.beat

[job heartbeat.beat]
plugin = heartbeat
handler = beat
every = 200ms
run_on_start = true

[job report]
plugin = report
handler = summary
cron = * * * * * *
INI
    : > "$W/log" # empty it now: the shell truncates it only once the child runs
    "$D" -c "$W/rep.d" -p "$top_builddir/plugins" 2> "$W/log" &
    pid=$!
    wait_for "$W/log" 'status="beat ' 40; ok $? "report shows heartbeat's status (6-field cron)"
    has "$W/log" 'event=report.line.*title="e2e report"'; ok $? "report uses its title key"
    kill -TERM $pid; wait $pid

    # sync: overlapping runs find the lock held; a short timeout cancels
    # the batch loop.
    mkdir -p "$W/sync.d"
    cat > "$W/sync.d/30-sync.ini" <<INI
[plugin user]
enabled = false

[plugin sync]
users = 2000
batch_size = 100
batch_delay_ms = 20

[job sync_user]
plugin = sync
handler = sync_user
every = 150ms
concurrency = allow
max_running = 2

[job sync_short]
plugin = sync
handler = sync_user
every = 1h
run_on_start = true
timeout = 100ms
INI
    : > "$W/log" # empty it now: the shell truncates it only once the child runs
    "$D" -c "$W/sync.d" -p "$top_builddir/plugins" 2> "$W/log" &
    pid=$!
    wait_for "$W/log" "event=sync.finish" 50; ok $? "sync finishes a run"
    wait_for "$W/log" "event=sync.skip" 30; ok $? "sync skips quietly when the lock is held"
    kill -TERM $pid; wait $pid
    grep "event=run.finish" "$W/log" | grep "job=sync_short " | grep -q "result=timeout"
    ok $? "sync_short: result=timeout"
    grep -q 'event=sync.finish .*users=[0-9]* batches=[0-9]* duration_ms=' "$W/log"
    ok $? "sync logs its duration"
    grep "event=run.finish" "$W/log" | grep "job=sync_user " | grep -q "result=ok"
    ok $? "sync_user runs end ok"
else
    echo "# example plugins not built; skipping their checks"
fi

echo "1..$n"
[ $failed -eq 0 ] && rm -rf "$W"
exit $failed
