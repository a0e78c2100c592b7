#include "rec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json_line.h"

struct rec {
    bool text, tree;
    json_line_t line;
    json_t *stack[JSON_LINE_MAX_DEPTH]; /* open containers of the tree */
    unsigned depth;
    bool nested_array[JSON_LINE_MAX_DEPTH];
    bool failed;
};

rec_t *rec_new(void)
{
    return calloc(1, sizeof(rec_t));
}

static void drop_tree(rec_t *r)
{
    if (r->depth > 0 && r->stack[0])
        json_decref(r->stack[0]);
    r->stack[0] = NULL;
    r->depth = 0;
}

void rec_free(rec_t **pr)
{
    if (!pr || !*pr)
        return;
    drop_tree(*pr);
    json_line_free(&(*pr)->line);
    free(*pr);
    *pr = NULL;
}

void rec_begin(rec_t *r, bool text, bool tree)
{
    drop_tree(r);
    r->text = text;
    r->tree = tree;
    r->failed = false;
    json_line_reset(&r->line);
    if (text)
        json_line_open(&r->line, '{');
    r->stack[0] = tree ? json_object() : NULL;
    r->nested_array[0] = false;
    r->depth = 1;
    if (tree && !r->stack[0])
        r->failed = true;
}

bool rec_end(rec_t *r)
{
    if (r->text) {
        json_line_close(&r->line, '}');
        json_line_literal(&r->line, "\n");
    }
    return !r->failed && !r->line.failed;
}

const char *rec_text(const rec_t *r, size_t *len)
{
    *len = r->line.len;
    return r->line.buf;
}

json_t *rec_take_tree(rec_t *r)
{
    json_t *t = r->depth > 0 ? r->stack[0] : NULL;
    r->stack[0] = NULL;
    return t;
}

/* The text side: "key": in an object, a comma in an array. */
static void text_key(rec_t *r, const char *key)
{
    if (r->nested_array[r->depth - 1])
        json_line_element(&r->line);
    else
        json_line_key(&r->line, key);
}

/* The tree side: adds v (stolen) to the innermost container. */
static void tree_put(rec_t *r, const char *key, json_t *v)
{
    json_t *top = r->stack[r->depth - 1];
    int rc = r->nested_array[r->depth - 1] ? json_array_append_new(top, v)
                                           : json_object_set_new(top, key, v);
    if (rc != 0) /* only when memory ran out: the values are checked before */
        r->failed = true;
}

void rec_int(rec_t *r, const char *key, long long v)
{
    if (r->text) {
        text_key(r, key);
        json_line_integer(&r->line, v);
    }
    if (r->tree)
        tree_put(r, key, json_integer(v));
}

void rec_real(rec_t *r, const char *key, double v)
{
    if (!isfinite(v))
        return; /* json_real() refuses it: no member */
    if (r->text) {
        text_key(r, key);
        json_line_real(&r->line, v);
    }
    if (r->tree)
        tree_put(r, key, json_real(v));
}

static bool ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return false;
    return true;
}

void rec_str(rec_t *r, const char *key, const char *s)
{
    if (!s) {
        rec_null(r, key);
        return;
    }
    /* jansson checks the UTF-8 (and refuses bad text) for both sides */
    json_t *t = r->tree || !ascii(s) ? json_string(s) : NULL;
    if (!t && !ascii(s))
        return;
    if (r->text) {
        text_key(r, key);
        json_line_string(&r->line, s, strlen(s));
    }
    if (r->tree)
        tree_put(r, key, t);
    else
        json_decref(t);
}

static void put_literal(rec_t *r, const char *key, const char *word, json_t *v)
{
    if (r->text) {
        text_key(r, key);
        json_line_literal(&r->line, word);
    }
    if (r->tree)
        tree_put(r, key, v);
}

void rec_null(rec_t *r, const char *key)
{
    put_literal(r, key, "null", r->tree ? json_null() : NULL);
}

void rec_bool(rec_t *r, const char *key, bool v)
{
    put_literal(r, key, v ? "true" : "false", r->tree ? json_boolean(v) : NULL);
}

static void open_container(rec_t *r, const char *key, bool array)
{
    if (r->depth >= JSON_LINE_MAX_DEPTH) {
        r->failed = true;
        return;
    }
    if (r->text) {
        text_key(r, key);
        json_line_open(&r->line, array ? '[' : '{');
    }
    json_t *c = NULL;
    if (r->tree) {
        c = array ? json_array() : json_object();
        tree_put(r, key, c); /* the parent holds it; c stays valid */
    }
    r->stack[r->depth] = c;
    r->nested_array[r->depth] = array;
    r->depth++;
}

void rec_open(rec_t *r, const char *key)
{
    open_container(r, key, false);
}

void rec_open_array(rec_t *r, const char *key)
{
    open_container(r, key, true);
}

void rec_close(rec_t *r)
{
    if (r->depth <= 1)
        return;
    r->depth--;
    if (r->text)
        json_line_close(&r->line, r->nested_array[r->depth] ? ']' : '}');
}

void rec_json(rec_t *r, const char *key, json_t *v)
{
    size_t i;
    const char *k;
    json_t *x;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        rec_open(r, key);
        json_object_foreach(v, k, x)
        {
            rec_json(r, k, x);
        }
        rec_close(r);
        break;
    case JSON_ARRAY:
        rec_open_array(r, key);
        json_array_foreach(v, i, x)
        {
            rec_json(r, NULL, x);
        }
        rec_close(r);
        break;
    case JSON_STRING:
        rec_str(r, key, json_string_value(v));
        break;
    case JSON_INTEGER:
        rec_int(r, key, (long long)json_integer_value(v));
        break;
    case JSON_REAL:
        rec_real(r, key, json_real_value(v));
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        rec_bool(r, key, json_is_true(v));
        break;
    default:
        rec_null(r, key);
    }
}
