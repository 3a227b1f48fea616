#!/bin/sh
# install.sh -- `make install PREFIX=...` gives a lunac that works from
# anywhere: installed into a temporary prefix, the prefix moved elsewhere,
# it builds a model from another directory and the executable runs. A lunac
# that cannot find its libraries (a bad LUNAC_HOME, a half-removed install)
# says where it looked and how to point it. Prints "ok - NAME" / "not ok - NAME: why".
cd "$(dirname "$0")/../.." || exit 2
if [ ! -x bin/lunac ]; then
	echo "not ok - install: bin/lunac is not built"; exit 1
fi
src=$(pwd)
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
ok() { echo "ok - $1"; }
bad() { echo "not ok - $1: $2"; }

if make -s --no-print-directory install PREFIX="$T/p" >"$T/log" 2>&1 &&
   [ -x "$T/p/bin/lunac" ] && [ -x "$T/p/bin/lunac-synth" ] && [ -f "$T/p/share/lunac/lua/nn.lua" ] &&
   [ -f "$T/p/lib/lunac/liblunacrt.a" ]; then
	ok "make install PREFIX: bin/lunac, bin/lunac-synth, share/lunac/lua, lib/lunac"
else
	bad "make install PREFIX: bin/lunac, bin/lunac-synth, share/lunac/lua, lib/lunac" "$(tail -3 "$T/log")"
fi
mv "$T/p" "$T/moved"
mkdir "$T/work" && cp models/tiny_cnn.lua "$T/work/model.lua"
cd "$T/work" || exit 2
if env -u LUNAC_HOME "$T/moved/bin/lunac" build model.lua -O0 -o tiny 2>"$T/err" &&
   ./tiny bench --entry predict --batch 2 --steps 1 --repeat 1 >/dev/null 2>>"$T/err"; then
	ok "installed lunac, moved, builds from another directory; the executable runs"
else
	bad "installed lunac, moved, builds from another directory; the executable runs" "$(head -3 "$T/err")"
fi
# refused NAME EXPECT CMD...: exit 1, EXPECT on stderr, no output file.
refused() {
	name=$1; expect=$2; shift 2
	"$@" >/dev/null 2>"$T/err"; rc=$?
	if [ "$rc" -ne 1 ]; then bad "$name" "exit $rc: $(head -2 "$T/err")"
	elif ! grep -qF -- "$expect" "$T/err"; then bad "$name" "stderr lacks \"$expect\": $(head -2 "$T/err")"
	elif ls | grep -q '^x'; then bad "$name" "left $(ls | grep '^x')"
	else ok "$name"; fi
}
refused "a bad LUNAC_HOME: where lunac looked, and how to point it" \
	"cannot find the Lua library nn.lua: looked in $T/none/share/lunac/lua and $T/none/frontend/lib ($T/none is from LUNAC_HOME); set LUNAC_HOME to the PREFIX" \
	env LUNAC_HOME="$T/none" "$T/moved/bin/lunac" build model.lua -o x
LUNAC_HOME="$src" "$T/moved/bin/lunac" build model.lua -O0 -o y1 2>"$T/err" &&
	LUNAC_HOME="$T/moved" "$src/bin/lunac" build model.lua -O0 -o y2 2>>"$T/err" &&
	ok "LUNAC_HOME: the source tree or an install prefix" ||
	bad "LUNAC_HOME: the source tree or an install prefix" "$(head -2 "$T/err")"
rm "$T/moved/lib/lunac/liblunacrt.a"
refused "an install without its runtime library: where lunac looked" \
	"cannot find the runtime library liblunacrt.a: looked in $T/moved/lib/lunac and $T/moved/lib ($T/moved is above this lunac's bin/)" \
	env -u LUNAC_HOME "$T/moved/bin/lunac" build model.lua -o x
exit 0
