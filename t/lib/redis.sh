# t/lib/redis.sh - a throw-away redis-server for tests (POSIX sh; source it).
#
#   . "$top_srcdir/t/lib/redis.sh"
#   redis_have || { echo "1..0 # SKIP redis-server not installed"; exit 0; }
#   trap redis_cleanup EXIT; trap 'exit 1' INT TERM HUP
#   redis_start || exit 1      # exports JH_TEST_REDIS_PORT, JH_TEST_REDIS_SOCK
#   redis_restart              # same port, empty data set
#   redis_kill9                # crash it (no shutdown)
#   redis_stop
#
# Only ever 127.0.0.1 and a unix socket in a private temp dir.  The port is
# random in 20000-59999; one a server cannot bind (or that answers as some
# other server) is given up for another, up to 20 tries.  A started server
# is recognised by its `dir` (our temp dir), so we never talk to a stranger
# that happened to hold the port.

# Kept from the environment, so a child shell (a C test's system()) can
# source this file and restart the server its parent started.
: "${JH_REDIS_DIR:=}" "${JH_TEST_REDIS_PORT:=}" "${JH_TEST_REDIS_SOCK:=}"

redis_have() {
    command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1
}

redis_cli() { # redis_cli ARGS... : one command to our server
    redis-cli -h 127.0.0.1 -p "$JH_TEST_REDIS_PORT" "$@"
}

_redis_rand_port() {
    r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
    echo $((20000 + r % 40000))
}

# _redis_launch PORT: start a daemon on PORT; 0 once it answers as ours.
_redis_launch() {
    rm -f "$JH_REDIS_DIR/redis.pid" "$JH_REDIS_DIR/redis.sock"
    redis-server --port "$1" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$JH_REDIS_DIR" --daemonize yes --pidfile "$JH_REDIS_DIR/redis.pid" \
        --logfile "$JH_REDIS_DIR/redis.log" --unixsocket "$JH_REDIS_DIR/redis.sock" \
        --unixsocketperm 700 ${JH_REDIS_EXTRA:-} >/dev/null 2>&1 || return 1
    i=0
    while [ $i -lt 100 ]; do # 10 s
        if [ -s "$JH_REDIS_DIR/redis.pid" ]; then
            pid=$(cat "$JH_REDIS_DIR/redis.pid")
            d=$(redis-cli -h 127.0.0.1 -p "$1" ${JH_REDIS_CLI_AUTH:-} --raw config get dir 2>/dev/null | sed -n 2p)
            if [ "$d" = "$JH_REDIS_DIR" ]; then
                JH_TEST_REDIS_PORT=$1
                JH_TEST_REDIS_SOCK=$JH_REDIS_DIR/redis.sock
                export JH_REDIS_DIR JH_TEST_REDIS_PORT JH_TEST_REDIS_SOCK
                return 0
            fi
            # The daemon exits when it cannot bind the port.
            kill -0 "$pid" 2>/dev/null || return 1
        fi
        sleep 0.1
        i=$((i + 1))
    done
    _redis_wait_gone
    return 1
}

# _redis_gone SIGNAL: signal the daemon we started (pid from its pidfile,
# which the daemon removes itself on a clean exit) and wait until it is gone.
_redis_gone() {
    [ -n "$JH_REDIS_DIR" ] && [ -s "$JH_REDIS_DIR/redis.pid" ] || return 0
    pid=$(cat "$JH_REDIS_DIR/redis.pid")
    kill "-$1" "$pid" 2>/dev/null || true
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$JH_REDIS_DIR/redis.pid"
}
_redis_wait_gone() { _redis_gone TERM; }

# redis_start: a new server in a new temp dir.  JH_REDIS_EXTRA adds
# redis-server options (e.g. "--requirepass s3cret"); JH_REDIS_CLI_AUTH
# then gives redis-cli's ("-a s3cret --no-auth-warning").
redis_start() {
    JH_REDIS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/jh-redis.XXXXXX") || return 1
    n=0
    while [ $n -lt 20 ]; do
        if _redis_launch "$(_redis_rand_port)"; then
            return 0
        fi
        n=$((n + 1))
    done
    echo "# redis_start: no server after 20 ports; log:" >&2
    sed 's/^/# /' "$JH_REDIS_DIR/redis.log" >&2 2>/dev/null
    return 1
}

redis_stop() {
    _redis_wait_gone
}

# redis_restart: stop and start again on the same port (clients see their
# connections closed; the data set starts empty).
redis_restart() {
    _redis_wait_gone
    n=0
    while [ $n -lt 30 ]; do
        _redis_launch "$JH_TEST_REDIS_PORT" && return 0
        sleep 0.2
        n=$((n + 1))
    done
    return 1
}

# redis_kill9: crash the server; the port is free once it has gone.
redis_kill9() { _redis_gone KILL; }

redis_cleanup() {
    _redis_wait_gone
    if [ -n "$JH_REDIS_DIR" ]; then rm -rf "$JH_REDIS_DIR"; fi
    JH_REDIS_DIR=
}
