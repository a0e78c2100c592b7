#include "pii_cache.h"

#include <stdlib.h>
#include <string.h>

#include "siphash.h"

#define SLOTS 65536 /* a power of two; about 15 MB */
#define WAYS 4      /* slots per set: a value goes into one set, any of its ways */
#define SETS (SLOTS / WAYS)
#define KEY_MAX 96 /* "aad\0value" */
#define VAL_MAX 64 /* longest value cached; longer ones are computed each time */

/* Four ways per set, the least recently used one replaced: direct-mapped,
 * two (column, value)s whose hashes met in one slot evicted each other on
 * every visit. With the benchmark's 15,000 of them in 65,536 slots, a
 * quarter of all lookups missed (each miss ~34,000 instructions of
 * AES-GCM and HMAC, 17,000 per stream record); with four ways only the
 * first sighting of a value misses (docs/store.md, Writing fast).
 *
 * The ways' tags and clocks sit apart from the slots, 32 bytes a set (512
 * KiB in all, mostly in the CPU's cache): a lookup reads one line of them
 * and then only the slot whose tag matches, not the first line of four
 * 240-byte slots spread over 15 MB (perf: find() was 6 % of the
 * collector's cycles, nearly all waiting for memory). */
typedef struct {
    uint32_t tag[WAYS];  /* the key's hash, never 0; 0: empty */
    uint32_t used[WAYS]; /* clock of the last hit or fill (least recently used goes) */
} set_t;

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
    set_t *set;
    slot_t *slot;
    uint32_t clock;
    uint8_t scratch[1024 + PII_OVERHEAD];
};

pii_cache_t *pii_cache_new(const pii_t *pii)
{
    pii_cache_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->slot = calloc(SLOTS, sizeof *c->slot);
    c->set = calloc(SETS, sizeof *c->set);
    if (!c->slot || !c->set) {
        free(c->slot);
        free(c->set);
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
    free((*pc)->set);
    free(*pc);
    *pc = NULL;
}

/* The slot that holds (tag, value) (*hit), or the one to fill with it: an
 * empty way of its set, else the least recently used. */
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
    uint64_t h = siphash13(&c->sk, key, *klen);
    size_t si = (size_t)(h & (SETS - 1));
    set_t *set = &c->set[si];
    slot_t *slots = &c->slot[si * WAYS];
    uint32_t t = (uint32_t)(h >> 32) | 1, now = ++c->clock;
    int victim = 0;
    for (int w = 0; w < WAYS; w++) {
        slot_t *s = &slots[w];
        if (set->tag[w] == t && s->klen == *klen && s->hashed == hashed &&
            memcmp(s->key, key, *klen) == 0) {
            set->used[w] = now;
            *hit = true;
            return s;
        }
        /* empty first, then the oldest (unsigned difference: wraps) */
        if (set->tag[victim] != 0 &&
            (set->tag[w] == 0 || now - set->used[w] > now - set->used[victim]))
            victim = w;
    }
    /* the way is the new value's from here on (its old value is gone even
     * if the caller cannot fill it: the tag no longer matches) */
    set->tag[victim] = t;
    set->used[victim] = now;
    return &slots[victim];
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
