#!/bin/sh
# user_daemon.sh - jobhostd with the shipped conf.d/40-user.ini: without a
# database binding the plugin is left out (enabled = auto); bound to a
# private mariadbd (t/lib/mariadb.sh) it loads, sync_user runs on its
# schedule, marks every pending user and leaves one user.sync event per
# user in the outbox (no Kafka: jobhostd --outbox-dump reads them); with
# redis = cache as well, a lock another host holds in Redis makes the runs
# skip until it is gone, and the job status lands in Redis.
# Emits TAP; skips when mariadbd is not installed.
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
. "${top_srcdir:-.}/t/lib/tap.sh"
D="$top_builddir/jobhostd"
P="$top_builddir/plugins/user.so"
tn=0
failed=0

ok() { # ok STATUS DESCRIPTION
    tn=$((tn + 1))
    if [ "$1" -eq 0 ]; then echo "ok $tn - $2"; else echo "not ok $tn - $2"; failed=1; fi
}

if [ ! -x "$D" ] || [ ! -f "$P" ]; then
    echo "1..0 # SKIP jobhostd or plugins/user.so not built"
    exit 0
fi
if [ ! -f "$top_srcdir/t/lib/mariadb.sh" ]; then
    echo "1..0 # SKIP t/lib/mariadb.sh missing"
    exit 0
fi
. "$top_srcdir/t/lib/mariadb.sh"
jh__mariadb_start_tap
W=$(mktemp -d "${TMPDIR:-/tmp}/jh-user-daemon.XXXXXX") || exit 1
trap 'jh__mariadb_cleanup; rm -rf "$W"' EXIT
trap 'jh__mariadb_cleanup; rm -rf "$W"; exit 1' INT TERM HUP
mkdir -p "$W/plain" "$W/conf.d" "$W/plugins" "$W/state"
cp "$P" "$W/plugins/user.so"
sql() { "$JH_MARIADB_CLIENT" --no-defaults -uroot -S "$JH_TEST_MYSQL_SOCKET" -N -B \
        "$JH_TEST_MYSQL_DB" "$@"; }

# 1. the shipped file as is: no mysql = binding, so the plugin stays out
cp "$top_srcdir/conf.d/40-user.ini" "$W/plain/"
"$D" --check -c "$W/plain" -p "$W/plugins" -s "$W/state" > "$W/out" 2>&1
ok $? "shipped ini: --check passes with no database bound"
grep -q "plugin user" "$W/out"; [ $? -ne 0 ]; ok $? "shipped ini: enabled = auto leaves user out"

# 2. the same file with mysql = main and a [mysql main] section; sync_user
#    every 500ms from the start instead of every 5 minutes
sed -e 's/^; mysql = main$/mysql = main/' \
    -e 's|^cron    = 0 \*/5 \* \* \* \*$|every = 500ms\nrun_on_start = true|' \
    "$top_srcdir/conf.d/40-user.ini" > "$W/conf.d/40-user.ini"
cat > "$W/conf.d/50-mysql.ini" <<INI
[mysql main]
socket = $JH_TEST_MYSQL_SOCKET
user = $JH_TEST_MYSQL_USER
password_file = $JH_TEST_MYSQL_PASSWORD_FILE
database = $JH_TEST_MYSQL_DB
INI
"$D" --check -c "$W/conf.d" -p "$W/plugins" -s "$W/state" > "$W/out" 2>&1
ok $? "bound: --check passes"
grep -q "^plugin user 1.0" "$W/out"; ok $? "bound: the plugin loads"
for j in user.sync_user user.archive_user user.cleanup_login_log; do
    grep -q "^$j " "$W/out"; ok $? "bound: job $j scheduled"
done
grep -q "every 500ms" "$W/out"; ok $? "bound: sync_user on the test schedule"
grep -q "$JH_TEST_MYSQL_PASSWORD" "$W/out"; [ $? -ne 0 ]; ok $? "--check never prints the password"

# 3. 2500 users, every 5th deleted: 2000 to sync
sql < "$top_srcdir/plugins/user/schema.sql"; ok $? "schema.sql loads"
awk 'BEGIN { printf "INSERT INTO `user` (name, email, deleted_at) VALUES ";
    for (i = 1; i <= 2500; i++)
        printf "%s(\"user%d\",\"u%d@example.com\",%s)", (i > 1 ? "," : ""), i, i,
               i % 5 == 0 ? "NOW()" : "NULL"; print ";" }' | sql
is "$(sql -e 'SELECT COUNT(*) FROM `user` WHERE sync_status = 0 AND deleted_at IS NULL')" \
    2000 "2000 users pending"

