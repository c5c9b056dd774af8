#!/bin/sh
# redis.sh - the Redis service against a real redis-server (t/lib/redis.sh
# starts it on a free 127.0.0.1 port, in a temp dir, and removes both on
# exit).  Emits TAP:
#   1. t/service/redis.t, its results renumbered into this plan (it restarts the
#      server itself through JH_TEST_REDIS_RESTART);
#   2. two processes (redis.t lock-race) contending for the same lock key
#      on the same wall-clock ticks: exactly one wins each tick;
#   3. two jobhostd daemons (own state dirs, one Redis) running the same
#      job every second (cron, so both plan the same ticks): the job's
#      handler (t/plugins/redis_p.so "once") fires once per tick in all.
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
. "${top_srcdir:-.}/t/lib/tap.sh"
LIB="$top_srcdir/t/lib/redis.sh"
T="$top_builddir/t/service/redis.t"
TICKS=25
PERIOD_MS=80
W=
da=
db=

. "$LIB"
if ! redis_have; then
    echo "1..0 # SKIP redis-server or redis-cli not installed"
    exit 0
fi
if [ ! -x "$T" ]; then
    echo "1..0 # SKIP t/service/redis.t not built"
    exit 0
fi
trap 'for p in $da $db; do kill -9 "$p" 2>/dev/null; done; redis_cleanup; [ -n "$W" ] && rm -rf "$W"' EXIT
trap 'exit 1' INT TERM HUP
W=$(mktemp -d "${TMPDIR:-/tmp}/jh-redis-t.XXXXXX") || exit 1
if ! redis_start; then
    echo "Bail out! cannot start redis-server on 127.0.0.1"
    exit 1
fi
echo "# redis-server on 127.0.0.1:$JH_TEST_REDIS_PORT ($JH_REDIS_DIR)"
JH_TEST_REDIS_RESTART=". '$LIB' && redis_restart"
export JH_TEST_REDIS_RESTART

# --- 1. the C test, renumbered ---------------------------------------------
"$T" > "$W/c.out" 2> "$W/c.err"
rc=$?
while IFS= read -r line; do
    case $line in
    "ok "*|"not ok "*)
        n=$((n + 1))
        case $line in
        "ok "*) rest=${line#ok } ; st="ok" ;;
        *) rest=${line#not ok } ; st="not ok" ;;
        esac
        echo "$st $n${rest#"${rest%%[!0-9]*}"}"
        ;;
    "1.."*) ;;
    *) echo "# $line" ;;
    esac
done < "$W/c.out"
sed 's/^/# stderr: /' "$W/c.err"
ok $rc "redis.t exited 0"

# --- 2. two processes, one lock, the same ticks -----------------------------
start=$(( $(date +%s%3N) + 1500 ))
"$T" lock-race hostA "$start" $TICKS $PERIOD_MS > "$W/a.out" 2> "$W/a.err" &
pa=$!
"$T" lock-race hostB "$start" $TICKS $PERIOD_MS > "$W/b.out" 2> "$W/b.err" &
pb=$!
wait $pa; ra=$?
wait $pb; rb=$?
[ $ra -eq 0 ] && [ $rb -eq 0 ]; ok $? "both lock-race processes exited 0"
sed 's/^/# hostA: /' "$W/a.err"; sed 's/^/# hostB: /' "$W/b.err"
bad=0
t=1
while [ $t -le $TICKS ]; do
    won=$(cat "$W/a.out" "$W/b.out" | grep -c "^tick $t won$")
    busy=$(cat "$W/a.out" "$W/b.out" | grep -c "^tick $t busy$")
    if [ "$won" -ne 1 ] || [ "$busy" -ne 1 ]; then
        echo "# tick $t: $won won, $busy busy"
        bad=1
    fi
    t=$((t + 1))
