# lunac -- a deep-learning model compiler. `make help` lists the targets.

CC        ?= cc
LLVM_CONFIG ?= llvm-config-19
CFLAGS    ?= -O2 -g
# Flags every build needs, even when CFLAGS is given on the command line.
override CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare -MMD -MP
LUA_CFLAGS = $(shell pkg-config --cflags lua5.4 2>/dev/null)
LUA_LIBS   = $(shell pkg-config --libs lua5.4 2>/dev/null)
LLVM_CFLAGS = $(shell $(LLVM_CONFIG) --cflags 2>/dev/null)
LLVM_LIBS   = $(shell $(LLVM_CONFIG) --ldflags --libs 2>/dev/null)
RT_LIBS    = -lcjson -lpng -ljpeg -lz -lm -lpthread
SAN        = -fsanitize=address,undefined -fno-omit-frame-pointer

B = build
BIN = bin

# Quiet build: one short line per step; `make V=1` prints the full commands.
ifeq ($(V),1)
Q =
say = @:
else
Q = @
say = @printf '  %-6s %s\n'
endif
LIB = lib

# Debian packages this project needs; `make deps` installs the missing ones.
DEPS_PKGS = llvm-19-dev liblua5.4-dev lua5.4 libcjson-dev libopenblas-dev zlib1g-dev \
            libpng-dev libjpeg62-turbo-dev pkg-config dataset-fashion-mnist python3 python3-numpy clang-19 libclang-rt-19-dev

IR_SRC      = $(wildcard compiler/ir/*.c compiler/passes/*.c compiler/interp/*.c compiler/kernel/*.c)
COMPILE_SRC = compiler/compile.c
CG_SRC      = $(wildcard compiler/codegen/*.c)
FE_SRC      = $(wildcard frontend/*.c)
DRIVER_SRC  = $(wildcard compiler/driver/*.c)
RT_CORE_SRC = $(filter-out runtime/main.c,$(wildcard runtime/*.c))
RT_MAIN_SRC = $(wildcard runtime/main.c)
TEST_SRC    = $(wildcard tests/unit/test_*.c)
SYNTH_SRC   = $(wildcard runtime/tools/synth*.c)

obj = $(patsubst %.c,$(B)/%.o,$(1))
IR_OBJ      = $(call obj,$(IR_SRC))
COMPILE_OBJ = $(call obj,$(COMPILE_SRC))
CG_OBJ      = $(call obj,$(CG_SRC))
FE_OBJ      = $(call obj,$(FE_SRC))
DRIVER_OBJ  = $(call obj,$(DRIVER_SRC))
RT_CORE_OBJ = $(call obj,$(RT_CORE_SRC))
RT_MAIN_OBJ = $(call obj,$(RT_MAIN_SRC))
SYNTH_OBJ   = $(call obj,$(SYNTH_SRC))
TEST_BIN    = $(patsubst tests/unit/%.c,$(B)/tests/%,$(TEST_SRC))

LIBLUNAC = $(B)/liblunac.a
LIBRTCORE = $(B)/librtcore.a

.PHONY: all deps check check-asan demo clean help golden bench faults fuzz install uninstall
all: $(BIN)/lunac $(BIN)/lunac-synth $(LIB)/liblunacrt.a

help:
	@echo "make deps        install missing Debian packages (apt-get)"
	@echo "make             build bin/lunac, bin/lunac-synth and lib/liblunacrt.a (V=1: show the commands)"
	@echo "make check       build and run every test (N passed, N failed)"
	@echo "make check-asan  the runtime's file-format tests under AddressSanitizer"
	@echo "make faults      fail every allocation, read and write of the runtime in turn (minutes)"
	@echo "make demo        DRIFA-Net end to end: synthetic data, compile, train, evaluate, MC dropout"
	@echo "make bench       DRIFA-Net against PyTorch and ONNX Runtime, fashion_cnn's training step (installs python3-torch; QUICK=1: shorter)"
	@echo "make fuzz        run every parser's libFuzzer harness FUZZ_SECONDS (60) each"
	@echo "make golden      accept new printed IR in tests/golden (read the diff!)"
	@echo "make install     install lunac under PREFIX (/usr/local): bin/, share/lunac/lua/, lib/lunac/"
	@echo "make uninstall   remove what make install installed"
	@echo "make clean       remove build outputs"

deps:
	@missing=""; for p in $(DEPS_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(say) CC $<
	$(Q)$(CC) $(CFLAGS) $(LUA_CFLAGS) -c $< -o $@

$(B)/compiler/codegen/%.o: compiler/codegen/%.c
	@mkdir -p $(dir $@)
	$(say) CC $<
	$(Q)$(CC) $(CFLAGS) $(LLVM_CFLAGS) -c $< -o $@

# The runtime is linked into every generated executable: position independent.
$(B)/runtime/%.o: runtime/%.c
	@mkdir -p $(dir $@)
	$(say) CC $<
	$(Q)$(CC) $(CFLAGS) -fPIC -c $< -o $@

$(LIBLUNAC): $(IR_OBJ) $(COMPILE_OBJ) $(CG_OBJ) $(FE_OBJ)
	@mkdir -p $(dir $@)
	$(say) AR $@
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIBRTCORE): $(RT_CORE_OBJ)
	@mkdir -p $(dir $@)
	$(say) AR $@
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIB)/liblunacrt.a: $(RT_CORE_OBJ) $(RT_MAIN_OBJ)
	@mkdir -p $(dir $@)
	$(say) AR $@
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN)/lunac: $(DRIVER_OBJ) $(LIBLUNAC) $(LIBRTCORE)
	@mkdir -p $(dir $@)
	$(say) LINK $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LUA_LIBS) $(LLVM_LIBS) $(RT_LIBS)

# The synthetic data tool (docs/data.md, "Synthetic data").
$(BIN)/lunac-synth: $(SYNTH_OBJ) $(LIBRTCORE)
	@mkdir -p $(dir $@)
	$(say) LINK $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(RT_LIBS)

$(B)/tests/%: tests/unit/%.c $(LIBLUNAC) $(LIBRTCORE)
	@mkdir -p $(dir $@)
	$(say) LINK $@
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -rdynamic $(LUA_CFLAGS) -Icompiler -Iruntime -Itests/unit -o $@ $< $(LIBLUNAC) $(LIBRTCORE) $(LUA_LIBS) $(LLVM_LIBS) $(RT_LIBS) -ldl

# Test programs that live outside tests/unit (fuzz-corpus replay, fault
# injection) add themselves here from their own rules files.
CHECK_EXTRA =
include $(wildcard tests/*/rules.mk)

