#!/bin/sh
# lunac_cli.sh -- what the compiler driver promises on its command line:
# --cpu targets that CPU's features (not the host's) and an unknown CPU or
# feature is an error; the executable's info records the target. Emitted
# files honour the umask. A closed stdout pipe (`| head`) ends lunac and the
# executable quietly, a full disk is an error. --threads help is exact. A
# big module's object (compiled in parts) is reproducible; a failed join is an error.
# Prints "ok - NAME" / "not ok - NAME: why".
cd "$(dirname "$0")/../.." || exit 2
if [ ! -x bin/lunac ]; then
	echo "not ok - lunac_cli: bin/lunac is not built"; exit 1
fi
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
ok() { echo "ok - $1"; }
bad() { echo "not ok - $1: $2"; }
# refused NAME STATUS EXPECT CMD...: CMD exits STATUS with EXPECT on stderr.
refused() {
	name=$1; want=$2; expect=$3; shift 3
	"$@" >"$T/out" 2>"$T/err"; rc=$?
	if [ "$rc" -ne "$want" ]; then bad "$name" "exit $rc, want $want: $(head -2 "$T/err")"
	elif grep -qF -- "$expect" "$T/err"; then ok "$name"
	else bad "$name" "stderr lacks \"$expect\": $(head -2 "$T/err")"; fi
}

# -o naming something that is not a regular file: refused before any work,
# and left as it was (the output is renamed into place: as root, -o /dev/null
# would otherwise replace the device with the executable).
mkfifo "$T/fifo"
refused "build -o a FIFO: refused" 1 "build: -o $T/fifo is not a regular file (it is a named pipe); outputs go to a new or a regular file" \
	bin/lunac build models/mlp.lua -o "$T/fifo"
if [ -p "$T/fifo" ] && [ -z "$(ls "$T" | grep -v '^fifo$\|^out$\|^err$')" ]; then ok "build -o a FIFO: the FIFO stays, nothing written beside it"
else bad "build -o a FIFO: the FIFO stays, nothing written beside it" "$(ls -l "$T")"; fi
refused "build -o a directory: refused" 1 "is not a regular file (it is a directory)" \
	bin/lunac build models/mlp.lua --emit=llvm -o "$T"

# --dump-dir: every level in files, each the same bytes as the command that
# prints that level alone, and the same executable as without it.
M=models/tiny_cnn.lua
if bin/lunac build $M --dump-dir "$T/dump" -o "$T/dumped" 2>"$T/err" && bin/lunac build $M -o "$T/plain" 2>>"$T/err"; then
	cmp -s "$T/dumped" "$T/plain" && ok "--dump-dir: the executable is the same bytes" ||
		bad "--dump-dir: the executable is the same bytes" "they differ"
	same=1; why=""
	for e in predict eval train_sgd train_adam; do
		last=$(ls "$T/dump" | grep "^$e\.[0-9][0-9]-" | sort | tail -1)
		bin/lunac ir $M --entry=$e >"$T/want.ir" 2>/dev/null
		cmp -s "$T/want.ir" "$T/dump/$last" || { same=0; why="$why $last"; }
		bin/lunac ir $M --entry=$e --print-after=plan 2>"$T/want.plan" >/dev/null
		cmp -s "$T/want.plan" "$T/dump/$e.plan.txt" || { same=0; why="$why $e.plan.txt"; }
	done
	bin/lunac ir $M >"$T/want.ir"
	cmp -s "$T/want.ir" "$T/dump/predict.00-input.ir" || { same=0; why="$why predict.00-input.ir"; }
	bin/lunac ir $M --level=kernel >"$T/want.k"
	cmp -s "$T/want.k" "$T/dump/kernels.txt" || { same=0; why="$why kernels.txt"; }
	bin/lunac build $M --emit=llvm -O0 -o "$T/want.ll"
	cmp -s "$T/want.ll" "$T/dump/module.ll" || { same=0; why="$why module.ll"; }
	n=$(ls "$T/dump" | grep -c '^train_adam\.[0-9][0-9]-.*\.ir$')
	[ "$n" -eq "$(($(bin/lunac passes | grep -c .) + 1))" ] || { same=0; why="$why (train_adam: $n graphs)"; }
	if [ $same = 1 ]; then ok "--dump-dir: every entry's graphs and plan, the kernels and the LLVM IR, as ir and --emit=llvm -O0 print them"
	else bad "--dump-dir: every entry's graphs and plan, the kernels and the LLVM IR, as ir and --emit=llvm -O0 print them" "differ:$why"; fi
