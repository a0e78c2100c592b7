/* json_line.h - compact JSON text written piece by piece into one buffer.
 *
 * The text is byte for byte what jansson's json_dumps(JSON_COMPACT |
 * JSON_REAL_PRECISION(15)) gives for the same values in the same order
 * (tests/unit/test_rec.c checks it against jansson): integers in decimal,
 * reals as "%.15g" with ".0" added when that reads as an integer and the
 * exponent without '+' or leading zeros, strings with jansson's escapes
 * (\" \\ \b \f \n \r \t, \u00XX for other control bytes; UTF-8 as is).
 * Commas between members come by themselves. The buffer is kept from line
 * to line; nothing is allocated per value.
 */
#ifndef CALLSCOPE_JSON_LINE_H
#define CALLSCOPE_JSON_LINE_H

#include <stdbool.h>
#include <stddef.h>

#define JSON_LINE_MAX_DEPTH 16

typedef struct {
    char *buf; /* owned; the text, not NUL-terminated */
    size_t len, cap;
    unsigned depth;                       /* containers open */
    bool has_member[JSON_LINE_MAX_DEPTH]; /* per level: a comma goes first */
    bool failed;                          /* memory ran out or nesting too deep */
} json_line_t;

/* Empties the text (the buffer stays). */
void json_line_reset(json_line_t *l);
void json_line_free(json_line_t *l);

/* Before a member of an object: the comma if needed, then "key":. */
void json_line_key(json_line_t *l, const char *key);
/* Before an element of an array: the comma if needed. */
void json_line_element(json_line_t *l);

void json_line_open(json_line_t *l, char bracket); /* '{' or '[' */
void json_line_close(json_line_t *l, char bracket);
void json_line_integer(json_line_t *l, long long v);
/* v must be finite: jansson has no text for NaN or infinities. */
void json_line_real(json_line_t *l, double v);
void json_line_string(json_line_t *l, const char *s, size_t n);
/* null, true, false. */
void json_line_literal(json_line_t *l, const char *word);

#endif
