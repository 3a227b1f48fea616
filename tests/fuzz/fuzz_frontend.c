/*
** fuzz_frontend.c -- the model-script frontend (frontend/): fe_load on the
** input as a Lua script in the sandbox, with small caps so that one input
** runs in well under a second (FUZZ_INSTR VM instructions, FUZZ_MEM bytes).
** The script may require the project's library (frontend/lib, relative to
** the working directory, or $LUNAC_FUZZ_LIBDIR). A script that loads gives
** a graph that verifies; one that fails says why.
*/
#include "fuzz.h"
#include "frontend.h"

#define FUZZ_INSTR 2000000LL
#define FUZZ_MEM ((size_t)64 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path = fuzz_file("model.lua", data, size);
	const char *lib = getenv("LUNAC_FUZZ_LIBDIR");
	FeOptions o = {.libdir = lib ? lib : "frontend/lib", .max_instructions = FUZZ_INSTR,
	               .max_memory = FUZZ_MEM};
	Err e = {0};
	Graph *g = fe_load(path, &o, &e);
	if (g) {
		Err e2 = {0};
		if (ir_verify(g, &e2))
			fuzz_fail("frontend", "a loaded graph does not verify");
		ir_free(g);
	} else {
		fuzz_check_failure("frontend", e.set, e.msg);
	}
	free(path);
	return 0;
}