else
	bad "--dump-dir: build" "$(head -2 "$T/err")"
fi
: >"$T/dump/notes.txt"
if bin/lunac build $M --passes=none --dump-dir "$T/dump" -o "$T/dumped" 2>"$T/err" &&
   [ ! -e "$T/dump/train_adam.07-dce.ir" ] && [ -e "$T/dump/train_adam.04-bnstats.ir" ] && [ -e "$T/dump/notes.txt" ]; then
	ok "--dump-dir again: the earlier dump's files go, other files stay"
else
	bad "--dump-dir again: the earlier dump's files go, other files stay" "$(ls "$T/dump" | tr '\n' ' ') $(head -2 "$T/err")"
fi
: >"$T/afile"
refused "--dump-dir naming a file: refused" 1 "--dump-dir $T/afile: not a folder" \
	bin/lunac build $M --dump-dir "$T/afile" -o "$T/nofile"
refused "--dump-dir without its parent: refused" 1 "cannot make the folder" \
	bin/lunac build $M --dump-dir "$T/no/such" -o "$T/nofile"
[ ! -e "$T/nofile" ] && ok "--dump-dir refused: nothing built" || bad "--dump-dir refused: nothing built" "$T/nofile exists"
refused "--dump-dir with ir: a usage error" 2 "--dump-dir is an option of \`lunac build\`" bin/lunac ir $M --dump-dir "$T/dump"

# --passes: the optional passes named, in pipeline order, the required ones always.
after() { bin/lunac ir $M --entry=predict "$@" --print-after=all 2>&1 >/dev/null | sed -n 's/^# after //p' | tr '\n' ' '; }
[ "$(after --passes=cse)" = "input mode cse " ] && ok "--passes=cse: mode (required) and cse" ||
	bad "--passes=cse: mode (required) and cse" "ran: $(after --passes=cse)"
[ "$(after --passes=dce,simplify)" = "input mode simplify dce " ] && ok "--passes: in pipeline order, not the list's" ||
	bad "--passes: in pipeline order, not the list's" "ran: $(after --passes=dce,simplify)"
[ "$(after --passes=none)" = "input mode " ] && ok "--passes=none: only the required passes" ||
	bad "--passes=none: only the required passes" "ran: $(after --passes=none)"
bin/lunac ir $M --entry=train_adam >"$T/all.ir"
bin/lunac ir $M --entry=train_adam --passes=simplify,cse,dce >"$T/listed.ir"
cmp -s "$T/all.ir" "$T/listed.ir" && ok "--passes naming every optional pass: the default pipeline" ||
	bad "--passes naming every optional pass: the default pipeline" "the graphs differ"
refused "--passes: an unknown pass" 1 '--passes: unknown pass "fuse" (lunac passes lists them)' bin/lunac ir $M --passes=cse,fuse
refused "--passes and --disable-pass naming one pass: refused" 1 '--passes names "cse" and --disable-pass skips it' \
	bin/lunac build $M --passes=cse --disable-pass=cse -o "$T/nofile"
refused "--passes=: a usage error" 2 "--passes: the value is empty" bin/lunac ir $M --passes=

