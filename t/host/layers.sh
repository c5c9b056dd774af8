#!/bin/sh
# layers.sh - host/'s layering rules (tools/check_layers.sh): first on small
# broken trees, so each rule is known to catch what it claims, then on
# host/ itself.
top_srcdir=${top_srcdir:-.}
C="$top_srcdir/tools/check_layers.sh"
W=$(mktemp -d) || exit 1
trap 'rm -rf "$W"' EXIT

echo "1..7"
n=0
expect() { # expect WANT NUM NAME < output: the line of check NUM says WANT
    n=$((n + 1))
    line=$(grep -E "^(not )?ok $2 " "$3")
    case $line in
    "$1 $2 "*) echo "ok $n - $4" ;;
    *) echo "not ok $n - $4"
       awk -v k="$2" '/^(not )?ok / { on = ($0 ~ ("ok " k " ")) } on' "$3" | sed 's/^/# /' ;;
    esac
}

# A lower layer including a higher one, and two concepts including each other.
mkdir -p "$W/bad/base" "$W/bad/time" "$W/bad/runtime" "$W/bad/repo"
echo '#include "time/tz.h"' > "$W/bad/base/err.h"
: > "$W/bad/time/tz.h"
printf '#include "ctx.h"\n#include "repo/db.h"\n' > "$W/bad/runtime/ctx.c"
: > "$W/bad/runtime/ctx.h"
printf '#include "runtime/ctx.h"\n' > "$W/bad/repo/db.c"
: > "$W/bad/repo/db.h"
# A 90-line function.
{ echo 'int f(void)'; echo '{'; i=0; while [ $i -lt 88 ]; do echo '    x();'; i=$((i + 1)); done; echo '}'; } > "$W/bad/time/long.c"
sh "$C" "$W/bad" > "$W/bad.out" 2>&1
expect "not ok" 1 "$W/bad.out" "an upward include is caught"
grep -q 'base/err.h includes time/tz.h: time is above base' "$W/bad.out" &&
    grep -q 'runtime/ctx.c includes repo/db.h: repo is above runtime' "$W/bad.out"
r=$?; n=$((n + 1)); [ $r -eq 0 ] && echo "ok $n - each names the file and both layers" ||
    { echo "not ok $n - each names the file and both layers"; sed 's/^/# /' "$W/bad.out"; }
expect "not ok" 2 "$W/bad.out" "an include cycle between two concepts is caught"
expect "not ok" 3 "$W/bad.out" "a function over the limit is caught"

sh "$C" "$top_srcdir/host" > "$W/host.out" 2>&1
expect "ok" 1 "$W/host.out" "host/: no upward include"
expect "ok" 2 "$W/host.out" "host/: no include cycle"
expect "ok" 3 "$W/host.out" "host/ $(sed -n 's/^.*ok 3 - //p' "$W/host.out")"
