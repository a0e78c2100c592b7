/* test_cursor.c - common/cursor.h: every reader at the exact end and one
 * byte short, sub-cursors, peek bounds, NULL and empty buffers. */
#include "check.h"
#include "cursor.h"

static const uint8_t B[8] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};

static void test_init_null_and_empty(void)
{
    cur_t c;
    uint8_t v8 = 0xAA;
    cur_init(&c, NULL, 100); /* NULL base: length forced to 0 */
    CHECK_EQ_UINT(cur_left(&c), 0);
    CHECK_EQ_UINT(cur_offset(&c), 0);
    CHECK(!cur_u8(&c, &v8));
    CHECK_EQ_UINT(v8, 0xAA); /* untouched on failure */
    CHECK(!cur_peek_u8(&c, 0, &v8));
    CHECK(cur_skip(&c, 0));

    cur_init(&c, B, 0); /* zero length */
    CHECK_EQ_UINT(cur_left(&c), 0);
    CHECK(!cur_u8(&c, &v8));
    uint16_t v16;
    CHECK(!cur_peek_u16be(&c, 0, &v16));
    CHECK(cur_skip(&c, 0));
    CHECK(!cur_skip(&c, 1));
    cur_t sub;
    CHECK(cur_sub(&c, 0, &sub));
    CHECK_EQ_UINT(cur_left(&sub), 0);
}

/* Each reader of width w: succeeds over exactly w bytes, fails over w-1,
 * and a failure leaves the offset unchanged. */
static void test_exact_end_and_short(void)
{
    cur_t c;
    uint8_t v8;
    uint16_t v16;
    uint32_t v32;

    cur_init(&c, B, 1);
    CHECK(cur_u8(&c, &v8));
    CHECK_EQ_UINT(v8, 0x01);
    CHECK_EQ_UINT(cur_left(&c), 0);
    CHECK(!cur_u8(&c, &v8));
    CHECK_EQ_UINT(cur_offset(&c), 1);

    cur_init(&c, B, 2);
    CHECK(cur_u16be(&c, &v16));
    CHECK_EQ_UINT(v16, 0x0102);
    CHECK_EQ_UINT(cur_left(&c), 0);
    cur_init(&c, B, 1);
    CHECK(!cur_u16be(&c, &v16));
    CHECK_EQ_UINT(cur_offset(&c), 0);

    cur_init(&c, B, 3);
    CHECK(cur_u24be(&c, &v32));
    CHECK_EQ_UINT(v32, 0x010203);
    CHECK_EQ_UINT(cur_left(&c), 0);
    cur_init(&c, B, 2);
    CHECK(!cur_u24be(&c, &v32));
    CHECK_EQ_UINT(cur_offset(&c), 0);

    cur_init(&c, B, 4);
    CHECK(cur_u32be(&c, &v32));
    CHECK_EQ_UINT(v32, 0x01020304);
    CHECK_EQ_UINT(cur_left(&c), 0);
    cur_init(&c, B, 3);
    CHECK(!cur_u32be(&c, &v32));
    CHECK_EQ_UINT(cur_offset(&c), 0);

    cur_init(&c, B, 2);
    CHECK(cur_u16le(&c, &v16));
    CHECK_EQ_UINT(v16, 0x0201);
    cur_init(&c, B, 1);
    CHECK(!cur_u16le(&c, &v16));
    CHECK_EQ_UINT(cur_offset(&c), 0);

    cur_init(&c, B, 4);
    CHECK(cur_u32le(&c, &v32));
    CHECK_EQ_UINT(v32, 0x04030201);
    cur_init(&c, B, 3);
    CHECK(!cur_u32le(&c, &v32));
    CHECK_EQ_UINT(cur_offset(&c), 0);

    cur_init(&c, B, 8);
    CHECK(cur_skip(&c, 8));
    CHECK_EQ_UINT(cur_left(&c), 0);
    cur_init(&c, B, 8);
    CHECK(!cur_skip(&c, 9));
    CHECK(!cur_skip(&c, SIZE_MAX)); /* no wrap-around in the bound */
    CHECK_EQ_UINT(cur_offset(&c), 0);

    uint8_t dst[8] = {0};
    cur_init(&c, B, 8);
    CHECK(cur_copy(&c, dst, 8));
    CHECK(memcmp(dst, B, 8) == 0);
    cur_init(&c, B, 7);
    memset(dst, 0xEE, sizeof dst);
    CHECK(!cur_copy(&c, dst, 8));
    CHECK_EQ_UINT(dst[0], 0xEE); /* nothing copied on failure */
    CHECK_EQ_UINT(cur_offset(&c), 0);

    const uint8_t *p = NULL;
    cur_init(&c, B, 8);
    CHECK(cur_skip(&c, 3));
    CHECK(cur_take(&c, 5, &p));
    CHECK(p == B + 3);
    CHECK_EQ_UINT(cur_left(&c), 0);
    cur_init(&c, B, 8);
    CHECK(cur_skip(&c, 3));
    CHECK(!cur_take(&c, 6, &p));
    CHECK_EQ_UINT(cur_offset(&c), 3);
    CHECK(cur_here(&c) == B + 3);
}

