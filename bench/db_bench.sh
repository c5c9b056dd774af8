#!/bin/sh
# bench/db_bench.sh [BUILDDIR] [SECONDS] - the SQL service's figures against a
# private mariadbd (t/lib/mariadb.sh: temp dir, 127.0.0.1, unix socket):
# point reads by primary key and keyset pagination over 10,000 rows.
# Builds what it needs.  Use a build without --enable-sanitizers for
# figures that mean something (ASan slows the client side several times).
B=${1:-.}
SECS=${2:-2}
top_srcdir=$(cd "$(dirname "$0")/.." && pwd)
top_builddir=$(cd "$B" && pwd)
export top_srcdir top_builddir
make -s -C "$top_builddir" bench/db_bench t/plugins/db_p.so >/dev/null || exit 1
. "$top_srcdir/t/lib/mariadb.sh"
jh__mariadb_start
case $? in
0) ;;
2) echo "db_bench: mariadbd not installed" >&2; exit 0 ;;
*) echo "db_bench: cannot start mariadbd" >&2; exit 1 ;;
esac
grep -q -- '-fsanitize=address' "$top_builddir/Makefile" 2>/dev/null &&
    echo "note: $top_builddir is a sanitizer build: client-side costs are inflated"
echo "mariadbd $("$(jh__mariadb_bin)" --version | awk '{print $3}'), $(nproc) CPUs, ${SECS}s per figure"
"$top_builddir/bench/db_bench" "$top_builddir/t/plugins/db_p.so" "$SECS"
