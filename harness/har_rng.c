#include "har_rng.h"

/* Same seed, same network behaviour. */
void har_rng_seed(struct har_rng *r, uint64_t seed)
{
	r->state = seed;
}

/* splitmix64: small, fast and well mixed. */
uint64_t har_rng_next(struct har_rng *r)
{
	uint64_t x = (r->state += 0x9e3779b97f4a7c15ULL);
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* 53 random bits make a uniform double. */
double har_rng_unit(struct har_rng *r)
{
	return (double)(har_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Certain outcomes consume no randomness, so adding loss 0 to a profile
 * does not shift the sequence of the other impairments. */
int har_rng_chance(struct har_rng *r, double p)
{
	if (p <= 0)
		return 0;
	if (p >= 1)
		return 1;
	return har_rng_unit(r) < p;
}
