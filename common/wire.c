#include "wire.h"

#include <limits.h>
#include <lz4.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *type;
    const char *fields[8]; /* required, NULL-terminated */
} record_rule_t;

/* Times as the probe writes them; ports and ssrc as numbers. */
static const record_rule_t rules[] = {
    {"stream", {"src_ip", "dst_ip", "ssrc", "direction", "first_seen", "last_seen", "packets"}},
    {"interval", {"src_ip", "dst_ip", "ssrc", "direction", "start", "end", "packets"}},
    {"flow", {"src_ip", "dst_ip", "proto", "first_seen", "last_seen", "packets"}},
    {"client", {"client_ip", "first_seen", "last_seen"}},
    {"stats", {"version"}},
};

static const char *status_names[] = {"stored", "duplicate", "rejected"};

const char *wire_status_name(wire_status_t st)
{
    return (unsigned)st < 3 ? status_names[st] : "?";
}

bool wire_iso_ok(const char *s)
{
    static const char pat[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
    if (!s || strlen(s) != sizeof pat - 1)
        return false;
    for (size_t i = 0; i < sizeof pat - 1; i++) {
        if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i])
            return false;
    }
    return true;
}

wire_field_kind_t wire_field_kind(const char *name)
{
    if (strstr(name, "_seen") || strcmp(name, "start") == 0 || strcmp(name, "end") == 0)
        return WIRE_FIELD_TIME;
    if (strcmp(name, "ssrc") == 0 || strcmp(name, "packets") == 0)
        return WIRE_FIELD_COUNT;
    return WIRE_FIELD_TEXT;
}

const char *const *wire_record_fields(const char *type)
{
    for (size_t i = 0; type && i < sizeof rules / sizeof rules[0]; i++)
        if (strcmp(rules[i].type, type) == 0)
            return rules[i].fields;
    return NULL;
}

static bool field_ok(const char *name, const js_member_t *m)
{
    char buf[32];
    if (!m)
        return false;
    switch (wire_field_kind(name)) {
    case WIRE_FIELD_TIME:
        if (m->type != JS_STRING || m->escaped || m->value_len != 29)
            return false;
        memcpy(buf, m->value + 1, 27);
        buf[27] = '\0';
        return wire_iso_ok(buf);
    case WIRE_FIELD_COUNT:
        /* an integer from 0 to 10^18 - 1: fits int64 whatever the digits */
        return m->type == JS_NUMBER && m->integer && m->value[0] != '-' && m->value_len <= 18;
    default:
        return m->type == JS_STRING && m->value_len > 2 && m->value_len - 2 < 256;
    }
}

bool wire_record_check(const jscan_t *js, const char **type, char *err, size_t errlen)
{
    const js_member_t *t = jscan_get(js, "type");
    *type = NULL;
    for (size_t i = 0; t && t->type == JS_STRING && i < sizeof rules / sizeof rules[0]; i++) {
        size_t n = strlen(rules[i].type);
        if (t->value_len == n + 2 && memcmp(t->value + 1, rules[i].type, n) == 0)
            *type = rules[i].type;
    }
    if (!*type) {
        snprintf(err, errlen, "record has no known \"type\"");
        return false;
    }
    for (const char *const *f = wire_record_fields(*type); *f; f++) {
        if (!field_ok(*f, jscan_get(js, *f))) {
            snprintf(err, errlen, "%s record: field \"%s\" missing or invalid", *type, *f);
            return false;
        }
    }
    return true;
}

static bool get_str(json_t *o, const char *k, const char **out, char *err, size_t errlen)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 128) {
        snprintf(err, errlen, "field \"%s\" missing or not a string of 1-128 characters", k);
        return false;
    }
    *out = json_string_value(v);
    return true;
}

static bool get_int(json_t *o, const char *k, int64_t min, int64_t *out, char *err, size_t errlen)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_integer(v) || json_integer_value(v) < min) {
        snprintf(err, errlen, "field \"%s\" missing or not an integer >= %lld", k, (long long)min);
        return false;
    }
    *out = json_integer_value(v);
    return true;
}

