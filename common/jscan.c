#include "jscan.h"

#include <stdio.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define JSCAN_MAX_DEPTH 32

typedef struct {
    const char *p, *end, *base;
    const char *why;
} scan_t;

static void ws(scan_t *s)
{
    if (s->p < s->end && (unsigned char)*s->p > ' ') /* the probe writes no spaces */
        return;
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static bool fail(scan_t *s, const char *why)
{
    if (!s->why)
        s->why = why;
    return false;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* \uXXXX at p (after the backslash and 'u'); the code unit in *u. */
static bool hex4(scan_t *s, unsigned *u)
{
    if (s->end - s->p < 4)
        return fail(s, "truncated \\u escape");
    *u = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(s->p[i]);
        if (h < 0)
            return fail(s, "bad \\u escape");
        *u = *u << 4 | (unsigned)h;
    }
    s->p += 4;
    return true;
}

static bool escape(scan_t *s, bool *escaped)
{
    *escaped = true;
    if (++s->p >= s->end)
        return fail(s, "truncated escape");
    char c = *s->p++;
    if (memchr("\"\\/bfnrt", c, 8)) /* not strchr: it would match a NUL byte */
        return true;
    unsigned u, lo;
    if (c != 'u' || !hex4(s, &u))
        return fail(s, "bad escape");
    if (u == 0) /* allowed by RFC 8259, but no record needs it and C strings end there */
        return fail(s, "\\u0000 in a string");
    if (u >= 0xDC00 && u <= 0xDFFF)
        return fail(s, "lone low surrogate");
    if (u < 0xD800 || u > 0xDBFF)
        return true;
    if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u')
        return fail(s, "lone high surrogate");
    s->p += 2;
    if (!hex4(s, &lo) || lo < 0xDC00 || lo > 0xDFFF)
        return fail(s, "bad surrogate pair");
    return true;
}

/* One UTF-8 sequence of 2-4 bytes (RFC 3629: no overlongs, no surrogates). */
static bool utf8(scan_t *s)
{
    const unsigned char *q = (const unsigned char *)s->p;
    size_t left = (size_t)(s->end - s->p);
    unsigned c = q[0], n, min, cp;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, min = 0x80, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, min = 0x800, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, min = 0x10000, cp = c & 0x07;
    else
        return fail(s, "invalid UTF-8");
    if (left < n)
        return fail(s, "truncated UTF-8");
    for (unsigned i = 1; i < n; i++) {
        if ((q[i] & 0xC0) != 0x80)
            return fail(s, "invalid UTF-8");
        cp = cp << 6 | (q[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return fail(s, "invalid UTF-8");
    s->p += n;
    return true;
}

/* 1 for the bytes a string may hold as they are (printable ASCII but '"'
 * and '\\'): the loop below skips runs of them with one load and test per
 * byte (callgrind: jscan 23,000 -> see docs/store.md instructions per
 * stream record). */
// clang-format off
static const unsigned char plain[256] = {
#define P4(x) x, x, x, x
#define P16(x) P4(x), P4(x), P4(x), P4(x)
    P16(0), P16(0),                                 /* 0x00-0x1F: control characters */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x20-0x2F: '"' */
    P16(1), P16(1),                                 /* 0x30-0x4F */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 0x50-0x5F: backslash */
    P16(1), P16(1),                                 /* 0x60-0x7F */
    P16(0), P16(0), P16(0), P16(0),                 /* 0x80-0xFF: UTF-8, checked apart */
    P16(0), P16(0), P16(0), P16(0)
#undef P16
#undef P4
};
// clang-format on

/* The first byte from q on that is not plain (or end). With SSE2, 16 bytes
 * a step: '"', '\\' and, compared as signed bytes, everything under 0x20
 * (control characters and, negative, every byte from 0x80) stop it; the
 * table does the last 15 bytes before end (no load reads past end).
 * Callgrind, a 947-byte stream record: strings 5,900 -> see docs/store.md. */
static const unsigned char *skip_plain(const unsigned char *q, const unsigned char *end)
{
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
                  space = _mm_set1_epi8(0x20);
    while (end - q >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)q);
        __m128i stop =
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                         _mm_cmplt_epi8(v, space));
        unsigned mask = (unsigned)_mm_movemask_epi8(stop);
        if (mask)
            return q + __builtin_ctz(mask);
        q += 16;
    }
#endif
    while (end - q >= 4 && plain[q[0]] && plain[q[1]] && plain[q[2]] && plain[q[3]])
        q += 4;
    while (q < end && plain[*q])
        q++;
    return q;
}

/* A string from its opening quote; s->p ends after the closing one. */
static bool string(scan_t *s, bool *escaped)
{
    *escaped = false;
    s->p++;
    while (s->p < s->end) {
        const unsigned char *q =
            skip_plain((const unsigned char *)s->p, (const unsigned char *)s->end);
        s->p = (const char *)q;
        if (q == (const unsigned char *)s->end)
            break;
        unsigned char c = *q;
        if (c == '"') {
            s->p++;
            return true;
        }
        if (c < 0x20)
            return fail(s, "control character in string");
        if (c == '\\') {
            if (!escape(s, escaped))
                return false;
        } else if (c >= 0x80) {
            if (!utf8(s))
                return false;
        } else {
            s->p++;
        }
    }
    return fail(s, "unterminated string");
}

static bool digits(scan_t *s)
{
    const char *d = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return s->p > d;
}

static bool number(scan_t *s, bool *integer)
{
    *integer = true;
    if (*s->p == '-')
        s->p++;
    if (s->p < s->end && *s->p == '0')
        s->p++;
    else if (!digits(s))
        return fail(s, "bad number");
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        *integer = false;
        if (!digits(s))
            return fail(s, "bad fraction");
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        *integer = false;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (!digits(s))
            return fail(s, "bad exponent");
    }
    return true;
}

