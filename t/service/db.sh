#!/bin/sh
# db.sh - the SQL service against a real MariaDB: starts a private mariadbd
# (t/lib/mariadb.sh: temp dir, 127.0.0.1 on a free port, unix socket) and
# runs t/service/db.t, whose TAP is this test's output.  db.t kills and restarts
# the server itself through t/lib/db_ctl.sh.  The server and its dir go on exit.
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
export top_srcdir top_builddir
T="$top_builddir/t/service/db.t"

. "$top_srcdir/t/lib/mariadb.sh"
if ! jh__mariadb_have; then
    echo "1..0 # SKIP mariadbd, mariadb-install-db or the mariadb client not installed"
    exit 0
fi
if [ ! -x "$T" ]; then
    echo "Bail out! $T not built"
    exit 1
fi
t0=$(date +%s.%N)
if ! jh__mariadb_start; then
    echo "Bail out! cannot start mariadbd on 127.0.0.1"
    exit 1
fi
echo "# mariadbd on 127.0.0.1:$JH_TEST_MYSQL_PORT ($JH_TEST_MYSQL_DIR), up in" \
    "$(echo "$(date +%s.%N) - $t0" | bc 2>/dev/null || echo '?') s"
"$T"
rc=$?
[ $rc -eq 0 ] || { echo "# mariadbd error log (tail):"; tail -20 "$JH_TEST_MYSQL_DIR/error.log" | sed 's/^/#   /'; }
exit $rc
