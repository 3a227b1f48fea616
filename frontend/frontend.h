/*
** frontend.h -- run a Lua model script in a sandboxed Lua 5.4 state and
** record the graph it builds. Nothing outside frontend/ sees a lua_State.
*/
#ifndef LUNAC_FRONTEND_H
#define LUNAC_FRONTEND_H

#include "../compiler/ir/ir.h"

typedef struct Define {
	const char *key, *value;
} Define;

typedef struct FeOptions {
	const Define *defs;      /* -D key=value, in command-line order */
	int ndefs;
	const char *libdir;      /* the project's Lua library (frontend/lib) */
	long long max_instructions; /* 0: default budget */
	size_t max_memory;          /* bytes, 0: default cap */
	int64_t max_bytes;          /* model size limit (ir_check_size), 0: IR_DEFAULT_MAX_BYTES */
} FeOptions;

/* Run the script at path; on success return its graph with shapes
** inferred, verified (ir_verify_model) and within the size limit. On
** failure return NULL with e holding "file:line: message". */
Graph *fe_load(const char *path, const FeOptions *o, Err *e);

#endif
