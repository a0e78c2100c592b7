#include "cursor.h"

#include <string.h>

void cur_init(cur_t *c, const uint8_t *p, size_t len)
{
    c->base = p;
    c->len = p ? len : 0;
    c->off = 0;
}

size_t cur_left(const cur_t *c)
{
    return c->len - c->off;
}

size_t cur_offset(const cur_t *c)
{
    return c->off;
}

const uint8_t *cur_here(const cur_t *c)
{
    return c->base + c->off;
}

static bool has(const cur_t *c, size_t n)
{
    return n <= c->len - c->off;
}

bool cur_u8(cur_t *c, uint8_t *v)
{
    if (!has(c, 1))
        return false;
    *v = c->base[c->off];
    c->off += 1;
    return true;
}

bool cur_u16be(cur_t *c, uint16_t *v)
{
    if (!has(c, 2))
        return false;
    const uint8_t *p = c->base + c->off;
    *v = (uint16_t)((p[0] << 8) | p[1]);
    c->off += 2;
    return true;
}

bool cur_u24be(cur_t *c, uint32_t *v)
{
    if (!has(c, 3))
        return false;
    const uint8_t *p = c->base + c->off;
    *v = ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2];
    c->off += 3;
    return true;
}

bool cur_u32be(cur_t *c, uint32_t *v)
{
    if (!has(c, 4))
        return false;
    const uint8_t *p = c->base + c->off;
    *v = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
    c->off += 4;
    return true;
}

bool cur_u16le(cur_t *c, uint16_t *v)
{
    if (!has(c, 2))
        return false;
    const uint8_t *p = c->base + c->off;
    *v = (uint16_t)((p[1] << 8) | p[0]);
    c->off += 2;
    return true;
}

bool cur_u32le(cur_t *c, uint32_t *v)
{
    if (!has(c, 4))
        return false;
    const uint8_t *p = c->base + c->off;
    *v = ((uint32_t)p[3] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[1] << 8) | p[0];
    c->off += 4;
    return true;
}

bool cur_skip(cur_t *c, size_t n)
{
    if (!has(c, n))
        return false;
    c->off += n;
    return true;
}

bool cur_copy(cur_t *c, void *dst, size_t n)
{
    if (!has(c, n))
        return false;
    memcpy(dst, c->base + c->off, n);
    c->off += n;
    return true;
}

bool cur_take(cur_t *c, size_t n, const uint8_t **p)
{
    if (!has(c, n))
        return false;
    *p = c->base + c->off;
    c->off += n;
    return true;
}

bool cur_sub(cur_t *c, size_t n, cur_t *sub)
{
    if (!has(c, n))
        return false;
    cur_init(sub, c->base + c->off, n);
    c->off += n;
    return true;
}

bool cur_peek_u8(const cur_t *c, size_t at, uint8_t *v)
{
    if (at >= cur_left(c))
        return false;
    *v = c->base[c->off + at];
    return true;
}

bool cur_peek_u16be(const cur_t *c, size_t at, uint16_t *v)
{
    if (cur_left(c) < 2 || at > cur_left(c) - 2)
        return false;
    const uint8_t *p = c->base + c->off + at;
    *v = (uint16_t)((p[0] << 8) | p[1]);
    return true;
}