static bool parse_kind(json_t *r, wire_msg_t *m, char *err, size_t errlen)
{
    const char *kind = json_string_value(json_object_get(r, "kind"));
    if (!kind) {
        snprintf(err, errlen, "field \"kind\" missing");
        return false;
    }
    if (strcmp(kind, "batch") == 0) {
        m->kind = WIRE_BATCH;
        return get_int(r, "records", 0, &m->records, err, errlen) &&
               get_str(r, "probe_id", &m->probe_id, err, errlen) &&
               get_str(r, "site", &m->site, err, errlen) &&
               get_int(r, "epoch", 0, &m->epoch, err, errlen) &&
               get_int(r, "seq", 1, &m->seq, err, errlen);
    }
    if (strcmp(kind, "heartbeat") == 0) {
        m->kind = WIRE_HEARTBEAT;
        m->health = json_object_get(r, "health");
        if (!json_is_object(m->health)) {
            snprintf(err, errlen, "field \"health\" missing or not an object");
            return false;
        }
        return get_str(r, "probe_id", &m->probe_id, err, errlen) &&
               get_str(r, "site", &m->site, err, errlen) &&
               get_str(r, "version", &m->version, err, errlen);
    }
    if (strcmp(kind, "ack") == 0) {
        m->kind = WIRE_ACK;
        const char *st = json_string_value(json_object_get(r, "status"));
        int i = 0;
        while (i < 3 && (!st || strcmp(st, status_names[i]) != 0))
            i++;
        if (i == 3) {
            snprintf(err, errlen, "ack: unknown status");
            return false;
        }
        m->status = (wire_status_t)i;
        m->error = json_string_value(json_object_get(r, "error"));
        m->stored = json_integer_value(json_object_get(r, "stored"));
        json_t *enc = json_object_get(r, "encodings");
        for (size_t k = 0; json_is_array(enc) && k < json_array_size(enc); k++) {
            const char *e = json_string_value(json_array_get(enc, k));
            m->peer_lz4 = m->peer_lz4 || (e && strcmp(e, "lz4") == 0);
        }
        m->rejected = json_integer_value(json_object_get(r, "rejected"));
        return get_int(r, "epoch", 0, &m->epoch, err, errlen) &&
               get_int(r, "seq", 1, &m->seq, err, errlen);
    }
    if (strcmp(kind, "error") == 0) {
        m->kind = WIRE_ERROR;
        m->error = json_string_value(json_object_get(r, "error"));
        return true;
    }
    snprintf(err, errlen, "unknown kind \"%.32s\"", kind);
    return false;
}

bool wire_parse(const char *data, size_t len, wire_msg_t *m, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    json_error_t je;
    json_t *r = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
    if (!r) {
        snprintf(err, errlen, "not JSON: %s at byte %d", je.text, je.position);
        return false;
    }
    json_t *schema = json_object_get(r, "schema");
    if (!json_is_object(r) || !json_is_integer(schema)) {
        snprintf(err, errlen, "not a callscope message (no \"schema\")");
        json_decref(r);
        return false;
    }
    json_int_t sv = json_integer_value(schema);
    const char *kind = json_string_value(json_object_get(r, "kind"));
    if (sv == WIRE_SCHEMA_ENCODED && kind && strcmp(kind, "batch") == 0) {
        /* an encoded batch: its encoding must be one this side reads */
        const char *enc = json_string_value(json_object_get(r, "encoding"));
        json_t *bb = json_object_get(r, "body_bytes");
        if (!enc || strcmp(enc, "lz4") != 0 || !json_is_integer(bb) || json_integer_value(bb) < 0 ||
            json_integer_value(bb) > INT_MAX) {
            snprintf(err, errlen,
                     "schema 2 batch without \"encoding\":\"lz4\" and "
                     "\"body_bytes\" (this side reads lz4 only)");
            json_decref(r);
            return false;
        }
        m->encoding = "lz4";
        m->body_bytes = json_integer_value(bb);
    } else if (sv != WIRE_SCHEMA) {
        snprintf(err, errlen, "schema %lld not supported (this side speaks %d)",
                 (long long)json_integer_value(schema), WIRE_SCHEMA);
        json_decref(r);
        return false;
    }
    const char *encoding = m->encoding;
    int64_t body_bytes = m->body_bytes;
    if (!parse_kind(r, m, err, errlen)) {
        json_decref(r);
        memset(m, 0, sizeof *m);
        return false;
    }
    m->encoding = encoding;
    m->body_bytes = body_bytes;
    m->root = r;
    return true;
}

