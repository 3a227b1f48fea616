/*
** cpucheck.c -- does this CPU have what the compiled code needs? The
** descriptor records the target's CPU name and feature string
** ("+avx2,+fma,-avx512f,..."; lunac --cpu/--features). Code built for
** AVX-512 dies with SIGILL, mid-run and without a word, on a CPU without
** it, so commands that run the model check the instruction-set features
** first and name the missing ones. Features the compiler cannot ask the
** CPU about (the table below has the instruction sets code generation
** uses) are not checked.
*/
#include <string.h>

#include "rt.h"

/* 1 if this CPU has feature f (an LLVM name), 0 if not, -1 if it is not
** one this check knows. __builtin_cpu_supports takes only literals. */
static int cpu_has(const char *f, size_t n)
{
#define F(name) if (n == sizeof name - 1 && !memcmp(f, name, n)) return __builtin_cpu_supports(name) != 0;
	F("sse3") F("ssse3") F("sse4.1") F("sse4.2") F("popcnt") F("avx") F("avx2") F("fma")
	F("bmi") F("bmi2") F("avx512f") F("avx512bw") F("avx512dq") F("avx512vl") F("avx512cd")
	F("avx512vbmi") F("avx512ifma") F("avx512vnni") F("avx512bf16")
#undef F
	return -1;
}

int rt_cpu_check_with(const char *cpu, const char *features, RtCpuHas has, RtErr *e)
{
	const char *s = features;
	char missing[512] = "";
	size_t used = 0;
	int nmissing = 0;
	while (s && *s) {
		const char *end = strchr(s, ',');
		size_t n = end ? (size_t)(end - s) : strlen(s);
		if (n > 1 && s[0] == '+' && has(s + 1, n - 1) == 0) {
			nmissing++;
			if (used + n + 2 < sizeof missing)
				used += (size_t)snprintf(missing + used, sizeof missing - used, "%s%.*s",
				                         used ? ", " : "", (int)(n - 1), s + 1);
		}
		s = end ? end + 1 : NULL;
	}
	if (!nmissing)
		return 0;
	return rt_errorf(e, "this executable was compiled for the CPU %s, and this CPU lacks %s it "
	                 "needs (%s): rebuild the model here, or for any x86-64 with lunac build "
	                 "--cpu=x86-64-v2", cpu ? cpu : "(unrecorded)",
	                 nmissing == 1 ? "an instruction set" : "instruction sets", missing);
}

int rt_cpu_check(const RtModel *m, RtErr *e)
{
	return rt_cpu_check_with(m->target_cpu, m->target_features, cpu_has, e);
}
