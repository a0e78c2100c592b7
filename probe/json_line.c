#include "json_line.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 16

static bool reserve(json_line_t *l, size_t n)
{
    if (l->cap - l->len >= n)
        return true;
    size_t cap = l->cap ? l->cap : 1024;
    while (cap - l->len < n)
        cap *= 2;
    char *b = realloc(l->buf, cap);
    if (!b)
        return false;
    l->buf = b;
    l->cap = cap;
    return true;
}

static bool put(json_line_t *l, const char *s, size_t n)
{
    if (!reserve(l, n))
        return false;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
    return true;
}

static bool put_integer(json_line_t *l, json_int_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[--i] = '-';
    return put(l, tmp + i, sizeof tmp - i);
}

/* jansson's jsonp_dtostr(): "%.*g", ".0" when neither '.' nor 'e' shows,
 * then the exponent's '+' and leading zeros go. */
static bool put_real(json_line_t *l, double v)
{
    char tmp[40];
    int n = snprintf(tmp, sizeof tmp - 2, "%.15g", v);
    if (n < 0 || (size_t)n >= sizeof tmp - 2)
        return false;
    size_t len = (size_t)n;
    if (!memchr(tmp, '.', len) && !memchr(tmp, 'e', len)) {
        memcpy(tmp + len, ".0", 2);
        len += 2;
    }
    char *e = memchr(tmp, 'e', len);
    if (e) {
        char *from = e + 1, *to = e + 1;
        if (*to == '-')
            to++, from++;
        else if (*from == '+')
            from++;
        while (from < tmp + len - 1 && *from == '0')
            from++;
        memmove(to, from, (size_t)(tmp + len - from));
        len -= (size_t)(from - to);
    }
    return put(l, tmp, len);
}

/* Writes c escaped at o (room for 6); returns the end. */
static char *escape(char *o, unsigned char c)
{
    static const char hex[] = "0123456789ABCDEF";
    static const char named[] = {['"'] = '"', ['\\'] = '\\', ['\b'] = 'b', ['\f'] = 'f',
                                 ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't'};
    *o++ = '\\';
    if (c < sizeof named && named[c]) {
        *o++ = named[c];
        return o;
    }
    *o++ = 'u';
    *o++ = '0';
    *o++ = '0';
    *o++ = hex[c >> 4];
    *o++ = hex[c & 15];
    return o;
}

/* jansson validated the UTF-8 when the string was made; every byte of a
 * multi-byte sequence is >= 0x80, so bytes are looked at one by one. */
static bool put_string(json_line_t *l, const char *s, size_t n)
{
    if (n > (SIZE_MAX - 2) / 6 || !reserve(l, 2 + 6 * n))
        return false;
    char *o = l->buf + l->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            *o++ = (char)c;
        else
            o = escape(o, c);
    }
    *o++ = '"';
    l->len = (size_t)(o - l->buf);
    return true;
}

static bool put_value(json_line_t *l, const json_t *v, int depth);

static bool put_object(json_line_t *l, const json_t *o, int depth)
{
    if (!put(l, "{", 1))
        return false;
    const char *sep = "";
    for (void *it = json_object_iter((json_t *)o); it;
         it = json_object_iter_next((json_t *)o, it)) {
        const char *key = json_object_iter_key(it);
        if (!put(l, sep, strlen(sep)) || !put_string(l, key, strlen(key)) || !put(l, ":", 1) ||
            !put_value(l, json_object_iter_value(it), depth + 1))
            return false;
        sep = ",";
    }
    return put(l, "}", 1);
}

static bool put_array(json_line_t *l, const json_t *a, int depth)
{
    if (!put(l, "[", 1))
        return false;
    for (size_t i = 0; i < json_array_size(a); i++)
        if ((i > 0 && !put(l, ",", 1)) || !put_value(l, json_array_get(a, i), depth + 1))
            return false;
    return put(l, "]", 1);
}

static bool put_value(json_line_t *l, const json_t *v, int depth)
{
    if (!v || depth > MAX_DEPTH)
        return false;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return put_object(l, v, depth);
    case JSON_ARRAY:
        return put_array(l, v, depth);
    case JSON_STRING:
        return put_string(l, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return put_integer(l, json_integer_value(v));
    case JSON_REAL:
        return put_real(l, json_real_value(v));
    case JSON_TRUE:
        return put(l, "true", 4);
    case JSON_FALSE:
        return put(l, "false", 5);
    case JSON_NULL:
        return put(l, "null", 4);
    }
    return false;
}

bool json_line_format(json_line_t *l, const json_t *rec)
{
    l->len = 0;
    if (put_value(l, rec, 0) && put(l, "\n", 1))
        return true;
    l->len = 0;
    return false;
}

void json_line_free(json_line_t *l)
{
    free(l->buf);
    l->buf = NULL;
    l->len = l->cap = 0;
}
