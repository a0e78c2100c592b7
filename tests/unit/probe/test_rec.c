/* test_rec.c - probe/rec.h and probe/json_line.h: each record is built as
 * text and as a jansson tree at once, and the text must be exactly what
 * jansson's json_dumps(JSON_COMPACT | JSON_REAL_PRECISION(15)) makes of
 * the tree; a text-only build must give the same text. The values are the
 * awkward ones: reals with and without exponent, integral reals, -0.0,
 * NaN and infinities (left out), integer extremes, control characters,
 * quotes, UTF-8 and bad UTF-8 (left out), empty and nested containers. */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "rec.h"

typedef void (*fill_fn)(rec_t *r);

static void same_as_jansson(fill_fn fill)
{
    rec_t *r = rec_new();
    rec_begin(r, true, true);
    fill(r);
    CHECK(rec_end(r));
    size_t len;
    const char *text = rec_text(r, &len);
    json_t *tree = rec_take_tree(r);
    char *want = json_dumps(tree, JSON_COMPACT | JSON_REAL_PRECISION(15));
    size_t n = want ? strlen(want) : 0;
    bool same = want && len == n + 1 && memcmp(text, want, n) == 0 && text[n] == '\n';
    if (!same)
        fprintf(stderr, "got '%.*s', want '%s'\n", (int)len, text, want ? want : "(null)");
    CHECK(same);
    rec_begin(r, true, false); /* text only */
    fill(r);
    CHECK(rec_end(r));
    const char *again = rec_text(r, &len);
    CHECK(want && len == n + 1 && memcmp(again, want, n) == 0);
    free(want);
    json_decref(tree);
    rec_free(&r);
    CHECK(r == NULL);
}

static void reals(rec_t *r)
{
    const double v[] = {0.0,      -0.0,     1.0,   -1.5,        0.1,   1.0 / 3.0,         123.456,
                        1e15,     1e16,     1e21,  -2.5e-5,     1e-7,  6.02214076e23,     DBL_MAX,
                        DBL_MIN,  4.9e-324, 100.0, 8278490.123, 1e100, 99.99999999999999, NAN,
                        INFINITY, -INFINITY};
    char key[8];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        snprintf(key, sizeof key, "r%zu", i);
        rec_real(r, key, v[i]);
    }
}

static void integers(rec_t *r)
{
    rec_int(r, "zero", 0);
    rec_int(r, "minus", -1);
    rec_int(r, "nine", 9);
    rec_int(r, "ten", 10);
    rec_int(r, "u32", 4294967295LL);
    rec_int(r, "max", LLONG_MAX);
    rec_int(r, "min", LLONG_MIN);
}

static void strings(rec_t *r)
{
    rec_str(r, "empty", "");
    rec_str(r, "quote", "quote \" backslash \\ slash /");
    rec_str(r, "named", "\b\f\n\r\t");
    rec_str(r, "control", "\x01\x1f\x7f");
    rec_str(r, "utf8", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\x9e");
    rec_str(r, "bad_utf8", "\xc3\x28"); /* left out, as json_string() refuses it */
    rec_str(r, "null", NULL);
    rec_str(r, "k\"ey", "time 2026-01-15T10:00:00.000000Z");
}

static void containers(rec_t *r)
{
    rec_str(r, "type", "stream");
    rec_open(r, "empty_object");
    rec_close(r);
    rec_open_array(r, "empty_array");
    rec_close(r);
    rec_null(r, "z");
    rec_bool(r, "a", true);
    rec_bool(r, "b", false);
    rec_open(r, "rtcp");
    rec_real(r, "rtt_ms", 12.5);
    rec_open_array(r, "list");
    rec_int(r, NULL, 3);
    rec_str(r, NULL, "x");
    rec_real(r, NULL, NAN); /* left out of arrays too */
    rec_open_array(r, NULL);
    rec_close(r);
    rec_open(r, NULL);
    rec_null(r, "deep");
    rec_close(r);
    rec_close(r);
    rec_close(r);
    rec_str(r, "end_reason", "flush");
}

int main(void)
{
    same_as_jansson(reals);
    same_as_jansson(integers);
    same_as_jansson(strings);
    same_as_jansson(containers);
    return check_finish("rec");
}
