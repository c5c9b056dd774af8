#!/bin/sh
# t/lib/db_ctl.sh CMD - drive the private MariaDB that t/service/db.sh (or
# bench/db_bench.sh) started, from a test program: kill (-9), stop,
# restart (same port and socket), pause / resume (SIGSTOP / SIGCONT), sql "SQL" (as root).
# Needs JH_TEST_MYSQL_DIR in the environment (jh__mariadb_start exports it).
. "$(dirname "$0")/mariadb.sh"
[ -n "$JH_TEST_MYSQL_DIR" ] || { echo "db_ctl.sh: JH_TEST_MYSQL_DIR not set" >&2; exit 2; }
case $1 in
kill) jh__mariadb_kill ;;
stop) jh__mariadb_stop ;;
restart) jh__mariadb_restart ;;
pause) jh__mariadb_pause ;;
resume) jh__mariadb_resume ;;
sql) jh__mariadb_sql "$2" ;;
*) echo "usage: db_ctl.sh kill|stop|restart|pause|resume|sql SQL" >&2; exit 2 ;;
esac