static bool literal(scan_t *s, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return fail(s, "unexpected character");
    s->p += n;
    return true;
}

static bool value(scan_t *s, int depth, js_member_t *m);

/* An object or array from its opening bracket. */
static bool container(scan_t *s, int depth, bool object)
{
    if (depth > JSCAN_MAX_DEPTH)
        return fail(s, "nested too deep");
    char close = object ? '}' : ']';
    s->p++;
    ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return true;
    }
    for (;;) {
        bool esc;
        js_member_t ignored;
        if (object) {
            if (s->p >= s->end || *s->p != '"' || !string(s, &esc))
                return fail(s, "expected a key");
            ws(s);
            if (s->p >= s->end || *s->p++ != ':')
                return fail(s, "expected ':'");
        }
        if (!value(s, depth + 1, &ignored))
            return false;
        ws(s);
        if (s->p >= s->end)
            return fail(s, "truncated");
        char c = *s->p++;
        if (c == close)
            return true;
        if (c != ',')
            return fail(s, "expected ',' or a closing bracket");
        ws(s);
    }
}

static bool value(scan_t *s, int depth, js_member_t *m)
{
    ws(s);
    if (s->p >= s->end)
        return fail(s, "value expected");
    m->value = s->p;
    m->escaped = m->integer = false;
    bool ok;
    switch (*s->p) {
    case '"':
        m->type = JS_STRING;
        ok = string(s, &m->escaped);
        break;
    case '{':
    case '[':
        m->type = *s->p == '{' ? JS_OBJECT : JS_ARRAY;
        ok = container(s, depth, *s->p == '{');
        break;
    case 't':
        m->type = JS_TRUE;
        ok = literal(s, "true");
        break;
    case 'f':
        m->type = JS_FALSE;
        ok = literal(s, "false");
        break;
    case 'n':
        m->type = JS_NULL;
        ok = literal(s, "null");
        break;
    default:
        m->type = JS_NUMBER;
        ok = (*s->p == '-' || (*s->p >= '0' && *s->p <= '9')) ? number(s, &m->integer)
                                                              : fail(s, "unexpected character");
    }
    m->value_len = (size_t)(s->p - m->value);
    return ok;
}

static unsigned key_hash(const char *k, size_t len)
{
    return len ? (unsigned)(len * 31 + (unsigned char)k[0] * 7 + (unsigned char)k[len - 1]) % 64
               : 0;
}