# --cpu: x86-64-v2 has no AVX, so its code uses no ymm or zmm register,
# whatever this machine has; the executable runs and says what it targets.
if bin/lunac build models/mlp.lua -O2 --cpu=x86-64-v2 --emit=asm -o "$T/v2.s" 2>"$T/err" &&
   ! grep -q '%[yz]mm' "$T/v2.s" && grep -q '%xmm' "$T/v2.s"; then
	ok "--cpu=x86-64-v2: no AVX registers in the code"
else
	bad "--cpu=x86-64-v2: no AVX registers in the code" "$(head -2 "$T/err"; grep -m2 '%[yz]mm' "$T/v2.s")"
fi
if bin/lunac build models/mlp.lua -O2 --cpu=x86-64-v3 --emit=asm -o "$T/v3.s" && grep -q '%ymm' "$T/v3.s"; then
	ok "--cpu=x86-64-v3: AVX2 code"
else
	bad "--cpu=x86-64-v3: AVX2 code" "no ymm register in the assembly"
fi
if bin/lunac build models/mlp.lua -O0 --cpu=x86-64-v2 --features=+popcnt -o "$T/v2" &&
   "$T/v2" info >"$T/info" && grep -q '"target": {"cpu": "x86-64-v2", "features": "+popcnt"}' "$T/info" &&
   "$T/v2" bench --entry predict --batch 2 --steps 1 --repeat 1 >/dev/null; then
	ok "--cpu: info records the target; the executable runs"
else
	bad "--cpu: info records the target; the executable runs" "$(grep target "$T/info")"
fi
if bin/lunac build models/mlp.lua -O0 -o "$T/host" && "$T/host" info >"$T/info" &&
   grep -q '"target": {"cpu": "[a-z0-9_-]*", "features": "+' "$T/info"; then
	ok "default target: info records the host's CPU and features"
else
	bad "default target: info records the host's CPU and features" "$(grep target "$T/info")"
fi
refused "--cpu: an unknown CPU is an error" 1 'LLVM does not know the CPU "pentium9"' \
	bin/lunac build models/mlp.lua --cpu=pentium9 -o "$T/x"
refused "--features: an unknown feature is an error" 1 'LLVM does not know the feature "+avx9"' \
	bin/lunac build models/mlp.lua --features=+avx9 -o "$T/x"
refused "--cpu: an empty name is a usage error" 2 "--cpu: expected a CPU name" \
	bin/lunac build models/mlp.lua --cpu= -o "$T/x"
[ -e "$T/x" ] && bad "--cpu: a refused build leaves nothing" "$T/x exists"
ls "$T" | grep -q tmp && bad "--cpu: a refused build leaves no temporary" "$(ls "$T")"

# Files lunac and the executable write get 0666 (0777 for executables) less
# the umask, as open(2) gives; the object went through mkstemp (0600).
(umask 027 && bin/lunac build models/mlp.lua -O0 --emit=obj -o "$T/u.o" && bin/lunac build models/mlp.lua -O0 -o "$T/u" &&
 "$T/u" init -o "$T/u.safetensors" 2>/dev/null)
(umask 0 && bin/lunac build models/mlp.lua -O0 --emit=llvm -o "$T/u.ll")
modes=$(stat -c '%a' "$T/u.o" "$T/u" "$T/u.safetensors" "$T/u.ll" | tr '\n' ' ')
if [ "$modes" = "640 750 640 666 " ]; then ok "emitted files honour the umask"
else bad "emitted files honour the umask" "modes $modes, want 640 750 640 666"; fi

