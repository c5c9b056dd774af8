#!/bin/sh
# check.sh - jobhostd --check on configurations the reader must refuse at
# once: rdkafka.* properties start-up refuses (--check validates them with
# the same code) and conf.d entries that are not regular files (a FIFO, a
# symlink to /dev/zero).  Emits TAP.
top_builddir=${top_builddir:-.}
. "${top_srcdir:-.}/t/lib/tap.sh"
D="$top_builddir/jobhostd"
P="$top_builddir/t/plugins/h_basic.so"
W="$top_builddir/t/config/check.dir"

# check_within TENTHS: jobhostd --check on $W/conf.d, killed after TENTHS;
# its status in $st (124 when it had to be killed).
check_within() {
    "$D" --check -c "$W/conf.d" -p "$W/plugins" > "$W/out" 2> "$W/err" &
    pid=$!
    i=0
    while [ $i -lt "$1" ] && kill -0 $pid 2>/dev/null; do
        sleep 0.1; i=$((i + 1))
    done
    if kill -0 $pid 2>/dev/null; then
        kill -9 $pid; wait $pid; st=124
    else
        wait $pid; st=$?
    fi
}
fresh() {
    rm -rf "$W/conf.d"; mkdir -p "$W/conf.d"
    printf '[job t]\nplugin = h_basic\nhandler = tick\nevery = 1s\n' > "$W/conf.d/20-jobs.ini"
}

if [ ! -x "$D" ] || [ ! -f "$P" ]; then
    echo "1..0 # SKIP jobhostd or t/plugins/h_basic.so not built"
    exit 0
fi
rm -rf "$W"
mkdir -p "$W/plugins"
cp "$P" "$W/plugins/h_basic.so"

# Item 5: the [kafka] section's properties.
fresh
printf '[kafka k]\nbrokers = 127.0.0.1:1\nrdkafka.client.id = jobhost\n' > "$W/conf.d/30-k.ini"
check_within 100
[ "$st" -eq 0 ]; ok $? "--check passes a good [kafka] section"
printf '[kafka k]\nbrokers = 127.0.0.1:1\n\nrdkafka.bogus.prop = 1\n' > "$W/conf.d/30-k.ini"
check_within 100
[ "$st" -eq 1 ]; ok $? "--check refuses rdkafka.bogus.prop"
has "$W/err" "30-k.ini:4: \[kafka k\]: rdkafka.bogus.prop: "; ok $? "... naming file:line"
printf '[kafka k]\nbrokers = 127.0.0.1:1\nrdkafka.compression.type = zip\n' > "$W/conf.d/30-k.ini"
check_within 100
[ "$st" -eq 1 ]; ok $? "--check refuses rdkafka.compression.type = zip"
has "$W/err" "30-k.ini:3: \[kafka k\]: rdkafka.compression.type: "; ok $? "... naming file:line"
# A property librdkafka takes alone but refuses when creating the producer.
printf '[kafka k]\nbrokers = 127.0.0.1:1\nrdkafka.acks = 1\n' > "$W/conf.d/30-k.ini"
check_within 100
[ "$st" -eq 1 ]; ok $? "--check refuses acks = 1 with the idempotent producer"
has "$W/err" "\[kafka k\]: cannot create the producer"; ok $? "... as start-up does"

# Item 6: conf.d entries that are not regular files, refused within a second.
fresh
mkfifo "$W/conf.d/x.ini"
check_within 10
[ "$st" -eq 1 ]; ok $? "--check with a FIFO x.ini exits 1 within a second (status $st)"
has "$W/err" "conf.d/x.ini: not a regular file (a FIFO)"; ok $? "... naming it"
fresh
ln -s /dev/zero "$W/conf.d/z.ini"
check_within 10
[ "$st" -eq 1 ]; ok $? "--check with z.ini -> /dev/zero exits 1 within a second (status $st)"
has "$W/err" "conf.d/z.ini: not a regular file (a character device)"; ok $? "... naming it"

# Item 7: errors that had no file:line.
fresh
printf '\n[job h_basic.auto]\nplugin = h_basic\nhandler = tick\nevery = 1s\n' > "$W/conf.d/30-j.ini"
check_within 100
[ "$st" -eq 1 ]; ok $? "--check refuses a [job] named like an implicit job"
has "$W/err" "conf.d/30-j.ini:2: job \"h_basic.auto\": a \[job\] has the name of the implicit job"
ok $? "... at the [job]'s file:line"
fresh
printf '[plugin h_basic]\nmarker = m\n\nfail_init = yes\n' > "$W/conf.d/10-p.ini"
check_within 100
[ "$st" -eq 1 ]; ok $? "--check refuses a plugin whose init fails"
has "$W/err" "conf.d/10-p.ini:4: plugin h_basic (.*): init failed: fail_init is set"
ok $? "... at the line of the [plugin] value its message names"

echo "1..$n"
exit $failed
