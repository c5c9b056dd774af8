#!/bin/sh
# t/lib/db_ctl.sh CMD - drive the private MariaDB that t/db.sh (or
# bench/db_bench.sh) started, from a test program: kill (-9), stop,
# restart (same port and socket), pause / resume (SIGSTOP / SIGCONT), sql "SQL" (as root).
# Needs JH_TEST_MYSQL_DIR in the environment (jh_mariadb_start exports it).
. "$(dirname "$0")/mariadb.sh"
[ -n "$JH_TEST_MYSQL_DIR" ] || { echo "db_ctl.sh: JH_TEST_MYSQL_DIR not set" >&2; exit 2; }
case $1 in
kill) jh_mariadb_kill ;;
stop) jh_mariadb_stop ;;
restart) jh_mariadb_restart ;;
pause) jh_mariadb_pause ;;
resume) jh_mariadb_resume ;;
sql) jh_mariadb_sql "$2" ;;
*) echo "usage: db_ctl.sh kill|stop|restart|pause|resume|sql SQL" >&2; exit 2 ;;
esac
