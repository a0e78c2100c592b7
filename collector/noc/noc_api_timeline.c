/* GET /api/calls/{id}/timeline: the call's streams, each with its interval
 * records in time order (noc_api.h). */
#include <stdio.h>
#include <string.h>

#include "noc_api.h"
#include "noc_db.h"
#include "verdict.h"

#define HTTP_OK 200
#define HTTP_NOT_FOUND 404
#define HTTP_UNAVAILABLE 503

/* Seconds since 1970 (with fraction) of an ISO time column, in SQL. */
#define EPOCH(col) "((julianday(" col ") - 2440587.5) * 86400.0)"

/* The figures of one interval. Those the probe's interval records do not
 * carry today (network jitter, MOS, burst loss, frame rate) are read from
 * the record when present and are null otherwise. */
static const char interval_sql[] =
    "SELECT i.start, i.\"end\"," EPOCH("i.start") " AS t," EPOCH("i.\"end\"") " - " EPOCH(
        "i.start") " AS dur_s, i.packets, i.lost, i.loss_pct, i.jitter_ms_max,"
                   " json_extract(i.record, '$.jitter_ms') AS jitter_ms,"
                   " json_extract(i.record, '$.network_jitter_ms_max') AS network_jitter_ms_max,"
                   " json_extract(i.record, '$.burst_loss_max') AS burst_loss_max,"
                   " json_extract(i.record, '$.mos') AS mos,"
                   " json_extract(i.record, '$.frame_rate') AS frame_rate,"
                   " json_extract(i.record, '$.bytes') AS bytes"
                   " FROM intervals i WHERE i.probe_id = ?1 AND i.ssrc = ?2"
                   " AND i.src_port IS ?3 AND i.dst_port IS ?4"
                   " AND i.src_ip_hmac IS ?5 AND i.dst_ip_hmac IS ?6"
                   " AND i.start <= ?8 AND i.\"end\" >= ?7 ORDER BY i.start LIMIT ?9";

/* Columns 0-13 of interval_sql as one JSON interval, with the bitrate. */
static json_t *interval_json(sqlite3_stmt *st)
{
    json_t *o = json_object();
    for (int i = 0; i < 13; i++)
        json_object_set_new(o, sqlite3_column_name(st, i), noc_db_column_json(st, i));
    double dur = sqlite3_column_double(st, 3);
    bool has_bytes = sqlite3_column_type(st, 13) != SQLITE_NULL && dur > 0;
    json_object_set_new(o, "bitrate_kbps",
                        has_bytes ? json_real(sqlite3_column_double(st, 13) * 8.0 / dur / 1000.0)
                                  : json_null());
    return o;
}

/* The intervals of the probe stream whose row st (stream_sql) holds. */
static int intervals(const noc_api_req_t *r, sqlite3_stmt *s, json_t *stream, char *err,
                     size_t errlen)
{
    sqlite3_stmt *st;
    if (!noc_db_prepare(r->db, interval_sql, &st, err, errlen))
        return HTTP_UNAVAILABLE;
    for (int i = 0; i < 8; i++) /* probe_id ssrc ports hashes first last: columns 6-13 */
        sqlite3_bind_value(st, i + 1, sqlite3_column_value(s, 6 + i));
    sqlite3_bind_int(st, 9, NOC_TIMELINE_MAX_INTERVALS + 1);
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW &&
           json_array_size(arr) < NOC_TIMELINE_MAX_INTERVALS)
        json_array_append_new(arr, interval_json(st));
    bool ok = rc == SQLITE_ROW || rc == SQLITE_DONE;
    if (!ok)
        snprintf(err, errlen, "database: %s", sqlite3_errmsg(r->db));
    sqlite3_finalize(st);
    json_object_set_new(stream, "truncated", json_boolean(rc == SQLITE_ROW));
    json_object_set_new(stream, "intervals", arr);
    return ok ? HTTP_OK : HTTP_UNAVAILABLE;
}

/* The verdict streams of the call with their probe stream (LEFT JOIN: a
 * Graph-only stream has no intervals). */
