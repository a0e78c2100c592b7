/* test_jscan.c - common/jscan.h: the strict checker with its fast path for
 * plain string bytes (16 at a time with SSE2, then a table lookup per byte,
 * four at a time) and the hashed member lookup; every boundary of the plain
 * run is tried at every offset modulo 16, so neither loop's tail can hide a
 * byte. */
#include <stdlib.h>

#include "check.h"
#include "jscan.h"

static bool ok(const char *text)
{
    jscan_t js;
    char err[128];
    return jscan_object(text, strlen(text), &js, err, sizeof err);
}

/* {"k":"<pad><special><pad2>"} for every pad length 0-40 and 0-20: each
 * special byte at every offset of the 16-byte SSE2 steps and of the table's
 * tail, and the closing quote too */
static void string_boundaries(void)
{
    static const struct {
        const char *piece;
        bool valid;
    } specials[] = {
        {"\\\"", true},     {"\\\\", true},         {"\\n", true},       {"\\u00e9", true},
        {"\xc3\xa9", true}, {"\xe2\x82\xac", true}, {"\x7f", true},      {"\"", false},
        {"\x01", false},    {"\x1f", false},        {"\xc0\xaf", false}, {"\xed\xa0\x80", false},
        {"\xff", false},    {"\\x", false},         {"\\u0000", false},  {"\xc3", false},
    };
    for (size_t k = 0; k < sizeof specials / sizeof specials[0]; k++) {
        for (int pad = 0; pad <= 40; pad++) {
            for (int pad2 = 0; pad2 <= 20; pad2++) {
                char text[160];
                snprintf(text, sizeof text, "{\"k\":\"%.*s%s%.*s\"}", pad,
                         "abcdefghijklmnopqrstuvwxyz0123456789ABCD", specials[k].piece, pad2,
                         "wxyzWXYZ~!#$%&'()*+,-");
                if (ok(text) != specials[k].valid)
                    fprintf(stderr, "case %zu pad %d/%d: %s\n", k, pad, pad2, text);
                CHECK(ok(text) == specials[k].valid);
            }
        }
    }
    /* unterminated at every length */
    for (int n = 0; n <= 40; n++) {
        char text[64];
        snprintf(text, sizeof text, "{\"k\":\"%.*s", n, "abcdefghijklmnopqrstuvwxyz0123456789ABCD");
        CHECK(!ok(text));
    }
    /* a string ending exactly at the buffer's end, no NUL after it */
    const char body[] = {'{', '"', 'k', '"', ':', '"', 'a', 'b', 'c', 'd', 'e'};
    char *heap = malloc(sizeof body);
    memcpy(heap, body, sizeof body);
    jscan_t js;
    char err[128];
    CHECK(!jscan_object(heap, sizeof body, &js, err, sizeof err));
    free(heap);
    /* the same with 16-47 string bytes: the SSE2 loop's last load ends at
     * the buffer's end or before it (ASan sees any byte past it) */
    for (size_t n = 16; n < 48; n++) {
        char *h = malloc(6 + n);
        memcpy(h, "{\"k\":\"", 6);
        memset(h + 6, 'a', n);
        CHECK(!jscan_object(h, 6 + n, &js, err, sizeof err));
        h[6 + n - 1] = '"';
        h[6 + n - 2] = '}'; /* a string holding '}', then no closing brace */
        CHECK(!jscan_object(h, 6 + n, &js, err, sizeof err));
        free(h);
    }
}

static void members(void)
{
    /* 100 members: every one found through the hash, duplicates refused */
    char text[4096];
    size_t o = (size_t)snprintf(text, sizeof text, "{");
    for (int i = 0; i < 100; i++)
        o += (size_t)snprintf(text + o, sizeof text - o, "%s\"key_%d\":%d", i ? "," : "", i, i);
    snprintf(text + o, sizeof text - o, "}");
    jscan_t js;
    char err[128];
    CHECK(jscan_object(text, strlen(text), &js, err, sizeof err));
    CHECK_EQ_UINT(js.n, 100);
    for (int i = 0; i < 100; i++) {
        char key[16], want[16];
        snprintf(key, sizeof key, "key_%d", i);
        snprintf(want, sizeof want, "%d", i);
        const js_member_t *m = jscan_get(&js, key);
        CHECK(m != NULL);
        if (m) {
            CHECK_EQ_UINT(m->value_len, strlen(want));
            CHECK(memcmp(m->value, want, m->value_len) == 0);
        }
    }
    CHECK(jscan_get(&js, "key_100") == NULL);
    CHECK(jscan_get(&js, "key_") == NULL);
    CHECK(jscan_get(&js, "") == NULL);
    /* same length, first and last byte (one bucket), yet different keys */
    CHECK(ok("{\"axb\":1,\"ayb\":2,\"azb\":3}"));
    CHECK(!ok("{\"axb\":1,\"ayb\":2,\"axb\":3}"));
    CHECK(!ok("{\"a\":1,\"b\":2,\"a\":3}"));
    CHECK(ok("{\"\":1,\"a\":2}"));
    CHECK(!ok("{\"\":1,\"\":2}"));
    /* a second scan with the same jscan_t forgets the first one's keys */
    CHECK(jscan_object("{\"x\":1}", 7, &js, err, sizeof err));
    CHECK(jscan_get(&js, "key_5") == NULL);
    CHECK(jscan_get(&js, "x") != NULL);
}

int main(void)
{
    string_boundaries();
    members();
    return check_finish("jscan");
}
