#!/bin/sh
# quickstart.sh - the two Quick start commands of the README.
#
#   ./quickstart.sh run     install missing packages, build in build/run,
#                           start jobhostd on conf.d/ + the plugins built
#                           there (no external service)
#   ./quickstart.sh check   install missing packages, build in build/check
#                           with ASan+UBSan and -Werror, run the TAP suite
#
# Packages come from Debian; apt-get runs only when something is missing.
set -eu
cd "$(dirname "$0")"

PKGS="build-essential autoconf automake pkg-config tzdata libuv1-dev libinih-dev libhiredis-dev libmariadb-dev librdkafka-dev"
CHECK_PKGS="$PKGS valgrind redis-server mariadb-server"

need() {
    missing=""
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
            missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    echo "quickstart: installing$missing" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
}

# Each mode builds in its own VPATH directory, so neither undoes the other:
# objects and plugins built without sanitizers never meet ASan ones.
#   build/run     plain build; jobhostd runs on the shipped conf.d/ with
#                 build/run/plugins (state/ beside conf.d/, as always)
#   build/check   --enable-sanitizers --enable-werror, the TAP suite
configure_in() {
    dir=$1; shift
    want="$*"
    [ -x configure ] || autoreconf -fi
    if [ -f config.status ]; then
        # An in-tree build (./configure by hand, or an older quickstart.sh)
        # makes configure refuse VPATH builds: clean it away first.
        echo "quickstart: removing the in-tree build (make distclean) for $dir" >&2
        make -s distclean >/dev/null 2>&1 || true
        rm -f config.status
    fi
    mkdir -p "$dir"
    if [ ! -f "$dir/config.status" ] || [ "$(cat "$dir/.quickstart-config" 2>/dev/null)" != "$want" ]; then
        (cd "$dir" && ../../configure -q $want)
        echo "$want" > "$dir/.quickstart-config"
    fi
}

jobs=$(nproc 2>/dev/null || echo 2)

case "${1:-}" in
run)
    need $PKGS
    B=build/run
    configure_in $B
    make -s -j"$jobs" -C $B
    exec $B/jobhostd -c conf.d -p $B/plugins
    ;;
check)
    need $CHECK_PKGS
    B=build/check
    configure_in $B --enable-sanitizers --enable-werror
    make -s -j"$jobs" -C $B
    status=0
    make -s -j"$jobs" -C $B check || status=$?
    # One summary line for people and CI, from automake's .trs files.
    pass=0; fail=0; skip=0
    for f in $(find $B/t -name '*.trs' 2>/dev/null); do
        r=$(sed -n 's/^:global-test-result: //p' "$f")
        case "$r" in
            PASS) pass=$((pass + 1)) ;;
            SKIP) skip=$((skip + 1)) ;;
            *) fail=$((fail + 1)) ;;
        esac
    done
    [ $fail -eq 0 ] || status=1
    echo "$pass passed, $fail failed, $skip skipped"
    exit $status
    ;;
*)
    echo "usage: $0 run|check" >&2
    exit 2
    ;;
esac
