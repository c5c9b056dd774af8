#!/bin/sh
# tools/check_layers.sh [HOSTDIR] - the layering rules of host/, as TAP.
#
# host/ is layered, lowest first:
#   base < time < config < runtime < outbox < plugin < sched < repo < (host/ itself)
# A file may include headers of its own folder ("x.h") and of lower folders
# ("time/cron.h"), never of a higher one, and no chain of includes may
# come back to where it started.  Functions stay short: none over
# MAX_FUNC lines (default 80), and the mean under MAX_MEAN (default 20).
# A function is a body that opens with "{" in column 0 and closes with "}"
# in column 0 (the project's style); lines are counted brace to brace.
#
# Used by `make check` (t/host/layers.sh) on the real tree and on small broken
# trees, so the check itself is known to catch what it claims.
set -u
dir=${1:-host}
MAX_FUNC=${MAX_FUNC:-80}
MAX_MEAN=${MAX_MEAN:-20}
LAYERS="base time config runtime outbox plugin sched repo"

rank() {
    r=0
    for l in $LAYERS; do
        [ "$l" = "$1" ] && { echo $r; return; }
        r=$((r + 1))
    done
    echo $r # host/ itself: the top
}

# The folder of a file below $dir ("" for $dir itself).
layer_of() {
    rel=${1#"$dir"/}
    case $rel in */*) echo "${rel%%/*}" ;; *) echo "" ;; esac
}

files=$(find "$dir" -name '*.[ch]' | sort)
edges=$(mktemp) || exit 2
bad=$(mktemp) || exit 2
trap 'rm -f "$edges" "$bad"' EXIT

for f in $files; do
    from=$(layer_of "$f")
    fr=$(rank "$from")
    sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" |
    while read -r inc; do
        case $inc in
        */*) target="$dir/$inc" ;;
        *) target="$(dirname "$f")/$inc" ;;
        esac
        [ -f "$target" ] || continue # jobhost.h and system headers
        to=$(layer_of "$target")
        tr_=$(rank "$to")
        if [ "$tr_" -gt "$fr" ]; then
            echo "$f includes $inc: ${to:-host} is above ${from:-host}" >> "$bad"
        fi
        # One node per concept: x.c and x.h are the same module.
        echo "${f%.[ch]} ${target%.[ch]}" >> "$edges"
    done
done

echo "1..3"
if [ -s "$bad" ]; then
    echo "not ok 1 - no upward include"
    sed 's/^/# /' "$bad"
else
    echo "ok 1 - no upward include"
fi

# tsort(1) reports a loop in the include graph on stderr.
loops=$(tsort "$edges" 2>&1 >/dev/null)
if [ -n "$loops" ]; then
    echo "not ok 2 - no include cycle"
    echo "$loops" | sed 's/^/# /'
else
    echo "ok 2 - no include cycle"
fi

# Function lengths (brace to brace), over every .c file.
find "$dir" -name '*.c' | sort | xargs awk -v max="$MAX_FUNC" -v maxmean="$MAX_MEAN" '
    /^\{/ && prev ~ /\(/ && prev !~ /[;=]/ { start = FNR; name = prev; next }
    /^\}/ && start { n = FNR - start + 1; total += n; count++
                     if (n > max) long[FILENAME ":" start] = n " lines: " name
                     start = 0 }
    NF { prev = $0 }
    END {
        mean = count ? total / count : 0
        fail = 0
        for (k in long) fail = 1
        if (mean >= maxmean) fail = 1
        printf "%s 3 - functions: %d, mean %.1f lines (< %d), none over %d\n",
               fail ? "not ok" : "ok", count, mean, maxmean, max
        for (k in long) printf "# %s: %s\n", k, long[k]
    }'
