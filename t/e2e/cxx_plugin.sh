#!/bin/sh
# cxx_plugin.sh - a plugin written in C++ (t/plugins/cxx.cc, built with the
# C++ compiler) exports `jobhost_plugin` unmangled, and jobhostd loads it
# and runs its handler.  Then include/jobhost.h itself under the C++
# compiler: clean in C++11/17/20 with -Wall -Wextra -pedantic, and
# JH_PLUGIN_DESC clean in C++20 (C++17 takes it as an extension).
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
D="$top_builddir/jobhostd"
P="$top_builddir/t/plugins/cxx.so"
W="$top_builddir/t/e2e/cxx_plugin.dir"
n=0
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }

[ -n "$CXX" ] && [ -f "$P" ] || { echo "1..0 # SKIP no C++20 compiler (t/plugins/cxx.so not built)"; exit 0; }
command -v nm > /dev/null 2>&1 || { echo "1..0 # SKIP no nm"; exit 0; }
rm -rf "$W" && mkdir -p "$W/conf.d" "$W/plugins" || exit 1
cp "$P" "$W/plugins/"
echo "1..9"

nm -D --defined-only "$P" > "$W/nm" 2>&1
grep -Eq '^[0-9a-f]+ [DR] jobhost_plugin$' "$W/nm"
ok $? "nm -D shows jobhost_plugin, unmangled and defined"
grep -q ' _Z[^ ]*jobhost_plugin' "$W/nm"
[ $? -ne 0 ]; ok $? "and no C++-mangled (_Z...) copy of it"
"$D" --check -c "$W/conf.d" -p "$W/plugins" -s "$W/state" > "$W/check" 2>&1
ok $? "--check loads the C++ plugin"
[ $? -eq 0 ] || sed 's/^/# /' "$W/check"
"$D" -c "$W/conf.d" -p "$W/plugins" -s "$W/state" 2> "$W/log" &
pid=$!
i=0
while [ $i -lt 100 ]; do
    [ "$(grep -c 'event=run.finish job=cxx.tick.*result=ok' "$W/log")" -ge 2 ] && break
    sleep 0.1; i=$((i + 1))
done
kill -TERM $pid; wait $pid; rc=$?
ok $rc "jobhostd exits 0 on SIGTERM"
grep -q 'event=cxx.ok .*greeting=hello caught="thrown and caught"' "$W/log" &&
    [ "$(grep -c 'event=run.finish job=cxx.tick.*result=ok' "$W/log")" -ge 2 ]
ok $? "its handler runs and succeeds (std::string, an exception caught inside)"
[ $? -eq 0 ] || sed 's/^/# /' "$W/log"

cxx_() { $CXX -fsyntax-only -I"$top_srcdir/include" -Wall -Wextra -Werror "$@" > "$W/out" 2>&1 ||
    { sed 's/^/# /' "$W/out"; return 1; }; }
printf '#include <jobhost.h>\nint f(jh_ctx *c) { return jh_lock_acquire(c, "k", 1); }\n' > "$W/h.cc"
r=0; for std in c++11 c++17 c++20; do cxx_ -std=$std -pedantic "$W/h.cc" || r=1; done
ok $r "the header alone is clean in C++11, C++17 and C++20 (-pedantic)"
r=0; cxx_ -std=c++20 -pedantic "$top_srcdir/t/plugins/cxx.cc" || r=1
ok $r "JH_PLUGIN_DESC is clean in C++20 (-Wall -Wextra -pedantic -Werror)"
r=0; cxx_ -std=c++17 "$top_srcdir/t/plugins/cxx.cc" || r=1
ok $r "and accepted in C++17 as an extension (-Wall -Wextra -Werror, no -pedantic)"
$CXX -std=c++20 -fsyntax-only -I"$top_srcdir/include" -x c++ - > "$W/out" 2>&1 <<'SRC'
#include <jobhost.h>
static_assert(offsetof(jh_plugin_desc, requires_) + 8 == sizeof(jh_plugin_desc), "requires_ is C's requires");
SRC
ok $? "C++ spells the field requires_ (a C++20 keyword), at C's place"
rm -rf "$W"
