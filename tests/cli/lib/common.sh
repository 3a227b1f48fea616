# tests/cli/lib/common.sh -- the assertions every shell test shares. A test
# sources it after it has made its scratch directory $tmp:
#
#   cd "$(dirname "$0")/../.." || exit 2
#   tmp=$(mktemp -d) || exit 2
#   trap 'rm -rf "$tmp"' EXIT
#   . tests/cli/lib/common.sh
#
# Each assertion prints "ok - NAME" or "not ok - NAME: why" (tests/run.sh
# counts them). Not a test itself: tests/run.sh runs tests/cli/*.sh only.

# ok NAME / notok NAME WHY: report one check.
ok() { echo "ok - $1"; }
notok() { echo "not ok - $1: $2"; }

# check NAME CMD...: ok when CMD succeeds.
check() { n=$1; shift; if "$@" >"$tmp/check.out" 2>&1; then ok "$n"; else notok "$n" "$(head -c 400 "$tmp/check.out")"; fi; }

# expect_status NAME WANT CMD...: the exit status is WANT; stdout in $tmp/out, stderr in $tmp/err.
expect_status() {
	n=$1; want=$2; shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"; rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$n"; else notok "$n" "exit $rc, wanted $want: $(head -c 300 "$tmp/err")"; fi
}

# err_has NAME TEXT / out_has NAME TEXT: the last command's stderr / stdout mentions TEXT.
err_has() { if grep -qF -- "$2" "$tmp/err"; then ok "$1"; else notok "$1" "stderr lacks '$2': $(head -c 400 "$tmp/err")"; fi; }
out_has() { if grep -qF -- "$2" "$tmp/out"; then ok "$1"; else notok "$1" "stdout lacks '$2': $(head -c 300 "$tmp/out")"; fi; }

# has NAME FILE TEXT: FILE mentions TEXT.
has() { if grep -qF -- "$3" "$2"; then ok "$1"; else notok "$1" "lacks '$3': $(head -c 300 "$2")"; fi; }

# numpy_python: set PY to a python3 that has numpy; else report it and return 1.
numpy_python() {
	PY=
	for p in python3 /usr/bin/python3; do
		if "$p" -c 'import numpy' >/dev/null 2>&1; then PY=$p; return 0; fi
	done
	notok "numpy" "no python3 with numpy (make deps installs python3-numpy)"
	return 1
}

# build_fixture NAME OUT: compile tests/cli/NAME.c against lib/liblunacrt.a into
# OUT, a hand-written stand-in for generated code; report it, return its status.
build_fixture() {
	if cc -std=c11 -O2 -Iruntime -o "$2" "tests/cli/$1.c" lib/liblunacrt.a \
		-lcjson -lpng -ljpeg -lm -lpthread -lz >"$tmp/cc.log" 2>&1; then
		ok "$1: builds against lib/liblunacrt.a"
	else
		notok "$1: build" "$(head -c 400 "$tmp/cc.log")"; return 1
	fi
}
