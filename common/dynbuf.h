/* dynbuf.h - a growing byte buffer with a hard maximum (curl's dynbuf). */
#ifndef CALLSCOPE_DYNBUF_H
#define CALLSCOPE_DYNBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char *p; /* always NUL-terminated when non-NULL */
    size_t len, cap, max;
} dynbuf_t;

void dynbuf_init(dynbuf_t *b, size_t max);
void dynbuf_free(dynbuf_t *b);
void dynbuf_reset(dynbuf_t *b);
/* false (buffer unchanged) when it would pass max or memory runs out. */
bool dynbuf_add(dynbuf_t *b, const void *data, size_t len);
bool dynbuf_addstr(dynbuf_t *b, const char *s);
bool dynbuf_printf(dynbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the bytes to the caller (free() them) and empties the buffer. */
char *dynbuf_take(dynbuf_t *b, size_t *len);

#endif
