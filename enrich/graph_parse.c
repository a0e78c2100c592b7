#include "graph_parse.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timefmt.h"
#include "log.h"
#include "netaddr.h"

#define PATH_MAX_LEN 160
#define STR_MAX_LEN 4096

/* Follows one dotted path ("userAgent.headerValue"); a member starting with
 * '@' ("@odata.type") is one name, dots included. */
static const json_t *walk(const json_t *obj, const char *path, size_t len)
{
    char buf[PATH_MAX_LEN];
    if (len >= sizeof buf)
        return NULL;
    memcpy(buf, path, len);
    buf[len] = '\0';
    if (buf[0] == '@')
        return json_is_object(obj) ? json_object_get(obj, buf) : NULL;
    const json_t *cur = obj;
    char *part = buf;
    while (cur) {
        char *dot = strchr(part, '.');
        if (dot)
            *dot = '\0';
        cur = json_is_object(cur) ? json_object_get(cur, part) : NULL;
        if (!dot)
            break;
        part = dot + 1;
    }
    return cur;
}

/* The first alternative of "a.b|c.d" that is present and not null. */
static const json_t *lookup(const json_t *node, const graph_field_t *f)
{
    const json_t *obj = node;
    if (f->base) {
        obj = json_object_get(node, f->base);
        if (!json_is_object(obj))
            return NULL;
    }
    const char *p = f->path;
    while (*p) {
        size_t len = strcspn(p, "|");
        const json_t *v = walk(obj, p, len);
        if (v && !json_is_null(v))
            return v;
        p += len;
        if (*p == '|')
            p++;
    }
    return NULL;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* "00-1A-2b-..." or "00:1a:..." with 6 or 8 groups into lower-case colon
 * form. All-zero and the OS privacy placeholder 02:00:00:00:00:00 are no
 * address at all. */
static char *mac_canon(const char *s)
{
    unsigned char b[8];
    size_t n = 0;
    const char *p = s;
    while (n < 8) {
        int hi = hexval((unsigned char)p[0]), lo = hi < 0 ? -1 : hexval((unsigned char)p[1]);
        if (hi < 0 || lo < 0)
            return NULL;
        b[n++] = (unsigned char)(hi << 4 | lo);
        p += 2;
        if (*p == '\0')
            break;
        if (*p != ':' && *p != '-')
            return NULL;
        p++;
    }
    if (*p != '\0' || (n != 6 && n != 8))
        return NULL;
    bool zero = true, privacy = b[0] == 0x02;
    for (size_t i = 0; i < n; i++) {
        zero = zero && b[i] == 0;
        privacy = privacy && (i == 0 || b[i] == 0);
    }
    if (zero || privacy)
        return NULL;
    char out[24];
    size_t off = 0;
    for (size_t i = 0; i < n; i++)
        off += (size_t)snprintf(out + off, sizeof out - off, i ? ":%02x" : "%02x", b[i]);
    return strdup(out);
}

static char *ip_canon(const char *s)
{
    netaddr_t a;
    char buf[NETADDR_STRLEN];
    if (!netaddr_parse(s, &a))
        return NULL;
    return strdup(netaddr_fmt(&a, buf, sizeof buf));
}

static bool read_int(const json_t *j, int64_t *out)
{
    if (json_is_integer(j)) {
        *out = (int64_t)json_integer_value(j);
        return true;
    }
    if (json_is_real(j)) {
        double d = json_real_value(j);
        if (isfinite(d) && d == floor(d) && fabs(d) < 9.0e18) {
            *out = (int64_t)d;
            return true;
        }
    }
    return false;
}

/* A string value with each NUL (JSON_ALLOW_NUL) as U+FFFD. */
static char *dup_nul_safe(const json_t *j)
{
    const char *s = json_string_value(j);
    size_t n = json_string_length(j), nul = 0;
    for (size_t i = 0; i < n; i++)
        nul += s[i] == '\0';
    if (!nul)
        return strdup(s);
    char *out = malloc(n + 2 * nul + 1), *o = out;
    for (size_t i = 0; out && i < n; i++) {
        if (s[i]) {
            *o++ = s[i];
        } else {
            memcpy(o, "\xEF\xBF\xBD", 3);
            o += 3;
        }
    }
    if (out)
        *o = '\0';
    return out;
}

static const char *nonempty(const json_t *j)
{
    const char *s = json_string_value(j);
    if (!s || !*s || strlen(s) > STR_MAX_LEN)
        return NULL;
    return s;
}

/* Reads one value; leaves it unknown when the JSON has nothing usable. */
static void read_value(const json_t *j, graph_type_t t, graph_val_t *v)
{
    const char *s = nonempty(j);
    switch (t) {
    case GT_STR:
        v->s = s ? dup_nul_safe(j) : NULL;
        v->known = v->s != NULL;
        break;
    case GT_IP:
        v->s = s ? ip_canon(s) : NULL;
        v->known = v->s != NULL;
        break;
    case GT_MAC:
        v->s = s ? mac_canon(s) : NULL;
        v->known = v->s != NULL;
        break;
    case GT_JSON:
        v->s = json_is_object(j) || json_is_array(j) ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS)
                                                     : NULL;
        v->known = v->s != NULL;
        break;
    case GT_INT:
        v->known = read_int(j, &v->i);
        break;
    case GT_SPEED:
        v->known = read_int(j, &v->i) && v->i != 4294967295LL && v->i >= 0;
        break;
    case GT_REAL:
        v->known = json_is_number(j) && isfinite(json_number_value(j));
        v->d = v->known ? json_number_value(j) : 0;
        break;
    case GT_DUR:
        v->known = s && timefmt_parse_duration(s, &v->d);
        break;
    case GT_TIME:
        v->known = s && timefmt_parse_iso(s, &v->i);
        break;
    case GT_BOOL:
        v->known = json_is_boolean(j);
        v->i = json_is_true(j);
        break;
    }
}