# A closed pipe: no message, the SIGPIPE exit, even when lunac's parent
# ignores SIGPIPE (as a Python program's children may); a full disk is an error.
cat >"$T/pipe.py" <<'PY'
import os, signal, subprocess, sys
signal.signal(signal.SIGPIPE, signal.SIG_IGN)
r, w = os.pipe()
os.close(r)
p = subprocess.run(sys.argv[1:], stdout=w, stderr=subprocess.PIPE, restore_signals=False)
print(p.returncode, p.stderr.decode()[:200].replace("\n", " "))
PY
for cmd in "bin/lunac ir models/mlp.lua" "bin/lunac stats models/mlp.lua" "$T/u info"; do
	# shellcheck disable=SC2086
	got=$(python3 "$T/pipe.py" $cmd)
	if [ "$got" = "-13 " ]; then ok "closed pipe: $cmd ends quietly"
	else bad "closed pipe: $cmd ends quietly" "exit and stderr: $got"; fi
	# shellcheck disable=SC2086
	$cmd >/dev/full 2>"$T/err"; rc=$?
	if [ "$rc" -eq 1 ] && grep -q "cannot write to standard output: No space left on device" "$T/err"; then
		ok "stdout on a full disk: $cmd"
	else
		bad "stdout on a full disk: $cmd" "exit $rc: $(head -2 "$T/err")"
	fi
done

# --threads promises what the code does: the model's kernels run on the pool
# for every command; train and eval also decode image files with it.
"$T/u" help predict >"$T/hp" 2>&1; "$T/u" help mc >"$T/hm" 2>&1; "$T/u" help train >"$T/ht" 2>&1; "$T/u" help eval >"$T/he" 2>&1
"$T/u" help bench >"$T/hb" 2>&1
if grep -q -- "--threads T *threads the model runs on (default: every CPU)" "$T/hp" &&
   grep -q -- "threads the model runs on (default: every CPU)" "$T/hm" &&
   grep -q -- "--threads T *threads the model runs on and that decode image files" "$T/ht" &&
   grep -q -- "threads the model runs on and that decode image files" "$T/he" &&
   grep -q -- "threads the model runs on (default: every CPU)" "$T/hb" &&
   ! cat "$T/hp" "$T/hm" "$T/ht" "$T/he" "$T/hb" | grep -q "no effect yet\|runs on one thread"; then
	ok "--threads help says what it does"
else
	bad "--threads help says what it does" "$(grep -h -- --threads "$T/hp" "$T/ht")"
fi

# build's status line: on a terminal (script(1) gives one) each phase is
# shown in place and erased at the end; into a file or pipe, nothing.
if command -v script >/dev/null; then
	script -qec "bin/lunac build models/mlp.lua -O0 -o $T/tty_exe" /dev/null >"$T/tty" 2>&1
	if grep -q 'lunac: running the model script' "$T/tty" && grep -q 'lunac: optimising (LLVM -O0)' "$T/tty" &&
	   grep -q 'lunac: linking' "$T/tty" && [ -x "$T/tty_exe" ] &&
	   [ "$(tail -c 4 "$T/tty" | od -An -c | tr -d ' \n')" = '\r033[K' ]; then
		ok "build on a terminal: phases shown in place, then erased"
	else
		bad "build on a terminal: phases shown in place, then erased" "$(od -c "$T/tty" | tail -3)"
	fi
fi
bin/lunac build models/mlp.lua -O0 -o "$T/log_exe" 2>"$T/log_err"
if [ -x "$T/log_exe" ] && [ ! -s "$T/log_err" ]; then
	ok "build into a log: no status line"
else
	bad "build into a log: no status line" "$(head -c 200 "$T/log_err")"
fi
# An executable built for instruction sets this CPU lacks refuses to run the
# model (instead of dying by SIGILL) and names them; info still works.
lack=
for f in avx512f avx512bw avx512vbmi avx512ifma; do
	grep -qw "$f" /proc/cpuinfo 2>/dev/null || { lack=$f; break; }
done
if [ -n "$lack" ] && bin/lunac build models/mlp.lua -O0 --cpu=x86-64-v2 --features=+$lack -o "$T/lacks" 2>"$T/err"; then
	refused "a CPU without $lack: refused with its name" 1 "this CPU lacks an instruction set it needs ($lack)" \
		"$T/lacks" bench --entry predict --batch 2 --steps 1 --repeat 1
	if "$T/lacks" info >/dev/null; then ok "a CPU without $lack: info still runs"; else bad "a CPU without $lack: info still runs" "exit $?"; fi
