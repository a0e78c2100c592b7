/* pg_rng: deterministic splitmix64 generator (never rand()/time()). */
#ifndef PG_RNG_H
#define PG_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t s;
} pg_rng;

void pg_rng_seed(pg_rng *r, uint64_t seed);
uint64_t pg_rng_u64(pg_rng *r);
/* Uniform integer in [lo, hi] (inclusive). */
uint32_t pg_rng_range(pg_rng *r, uint32_t lo, uint32_t hi);
/* Uniform double in [0, 1). */
double pg_rng_unit(pg_rng *r);
void pg_rng_fill(pg_rng *r, uint8_t *p, size_t n);

#endif
