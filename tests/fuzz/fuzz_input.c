#include "fuzz_input.h"

#include <stdio.h>
#include <stdlib.h>

bool fuzz_input_next(cur_t *c, fuzz_rec_t *r)
{
    uint16_t head, tag;
    if (!cur_u16be(c, &head) || !cur_u16be(c, &tag))
        return false;
    size_t want = head & FUZZ_REC_LEN_MASK;
    size_t left = cur_left(c);
    r->flags = (uint8_t)(head >> 12);
    r->tag = (int16_t)tag;
    r->len = want < left ? want : left;
    r->data = cur_here(c);
    (void)cur_skip(c, r->len);
    return true;
}

uint8_t fuzz_input_touch(const uint8_t *p, size_t n)
{
    volatile uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc ^= p[i];
    return acc;
}

void fuzz_input_check(bool ok, const char *what)
{
    if (ok)
        return;
    fprintf(stderr, "fuzz invariant broken: %s\n", what);
    abort();
}

void fuzz_input_check_view(const uint8_t *base, size_t len, const uint8_t *p, size_t n,
                           const char *what)
{
    if (n == 0)
        return;
    fuzz_input_check(p != NULL && p >= base && n <= len && (size_t)(p - base) <= len - n, what);
    (void)fuzz_input_touch(p, n);
}