done
ok $bad "exactly one of two processes won the lock on each of $TICKS ticks"
echo "# hostA won $(grep -c won "$W/a.out"), hostB won $(grep -c won "$W/b.out")"
owners=$(redis_cli --raw eval "local n = 0 for _, k in ipairs(redis.call('KEYS', 't:lock:race:*')) do n = n + 1 end return n" 0)
[ "$owners" = "$TICKS" ]; ok $? "one lock key per tick in Redis ($owners)"

# --- 3. two daemons, one Redis, the same job --------------------------------
D="$top_builddir/jobhostd"
P="$top_builddir/t/plugins/redis_p.so"
if [ ! -x "$D" ] || [ ! -f "$P" ]; then
    for d in "daemons started" "once per tick" "both daemons ran it"; do
        n=$((n + 1)); echo "ok $n # SKIP jobhostd or t/plugins/redis_p.so not built"
    done
else
    mkdir -p "$W/plugins"
    cp "$P" "$W/plugins/redis_p.so"
    for h in a b; do
        mkdir -p "$W/$h/conf.d"
        cat > "$W/$h/conf.d/10-redis.ini" <<INI
[host]
state_dir = $W/$h/state

[redis cache]
host = 127.0.0.1
port = $JH_TEST_REDIS_PORT
prefix = e2e:

[plugin redis_p]
redis = cache

[job once]
plugin = redis_p
handler = once
cron = * * * * * *
INI
    done
    "$D" -c "$W/a/conf.d" -p "$W/plugins" > "$W/a.log" 2>&1 &
    da=$!
    "$D" -c "$W/b/conf.d" -p "$W/plugins" > "$W/b.log" 2>&1 &
    db=$!
    # Until 4 ticks have fired (bounded: 20 s).
    i=0
    while [ $i -lt 200 ]; do
        [ "$(cat "$W/a.log" "$W/b.log" 2>/dev/null | grep -c 'event=redis_p.fired')" -ge 4 ] && break
        sleep 0.1
        i=$((i + 1))
    done
    kill -0 $da 2>/dev/null && kill -0 $db 2>/dev/null
    ok $? "two jobhostd daemons with [redis cache] running"
    kill -TERM $da $db 2>/dev/null
    wait $da; wait $db
    da= db=
    cat "$W/a.log" "$W/b.log" | grep 'event=redis_p\.' | sed 's/.*event=\(redis_p\.[a-z]*\).*tick=\([0-9]*\).*/\2 \1/' | sort > "$W/ticks"
    last=$(tail -n 1 "$W/ticks" | cut -d' ' -f1)
    bad=0; full=0
    for t in $(cut -d' ' -f1 "$W/ticks" | uniq); do
        f=$(grep -c "^$t redis_p.fired$" "$W/ticks")
        s=$(grep -c "^$t redis_p.skipped$" "$W/ticks")
        # The last tick may have reached one daemon only before the stop.
        if [ "$f" -gt 1 ] || { [ "$t" != "$last" ] && { [ "$f" -ne 1 ] || [ "$s" -ne 1 ]; }; }; then
            echo "# tick $t: fired $f, skipped $s"
            bad=1
        fi
        [ "$t" != "$last" ] && full=$((full + 1))
    done
    [ $bad -eq 0 ] && [ $full -ge 3 ]
    ok $? "the job fired exactly once per tick across both daemons ($full complete ticks)"
    fa=$(grep -c 'event=redis_p.fired' "$W/a.log"); fb=$(grep -c 'event=redis_p.fired' "$W/b.log")
    sa=$(grep -c 'event=redis_p.skipped' "$W/a.log"); sb=$(grep -c 'event=redis_p.skipped' "$W/b.log")
    echo "# daemon a fired $fa skipped $sa; daemon b fired $fb skipped $sb"
    [ $((fa + sa)) -ge 3 ] && [ $((fb + sb)) -ge 3 ] && ! grep -q 'result=error' "$W/a.log" "$W/b.log"
    ok $? "both daemons ran every tick without errors"
    grep -h 'level=error\|result=error' "$W/a.log" "$W/b.log" | head -n 5 | sed 's/^/# /'
fi

echo "1..$n"
