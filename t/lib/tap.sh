# t/lib/tap.sh - TAP helpers for the shell tests (POSIX sh; source it):
#   . "${top_srcdir:-.}/t/lib/tap.sh"
# ok STATUS DESCRIPTION   one test point from a command's exit status
# is GOT WANT DESCRIPTION one test point comparing two strings
# has FILE PATTERN        0 if PATTERN occurs in FILE
# count FILE PATTERN      how many lines of FILE match
# wait_for FILE PATTERN TENTHS   poll until PATTERN appears (0) or time is up (1)
# wait_exit PID TENTHS           0 once PID has exited, 1 if it still runs
# $n counts the test points; $failed is 1 once one failed.
n=0
failed=0

ok() {
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi
}
is() {
    [ "$1" = "$2" ]; r=$?
    ok $r "$3"
    [ $r -eq 0 ] || echo "#   got: '$1', wanted: '$2'"
}
has() { grep -q -- "$2" "$1"; }
count() { grep -c -- "$2" "$1" 2>/dev/null || true; }
wait_for() {
    i=0
    while [ $i -lt "$3" ]; do
        grep -q -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1; i=$((i + 1))
    done
    return 1
}
wait_exit() {
    i=0
    while [ $i -lt "$2" ]; do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.1; i=$((i + 1))
    done
    return 1
}