check: deps
	@$(MAKE) --no-print-directory -j2 all $(TEST_BIN) $(CHECK_EXTRA)
	@sh tests/run.sh

# The runtime's parsers (safetensors, npy, descriptor) under ASan and UBSan.
check-asan: deps
	@$(MAKE) --no-print-directory B=build-asan BIN=build-asan/bin LIB=build-asan/lib CFLAGS="-O1 -g $(SAN)" \
	  LDFLAGS="$(SAN)" $(patsubst $(B)/%,build-asan/%,$(TEST_BIN) $(CHECK_EXTRA))
	@LUNAC_TEST_BUILD=build-asan ASAN_OPTIONS=detect_leaks=1 sh tests/run.sh --asan

# The demo builds quietly: one line, the compiler's output only on failure.
demo: deps
	@if [ "$(V)" = 1 ]; then $(MAKE) --no-print-directory -j2 all; else \
	  printf '== building lunac (bin/lunac, bin/lunac-synth, lib/liblunacrt.a; make V=1 shows the commands)\n'; \
	  mkdir -p $(B); $(MAKE) --no-print-directory -j2 all >$(B)/build.log 2>&1 || \
	  { cat $(B)/build.log; echo "make: the build failed (the log above is also in $(B)/build.log)"; exit 1; }; fi
	@sh examples/demo.sh

# Benchmarks against PyTorch (python3-torch); never part of check.
bench: deps
	@$(MAKE) --no-print-directory all
	@dpkg-query -W -f='$${Status}' python3-torch 2>/dev/null | grep -q 'ok installed' || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch; }
	@sh bench/train_step.sh
	@sh bench/drifa_bench.sh

golden: all
	@UPDATE=1 sh tests/cli/golden.sh

# bin/lunac finds the Lua library and the runtime library from its own
# place: PREFIX/share/lunac/lua and PREFIX/lib/lunac (docs/codegen.md).
PREFIX ?= /usr/local
INSTALL_DIRS = $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/lunac/lua $(DESTDIR)$(PREFIX)/lib/lunac
install: all
	install -d $(INSTALL_DIRS)
	install -m 755 $(BIN)/lunac $(BIN)/lunac-synth $(DESTDIR)$(PREFIX)/bin/
	install -m 644 frontend/lib/*.lua $(DESTDIR)$(PREFIX)/share/lunac/lua/
	install -m 644 $(LIB)/liblunacrt.a $(DESTDIR)$(PREFIX)/lib/lunac/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/lunac $(DESTDIR)$(PREFIX)/bin/lunac-synth
	rm -rf $(DESTDIR)$(PREFIX)/share/lunac $(DESTDIR)$(PREFIX)/lib/lunac

clean:
	rm -rf build build-asan build-fuzz bin lib
	find generated -mindepth 1 ! -name .gitkeep -exec rm -rf {} +

-include $(shell find $(B) -name '*.d' 2>/dev/null)
