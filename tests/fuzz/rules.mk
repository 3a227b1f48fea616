# tests/fuzz/rules.mk -- the fuzz harnesses (tests/fuzz/README.md).
#
# make check / check-asan: $(B)/tests/test_fuzz_replay, every harness built
# with the normal compiler into one program that replays the committed seed
# corpus and crash reproducers.
# make fuzz: each harness as a libFuzzer binary in build-fuzz/ (clang-19,
# ASan and UBSan), run for FUZZ_SECONDS each by tests/fuzz/run.sh.

FUZZ_NAMES   = safetensors checkpoint npy idx png jpeg bmp csv descriptor ir frontend
FUZZ_INC     = -Iruntime -Icompiler -Ifrontend -Itests/fuzz
FUZZ_SECONDS ?= 60
FUZZ_PARSERS ?= $(FUZZ_NAMES)
FUZZ_CC      ?= clang-19
FUZZ_SAN     = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS  = -O1 -g -fsanitize=fuzzer-no-link $(FUZZ_SAN)

# Replay: harness NAME is compiled with its entry point renamed fuzz_one_NAME.
FUZZ_REPLAY_OBJ = $(B)/tests/fuzz/replay.o $(patsubst %,$(B)/tests/fuzz/replay_%.o,$(FUZZ_NAMES))

$(B)/tests/fuzz/replay_%.o: tests/fuzz/fuzz_%.c
	@mkdir -p $(dir $@)
	$(say) CC $<
	$(Q)$(CC) $(CFLAGS) $(FUZZ_INC) -DLLVMFuzzerTestOneInput=fuzz_one_$* -c $< -o $@

$(B)/tests/test_fuzz_replay: $(FUZZ_REPLAY_OBJ) $(LIBLUNAC) $(LIBRTCORE)
	@mkdir -p $(dir $@)
	$(say) LINK $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $(FUZZ_REPLAY_OBJ) $(LIBLUNAC) $(LIBRTCORE) $(LUA_LIBS) $(RT_LIBS) -ldl

CHECK_EXTRA += $(B)/tests/test_fuzz_replay

# libFuzzer binaries (made by the recursive make of `fuzz`, with B=build-fuzz):
# the code under test comes from the objects built with FUZZ_CFLAGS; the
# frontend and IR need no code generator, so they come from their own archive.
$(B)/libfuzzlunac.a: $(IR_OBJ) $(FE_OBJ)
	@mkdir -p $(dir $@)
	$(say) AR $@
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(B)/libfuzzlunac.a $(LIBRTCORE)
	@mkdir -p $(dir $@)
	$(say) LINK $@
	$(Q)$(CC) $(CFLAGS) $(FUZZ_INC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $< \
	  $(B)/libfuzzlunac.a $(LIBRTCORE) $(LUA_LIBS) $(RT_LIBS) -ldl

fuzz-bins: $(patsubst %,$(B)/fuzz/fuzz_%,$(FUZZ_PARSERS))

fuzz:
	@command -v $(FUZZ_CC) >/dev/null || { echo "make fuzz needs $(FUZZ_CC) and libclang-rt-19-dev (make deps)"; exit 1; }
	@$(MAKE) --no-print-directory -j2 B=build-fuzz BIN=build-fuzz/bin LIB=build-fuzz/lib \
	  CC=$(FUZZ_CC) CFLAGS="$(FUZZ_CFLAGS)" FUZZ_PARSERS="$(FUZZ_PARSERS)" fuzz-bins
	@FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh $(FUZZ_PARSERS)

.PHONY: fuzz-bins

# The generated part of the seed corpus (tests/fuzz/README.md).
$(B)/tests/fuzz/seeds: tests/fuzz/seeds.c $(LIBLUNAC) $(LIBRTCORE)
	@mkdir -p $(dir $@)
	$(say) LINK $@
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $(FUZZ_INC) -o $@ $< $(LIBLUNAC) $(LIBRTCORE) $(LUA_LIBS) $(RT_LIBS) -ldl

fuzz-seeds: $(B)/tests/fuzz/seeds
	$(B)/tests/fuzz/seeds tests/fuzz/corpus models/mlp.lua models/tiny_cnn.lua models/attn_test.lua
	@mkdir -p tests/fuzz/corpus/frontend tests/fuzz/corpus/ir
	cp models/*.lua tests/errors/*.lua tests/fuzz/corpus/frontend/
	cp tests/golden/*.ir tests/fuzz/corpus/ir/

.PHONY: fuzz-seeds
