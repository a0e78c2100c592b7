/* pii_cache.h - remembers the sealed form and lookup hash of recent
 * addresses and MACs, so a client's hundredth stream costs no cipher work.
 *
 * A value sealed once is reused for the same (column, value): equal values
 * then have equal ciphertexts, which says nothing the lookup hash beside
 * them does not already say. Four-way set-associative (least recently used
 * replaced), keyed with a random SipHash key, fixed size (65,536 values);
 * only for one store and one set of organisation keys.
 */
#ifndef CALLSCOPE_PII_CACHE_H
#define CALLSCOPE_PII_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pii.h"

typedef struct pii_cache pii_cache_t;

pii_cache_t *pii_cache_new(const pii_t *pii);
void pii_cache_free(pii_cache_t **c);
/* The sealed value (borrowed until the next call), NULL on failure. */
const uint8_t *pii_cache_seal(pii_cache_t *c, const char *aad, const char *value, size_t len,
                              size_t *outlen);
/* The lookup hash; addresses in canonical form first. false on failure. */
bool pii_cache_hash(pii_cache_t *c, const char *domain, const char *value, size_t len,
                    uint8_t out[PII_HASH_LEN]);

/* Both at once for one (column, value): one lookup instead of two. The
 * sealed value as pii_cache_seal(); *hashed false when no hash can be made
 * (then hash is not set). */
const uint8_t *pii_cache_pair(pii_cache_t *c, const char *aad, const char *domain,
                              const char *value, size_t len, size_t *outlen,
                              uint8_t hash[PII_HASH_LEN], bool *hashed);

#endif