else
	ok "a CPU without the code's features: not testable here (this CPU has every feature tried)"
fi
# The memory plan is one more level --print-after shows (compile.c): on
# stderr, as IR comments, for the entry --entry names, in build and ir alike.
bin/lunac build models/tiny_cnn.lua -O0 --entry=train_adam --print-after=plan -o "$T/plan_exe" 2>"$T/plan_build" >"$T/plan_out"
bin/lunac ir models/tiny_cnn.lua --entry=train_adam --print-after=plan 2>"$T/plan_ir" >"$T/plan_ir_out"
if grep -q '^# plan train_adam: fixed [0-9]* bytes, batched [0-9]* bytes per sample$' "$T/plan_build" &&
   [ ! -s "$T/plan_out" ] && [ ! -s "$T/plan_ir_out" ] && cmp -s "$T/plan_build" "$T/plan_ir" &&
   ! grep -qv '^# ' "$T/plan_ir" && [ -x "$T/plan_exe" ]; then
	ok "--print-after=plan: the entry's plan on stderr, the same in build and ir"
else
	bad "--print-after=plan: the entry's plan on stderr, the same in build and ir" "$(head -3 "$T/plan_build")"
fi
refused "--print-after: an unknown level is refused" 1 'unknown pass "plann"' bin/lunac ir models/mlp.lua --print-after=plann
# The kernel level (compiler/kernel/): --level=kernel is ir's, an unknown
# level is a usage error, an entry the model lacks is named; the schedule
# follows the target (AVX-512 tiles for a CPU that has it, AVX2 without).
refused "--level: an unknown level is a usage error" 2 '--level: expected graph or kernel, got "loop"' \
	bin/lunac ir models/mlp.lua --level=loop
refused "--level=kernel: only for ir" 2 "--level=kernel is an option of \`lunac ir\`" \
	bin/lunac build models/mlp.lua --level=kernel -o "$T/never"
refused "--level=kernel --entry: an entry the model lacks" 1 "the model has no mc entry (it has no dropout)" \
	bin/lunac ir models/tiny_cnn.lua --level=kernel --entry=mc
bin/lunac ir models/tiny_cnn.lua --level=kernel --entry=predict --cpu=znver4 >"$T/k512" 2>&1
bin/lunac ir models/tiny_cnn.lua --level=kernel --entry=predict --cpu=znver4 --features=-avx512f >"$T/k256" 2>&1
if grep -q "vectors of 16 floats, GEMM tile 12x32" "$T/k512" && grep -q "vectors of 8 floats, GEMM tile 6x16" "$T/k256" &&
   [ ! -e "$T/never" ]; then
	ok "--level=kernel: AVX-512 tiles for znver4, AVX2 tiles with -avx512f"
else
	bad "--level=kernel: AVX-512 tiles for znver4, AVX2 tiles with -avx512f" "$(head -1 "$T/k512"; head -1 "$T/k256")"
fi

# A big module compiles as parts joined by `cc -r` (compiler/codegen/split.c):
# the object is the same bytes build after build, and when the join fails
# the error names the file and nothing is left behind.
SMALL="models/drifa_net.lua -D size=32 -D width=0.125 -D blocks=1 -O0 --emit=obj"
# shellcheck disable=SC2086
if bin/lunac build $SMALL -o "$T/p1.o" && bin/lunac build $SMALL -o "$T/p2.o" && cmp -s "$T/p1.o" "$T/p2.o"; then
	ok "split object: byte-identical across builds"
else
	bad "split object: byte-identical across builds" "the two objects differ"
fi
mkdir "$T/join"
# shellcheck disable=SC2086
refused "split object: a failed join is an error" 1 "$T/join/x.o: joining the" env CC=false bin/lunac build $SMALL -o "$T/join/x.o"
if [ -z "$(ls "$T/join")" ]; then ok "split object: a failed join leaves nothing"
else bad "split object: a failed join leaves nothing" "$(ls "$T/join")"; fi
exit 0
