#!/bin/sh
# closed_fds.sh - jobhostd started with stderr, or all of 0/1/2, closed
# (issue 9.12) puts /dev/null there, runs, and exits 0 on SIGTERM (no abort
# from libuv's fd > 2 assertion).  Emits TAP.
top_builddir=${top_builddir:-.}
. "${top_srcdir:-.}/t/lib/tap.sh"
D="$top_builddir/jobhostd"
P="$top_builddir/t/plugins/h_basic.so"
W="$top_builddir/t/closed_fds.dir"

if [ ! -x "$D" ] || [ ! -f "$P" ] || [ ! -d /proc/self/fd ]; then
    echo "1..0 # SKIP jobhostd, t/plugins/h_basic.so or /proc missing"
    exit 0
fi
echo "1..8"
rm -rf "$W"
mkdir -p "$W/conf.d" "$W/plugins"
cp "$P" "$W/plugins/h_basic.so"
cat > "$W/conf.d/10.ini" <<INI
[plugin h_basic]
marker = closed
fini_file = $W/fini
INI

# round NAME: start jobhostd with the redirections in $REDIR.
round() {
    rm -f "$W/fini"
    eval "\"\$D\" -c \"\$W/conf.d\" -p \"\$W/plugins\" -s \"\$W/state\" $REDIR &"
    pid=$!
    sleep 1   # h_basic.auto fires every 300ms meanwhile, logging to fd 2
    kill -0 $pid 2>/dev/null; ok $? "$1: the daemon runs"
    [ "$(readlink /proc/$pid/fd/2)" = /dev/null ]; ok $? "$1: fd 2 is /dev/null"
    kill -TERM $pid
    wait $pid; st=$?
    [ $st -eq 0 ]; ok $? "$1: SIGTERM exits 0 (got $st)"
    grep -q "fini closed" "$W/fini" 2>/dev/null; ok $? "$1: fini ran"
}
REDIR='2>&-'; round "2>&-"
REDIR='<&- >&- 2>&-'; round "0, 1 and 2 closed"
rm -rf "$W"
