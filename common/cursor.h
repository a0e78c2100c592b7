/* cursor.h - bounds-checked reads over untrusted bytes.
 *
 * Every read of packet memory in callscope goes through a cur_t. A read that
 * would pass the end returns false and leaves the cursor where it was, so a
 * decoder can bail out and count the drop. Multi-byte reads are big-endian
 * (network order). Nothing here allocates; the cursor borrows the bytes.
 */
#ifndef CALLSCOPE_CURSOR_H
#define CALLSCOPE_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const uint8_t *base; /* borrowed */
    size_t len;
    size_t off;
} cur_t;

void cur_init(cur_t *c, const uint8_t *p, size_t len);
size_t cur_left(const cur_t *c);
size_t cur_offset(const cur_t *c);
/* Pointer to the current position (valid for cur_left() bytes). */
const uint8_t *cur_here(const cur_t *c);

bool cur_u8(cur_t *c, uint8_t *v);
bool cur_u16be(cur_t *c, uint16_t *v);
bool cur_u24be(cur_t *c, uint32_t *v);
bool cur_u32be(cur_t *c, uint32_t *v);
bool cur_u16le(cur_t *c, uint16_t *v);
bool cur_u32le(cur_t *c, uint32_t *v);
bool cur_skip(cur_t *c, size_t n);
/* Copy n bytes out. */
bool cur_copy(cur_t *c, void *dst, size_t n);
/* Borrow n bytes: *p points into the buffer, the cursor moves past them. */
bool cur_take(cur_t *c, size_t n, const uint8_t **p);
/* A sub-cursor over the next n bytes; the parent moves past them. */
bool cur_sub(cur_t *c, size_t n, cur_t *sub);
/* Peek without moving. */
bool cur_peek_u8(const cur_t *c, size_t at, uint8_t *v);
bool cur_peek_u16be(const cur_t *c, size_t at, uint16_t *v);

#endif
