/* test_json_line.c - probe/json_line.h against jansson's own json_dumps()
 * (JSON_COMPACT | JSON_REAL_PRECISION(15)) on the awkward values: reals
 * with and without exponent, integral reals, -0.0, integer extremes,
 * control characters, quotes, backslashes, UTF-8, empty and nested
 * containers. The golden outputs pin the record formats too. */
#include <float.h>
#include <limits.h>
#include <stdlib.h>

#include "check.h"
#include "json_line.h"

static void same_as_jansson(json_t *v)
{
    json_line_t l = {0};
    char *want = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(15) | JSON_ENCODE_ANY);
    CHECK(want != NULL);
    CHECK(json_line_format(&l, v));
    size_t n = want ? strlen(want) : 0;
    bool same = want && l.len == n + 1 && memcmp(l.buf, want, n) == 0 && l.buf[n] == '\n';
    if (!same)
        fprintf(stderr, "got '%.*s', want '%s'\n", (int)l.len, l.buf, want ? want : "(null)");
    CHECK(same);
    free(want);
    json_line_free(&l);
    json_decref(v);
}

static void test_reals(void)
{
    const double v[] = {0.0, -0.0, 1.0, -1.5, 0.1, 1.0 / 3.0, 123.456, 1e15, 1e16, 1e21,
                        -2.5e-5, 1e-7, 6.02214076e23, DBL_MAX, DBL_MIN, 4.9e-324, 100.0,
                        8278490.123, 1e100, 99.99999999999999};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        same_as_jansson(json_real(v[i]));
}

static void test_integers(void)
{
    const json_int_t v[] = {0, 1, -1, 9, 10, 65535, 4294967295LL, LLONG_MAX, LLONG_MIN};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        same_as_jansson(json_integer(v[i]));
}

static void test_strings(void)
{
    const char *v[] = {"", "plain", "quote \" backslash \\ slash /", "\b\f\n\r\t", "\x01\x1f\x7f",
                       "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\x9e", "2026-01-15T10:00:00.000000Z"};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        same_as_jansson(json_string(v[i]));
}

static void test_containers(void)
{
    same_as_jansson(json_object());
    same_as_jansson(json_array());
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string("stream"));
    json_object_set_new(o, "z", json_null());
    json_object_set_new(o, "a", json_true());
    json_object_set_new(o, "k\"ey", json_false());
    json_t *in = json_object();
    json_object_set_new(in, "rtt_ms", json_real(12.5));
    json_object_set_new(in, "list", json_pack("[i, s, [], {}]", 3, "x"));
    json_object_set_new(o, "rtcp", in);
    json_object_set_new(o, "type", json_string("replaced in place"));
    same_as_jansson(o);
}

int main(void)
{
    test_reals();
    test_integers();
    test_strings();
    test_containers();
    return check_finish("json_line");
}
