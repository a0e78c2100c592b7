#include "siphash.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static void sipround(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = ROTL(v[1], 13);
    v[1] ^= v[0];
    v[0] = ROTL(v[0], 32);
    v[2] += v[3];
    v[3] = ROTL(v[3], 16);
    v[3] ^= v[2];
    v[0] += v[3];
    v[3] = ROTL(v[3], 21);
    v[3] ^= v[0];
    v[2] += v[1];
    v[1] = ROTL(v[1], 17);
    v[1] ^= v[2];
    v[2] = ROTL(v[2], 32);
}

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

uint64_t siphash13(const siphash_key_t *key, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t v[4] = {key->k0 ^ 0x736f6d6570736575ULL, key->k1 ^ 0x646f72616e646f6dULL,
                     key->k0 ^ 0x6c7967656e657261ULL, key->k1 ^ 0x7465646279746573ULL};
    size_t blocks = len / 8;
    for (size_t i = 0; i < blocks; i++) {
        uint64_t m = load_le64(p + i * 8);
        v[3] ^= m;
        sipround(v);
        v[0] ^= m;
    }
    uint8_t tail[8] = {0};
    memcpy(tail, p + blocks * 8, len % 8);
    uint64_t b = ((uint64_t)len << 56) | load_le64(tail);
    v[3] ^= b;
    sipround(v);
    v[0] ^= b;
    v[2] ^= 0xff;
    sipround(v);
    sipround(v);
    sipround(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

void siphash_key_random(siphash_key_t *key)
{
    uint64_t k[2];
    if (getrandom(k, sizeof k, 0) != (ssize_t)sizeof k) {
        /* No entropy source: fall back to time and address; still keyed. */
        k[0] = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)key;
        k[1] = (uint64_t)clock() * 0x9E3779B97F4A7C15ULL;
    }
    key->k0 = k[0];
    key->k1 = k[1];
}
