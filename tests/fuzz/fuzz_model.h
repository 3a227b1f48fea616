/*
** fuzz_model.h -- a tiny model descriptor (the one tests/unit/test_train.c
** uses) for the harnesses that read weight files against a model, and for
** tests/fuzz/seeds.c, which writes the seed corpus.
**
** fixed region: w [2,3] @0, b [2] @32, rm [2] @64 (a buffer), Adam state
** opt.m.* and opt.v.* @96..224, hyper.lr @224, loss @228; 256 bytes.
** batched region: image [1,1,3] @0, y @12, probs [2] @16; 24 bytes.
*/
#ifndef LUNAC_FUZZ_MODEL_H
#define LUNAC_FUZZ_MODEL_H

#define FUZZ_SPEC_HASH "0123456789abcdef"

#define FUZZ_PRM(n, s, o, k, i) "{\"name\":\"" n "\",\"dtype\":\"f32\",\"shape\":" s \
	",\"offset\":" #o ",\"batched\":false,\"kind\":\"" k "\",\"init\":\"" i "\"," \
	"\"fan_in\":3,\"fan_out\":2}"

#define FUZZ_MODEL_JSON \
	"{\"format\":\"lunac-model-1\",\"name\":\"tiny\",\"compiler\":\"lunac fuzz\"," \
	"\"spec_hash\":\"" FUZZ_SPEC_HASH "\",\"fixed_bytes\":256,\"batch_bytes\":24,\"inputs\":[" \
	"{\"name\":\"hyper.lr\",\"dtype\":\"f32\",\"shape\":[1],\"offset\":224,\"batched\":false}," \
	"{\"name\":\"y\",\"dtype\":\"i32\",\"shape\":[-1],\"offset\":12,\"batched\":true}," \
	"{\"name\":\"image\",\"dtype\":\"f32\",\"shape\":[-1,1,1,3],\"offset\":0,\"batched\":true}]," \
	"\"outputs\":[{\"name\":\"loss\",\"dtype\":\"f32\",\"shape\":[1],\"offset\":228,\"batched\":false}," \
	"{\"name\":\"probs\",\"dtype\":\"f32\",\"shape\":[-1,2],\"offset\":16,\"batched\":true}]," \
	"\"params\":[" FUZZ_PRM("w", "[2,3]", 0, "param", "glorot") "," \
	FUZZ_PRM("b", "[2]", 32, "param", "zeros") "," FUZZ_PRM("rm", "[2]", 64, "buffer", "ones") "," \
	FUZZ_PRM("opt.m.w", "[2,3]", 96, "state", "zeros") "," \
	FUZZ_PRM("opt.m.b", "[2]", 128, "state", "zeros") "," \
	FUZZ_PRM("opt.v.w", "[2,3]", 160, "state", "zeros") "," \
	FUZZ_PRM("opt.v.b", "[2]", 192, "state", "zeros") "]," \
	"\"tasks\":[{\"name\":\"kind\",\"output\":\"probs\",\"label\":\"y\",\"classes\":2,\"weight\":0.5}]," \
	"\"entries\":[{\"name\":\"predict\",\"outputs\":[\"probs\"]}," \
	"{\"name\":\"eval\",\"outputs\":[\"probs\",\"loss\"]},{\"name\":\"train_adam\",\"outputs\":[\"loss\"]}]}"

#endif
