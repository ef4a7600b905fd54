#ifndef HAR_RNG_H
#define HAR_RNG_H
#include <stdint.h>

/* A small seeded generator (splitmix64) so a scenario's network behaviour
 * is the same for the same seed: runs can be reproduced from the report. */
struct har_rng {
	uint64_t state;
};

/* Starts the sequence of a seed. */
void har_rng_seed(struct har_rng *r, uint64_t seed);
/* The next 64 random bits. */
uint64_t har_rng_next(struct har_rng *r);
/* A uniform double in [0, 1). */
double har_rng_unit(struct har_rng *r);
/* True with probability p (p <= 0 never, p >= 1 always; no draw then). */
int har_rng_chance(struct har_rng *r, double p);

#endif
