#include "dynbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dynbuf_init(dynbuf_t *b, size_t max)
{
    memset(b, 0, sizeof *b);
    b->max = max;
}

void dynbuf_free(dynbuf_t *b)
{
    free(b->p);
    dynbuf_init(b, b->max);
}

void dynbuf_reset(dynbuf_t *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

static bool grow(dynbuf_t *b, size_t need)
{
    if (need + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need + 1)
        cap *= 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    char *p = realloc(b->p, cap);
    if (!p)
        return false;
    b->p = p;
    b->cap = cap;
    return true;
}

bool dynbuf_add(dynbuf_t *b, const void *data, size_t len)
{
    if (len > b->max - b->len || !grow(b, b->len + len))
        return false;
    memcpy(b->p + b->len, data, len);
    b->len += len;
    b->p[b->len] = '\0';
    return true;
}

bool dynbuf_addstr(dynbuf_t *b, const char *s)
{
    return dynbuf_add(b, s, strlen(s));
}

bool dynbuf_printf(dynbuf_t *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return false;
    if ((size_t)n < sizeof small)
        return dynbuf_add(b, small, (size_t)n);
    if ((size_t)n > b->max - b->len || !grow(b, b->len + (size_t)n))
        return false;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return true;
}

char *dynbuf_take(dynbuf_t *b, size_t *len)
{
    char *p = b->p;
    if (len)
        *len = b->len;
    dynbuf_init(b, b->max);
    return p;
}
