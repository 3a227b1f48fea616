/*
** fuzz_ir.c -- the IR text parser (compiler/ir/parse.c, with the shape
** inference it runs) followed by the verifier (verify.c), as `lunac build`
** reads a .ir file. An IR text that parses and verifies must print
** (print.c) and parse back to a graph that verifies and prints the same.
*/
#include "fuzz.h"
#include "ir/ir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_str(data, size);
	Err e = {0};
	Graph *g = ir_parse(text, "fuzz.ir", &e);
	if (g && ir_verify(g, &e) == 0) {
		char *once = ir_print_str(g);
		Err e2 = {0};
		Graph *g2 = once ? ir_parse(once, "printed.ir", &e2) : NULL;
		if (!g2 || ir_verify(g2, &e2)) {
			fprintf(stderr, "printed:\n%s\nerror: %s\n", once ? once : "(none)", e2.msg);
			fuzz_fail("ir", "a verified graph prints as text that does not parse and verify");
		}
		char *twice = ir_print_str(g2);
		if (!twice || strcmp(once, twice)) {
			fprintf(stderr, "printed:\n%s\nreprinted:\n%s\n", once, twice ? twice : "(none)");
			fuzz_fail("ir", "printing a parsed print does not give the same text");
		}
		free(once);
		free(twice);
		ir_free(g2);
	} else {
		fuzz_check_failure("ir", e.set, e.msg);
	}
	ir_free(g);
	free(text);
	return 0;
}
