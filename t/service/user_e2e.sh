#!/bin/sh
# user_e2e.sh - t/service/user_e2e.t against a private mariadbd (t/lib/mariadb.sh);
# Kafka is librdkafka's mock cluster inside the test.  Emits TAP (the
# program's); skips when mariadbd is not installed.
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
export top_srcdir top_builddir

if [ ! -x "$top_builddir/t/service/user_e2e.t" ] || [ ! -f "$top_builddir/plugins/user.so" ]; then
    echo "1..0 # SKIP t/service/user_e2e.t or plugins/user.so not built"
    exit 0
fi
if [ ! -f "$top_srcdir/t/lib/mariadb.sh" ]; then
    echo "1..0 # SKIP t/lib/mariadb.sh missing"
    exit 0
fi
. "$top_srcdir/t/lib/mariadb.sh"
jh__mariadb_start_tap
# Not exec: the EXIT trap of jh__mariadb_start stops the server afterwards.
"$top_builddir/t/service/user_e2e.t"
exit $?
