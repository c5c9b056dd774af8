#!/bin/sh
# cron_compare.sh BUILDDIR [SECONDS] - jobhost's cron engine beside croner,
# same expressions, same run, same machine.  Prints a table with the ratio.
set -eu
b=${1:-.}; s=${2:-1}
here=$(cd "$(dirname "$0")" && pwd)
[ -d "$here/node_modules/croner" ] || (cd "$here" && npm install --silent)
"$b/bench/cron_bench" "$s" > /tmp/jh-cron-bench.$$
node "$here/croner_bench.mjs" "$s" > /tmp/jh-croner-bench.$$
printf '%-34s %-18s %14s %12s %8s\n' case tz jobhost/s croner/s ratio
while read -r line; do
    key=${line% ops_per_sec=*}; ours=${line##*=}
    theirs=$(grep -F "croner $key ops_per_sec=" /tmp/jh-croner-bench.$$ | sed 's/.*=//')
    case "$key" in
        next*) e=$(echo "$key" | sed 's/^next expr="\(.*\)" tz=.*/\1/'); z=${key##*tz=} ;;
        *) e=parse; z=- ;;
    esac
    printf '%-34s %-18s %14s %12s %7sx\n' "$e" "$z" "$ours" "$theirs" \
        "$(awk -v a="$ours" -v b="$theirs" 'BEGIN{printf "%.0f", a/b}')"
done < /tmp/jh-cron-bench.$$
rm -f /tmp/jh-cron-bench.$$ /tmp/jh-croner-bench.$$
