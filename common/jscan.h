/* jscan.h - a strict, allocation-free JSON checker for one object per line
 * (the probe's records), which also lists the object's top-level members as
 * spans of the input. The collector reads 50,000 records a second; a tree
 * per record (jansson: ~200,000 instructions for a 1 KB record) was the
 * bottleneck, this is ~20 instructions a byte.
 *
 * Checks all of RFC 8259: structure, string escapes and UTF-8 (no overlong
 * forms, no surrogates), number grammar, literals, nesting (at most 32
 * deep), nothing after the object but spaces. One restriction more, as
 * jansson's: no \u0000 in strings. Keys of top-level members
 * must be plain (no escapes) and unique; nested objects are checked, not
 * listed.
 */
#ifndef CALLSCOPE_JSCAN_H
#define CALLSCOPE_JSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSCAN_MAX_MEMBERS 128

typedef enum { JS_STRING, JS_NUMBER, JS_TRUE, JS_FALSE, JS_NULL, JS_OBJECT, JS_ARRAY } js_type_t;

typedef struct {
    const char *key; /* raw key text, no quotes */
    size_t key_len;
    const char *start; /* the member from the key's opening quote... */
    const char *value; /* ...its value (strings: with quotes)... */
    size_t value_len;  /* ...to the value's end */
    js_type_t type;
    bool escaped; /* a string value holding escapes */
    bool integer; /* a number without fraction or exponent */
    uint8_t next; /* internal: the previous member in its key's bucket, + 1 (0: none) */
} js_member_t;

typedef struct {
    js_member_t m[JSCAN_MAX_MEMBERS];
    size_t n;
    /* internal: the last member (+ 1) per bucket of a hash of (length,
     * first, last byte) of the keys, so the duplicate check and
     * jscan_get() compare a key with one or two others, not with all */
    uint8_t bucket[64];
} jscan_t;

/* Checks text as one JSON object; false with err (and the byte offset). */
bool jscan_object(const char *text, size_t len, jscan_t *out, char *err, size_t errlen);
/* The member named key, or NULL. */
const js_member_t *jscan_get(const jscan_t *js, const char *key);
/* A string value unescaped into buf (NUL-terminated); false if it is not a
 * string or does not fit. */
bool jscan_string(const js_member_t *m, char *buf, size_t buflen, size_t *len);

#endif
