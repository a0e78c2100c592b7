/* GET /api/calls/{id}/timeline: the call's streams, each with its interval
 * records in time order (noc_api.h). Both backends (common/db.h): the SQL
 * is the same text on each; the JSON members of a record or of a verdict's
 * evidence and the times in seconds are read in C (one parse per row,
 * where SQLite's json_extract parsed the record once per member). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "noc_api.h"
#include "noc_db.h"
#include "timefmt.h"
#include "verdict.h"

#define HTTP_OK 200
#define HTTP_NOT_FOUND 404
#define HTTP_UNAVAILABLE 503

/* The intervals of one probe stream (the key of the verdict stream's probe
 * stream, null-safe: ports and hashes may be NULL) that overlap its first
 * to last packet. */
static const char interval_sql[] =
    "SELECT i.start, i.\"end\", i.packets, i.lost, i.loss_pct, i.jitter_ms_max, i.record"
    " FROM intervals i WHERE i.probe_id = ?1 AND i.ssrc = ?2"
    " AND i.src_port IS NOT DISTINCT FROM ?3 AND i.dst_port IS NOT DISTINCT FROM ?4"
    " AND i.src_ip_hmac IS NOT DISTINCT FROM ?5 AND i.dst_ip_hmac IS NOT DISTINCT FROM ?6"
    " AND i.start <= ?8 AND i.\"end\" >= ?7 ORDER BY i.start LIMIT ?9";

/* The figures the probe's interval records do not carry as columns
 * (network jitter, MOS, burst loss, frame rate): from the record when
 * present, null otherwise. */
static const char *const record_keys[] = {"jitter_ms", "network_jitter_ms_max", "burst_loss_max",
                                          "mos", "frame_rate"};

static json_t *number_of(json_t *rec, const char *k)
{
    json_t *v = json_object_get(rec, k);
    return json_is_number(v) ? json_incref(v) : json_null();
}

/* One row of interval_sql as one JSON interval, with the bitrate. */
static json_t *interval_json(db_stmt_t *st)
{
    json_t *o = json_object();
    const char *start = db_col_text(st, 0), *end = db_col_text(st, 1);
    usec_t a = 0, b = 0;
    bool times = start && end && timefmt_parse_iso(start, &a) && timefmt_parse_iso(end, &b);
    double dur = times ? (double)(b - a) / 1e6 : 0.0;
    json_object_set_new(o, "start", noc_store_col_json(st, 0));
    json_object_set_new(o, "end", noc_store_col_json(st, 1));
    json_object_set_new(o, "t", times ? json_real((double)a / 1e6) : json_null());
    json_object_set_new(o, "dur_s", times ? json_real(dur) : json_null());
    json_object_set_new(o, "packets", noc_store_col_json(st, 2));
    json_object_set_new(o, "lost", noc_store_col_json(st, 3));
    json_object_set_new(o, "loss_pct", noc_store_col_json(st, 4));
    json_object_set_new(o, "jitter_ms_max", noc_store_col_json(st, 5));
    json_t *rec = noc_store_col_parsed(st, 6);
    for (size_t i = 0; i < sizeof record_keys / sizeof record_keys[0]; i++)
        json_object_set_new(o, record_keys[i], number_of(rec, record_keys[i]));
    json_t *bytes = json_object_get(rec, "bytes");
    json_object_set_new(o, "bitrate_kbps",
                        json_is_number(bytes) && dur > 0
                            ? json_real(json_number_value(bytes) * 8.0 / dur / 1000.0)
                            : json_null());
    json_decref(rec);
    return o;
}

/* Binds column j of src (any type) as parameter i of dst. */
static void bind_col(db_stmt_t *dst, int i, db_stmt_t *src, int j)
{
    switch (db_col_type(src, j)) {
    case DB_T_INT:
        db_bind_int(dst, i, db_col_int(src, j));
        break;
    case DB_T_REAL:
        db_bind_real(dst, i, db_col_real(src, j));
        break;
    case DB_T_TEXT:
        db_bind_text(dst, i, db_col_text(src, j), (int)db_col_bytes(src, j));
        break;
    case DB_T_BLOB:
        db_bind_blob(dst, i, db_col_blob(src, j), db_col_bytes(src, j));
        break;
    default:
        db_bind_null(dst, i);
    }
}

/* The intervals of the probe stream whose row s (stream_sql) holds. */
static int intervals(const noc_api_req_t *r, db_stmt_t *s, json_t *stream, char *err, size_t errlen)
{
    db_stmt_t *st = noc_store_prepare(r->store, interval_sql, err, errlen);
    if (!st)
        return HTTP_UNAVAILABLE;
    for (int i = 0; i < 8; i++) /* probe_id ssrc ports hashes first last: columns 6-13 */
        bind_col(st, i + 1, s, 6 + i);
    db_bind_int(st, 9, NOC_TIMELINE_MAX_INTERVALS + 1);
    json_t *arr = json_array();
    int rc;
    while ((rc = noc_store_step(st, r->limit, err, errlen)) == DB_ROW &&
           json_array_size(arr) < NOC_TIMELINE_MAX_INTERVALS)
        json_array_append_new(arr, interval_json(st));
    bool ok = rc != DB_ERR;
    db_finalize(&st);
    json_object_set_new(stream, "truncated", json_boolean(rc == DB_ROW));
    json_object_set_new(stream, "intervals", arr);
    return ok ? HTTP_OK : HTTP_UNAVAILABLE;
}

