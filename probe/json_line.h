/* json_line.h - one record as one line of compact JSON.
 *
 * The text is byte for byte what jansson's json_dumps(rec, JSON_COMPACT |
 * JSON_REAL_PRECISION(15)) gives (the golden outputs pin it): keys in
 * insertion order, integers in decimal, reals as "%.15g" with ".0" added
 * when that reads as an integer and the exponent without '+' or leading
 * zeros, strings with jansson's escapes (\" \\ \b \f \n \r \t, \u00XX for
 * other control bytes; UTF-8 as is). It is written into a buffer kept from
 * record to record, without jansson's per-token callbacks, loop-check table
 * and a printf per integer, which cost more than building the record.
 */
#ifndef CALLSCOPE_JSON_LINE_H
#define CALLSCOPE_JSON_LINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char *buf; /* owned; the text, not NUL-terminated */
    size_t len, cap;
} json_line_t;

/* Replaces l's text with rec's JSON and a newline. False when memory runs
 * out or rec nests deeper than any record does (then l->len is 0). */
bool json_line_format(json_line_t *l, const json_t *rec);
void json_line_free(json_line_t *l);

#endif