void wire_msg_clear(wire_msg_t *m)
{
    json_decref(m->root);
    memset(m, 0, sizeof *m);
}

/* ---- builders ----------------------------------------------------------- */

bool wire_next_line(const char *body, size_t body_len, size_t *pos, const char **line, size_t *len)
{
    if (*pos >= body_len)
        return false;
    const char *start = body + *pos;
    const char *nl = memchr(start, '\n', body_len - *pos);
    size_t n = nl ? (size_t)(nl - start) : body_len - *pos;
    *line = start;
    *len = n;
    *pos += n + (nl ? 1 : 0);
    return true;
}

static char *dump(json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

char *wire_batch_header(const char *probe_id, const char *site, int64_t epoch, int64_t seq,
                        int64_t records)
{
    return dump(json_pack("{s:i, s:s, s:s, s:s, s:I, s:I, s:I}", "schema", WIRE_SCHEMA, "kind",
                          "batch", "probe_id", probe_id, "site", site, "epoch", (json_int_t)epoch,
                          "seq", (json_int_t)seq, "records", (json_int_t)records));
}

char *wire_batch_header_lz4(const char *head, size_t head_len, size_t body_bytes)
{
    json_t *o = json_loadb(head, head_len, JSON_REJECT_DUPLICATES, NULL);
    const char *kind = json_string_value(json_object_get(o, "kind"));
    if (!json_is_object(o) || !kind || strcmp(kind, "batch") != 0) {
        json_decref(o);
        return NULL;
    }
    if (json_object_set_new(o, "schema", json_integer(WIRE_SCHEMA_ENCODED)) != 0 ||
        json_object_set_new(o, "encoding", json_string("lz4")) != 0 ||
        json_object_set_new(o, "body_bytes", json_integer((json_int_t)body_bytes)) != 0) {
        json_decref(o);
        return NULL;
    }
    return dump(o);
}

bool wire_lz4_encode(const char *in, size_t n, char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (n == 0 || n > LZ4_MAX_INPUT_SIZE)
        return false;
    int cap = LZ4_compressBound((int)n);
    char *buf = malloc((size_t)cap);
    if (!buf)
        return false;
    int got = LZ4_compress_default(in, buf, (int)n, cap);
    if (got <= 0 || (size_t)got >= n) {
        free(buf);
        return false;
    }
    *out = buf;
    *out_len = (size_t)got;
    return true;
}

bool wire_lz4_decode(const char *in, size_t n, char *out, size_t want)
{
    if (n > INT_MAX || want > INT_MAX)
        return false;
    /* LZ4_decompress_safe never writes past want and fails on a block that
     * would; a block that decodes to fewer bytes is refused here */
    int got = LZ4_decompress_safe(in, out, (int)n, (int)want);
    return got >= 0 && (size_t)got == want;
}

char *wire_heartbeat(const char *probe_id, const char *site, json_t *health)
{
    return dump(json_pack("{s:i, s:s, s:s, s:s, s:s, s:o}", "schema", WIRE_SCHEMA, "kind",
                          "heartbeat", "probe_id", probe_id, "site", site, "version",
                          CALLSCOPE_VERSION, "health", health ? health : json_object()));
}

char *wire_ack(int64_t epoch, int64_t seq, wire_status_t st, int64_t stored, int64_t rejected,
               const char *error)
{
    json_t *o = json_pack("{s:i, s:s, s:I, s:I, s:s, s:I, s:I, s:[s]}", "schema", WIRE_SCHEMA,
                          "kind", "ack", "epoch", (json_int_t)epoch, "seq", (json_int_t)seq,
                          "status", wire_status_name(st), "stored", (json_int_t)stored, "rejected",
                          (json_int_t)rejected, "encodings", "lz4");
    if (o && error)
        json_object_set_new(o, "error", json_string(error));
    return dump(o);
}

char *wire_error(const char *error)
{
    return dump(json_pack("{s:i, s:s, s:s}", "schema", WIRE_SCHEMA, "kind", "error", "error",
                          error ? error : "?"));
}
