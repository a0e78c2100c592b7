#include "pii_cache.h"

#include <stdlib.h>
#include <string.h>

#include "siphash.h"

#define SLOTS 65536 /* a power of two; about 15 MB */
#define KEY_MAX 96  /* "aad\0value" */
#define VAL_MAX 64  /* longest value cached; longer ones are computed each time */

typedef struct {
    uint8_t klen;
    bool hashed;   /* else sealed */
    bool has_pair; /* a sealed entry that also holds the value's lookup hash */
    uint8_t pair_hash[PII_HASH_LEN];
    char key[KEY_MAX];
    uint8_t out[VAL_MAX + PII_OVERHEAD];
    size_t outlen;
} slot_t;

struct pii_cache {
    const pii_t *pii;
    siphash_key_t sk;
    slot_t *slot;
    uint8_t scratch[1024 + PII_OVERHEAD];
};

pii_cache_t *pii_cache_new(const pii_t *pii)
{
    pii_cache_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->slot = calloc(SLOTS, sizeof *c->slot);
    if (!c->slot) {
        free(c);
        return NULL;
    }
    c->pii = pii;
    siphash_key_random(&c->sk);
    return c;
}

void pii_cache_free(pii_cache_t **pc)
{
    if (!pc || !*pc)
        return;
    explicit_bzero((*pc)->slot, SLOTS * sizeof *(*pc)->slot);
    free((*pc)->slot);
    free(*pc);
    *pc = NULL;
}

/* The slot for (tag, value), and whether it already holds it. */
static slot_t *find(pii_cache_t *c, bool hashed, const char *tag, const char *v, size_t len,
                    char *key, size_t *klen, bool *hit)
{
    size_t tl = strlen(tag);
    *hit = false;
    if (len > VAL_MAX || tl + 1 + len > KEY_MAX)
        return NULL;
    memcpy(key, tag, tl);
    key[tl] = '\0';
    memcpy(key + tl + 1, v, len);
    *klen = tl + 1 + len;
    slot_t *s = &c->slot[siphash13(&c->sk, key, *klen) & (SLOTS - 1)];
    *hit = s->klen == *klen && s->hashed == hashed && memcmp(s->key, key, *klen) == 0;
    return s;
}

static void fill(slot_t *s, bool hashed, const char *key, size_t klen, const uint8_t *out,
                 size_t outlen)
{
    s->klen = (uint8_t)klen;
    s->hashed = hashed;
    s->has_pair = false;
    memcpy(s->key, key, klen);
    memcpy(s->out, out, outlen);
    s->outlen = outlen;
}

static bool hash_value(pii_cache_t *c, const char *domain, const char *value,
                       uint8_t out[PII_HASH_LEN])
{
    return (strcmp(domain, "ip") == 0 && pii_lookup_ip(c->pii, value, out)) ||
           pii_lookup(c->pii, domain, value, out);
}

const uint8_t *pii_cache_seal(pii_cache_t *c, const char *aad, const char *value, size_t len,
                              size_t *outlen)
{
    char key[KEY_MAX];
    size_t klen = 0;
    bool hit;
    slot_t *s = find(c, false, aad, value, len, key, &klen, &hit);
    if (hit) {
        *outlen = s->outlen;
        return s->out;
    }
    if (len > sizeof c->scratch - PII_OVERHEAD ||
        !pii_seal(c->pii, aad, value, len, c->scratch, sizeof c->scratch, outlen))
        return NULL;
    if (s)
        fill(s, false, key, klen, c->scratch, *outlen);
    return c->scratch;
}

bool pii_cache_hash(pii_cache_t *c, const char *domain, const char *value, size_t len,
                    uint8_t out[PII_HASH_LEN])
{
    char key[KEY_MAX];
    size_t klen = 0;
    bool hit;
    slot_t *s = find(c, true, domain, value, len, key, &klen, &hit);
    if (hit) {
        memcpy(out, s->out, PII_HASH_LEN);
        return true;
    }
    bool ok = hash_value(c, domain, value, out);
    if (ok && s)
        fill(s, true, key, klen, out, PII_HASH_LEN);
    return ok;
}

const uint8_t *pii_cache_pair(pii_cache_t *c, const char *aad, const char *domain,
                              const char *value, size_t len, size_t *outlen,
                              uint8_t hash[PII_HASH_LEN], bool *hashed)
{
    char key[KEY_MAX];
    size_t klen = 0;
    bool hit;
    slot_t *s = find(c, false, aad, value, len, key, &klen, &hit);
    if (hit && s->has_pair) {
        memcpy(hash, s->pair_hash, PII_HASH_LEN);
        *hashed = true;
        *outlen = s->outlen;
        return s->out;
    }
    if (len > sizeof c->scratch - PII_OVERHEAD ||
        !pii_seal(c->pii, aad, value, len, c->scratch, sizeof c->scratch, outlen))
        return NULL;
    *hashed = hash_value(c, domain, value, hash);
    if (s && *hashed) {
        fill(s, false, key, klen, c->scratch, *outlen);
        s->has_pair = true;
        memcpy(s->pair_hash, hash, PII_HASH_LEN);
    }
    return c->scratch;
}