"$D" -c "$W/conf.d" -p "$W/plugins" -s "$W/state" 2> "$W/log" &
pid=$!
wait_for "$W/log" "event=sync.finish" 300; ok $? "jobhostd: sync_user ran"
wait_for "$W/log" "event=run.finish job=user.sync_user" 100
kill -TERM $pid 2>/dev/null
wait $pid; ok $? "jobhostd: exits 0 on SIGTERM"
line=$(grep "event=sync.finish" "$W/log" | head -1)
case $line in *"result=ok users=2000 sent=2000 batches=2 queries=5 "*) r=0 ;; *) r=1 ;; esac
ok $r "first run: 2000 users, 2 full pages + 1 empty: 5 queries"
[ $r -eq 0 ] || echo "#   $line"
grep "event=run.finish job=user.sync_user" "$W/log" | head -1 | grep -q "result=ok"
ok $? "first run: result=ok"
grep -q "$JH_TEST_MYSQL_PASSWORD" "$W/log"; [ $? -ne 0 ]; ok $? "log never shows the password"
is "$(sql -e 'SELECT COUNT(*) FROM `user` WHERE sync_status = 0 AND deleted_at IS NULL')" \
    0 "none pending afterwards"
is "$(sql -e 'SELECT COUNT(*) FROM `user` WHERE sync_status = 1')" 2000 \
    "deleted users not synced"

"$D" --outbox-dump -c "$W/conf.d" -p "$W/plugins" -s "$W/state" > "$W/dump" 2>&1
ok $? "--outbox-dump"
is "$(grep -c 'topic="user.sync"' "$W/dump")" 2000 "outbox: one user.sync event per user"
is "$(grep -c 'topic="user.sync" key="1" ' "$W/dump")" 1 "outbox: user 1 once, keyed by id"
grep -q 'key="2499" payload="{\\"id\\":2499,\\"name\\":\\"user2499\\",\\"email\\":\\"u2499@example.com\\"}"' \
    "$W/dump"; ok $? "outbox: payload of user 2499"
grep -q 'key="2500"' "$W/dump"; [ $? -ne 0 ]; ok $? "outbox: nothing for deleted user 2500"

# 4. locks and status in Redis (redis = cache): a lock another host holds
#    makes the runs skip; once it is gone the next tick syncs, and the
#    status lands in Redis with its TTL
if [ -f "$top_srcdir/t/lib/redis.sh" ] && . "$top_srcdir/t/lib/redis.sh" && redis_have &&
        redis_start > "$W/redis.out" 2>&1; then
    trap 'redis_cleanup; jh__mariadb_cleanup; rm -rf "$W"' EXIT
    trap 'redis_cleanup; jh__mariadb_cleanup; rm -rf "$W"; exit 1' INT TERM HUP
    sed -i 's/^; redis = cache$/redis = cache/' "$W/conf.d/40-user.ini"
    cat > "$W/conf.d/60-redis.ini" <<INI
[redis cache]
host = 127.0.0.1
port = $JH_TEST_REDIS_PORT
prefix = user:
INI
    sql -e 'UPDATE `user` SET sync_status = 0 WHERE deleted_at IS NULL'
    redis_cli SET "user:lock:job:sync_user" "another-host" PX 60000 > /dev/null
    "$D" -c "$W/conf.d" -p "$W/plugins" -s "$W/state" 2> "$W/log2" &
    pid=$!
    wait_for "$W/log2" "event=sync.skip" 300; ok $? "redis: lock held by another host: skipped"
    is "$(sql -e 'SELECT COUNT(*) FROM `user` WHERE sync_status = 1')" 0 \
        "redis: no row touched while skipped"
    redis_cli DEL "user:lock:job:sync_user" > /dev/null
    wait_for "$W/log2" "event=sync.finish" 300; ok $? "redis: lock gone: the next tick syncs"
    wait_for "$W/log2" "result=ok users=0 " 300; ok $? "redis: and the tick after finds nothing"
    kill -TERM $pid 2>/dev/null
    wait $pid; ok $? "redis: jobhostd exits 0"
    line=$(grep "event=sync.finish" "$W/log2" | head -1)
    case $line in *"result=ok users=2000 "*) r=0 ;; *) r=1 ;; esac
    ok $r "redis: 2000 users synced"
    [ $r -eq 0 ] || echo "#   $line"
    is "$(redis_cli GET user:status:sync_user)" "ok users=0" \
        "redis: status of the last run in Redis"
    ttl=$(redis_cli PTTL user:status:sync_user)
    [ "$ttl" -gt 0 ] && [ "$ttl" -le 86400000 ]; ok $? "redis: status TTL 24h ($ttl ms)"
    is "$(redis_cli EXISTS user:lock:job:sync_user)" 0 "redis: lock released"
else
    echo "# redis-server not available: Redis phase skipped"
fi

echo "1..$tn"
exit $failed
