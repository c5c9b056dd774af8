#!/bin/sh
# abi_compat.sh - plugins built for older ABI minors load and run in this
# jobhostd unchanged: t/plugins/abi10.so (the 1.0 descriptor) and
# t/plugins/abi11.so (compiled against the frozen 1.1 header in
# t/plugins/abi11/, checking every 1.1 service from inside its run).
top_builddir=${top_builddir:-.}
D="$top_builddir/jobhostd"
W="$top_builddir/t/e2e/abi_compat.dir"
n=0
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }

for p in abi10 abi11; do
    [ -f "$top_builddir/t/plugins/$p.so" ] || { echo "1..0 # SKIP t/plugins/$p.so not built"; exit 0; }
done
rm -rf "$W" && mkdir -p "$W/conf.d" "$W/plugins" || exit 1
cp "$top_builddir/t/plugins/abi10.so" "$top_builddir/t/plugins/abi11.so" "$W/plugins/"
echo "1..6"

"$D" --check -c "$W/conf.d" -p "$W/plugins" -s "$W/state" > "$W/check" 2>&1
ok $? "--check loads both"
"$D" -c "$W/conf.d" -p "$W/plugins" -s "$W/state" 2> "$W/log" &
pid=$!
i=0
while [ $i -lt 100 ]; do
    [ "$(grep -c 'event=abi11.ok' "$W/log")" -ge 3 ] && [ "$(grep -c 'job=abi10.tick.*result=ok' "$W/log")" -ge 1 ] && break
    sleep 0.1; i=$((i + 1))
done
kill -TERM $pid; wait $pid; rc=$?
ok $rc "jobhostd exits 0 on SIGTERM"
[ "$(grep -c 'event=run.finish job=abi11.tick.*result=ok' "$W/log")" -ge 3 ]
ok $? "the 1.1 plugin's runs finish ok (every service as 1.1 promised)"
grep -q 'event=run.finish job=abi11.tick.*result=error' "$W/log"
[ $? -ne 0 ]; ok $? "none of its runs failed"
grep 'result=error' "$W/log" | sed 's/^/# /'
grep -q 'event=run.finish job=abi10.tick.*result=ok' "$W/log"
ok $? "the 1.0 plugin runs"
id=$(sed -n 's/.*event=abi11.ok.* id=\([0-9a-f]*\).*/\1/p' "$W/log" | head -n 1)
"$D" --outbox-dump -c "$W/conf.d" -p "$W/plugins" -s "$W/state" > "$W/dump" 2>&1
[ -n "$id" ] && grep -q "$id" "$W/dump"
ok $? "its event is in the outbox with the id it was given ($id)"
rm -rf "$W"