/* The verdict streams of the call with their probe stream (LEFT JOIN: a
 * Graph-only stream has no intervals). */
static const char stream_sql[] =
    "SELECT v.id, v.participant, v.direction, v.media, v.verdict, v.evidence,"
    " s.probe_id, s.ssrc, s.src_port, s.dst_port, s.src_ip_hmac, s.dst_ip_hmac, s.first_seen,"
    " s.last_seen, s.packets, s.loss_pct, s.jitter_ms_max, s.network_jitter_ms_max, s.mos"
    " FROM verdict_streams v LEFT JOIN streams s ON s.id = v.stream_id"
    " WHERE v.call_id = ?1 ORDER BY v.participant, v.direction, v.id";

/* Member k of the JSON text in column i, or null (new reference). */
static json_t *member_of(db_stmt_t *st, int i, const char *k)
{
    json_t *j = noc_store_col_parsed(st, i), *v = json_object_get(j, k);
    json_t *out = v ? json_incref(v) : json_null();
    json_decref(j);
    return out;
}

static json_t *stream_json(db_stmt_t *st)
{
    json_t *o = json_object();
    for (int i = 0; i < 5; i++)
        json_object_set_new(o, db_col_name(st, i), noc_store_col_json(st, i));
    json_object_set_new(o, "graph", member_of(st, 5, "graph"));
    json_object_set_new(o, "probe_id", noc_store_col_json(st, 6));
    json_object_set_new(o, "ssrc", noc_store_col_json(st, 7));
    json_t *wire = json_null();
    if (db_col_type(st, 6) != DB_T_NULL) {
        wire = json_object();
        for (int i = 12; i < 19; i++)
            json_object_set_new(wire, db_col_name(st, i), noc_store_col_json(st, i));
    }
    json_object_set_new(o, "wire", wire);
    return o;
}

static int streams(const noc_api_req_t *r, json_t *out, char *err, size_t errlen)
{
    db_stmt_t *st = noc_store_prepare(r->store, stream_sql, err, errlen);
    if (!st)
        return HTTP_UNAVAILABLE;
    db_bind_text(st, 1, r->arg, -1);
    int rc = DB_DONE, code = HTTP_OK;
    while (code == HTTP_OK && (rc = noc_store_step(st, r->limit, err, errlen)) == DB_ROW) {
        json_t *s = stream_json(st);
        json_array_append_new(out, s);
        if (db_col_type(st, 6) != DB_T_NULL)
            code = intervals(r, st, s, err, errlen);
        else
            json_object_set_new(s, "intervals", json_array());
    }
    if (code == HTTP_OK && rc == DB_ERR)
        code = HTTP_UNAVAILABLE;
    db_finalize(&st);
    return code;
}

/* The call's times and, from its evidence, the thresholds it was judged
 * by (the built-in defaults when the evidence has none). */
static int call_head(const noc_api_req_t *r, json_t **out, char *err, size_t errlen)
{
    db_stmt_t *st = noc_store_prepare(r->store,
                                      "SELECT call_id, start, \"end\", verdict, site, evidence"
                                      " FROM verdict_calls WHERE call_id = ?1",
                                      err, errlen);
    if (!st)
        return HTTP_UNAVAILABLE;
    db_bind_text(st, 1, r->arg, -1);
    int rc = noc_store_step(st, r->limit, err, errlen);
    if (rc != DB_ROW) {
        if (rc == DB_DONE)
            snprintf(err, errlen, "no such call");
        db_finalize(&st);
        return rc == DB_DONE ? HTTP_NOT_FOUND : HTTP_UNAVAILABLE;
    }
    *out = json_object();
    for (int i = 0; i < 5; i++)
        json_object_set_new(*out, db_col_name(st, i), noc_store_col_json(st, i));
    json_t *thr = member_of(st, 5, "thresholds");
    if (!json_is_object(thr)) {
        json_decref(thr);
        verdict_thresholds_t t;
        verdict_thresholds_defaults(&t);
        thr = verdict_thresholds_json(&t);
    }
    json_object_set_new(*out, "thresholds", thr);
    db_finalize(&st);
    return HTTP_OK;
}

int noc_api_timeline(const noc_api_req_t *r, json_t **out, char *err, size_t errlen)
{
    json_t *head = NULL;
    int code = call_head(r, &head, err, errlen);
    if (code != HTTP_OK)
        return code;
    json_t *ss = json_array();
    code = streams(r, ss, err, errlen);
    if (code != HTTP_OK) {
        json_decref(head);
        json_decref(ss);
        return code;
    }
    json_object_set_new(head, "streams", ss);
    *out = head;
    return HTTP_OK;
}
