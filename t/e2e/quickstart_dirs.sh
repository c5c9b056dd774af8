#!/bin/sh
# quickstart_dirs.sh - quickstart.sh's two modes build in different VPATH
# directories (issue 9.1): build/run (plain) and build/check (sanitizers),
# so either order works on one clone.  Cheap: quickstart.sh runs on a copy
# with stub configure, make, dpkg-query and jobhostd that only record what
# they were asked; the real sequence is in the README (Tests).  Emits TAP.
S=${top_srcdir:-.}
W="$(cd "${top_builddir:-.}" && pwd)/t/quickstart_dirs.dir"
n=0

ok() { # ok COND-STATUS DESCRIPTION
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; bad=1; fi
}

echo "1..10"
rm -rf "$W"
mkdir -p "$W/src/t" "$W/bin"
cp "$S/quickstart.sh" "$W/src/"
L="$W/calls"
cat > "$W/src/configure" <<SH
#!/bin/sh
echo "configure \$PWD \$*" >> "$L"
: > config.status
SH
cat > "$W/bin/make" <<SH
#!/bin/sh
dir=\$PWD; args=""
while [ \$# -gt 0 ]; do
    case "\$1" in -C) dir=\$2; shift ;; -s|-j*) ;; *) args="\$args \$1" ;; esac
    shift
done
cd "\$dir" && dir=\$PWD
echo "make \$dir\$args" >> "$L"
case "\$args" in
"") printf '#!/bin/sh\necho "jobhostd \$PWD \$*" >> "$L"\n' > jobhostd; chmod +x jobhostd ;;
" check") mkdir -p t && printf ':global-test-result: PASS\n' > t/a.trs ;;
esac
SH
printf '#!/bin/sh\necho "install ok installed"\n' > "$W/bin/dpkg-query"
chmod +x "$W/src/configure" "$W/bin/make" "$W/bin/dpkg-query"
# A stale result outside build/check must not be counted.
printf ':global-test-result: FAIL\n' > "$W/src/t/stale.trs"

cd "$W/src" || exit 1
PATH="$W/bin:$PATH" sh ./quickstart.sh check > "$W/out" 2>&1; st=$?
ok $st "check exits 0"
grep -q "^1 passed, 0 failed, 0 skipped$" "$W/out"; ok $? "the summary counts build/check's .trs files only"
grep -q "^configure $W/src/build/check -q --enable-sanitizers --enable-werror$" "$L"
ok $? "check configures build/check with sanitizers"
PATH="$W/bin:$PATH" sh ./quickstart.sh run > "$W/out" 2>&1
grep -q "^configure $W/src/build/run -q$" "$L"; ok $? "run configures build/run without them"
grep -q "^make $W/src/build/run$" "$L"; ok $? "run builds in build/run"
grep -q "^jobhostd $W/src -c conf.d -p build/run/plugins$" "$L"
ok $? "run starts build/run/jobhostd on conf.d/ and the plugins built for it"
PATH="$W/bin:$PATH" sh ./quickstart.sh check > "$W/out" 2>&1
[ "$(grep -c '^configure' "$L")" -eq 2 ]; ok $? "check after run reconfigures nothing"
[ ! -f "$W/src/config.status" ]; ok $? "nothing is configured in the source tree"
# An in-tree build (./configure by hand) would make configure refuse VPATH.
: > config.status; rm -rf build/check
PATH="$W/bin:$PATH" sh ./quickstart.sh check > "$W/out" 2>&1
grep -q "^make $W/src distclean$" "$L" && [ ! -f config.status ]
ok $? "an in-tree build is cleaned away first"
grep -q "^1 passed, 0 failed, 0 skipped$" "$W/out"; ok $? "and check still runs"
[ -z "${bad:-}" ] && cd / && rm -rf "$W"
