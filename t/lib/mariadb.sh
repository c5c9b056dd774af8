# t/lib/mariadb.sh - a private MariaDB server for the tests (POSIX sh; source it).
#
#   jh__mariadb_start [DIR]   make DIR (default: a mktemp dir), start mariadbd
#                            there on 127.0.0.1:FREE and DIR/sock, create the
#                            database jobhost_test and a user with a password,
#                            export JH_TEST_MYSQL_{PORT,SOCKET,USER,PASSWORD,
#                            PASSWORD_FILE,DB,DIR}; removes DIR on exit (trap)
#                            when it made it.  Returns 2 when mariadbd is not
#                            installed (the caller skips), 1 on failure.
#   jh__mariadb_stop          clean shutdown (waits for the process to go)
#   jh__mariadb_kill          kill -9, as a crash would
#   jh__mariadb_restart       start again: same datadir, port and socket
#   jh__mariadb_pause/resume  SIGSTOP / SIGCONT (a server that hangs)
#   jh__mariadb_sql SQL       run SQL as root over the socket
#   jh__mariadb_cleanup       stop and remove DIR (what the trap runs)
#
# Every function after start finds the server through $JH_TEST_MYSQL_DIR, so
# a test program can drive it too: `sh t/lib/db_ctl.sh kill|restart|stop|pause|resume`.
#
# Speed: mariadb-install-db takes about half a second and writes the same
# files every time, so the first start keeps an initialised datadir under
# $top_builddir/t/mariadb.template and later starts copy it (~50 ms).  The
# template holds only the system tables: the test database and user are
# created after each start, so a password never lands in the build dir.

JH_MARIADBD=${JH_MARIADBD:-mariadbd}
JH_MARIADB_INSTALL=${JH_MARIADB_INSTALL:-mariadb-install-db}
JH_MARIADB_CLIENT=${JH_MARIADB_CLIENT:-mariadb}
# Small and fast: the tests never need durability across a host crash.
JH_MARIADB_OPTS="--innodb-buffer-pool-size=32M --innodb-log-file-size=8M \
--innodb-flush-log-at-trx-commit=2 --skip-name-resolve --skip-log-bin \
--max-connections=200 --performance-schema=OFF"

jh__mariadb_have() {
    command -v "$JH_MARIADBD" >/dev/null 2>&1 || [ -x /usr/sbin/"$JH_MARIADBD" ] || return 1
    command -v "$JH_MARIADB_INSTALL" >/dev/null 2>&1 || return 1
    command -v "$JH_MARIADB_CLIENT" >/dev/null 2>&1 || return 1
    return 0
}

jh__mariadb_bin() {
    if command -v "$JH_MARIADBD" >/dev/null 2>&1; then command -v "$JH_MARIADBD"
    else echo /usr/sbin/"$JH_MARIADBD"; fi
}

# A port in 20000..59999 (mariadbd itself tells whether it is free).
jh__mariadb_pick_port() {
    r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
    echo $((20000 + r % 40000))
}

# The cached, initialised datadir; made once per build dir.  Built beside
# the final name and renamed, so two tests starting at once never see a
# half-made template.
jh__mariadb_template() {
    tpl=${top_builddir:-.}/t/mariadb.template
    if [ -f "$tpl/.ready" ]; then echo "$tpl"; return 0; fi
    mkdir -p "${top_builddir:-.}/t" || return 1
    tmp=$(mktemp -d "${top_builddir:-.}/t/mariadb.template.XXXXXX") || return 1
    if ! "$JH_MARIADB_INSTALL" --no-defaults --auth-root-authentication-method=normal \
            --user=root --skip-test-db --skip-name-resolve --datadir="$tmp/data" \
            --innodb-log-file-size=8M --innodb-buffer-pool-size=32M \
            > "$tmp/install.log" 2>&1; then
        cat "$tmp/install.log" >&2
        rm -rf "$tmp"
        return 1
    fi
    touch "$tmp/data/.ready"
    if mv -T "$tmp/data" "$tpl" 2>/dev/null; then :; fi
    rm -rf "$tmp"
    [ -f "$tpl/.ready" ] || return 1
    echo "$tpl"
}

# Start mariadbd on the datadir, port and socket recorded in $JH_TEST_MYSQL_DIR.
jh__mariadb_launch() {
    d=$JH_TEST_MYSQL_DIR
    "$(jh__mariadb_bin)" --no-defaults --user=root --datadir="$d/data" \
        --socket="$d/sock" --port="$(cat "$d/port")" --bind-address=127.0.0.1 \
        --skip-networking=0 --pid-file="$d/mariadbd.pid" --log-error="$d/error.log" \
        $JH_MARIADB_OPTS < /dev/null > "$d/stdout.log" 2>&1 &
    echo $! > "$d/server.pid"
}