static void test_reads_advance(void)
{
    cur_t c;
    uint8_t v8;
    uint16_t v16;
    uint32_t v32;
    cur_init(&c, B, 8);
    CHECK(cur_u8(&c, &v8) && v8 == 0x01);
    CHECK(cur_u16be(&c, &v16) && v16 == 0x0203);
    CHECK(cur_u24be(&c, &v32) && v32 == 0x040506);
    CHECK_EQ_UINT(cur_offset(&c), 6);
    CHECK_EQ_UINT(cur_left(&c), 2);
    CHECK(!cur_u32be(&c, &v32)); /* 2 left, want 4 */
    CHECK(cur_u16be(&c, &v16) && v16 == 0x0708);
}

static void test_sub(void)
{
    cur_t c, sub, sub2;
    uint8_t v8;
    uint32_t v32;
    cur_init(&c, B, 8);
    CHECK(cur_skip(&c, 2));
    CHECK(cur_sub(&c, 4, &sub)); /* bytes 2..5 */
    CHECK_EQ_UINT(cur_offset(&c), 6);
    CHECK_EQ_UINT(cur_left(&sub), 4);
    CHECK(cur_u32be(&sub, &v32));
    CHECK_EQ_UINT(v32, 0x03040506);
    CHECK(!cur_u8(&sub, &v8)); /* sub ends at its own end, not the parent's */
    CHECK(cur_u8(&c, &v8) && v8 == 0x07);

    /* sub that is exactly the rest, and one byte more than the rest */
    cur_init(&c, B, 8);
    CHECK(cur_sub(&c, 8, &sub));
    CHECK_EQ_UINT(cur_left(&c), 0);
    cur_init(&c, B, 8);
    CHECK(!cur_sub(&c, 9, &sub2));
    CHECK_EQ_UINT(cur_offset(&c), 0);

    /* nested: a sub of a sub cannot see past the outer sub */
    cur_init(&c, B, 8);
    CHECK(cur_sub(&c, 3, &sub));
    CHECK(!cur_sub(&sub, 4, &sub2));
    CHECK(cur_sub(&sub, 3, &sub2));
    CHECK(cur_peek_u8(&sub2, 2, &v8) && v8 == 0x03);
    CHECK(!cur_peek_u8(&sub2, 3, &v8));
}

static void test_peek(void)
{
    cur_t c;
    uint8_t v8 = 0;
    uint16_t v16 = 0;
    cur_init(&c, B, 4);
    CHECK(cur_skip(&c, 1)); /* left: 02 03 04 */
    CHECK(cur_peek_u8(&c, 0, &v8) && v8 == 0x02);
    CHECK(cur_peek_u8(&c, 2, &v8) && v8 == 0x04);
    CHECK(!cur_peek_u8(&c, 3, &v8));
    CHECK(!cur_peek_u8(&c, SIZE_MAX, &v8));
    CHECK(cur_peek_u16be(&c, 0, &v16) && v16 == 0x0203);
    CHECK(cur_peek_u16be(&c, 1, &v16) && v16 == 0x0304);
    CHECK(!cur_peek_u16be(&c, 2, &v16)); /* one byte short */
    CHECK(!cur_peek_u16be(&c, SIZE_MAX, &v16));
    CHECK_EQ_UINT(cur_offset(&c), 1); /* peeks do not move */
    cur_init(&c, B, 1);
    CHECK(!cur_peek_u16be(&c, 0, &v16)); /* fewer than 2 bytes at all */
}

int main(void)
{
    RUN(test_init_null_and_empty);
    RUN(test_exact_end_and_short);
    RUN(test_reads_advance);
    RUN(test_sub);
    RUN(test_peek);
    return check_finish("unit_cursor");
}
