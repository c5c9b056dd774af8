#!/bin/sh
# quickstart.sh - the two Quick start commands of the README.
#
#   ./quickstart.sh run     install missing packages, build, start jobhostd
#                           on conf.d/ + plugins/ (no external service)
#   ./quickstart.sh check   install missing packages, build with ASan+UBSan
#                           and -Werror, run the whole TAP suite
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

configure_if_needed() {
    want="$*"
    [ -x configure ] || autoreconf -fi
    if [ ! -f config.status ] || [ "$(cat .quickstart-config 2>/dev/null)" != "$want" ]; then
        ./configure -q $want
        echo "$want" > .quickstart-config
    fi
}

jobs=$(nproc 2>/dev/null || echo 2)

case "${1:-}" in
run)
    need $PKGS
    configure_if_needed
    make -s -j"$jobs"
    exec ./jobhostd -c conf.d -p plugins
    ;;
check)
    need $CHECK_PKGS
    configure_if_needed --enable-sanitizers --enable-werror
    make -s -j"$jobs"
    status=0
    make -s -j"$jobs" check || status=$?
    # One summary line for people and CI, from automake's .trs files.
    pass=0; fail=0; skip=0
    for f in $(find t -name '*.trs' 2>/dev/null); do
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
