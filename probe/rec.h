/* rec.h - one output record, written as it is built.
 *
 * records.c and the stats record describe each record once, member by
 * member, through these calls. A record can become a JSON line (written
 * straight into a reused buffer: no object per value) and/or a jansson
 * tree (kept only for the table printed at the end). Both follow
 * jansson's rules, so they say the same: members in the order given, and
 * a real that is not finite or a string that is not UTF-8 leaves its
 * member out (json_real()/json_string() refuse them).
 *
 * Keys are borrowed until the call returns. Inside an array the key is
 * NULL.
 */
#ifndef CALLSCOPE_REC_H
#define CALLSCOPE_REC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct rec rec_t;

rec_t *rec_new(void);
void rec_free(rec_t **r);

/* Starts a record (its outer object is open). */
void rec_begin(rec_t *r, bool text, bool tree);
/* Closes it. The line (with its newline) stays readable until the next
 * rec_begin(); false when memory ran out while making it. */
bool rec_end(rec_t *r);
const char *rec_text(const rec_t *r, size_t *len);
/* The tree, a new reference for the caller; NULL unless asked for. */
json_t *rec_take_tree(rec_t *r);

void rec_int(rec_t *r, const char *key, long long v);
void rec_real(rec_t *r, const char *key, double v);
void rec_str(rec_t *r, const char *key, const char *s); /* NULL: null */
void rec_null(rec_t *r, const char *key);
void rec_bool(rec_t *r, const char *key, bool v);
void rec_open(rec_t *r, const char *key);       /* a nested object */
void rec_open_array(rec_t *r, const char *key); /* a nested array */
void rec_close(rec_t *r);                       /* the innermost one */
/* A jansson value, members in its order (borrowed). */
void rec_json(rec_t *r, const char *key, json_t *v);

#endif
