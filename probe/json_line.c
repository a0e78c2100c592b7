#include "json_line.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void json_line_reset(json_line_t *l)
{
    l->len = 0;
    l->depth = 0;
    l->failed = false;
}

void json_line_free(json_line_t *l)
{
    free(l->buf);
    l->buf = NULL;
    l->len = l->cap = 0;
}

/* Room for n more bytes; false (and the line failed) when there is none. */
static bool reserve(json_line_t *l, size_t n)
{
    if (l->failed)
        return false;
    if (l->cap - l->len >= n)
        return true;
    size_t cap = l->cap ? l->cap : 1024;
    while (cap - l->len < n && cap < SIZE_MAX / 2)
        cap *= 2;
    char *b = cap - l->len >= n ? realloc(l->buf, cap) : NULL;
    if (!b) {
        l->failed = true;
        return false;
    }
    l->buf = b;
    l->cap = cap;
    return true;
}

static void put(json_line_t *l, const char *s, size_t n)
{
    if (!reserve(l, n))
        return;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

void json_line_element(json_line_t *l)
{
    if (l->depth == 0)
        return;
    if (l->has_member[l->depth - 1])
        put(l, ",", 1);
    l->has_member[l->depth - 1] = true;
}

void json_line_key(json_line_t *l, const char *key)
{
    json_line_element(l);
    json_line_string(l, key, strlen(key));
    put(l, ":", 1);
}

void json_line_open(json_line_t *l, char bracket)
{
    if (l->depth >= JSON_LINE_MAX_DEPTH) {
        l->failed = true;
        return;
    }
    put(l, &bracket, 1);
    l->has_member[l->depth++] = false;
}

void json_line_close(json_line_t *l, char bracket)
{
    if (l->depth > 0)
        l->depth--;
    put(l, &bracket, 1);
}

void json_line_integer(json_line_t *l, long long v)
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
    put(l, tmp + i, sizeof tmp - i);
}

/* jansson's jsonp_dtostr(): "%.*g", ".0" when neither '.' nor 'e' shows,
 * then the exponent's '+' and leading zeros go. */
void json_line_real(json_line_t *l, double v)
{
    char tmp[40];
    int n = snprintf(tmp, sizeof tmp - 2, "%.15g", v);
    if (n < 0 || (size_t)n >= sizeof tmp - 2) {
        l->failed = true;
        return;
    }
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
    put(l, tmp, len);
}

/* Writes c escaped at o (room for 6); returns the end. */
static char *escape(char *o, unsigned char c)
{
    static const char hex[] = "0123456789ABCDEF";
    static const char named[] = {['"'] = '"',  ['\\'] = '\\', ['\b'] = 'b', ['\f'] = 'f',
                                 ['\n'] = 'n', ['\r'] = 'r',  ['\t'] = 't'};
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

/* Every byte of a UTF-8 multi-byte sequence is >= 0x80, so bytes are
 * looked at one by one; the caller vouches for the UTF-8. */
void json_line_string(json_line_t *l, const char *s, size_t n)
{
    if (n > (SIZE_MAX - 2) / 6 || !reserve(l, 2 + 6 * n)) {
        l->failed = true;
        return;
    }
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
}

void json_line_literal(json_line_t *l, const char *word)
{
    put(l, word, strlen(word));
}
