#!/bin/sh
# plugins_dir.sh - the default plugins directory is "plugins" beside the conf
# dir, whatever the working directory (issue 9.2); an ini's relative
# plugins_dir and -p keep their meaning.  Emits TAP.
top_builddir=${top_builddir:-.}
. "${top_srcdir:-.}/t/lib/tap.sh"
D="$(cd "$top_builddir" && pwd)/jobhostd"
P="$top_builddir/t/plugins/h_basic.so"
W="$(cd "$top_builddir" && pwd)/t/plugins_dir.dir"

if [ ! -x "$D" ] || [ ! -f "$P" ]; then
    echo "1..0 # SKIP jobhostd or t/plugins/h_basic.so not built"
    exit 0
fi
echo "1..5"
rm -rf "$W"
mkdir -p "$W/etc/conf.d" "$W/etc/plugins" "$W/etc/other" "$W/cwd"
cp "$P" "$W/etc/plugins/h_basic.so"
cp "$P" "$W/etc/other/h_basic.so"

(cd / && "$D" --check -c "$W/etc/conf.d") > "$W/out" 2> "$W/err"
st=$?
ok $st "cd / && jobhostd --check -c DIR/conf.d loads DIR/plugins"
[ $st -eq 0 ] || sed 's/^/# /' "$W/err"
grep -q "h_basic.auto" "$W/out"; ok $? "and lists its implicit job"

# A "plugins" in the working directory is not the one used.
mkdir -p "$W/cwd/plugins"
(cd "$W/cwd" && "$D" --check -c ../etc/conf.d) > "$W/out" 2> "$W/err" &&
    grep -q "h_basic.auto" "$W/out"
ok $? "a relative conf dir: its sibling plugins/, not the working directory's"

printf '[host]\nplugins_dir = other\n' > "$W/etc/conf.d/00-host.ini"
rm -rf "$W/etc/plugins"
(cd / && "$D" --check -c "$W/etc/conf.d") > "$W/out" 2> "$W/err"
ok $? "[host] plugins_dir = other is beside the conf dir too"

(cd / && "$D" --check -c "$W/etc/conf.d" -p "$W/cwd/plugins") > "$W/out" 2> "$W/err"
grep -q "h_basic" "$W/out"; [ $? -ne 0 ]; ok $? "-p overrides both (an empty directory: no plugin)"
rm -rf "$W"