static bool member(scan_t *s, jscan_t *out)
{
    if (out->n >= JSCAN_MAX_MEMBERS)
        return fail(s, "too many members");
    js_member_t *m = &out->m[out->n];
    bool esc;
    m->start = s->p;
    if (s->p >= s->end || *s->p != '"' || !string(s, &esc))
        return fail(s, "expected a key");
    if (esc)
        return fail(s, "escaped top-level key");
    m->key = m->start + 1;
    m->key_len = (size_t)(s->p - m->key - 1);
    unsigned h = key_hash(m->key, m->key_len);
    for (unsigned i = out->bucket[h]; i; i = out->m[i - 1].next)
        if (out->m[i - 1].key_len == m->key_len &&
            memcmp(out->m[i - 1].key, m->key, m->key_len) == 0)
            return fail(s, "duplicate key");
    m->next = out->bucket[h];
    ws(s);
    if (s->p >= s->end || *s->p++ != ':')
        return fail(s, "expected ':'");
    if (!value(s, 2, m))
        return false;
    out->n++;
    out->bucket[h] = (uint8_t)out->n;
    return true;
}

bool jscan_object(const char *text, size_t len, jscan_t *out, char *err, size_t errlen)
{
    scan_t s = {text, text + len, text, NULL};
    out->n = 0;
    memset(out->bucket, 0, sizeof out->bucket);
    ws(&s);
    bool ok = s.p < s.end && *s.p == '{';
    if (!ok)
        fail(&s, "not an object");
    if (ok) {
        s.p++;
        ws(&s);
        if (s.p < s.end && *s.p == '}') {
            s.p++;
        } else {
            for (;;) {
                if (!(ok = member(&s, out)))
                    break;
                ws(&s);
                char c = s.p < s.end ? *s.p++ : '\0';
                if (c == '}')
                    break;
                if (c != ',' && (ok = fail(&s, "expected ',' or '}'")) == false)
                    break;
                ws(&s);
            }
        }
    }
    if (ok) {
        ws(&s);
        if (s.p != s.end)
            ok = fail(&s, "text after the object");
    }
    if (!ok)
        snprintf(err, errlen, "%s at byte %zu", s.why ? s.why : "invalid JSON",
                 (size_t)(s.p - s.base));
    return ok;
}

const js_member_t *jscan_get(const jscan_t *js, const char *key)
{
    size_t kl = strlen(key);
    for (unsigned i = js->bucket[key_hash(key, kl)]; i; i = js->m[i - 1].next)
        if (js->m[i - 1].key_len == kl && memcmp(js->m[i - 1].key, key, kl) == 0)
            return &js->m[i - 1];
    return NULL;
}

/* Appends code point cp as UTF-8; false when it does not fit. */
static bool put_utf8(char *buf, size_t buflen, size_t *o, unsigned cp)
{
    char tmp[4];
    size_t n;
    if (cp < 0x80)
        tmp[0] = (char)cp, n = 1;
    else if (cp < 0x800)
        tmp[0] = (char)(0xC0 | cp >> 6), tmp[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    else if (cp < 0x10000)
        tmp[0] = (char)(0xE0 | cp >> 12), tmp[1] = (char)(0x80 | ((cp >> 6) & 0x3F)),
        tmp[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    else
        tmp[0] = (char)(0xF0 | cp >> 18), tmp[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
        tmp[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), tmp[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    if (*o + n >= buflen)
        return false;
    memcpy(buf + *o, tmp, n);
    *o += n;
    return true;
}

static unsigned u4(const char *p)
{
    unsigned u = 0;
    for (int i = 0; i < 4; i++)
        u = u << 4 | (unsigned)hexval(p[i]);
    return u;
}

bool jscan_string(const js_member_t *m, char *buf, size_t buflen, size_t *len)
{
    if (m->type != JS_STRING || buflen == 0)
        return false;
    const char *p = m->value + 1, *end = m->value + m->value_len - 1;
    size_t o = 0;
    while (p < end) { /* the scan checked every escape already */
        unsigned cp;
        if (*p != '\\') {
            cp = (unsigned char)*p++;
            if (o + 1 >= buflen)
                return false;
            buf[o++] = (char)cp;
            continue;
        }
        char c = p[1];
        p += 2;
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        const char *k = memchr(from, c, sizeof from - 1);
        if (c != 'u') {
            cp = (unsigned char)to[k - from];
        } else {
            cp = u4(p);
            p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (u4(p + 2) - 0xDC00);
                p += 6;
            }
        }
        if (!put_utf8(buf, buflen, &o, cp))
            return false;
    }
    buf[o] = '\0';
    *len = o;
    return true;
}
