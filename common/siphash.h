/* siphash.h - SipHash-1-3 (Aumasson & Bernstein), a keyed hash for tables
 * whose keys an attacker controls (flow keys from a mirror port). */
#ifndef CALLSCOPE_SIPHASH_H
#define CALLSCOPE_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t k0, k1;
} siphash_key_t;

uint64_t siphash13(const siphash_key_t *key, const void *data, size_t len);
/* Fills the key from the kernel's random source (getrandom). */
void siphash_key_random(siphash_key_t *key);

#endif
