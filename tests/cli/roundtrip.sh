#!/bin/sh
# roundtrip.sh -- the IR `lunac ir MODEL` prints builds back into the same
# executable (docs/passes.md): for every model in models/, the LLVM module
# built from the printed IR is byte-identical to the one built from the
# script (every entry point, the descriptor with its spec hash, every
# kernel), and printing the IR again gives the same text. For one small
# model also the object file and the linked executable's `info`, and the
# graph --print-after=input prints. Graphs specialised for one entry point
# (entry= on the graph line) and multi-graph dumps are refused with a
# message. Prints "ok - NAME" / "not ok - NAME: why".
cd "$(dirname "$0")/../.." || exit 2
if [ ! -x bin/lunac ]; then
	echo "not ok - roundtrip: bin/lunac is not built"; exit 1
fi
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
ok() { echo "ok - $1"; }
bad() { echo "not ok - $1: $2"; }

for m in models/*.lua; do
	n=$(basename "$m" .lua)
	if ! bin/lunac ir "$m" >"$T/$n.ir" 2>"$T/err"; then
		bad "round trip $n" "lunac ir: $(head -3 "$T/err")"; continue
	fi
	if bin/lunac build "$m" -O0 --emit=llvm -o "$T/a.ll" 2>"$T/err" &&
	   bin/lunac build "$T/$n.ir" -O0 --emit=llvm -o "$T/b.ll" 2>>"$T/err" &&
	   cmp -s "$T/a.ll" "$T/b.ll"; then
		ok "round trip $n: the printed IR builds the same module"
	else
		bad "round trip $n: the printed IR builds the same module" \
		    "$(head -3 "$T/err"; diff "$T/a.ll" "$T/b.ll" 2>&1 | head -4 | cut -c1-200)"
	fi
	if bin/lunac ir "$T/$n.ir" 2>"$T/err" | cmp -s - "$T/$n.ir"; then
		ok "round trip $n: printing the printed IR gives it back"
	else
		bad "round trip $n: printing the printed IR gives it back" "$(head -3 "$T/err")"
	fi
	rm -f "$T/a.ll" "$T/b.ll"
done

# One small model to the end: the object and the executable's description.
m=models/mlp.lua
bin/lunac build $m -O0 --emit=obj -o "$T/a.o" && bin/lunac build "$T/mlp.ir" -O0 --emit=obj -o "$T/b.o"
if cmp -s "$T/a.o" "$T/b.o"; then ok "round trip mlp: byte-identical object"; else bad "round trip mlp: byte-identical object" "differ"; fi
if bin/lunac build $m -O0 -o "$T/a" && bin/lunac build "$T/mlp.ir" -O0 -o "$T/b" &&
   "$T/a" info >"$T/a.info" && "$T/b" info >"$T/b.info" && cmp -s "$T/a.info" "$T/b.info" &&
   grep -q '"spec_hash": "[0-9a-f]' "$T/b.info" && grep -q '"train_adam"' "$T/b.info"; then
	ok "round trip mlp: the same info (spec hash, entries)"
else
	bad "round trip mlp: the same info (spec hash, entries)" "$(diff "$T/a.info" "$T/b.info" 2>&1 | head -6)"
fi

# --print-after writes to stderr; its input graph builds the same module.
bin/lunac ir models/tiny_cnn.lua --print-after=input >"$T/out" 2>"$T/pa.ir"
if [ ! -s "$T/out" ] && head -1 "$T/pa.ir" | grep -q '^# after input$' &&
   bin/lunac build "$T/pa.ir" -O0 --emit=llvm -o "$T/b.ll" && bin/lunac build "$T/tiny_cnn.ir" -O0 --emit=llvm -o "$T/a.ll" &&
   cmp -s "$T/a.ll" "$T/b.ll"; then
	ok "round trip: --print-after=input, on stderr, builds the same module"
else
	bad "round trip: --print-after=input, on stderr, builds the same module" "stdout: $(head -c 100 "$T/out")"
fi

# A graph specialised for one entry, and a dump of several, are refused.
refused() {
	name=$1; expect=$2; shift 2
	if "$@" >/dev/null 2>"$T/err"; then bad "$name" "exited 0"
	elif grep -qF -- "$expect" "$T/err"; then ok "$name"
	else bad "$name" "stderr lacks \"$expect\": $(head -2 "$T/err")"; fi
}
bin/lunac ir models/mlp.lua --entry=eval >"$T/eval.ir"
refused "round trip: an entry's graph is refused (build)" "was printed after the pass pipeline for the entry point eval" \
	bin/lunac build "$T/eval.ir" -o "$T/x"
refused "round trip: an entry's graph is refused (stats)" "entry=eval on its graph line" bin/lunac stats "$T/eval.ir"
[ -e "$T/x" ] && bad "round trip: a refused build leaves nothing" "$T/x exists"
bin/lunac ir models/mlp.lua --print-after=all 2>"$T/all.ir"
refused "round trip: a dump of several graphs is refused" "a second graph line" bin/lunac build "$T/all.ir" -o "$T/x"
exit 0
