#!/bin/sh
# header.sh - include/jobhost.h as a plugin author's compiler sees it:
# the ABI version is not user-settable (-DJH_ABI_MAJOR/MINOR with another
# value stops the build with a clear message instead of being replaced).
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
CC=${CC:-cc}
W="$top_builddir/t/plugin/header.dir"
n=0
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
cc_() { $CC -fsyntax-only -I"$top_srcdir/include" "$@" > "$W/out" 2>&1; }
# Fails (non-zero) unless the compiler refused and said why.
refused() { cc_ "$@" && return 1; grep -q "$pat" "$W/out" || { sed 's/^/# /' "$W/out"; return 1; }; }

rm -rf "$W" && mkdir -p "$W" || exit 1
cat > "$W/abi.c" <<'SRC'
#include <jobhost.h>
_Static_assert(JH_ABI_MAJOR == 1 && JH_ABI_MINOR == 1, "the header's ABI");
SRC
echo "1..5"

cc_ -std=c11 -Wall -Wextra -pedantic -Werror "$W/abi.c"
ok $? "the header compiles as C11 (-Wall -Wextra -pedantic)"
pat='JH_ABI_MAJOR is predefined to another value: the ABI version is not user-settable'
refused -DJH_ABI_MAJOR=2 "$W/abi.c"
ok $? "-DJH_ABI_MAJOR=2 stops the build, saying the ABI is not user-settable"
pat='JH_ABI_MINOR is predefined to another value: the ABI version is not user-settable'
refused -DJH_ABI_MINOR=0 "$W/abi.c"
ok $? "-DJH_ABI_MINOR=0 stops the build the same way"
cc_ -DJH_ABI_MAJOR=1 -DJH_ABI_MINOR=1 -Wall -Werror "$W/abi.c"
ok $? "predefining the header's own values is harmless"
pat='JH_ABI_MAJOR is predefined'
refused -DJH_ABI_MAJOR=banana "$W/abi.c"
ok $? "a non-numeric JH_ABI_MAJOR is refused too"
rm -rf "$W"
