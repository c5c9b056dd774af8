#!/bin/sh
# stdout_full.sh - output that cannot be written to stdout is an error
# (issue 9.9): --check, --outbox-dump, --version, --cron-next and --help
# into /dev/full exit 1 with a message on stderr.  Emits TAP.
top_builddir=${top_builddir:-.}
. "${top_srcdir:-.}/t/lib/tap.sh"
D="$top_builddir/jobhostd"
P="$top_builddir/t/plugins/h_basic.so"
E="$top_builddir/t/plugins/events_p.so"
W="$top_builddir/t/stdout_full.dir"

# full NAME ARGS...: jobhostd ARGS > /dev/full exits 1 and says why.
full() {
    name=$1; shift
    "$D" "$@" > /dev/full 2> "$W/err"; st=$?
    [ $st -eq 1 ]; ok $? "$name > /dev/full exits 1 (got $st)"
    grep -q "cannot write to stdout" "$W/err"
    ok $? "$name > /dev/full says why on stderr"
}

if [ ! -x "$D" ] || [ ! -f "$P" ] || [ ! -f "$E" ] || [ ! -w /dev/full ]; then
    echo "1..0 # SKIP jobhostd, t/plugins/h_basic.so, events_p.so or /dev/full missing"
    exit 0
fi
echo "1..13"
rm -rf "$W"
mkdir -p "$W/conf.d" "$W/plugins" "$W/state"
cp "$P" "$W/plugins/h_basic.so"
cp "$E" "$W/plugins/events_p.so"
# One event in the outbox for --outbox-dump (no broker: it stays there).
cat > "$W/conf.d/10.ini" <<INI
[kafka k]
brokers = 127.0.0.1:9

[plugin events_p]
events = k

[job e]
plugin = events_p
handler = emit
every = 1h
run_on_start = true
INI
"$D" -c "$W/conf.d" -p "$W/plugins" -s "$W/state" 2> "$W/log" &
pid=$!
i=0
while [ $i -lt 50 ] && ! grep -q "event=run.finish job=e " "$W/log"; do sleep 0.1; i=$((i + 1)); done
kill -TERM $pid; wait $pid
full --check --check -c "$W/conf.d" -p "$W/plugins" -s "$W/state"
full --outbox-dump --outbox-dump -c "$W/conf.d" -p "$W/plugins" -s "$W/state"
full --version --version
full --cron-next --cron-next '*/5 * * * *' -n 3
full --help --help
"$D" --check -c "$W/conf.d" -p "$W/plugins" -s "$W/state" > "$W/out" 2> "$W/err"
ok $? "--check to a file still exits 0"
"$D" --version > "$W/out" 2> "$W/err"
ok $? "--version to a file still exits 0"
"$D" --outbox-dump -c "$W/conf.d" -p "$W/plugins" -s "$W/state" > "$W/out" 2> "$W/err" &&
    grep -q 'payload="from the plugin"' "$W/out"
ok $? "--outbox-dump to a file prints the event, exits 0"
rm -rf "$W"
