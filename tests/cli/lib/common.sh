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
