/*
** rng.c -- counter-based random numbers (Philox-4x32-10, Salmon et al. 2011).
** Stateless: the same (seed, step, stream, idx) always gives the same number,
** whatever the thread count or the order elements are visited in.
*/
#include "lunac_rt.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

/* One Philox round on counter c with key k. */
static void round4(uint32_t c[4], const uint32_t k[2])
{
	uint64_t p0 = (uint64_t)PHILOX_M0 * c[0];
	uint64_t p1 = (uint64_t)PHILOX_M1 * c[2];
	uint32_t n0 = (uint32_t)(p1 >> 32) ^ c[1] ^ k[0];
	uint32_t n1 = (uint32_t)p1;
	uint32_t n2 = (uint32_t)(p0 >> 32) ^ c[3] ^ k[1];
	uint32_t n3 = (uint32_t)p0;
	c[0] = n0; c[1] = n1; c[2] = n2; c[3] = n3;
}

/* Philox-4x32-10 of counter c under key (k0, k1); result in c. */
static void philox(uint32_t c[4], uint32_t k0, uint32_t k1)
{
	uint32_t k[2] = {k0, k1};
	for (int i = 0; i < 10; i++) {
		round4(c, k);
		k[0] += PHILOX_W0;
		k[1] += PHILOX_W1;
	}
}

float rt_uniform(uint64_t seed, uint64_t step, uint32_t stream, uint64_t idx)
{
	uint32_t c[4] = {(uint32_t)idx, (uint32_t)(idx >> 32), stream, (uint32_t)step};
	philox(c, (uint32_t)seed, (uint32_t)(seed >> 32) ^ (uint32_t)(step >> 32));
	return (float)(c[0] >> 8) * (1.0f / 16777216.0f);
}
