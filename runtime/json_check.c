/*
** json_check.c -- what cJSON lets through and C strings would cut short,
** looked for in the JSON text before it is parsed: cJSON stops a string at
** a NUL (raw, or written as the escape \u0000), so "a\u0000b" would read as
** "a" without a word; and cJSON keeps every number as a double, so 1.5,
** 1e3 and 9007199254740993 (2^53 + 1, rounded to 2^53) would pass for
** integers. rt_json_check refuses a NUL or other control byte anywhere
** outside whitespace (JSON allows none), the escape \u0000, and, when the
** caller asks for it, any number that is not a plain non-negative integer
** up to 2^53.
*/
#include <string.h>

#include "rt.h"

#define MAX_EXACT (1ull << 53)

/* The number literal at s[i..n): 0 when it is a plain integer in [0, 2^53]
** (digits only, no leading zero); *len is its length either way. */
static int plain_int(const char *s, size_t i, size_t n, size_t *len)
{
	size_t k = i;
	while (k < n && s[k] && strchr("0123456789+-.eE", s[k]))
		k++;
	*len = k - i;
	uint64_t v = 0;
	for (size_t j = i; j < k; j++) {
		if (s[j] < '0' || s[j] > '9' || (j == i && s[j] == '0' && k - i > 1))
			return -1;
		v = v * 10 + (uint64_t)(s[j] - '0');
		if (v > MAX_EXACT)
			return -1;
	}
	return 0;
}

int rt_json_check(const char *s, size_t n, int ints_only, const char *what, RtErr *e)
{
	int in_str = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 && (in_str || (c != ' ' && c != '\t' && c != '\n' && c != '\r')))
			return rt_errorf(e, "%s: byte %zu of the JSON text: a %s byte 0x%02x%s", what, i,
			                 c ? "control" : "NUL", c, in_str ? " inside a string" : "");
		if (in_str) {
			if (c == '"')
				in_str = 0;
			else if (c == '\\' && i + 1 < n) {
				if (s[i + 1] == 'u' && i + 6 <= n && !memcmp(s + i + 2, "0000", 4))
					return rt_errorf(e, "%s: byte %zu of the JSON text: the escape \\u0000 (a "
					                 "NUL) inside a string", what, i);
				i++;
			}
		} else if (c == '"') {
			in_str = 1;
		} else if (ints_only && (c == '-' || (c >= '0' && c <= '9'))) {
			size_t len;
			if (plain_int(s, i, n, &len))
				return rt_errorf(e, "%s: byte %zu of the JSON text: the number %.*s is not an "
				                 "integer from 0 to 2^53 written in plain digits", what, i,
				                 (int)(len > 40 ? 40 : len), s + i);
			i += len - 1;
		}
	}
	return 0;
}