# Wait (up to 30 s) until the server answers; 1 if it died or never did.
jh__mariadb_wait() {
    d=$JH_TEST_MYSQL_DIR
    pid=$(cat "$d/server.pid")
    i=0
    while [ $i -lt 300 ]; do
        if "$JH_MARIADB_CLIENT" --no-defaults -uroot -S "$d/sock" -e 'SELECT 1' \
                >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

jh__mariadb_sql() {
    "$JH_MARIADB_CLIENT" --no-defaults -uroot -S "$JH_TEST_MYSQL_DIR/sock" -N -B -e "$1"
}

jh__mariadb_start() {
    jh__mariadb_have || return 2
    tpl=$(jh__mariadb_template) || { echo "mariadb-install-db failed" >&2; return 1; }
    if [ -n "$1" ]; then
        JH_TEST_MYSQL_DIR=$1
        mkdir -p "$1" || return 1
        jh__mariadb_owned=0
    else
        JH_TEST_MYSQL_DIR=$(mktemp -d "${TMPDIR:-/tmp}/jh-mariadb.XXXXXX") || return 1
        jh__mariadb_owned=1
        trap 'jh__mariadb_cleanup' EXIT
        trap 'jh__mariadb_cleanup; exit 1' INT TERM HUP
    fi
    export JH_TEST_MYSQL_DIR
    d=$JH_TEST_MYSQL_DIR
    tries=0
    while :; do
        rm -rf "$d/data"
        cp -R "$tpl" "$d/data" || return 1
        jh__mariadb_pick_port > "$d/port"
        jh__mariadb_launch
        if jh__mariadb_wait; then break; fi
        jh__mariadb_kill
        tries=$((tries + 1))
        # Most likely the port was taken: try another.
        if [ $tries -ge 5 ] || ! grep -q 'Bind on TCP/IP port\|Address already in use' \
                "$d/error.log" 2>/dev/null; then
            echo "mariadbd did not start; $d/error.log:" >&2
            tail -20 "$d/error.log" >&2
            return 1
        fi
    done
    JH_TEST_MYSQL_PORT=$(cat "$d/port")
    JH_TEST_MYSQL_SOCKET=$d/sock
    JH_TEST_MYSQL_USER=jh__test
    JH_TEST_MYSQL_PASSWORD=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
    JH_TEST_MYSQL_DB=jobhost_test
    JH_TEST_MYSQL_PASSWORD_FILE=$d/password
    (umask 077; printf '%s\n' "$JH_TEST_MYSQL_PASSWORD" > "$JH_TEST_MYSQL_PASSWORD_FILE")
    export JH_TEST_MYSQL_PORT JH_TEST_MYSQL_SOCKET JH_TEST_MYSQL_USER \
        JH_TEST_MYSQL_PASSWORD JH_TEST_MYSQL_DB JH_TEST_MYSQL_PASSWORD_FILE
    jh__mariadb_sql "CREATE DATABASE jobhost_test CHARACTER SET utf8mb4;
        CREATE USER 'jh__test'@'localhost' IDENTIFIED BY '$JH_TEST_MYSQL_PASSWORD';
        CREATE USER 'jh__test'@'127.0.0.1' IDENTIFIED BY '$JH_TEST_MYSQL_PASSWORD';
        GRANT ALL ON jobhost_test.* TO 'jh__test'@'localhost';
        GRANT ALL ON jobhost_test.* TO 'jh__test'@'127.0.0.1';" || return 1
}

# Wait (up to 30 s) for the server process to be gone.
# For a TAP test script: start the server, or end the script the way TAP
# wants: a plan of 0 with SKIP when MariaDB is not installed, "Bail out!"
# when it is but will not start.
jh__mariadb_start_tap() {
    jh__mariadb_start "$@"
    case $? in
    0) ;;
    2) echo "1..0 # SKIP mariadbd, mariadb-install-db or mariadb not installed"; exit 0 ;;
    *) echo "Bail out! cannot start a private mariadbd"; exit 1 ;;
    esac
}

jh__mariadb_gone() {
    pid=$(cat "$JH_TEST_MYSQL_DIR/server.pid" 2>/dev/null) || return 0
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 300 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    # Reap it if it is our child (no zombie left for kill -0 to see).
    wait "$pid" 2>/dev/null
    ! kill -0 "$pid" 2>/dev/null
}

jh__mariadb_stop() {
    [ -n "$JH_TEST_MYSQL_DIR" ] && [ -f "$JH_TEST_MYSQL_DIR/server.pid" ] || return 0
    kill -TERM "$(cat "$JH_TEST_MYSQL_DIR/server.pid")" 2>/dev/null
    jh__mariadb_gone
}

jh__mariadb_kill() {
    [ -n "$JH_TEST_MYSQL_DIR" ] && [ -f "$JH_TEST_MYSQL_DIR/server.pid" ] || return 0
    kill -KILL "$(cat "$JH_TEST_MYSQL_DIR/server.pid")" 2>/dev/null
    jh__mariadb_gone
}

# SIGSTOP / SIGCONT: a server that accepts connections but never answers.
# kill -STOP returns before every thread has stopped; wait until none runs
# (state T in /proc/PID/task/*/stat), so the caller's next query meets a
# server that truly hangs.
jh__mariadb_pause() {
    pid=$(cat "$JH_TEST_MYSQL_DIR/server.pid")
    kill -STOP "$pid" || return 1
    i=0
    while [ $i -lt 100 ]; do
        running=$(cat /proc/"$pid"/task/*/stat 2>/dev/null | awk '$3 != "T"' | wc -l)
        [ "$running" -eq 0 ] && return 0
        sleep 0.05
        i=$((i + 1))
    done
    return 1
}

jh__mariadb_resume() {
    kill -CONT "$(cat "$JH_TEST_MYSQL_DIR/server.pid")"
}

jh__mariadb_restart() {
    jh__mariadb_stop
    rm -f "$JH_TEST_MYSQL_DIR/sock" "$JH_TEST_MYSQL_DIR/sock.lock"
    jh__mariadb_launch
    jh__mariadb_wait
}

jh__mariadb_cleanup() {
    jh__mariadb_resume 2>/dev/null
    jh__mariadb_stop
    if [ "${jh__mariadb_owned:-0}" = 1 ] && [ -n "$JH_TEST_MYSQL_DIR" ]; then
        rm -rf "$JH_TEST_MYSQL_DIR"
    fi
}
