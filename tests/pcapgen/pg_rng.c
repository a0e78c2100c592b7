/* pg_rng: splitmix64 (Steele, Lea, Flood 2014). */
#include "pg_rng.h"

void pg_rng_seed(pg_rng *r, uint64_t seed)
{
    r->s = seed ^ 0x9E3779B97F4A7C15ULL;
}

uint64_t pg_rng_u64(pg_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

uint32_t pg_rng_range(pg_rng *r, uint32_t lo, uint32_t hi)
{
    uint64_t span = (uint64_t)hi - lo + 1;
    return lo + (uint32_t)(pg_rng_u64(r) % span);
}

double pg_rng_unit(pg_rng *r)
{
    return (double)(pg_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

void pg_rng_fill(pg_rng *r, uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint64_t v = pg_rng_u64(r);
        for (int k = 0; k < 8 && i < n; k++, i++) {
            p[i] = (uint8_t)(v >> (8 * k));
        }
    }
}