static bool parse_node(const json_t *obj, graph_node_t *n, graph_kind_t kind);

static bool parse_kids(const json_t *obj, graph_node_t *n, const graph_kind_info_t *ki)
{
    const json_t *arr = ki->children ? json_object_get(obj, ki->children) : NULL;
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return true;
    size_t want = json_array_size(arr);
    if (want > GRAPH_PARSE_MAX_KIDS) {
        LOG_WARN("graph: %zu %s in one node, keeping %d", want, ki->children, GRAPH_PARSE_MAX_KIDS);
        want = GRAPH_PARSE_MAX_KIDS;
    }
    n->kids = calloc(want, sizeof *n->kids);
    if (!n->kids)
        return false;
    for (size_t i = 0; i < want; i++) {
        const json_t *kid = json_array_get(arr, i);
        if (!json_is_object(kid))
            continue;
        graph_node_t *k = &n->kids[n->nkids++];
        if (!parse_node(kid, k, (graph_kind_t)(n->kind + 1)))
            return false;
    }
    return true;
}

static bool parse_fields(const json_t *obj, graph_node_t *n, graph_kind_t kind)
{
    const graph_kind_info_t *ki = graph_kind(kind);
    if (!graph_node_init(n, kind))
        return false;
    for (size_t i = 0; i < ki->nfields; i++) {
        const json_t *j = lookup(obj, &ki->fields[i]);
        if (j)
            read_value(j, ki->fields[i].type, &n->v[i]);
    }
    return true;
}

/* participants_v2 (every page the poller appended), else the retired
 * participants of an older record; at most GRAPH_PARSE_MAX_KIDS. */
static bool parse_parts(const json_t *obj, graph_node_t *n)
{
    const json_t *arr = json_object_get(obj, "participants_v2");
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        arr = json_object_get(obj, "participants");
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return true;
    size_t want = json_array_size(arr);
    if (want > GRAPH_PARSE_MAX_KIDS) {
        LOG_WARN("graph: %zu participants in one record, keeping %d", want, GRAPH_PARSE_MAX_KIDS);
        want = GRAPH_PARSE_MAX_KIDS;
    }
    n->parts = calloc(want, sizeof *n->parts);
    if (!n->parts)
        return false;
    for (size_t i = 0; i < want; i++) {
        const json_t *p = json_array_get(arr, i);
        if (json_is_object(p) && !parse_fields(p, &n->parts[n->nparts++], GRAPH_PARTICIPANT))
            return false;
    }
    return true;
}

static bool parse_node(const json_t *obj, graph_node_t *n, graph_kind_t kind)
{
    if (!parse_fields(obj, n, kind))
        return false;
    if (kind == GRAPH_RECORD && !parse_parts(obj, n))
        return false;
    return parse_kids(obj, n, graph_kind(kind));
}

graph_record_t *graph_parse_record(const json_t *root, char *err, size_t errlen)
{
    if (!json_is_object(root)) {
        snprintf(err, errlen, "call record is not a JSON object");
        return NULL;
    }
    if (!nonempty(json_object_get(root, "id"))) {
        snprintf(err, errlen, "call record without an \"id\"");
        return NULL;
    }
    graph_record_t *rec = calloc(1, sizeof *rec);
    if (!rec || !parse_node(root, rec, GRAPH_RECORD)) {
        snprintf(err, errlen, "out of memory parsing a call record");
        graph_record_free(&rec);
        return NULL;
    }
    return rec;
}

graph_record_t *graph_parse_text(const char *buf, size_t len, char *err, size_t errlen)
{
    json_error_t je;
    /* Duplicate keys are accepted: a published example has one. The error
     * text of jansson quotes the input ("near '...'"), so only the position
     * is reported: the input may hold personal data. */
    json_t *root = json_loadb(buf, len, GRAPH_PARSE_JSON_FLAGS, &je);
    if (!root) {
        snprintf(err, errlen, "malformed or truncated JSON at byte %d of %zu (line %d)",
                 je.position, len, je.line);
        return NULL;
    }
    graph_record_t *rec = graph_parse_record(root, err, errlen);
    json_decref(root);
    return rec;
}