static const char stream_sql[] =
    "SELECT v.id, v.participant, v.direction, v.media, v.verdict,"
    " CASE WHEN json_valid(v.evidence) THEN json_extract(v.evidence, '$.graph') END AS graph,"
    " s.probe_id, s.ssrc, s.src_port, s.dst_port, s.src_ip_hmac, s.dst_ip_hmac, s.first_seen,"
    " s.last_seen, s.packets, s.loss_pct, s.jitter_ms_max, s.network_jitter_ms_max, s.mos"
    " FROM verdict_streams v LEFT JOIN streams s ON s.id = v.stream_id"
    " WHERE v.call_id = ?1 ORDER BY v.participant, v.direction, v.id";

static json_t *stream_json(sqlite3_stmt *st)
{
    json_t *o = json_object();
    for (int i = 0; i < 5; i++)
        json_object_set_new(o, sqlite3_column_name(st, i), noc_db_column_json(st, i));
    json_object_set_new(o, "graph", noc_db_column_parsed(st, 5));
    json_object_set_new(o, "probe_id", noc_db_column_json(st, 6));
    json_object_set_new(o, "ssrc", noc_db_column_json(st, 7));
    json_t *wire = json_null();
    if (sqlite3_column_type(st, 6) != SQLITE_NULL) {
        wire = json_object();
        for (int i = 12; i < 19; i++)
            json_object_set_new(wire, sqlite3_column_name(st, i), noc_db_column_json(st, i));
    }
    json_object_set_new(o, "wire", wire);
    return o;
}

static int streams(const noc_api_req_t *r, json_t *out, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (!noc_db_prepare(r->db, stream_sql, &st, err, errlen))
        return HTTP_UNAVAILABLE;
    sqlite3_bind_text(st, 1, r->arg, -1, SQLITE_TRANSIENT);
    int rc, code = HTTP_OK;
    while (code == HTTP_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *s = stream_json(st);
        json_array_append_new(out, s);
        if (sqlite3_column_type(st, 6) != SQLITE_NULL)
            code = intervals(r, st, s, err, errlen);
        else
            json_object_set_new(s, "intervals", json_array());
    }
    if (code == HTTP_OK && rc != SQLITE_DONE) {
        snprintf(err, errlen, "database: %s", sqlite3_errmsg(r->db));
        code = HTTP_UNAVAILABLE;
    }
    sqlite3_finalize(st);
    return code;
}

/* The call's times and, from its evidence, the thresholds it was judged
 * by (the built-in defaults when the evidence has none). */
static int call_head(const noc_api_req_t *r, json_t **out, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (!noc_db_prepare(r->db,
                        "SELECT call_id, start, \"end\", verdict, site,"
                        " CASE WHEN json_valid(evidence) THEN"
                        " json_extract(evidence, '$.thresholds') END"
                        " FROM verdict_calls WHERE call_id = ?1",
                        &st, err, errlen))
        return HTTP_UNAVAILABLE;
    sqlite3_bind_text(st, 1, r->arg, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        snprintf(err, errlen, rc == SQLITE_DONE ? "no such call" : "database: %s",
                 sqlite3_errmsg(r->db));
        sqlite3_finalize(st);
        return rc == SQLITE_DONE ? HTTP_NOT_FOUND : HTTP_UNAVAILABLE;
    }
    *out = json_object();
    for (int i = 0; i < 5; i++)
        json_object_set_new(*out, sqlite3_column_name(st, i), noc_db_column_json(st, i));
    json_t *thr = noc_db_column_parsed(st, 5);
    if (!json_is_object(thr)) {
        json_decref(thr);
        verdict_thresholds_t t;
        verdict_thresholds_defaults(&t);
        thr = verdict_thresholds_json(&t);
    }
    json_object_set_new(*out, "thresholds", thr);
    sqlite3_finalize(st);
    return HTTP_OK;
}

int noc_api_timeline(const noc_api_req_t *r, json_t **out, char *err, size_t errlen)
{
    NOC_API_SQLITE_ONLY(r, err, errlen);
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
