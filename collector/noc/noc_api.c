#include "noc_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "building_store.h"
#include "noc_db.h"
#include "noc_people.h"

#define HTTP_OK 200
#define HTTP_NOT_FOUND 404
#define HTTP_UNAVAILABLE 503

/* The filters every list shares: ?1 since, ?2 until (calls overlapping the
 * window), ?3 site, ?4 verdict, ?5 a participant's client address hash.
 * Only the filters a request gives are written into its SQL: SQLite uses no
 * index for "(?1 IS NULL OR c.end >= ?1)", so with that form a site summary
 * read every call in the store whatever the window (bench/bench_noc_scale.py:
 * the worst-access-points query on 20,000 calls took 167 ms that way, 7 ms
 * with only the given terms, the calls first). */
static bool has(const char *v)
{
    return v && *v;
}

static void filters_sql(const noc_params_t *p, const char *site, char *buf, size_t n)
{
    static const char *const term[] = {" AND c.\"end\" >= ?1", " AND c.start < ?2",
                                       " AND c.site = ?3", " AND c.verdict = ?4",
                                       " AND EXISTS (SELECT 1 FROM verdict_participants fp"
                                       " WHERE fp.call_id = c.call_id AND fp.client_ip_hmac = ?5)"};
    const bool on[] = {has(p->since), has(p->until), has(site ? site : p->site), has(p->verdict),
                       (p->seen & NOC_P_CLIENT) != 0};
    size_t len = (size_t)snprintf(buf, n, " 1");
    for (size_t i = 0; i < sizeof on / sizeof on[0] && len < n; i++)
        if (on[i])
            len += (size_t)snprintf(buf + len, n - len, "%s", term[i]);
}

#define FILTERS_MAX 512

/* A bad verdict names a faulty segment. */
#define BAD_VERDICT "IN ('lan','wan','endpoint','cloud')"

static void bind_text_opt(sqlite3_stmt *st, int i, const char *v)
{
    if (v && *v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

/* Binds what filters_sql() wrote; a number it left out is not bound. */
static void bind_filters(sqlite3_stmt *st, const noc_params_t *p, const char *site)
{
    bind_text_opt(st, 1, p->since);
    bind_text_opt(st, 2, p->until);
    bind_text_opt(st, 3, site ? site : p->site);
    bind_text_opt(st, 4, p->verdict);
    if (p->seen & NOC_P_CLIENT)
        sqlite3_bind_blob(st, 5, p->client_hmac, sizeof p->client_hmac, SQLITE_TRANSIENT);
}

static int db_fail(sqlite3_stmt *st, sqlite3 *db, char *err, size_t errlen)
{
    snprintf(err, errlen, "database: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return HTTP_UNAVAILABLE;
}

/* Opens a sealed address for the response; null when absent or unopenable. */
static json_t *opened_ip(const pii_t *pii, const char *aad, sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) != SQLITE_BLOB)
        return json_null();
    char ip[128];
    if (!pii_open(pii, aad, sqlite3_column_blob(st, col), (size_t)sqlite3_column_bytes(st, col), ip,
                  sizeof ip))
        return json_null();
    return json_string(ip);
}

/* A pseudonymous, stable client id: the first 8 bytes of the lookup hash. */
static json_t *client_id(sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) != SQLITE_BLOB || sqlite3_column_bytes(st, col) < 8)
        return json_null();
    const unsigned char *h = sqlite3_column_blob(st, col);
    char hex[17];
    for (int i = 0; i < 8; i++)
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
    return json_string(hex);
}

/* ---- /api/calls ----------------------------------------------------------- */

/* The worst of the call's probe streams, for a list that reads at a glance. */
#define WORST_FIGURES                                                                              \
    " (SELECT json_array(max(s.loss_pct), max(COALESCE(s.network_jitter_ms_max,"                   \
    " s.jitter_ms_max)), min(s.mos)) FROM verdict_streams v JOIN streams s"                        \
    " ON s.id = v.stream_id WHERE v.call_id = c.call_id) AS worst"

/* A list row: its columns, the worst figures spread into worst_loss_pct,
 * worst_jitter_ms, worst_mos (null without probe streams). */
static json_t *call_list_row(sqlite3_stmt *st)
{
    static const char *const keys[] = {"worst_loss_pct", "worst_jitter_ms", "worst_mos"};
    json_t *o = noc_db_row_json(st);
    int last = sqlite3_column_count(st) - 1;
    json_t *w = noc_db_column_parsed(st, last);
    json_object_del(o, "worst");
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_array_get(w, i);
        json_object_set_new(o, keys[i], v ? json_incref(v) : json_null());
    }
    json_decref(w);
    return o;
}

/* The people filters of the call list, appended only when given so that
 * each can drive the query through its index (?20-?22 the user's hashes,
 * ?23 the building, ?24 the region). */
static bool people_filters(sqlite3 *db, const noc_params_t *p, char *out, size_t len)
{
    size_t n = 0;
    out[0] = '\0';
    if ((p->seen & (NOC_P_USER | NOC_P_RATING)) && !noc_people_ready(db)) {
        snprintf(out, len, " AND 0"); /* no call records: nobody to find */
        return true;
    }
    if (p->seen & NOC_P_USER) {
        /* sessions, segments, the organiser, participants_v2 */
        char who[4096];
        if (!noc_people_user_sql(db, "20", "21", "22", who, sizeof who))
            return false;
        n += (size_t)snprintf(out + n, len - n, " AND c.call_id IN (%s)", who);
    }
    if ((p->seen & NOC_P_RATING) && n < len) {
        const char *list = noc_people_rating_list(p->rating);
        if (!list)
            return false;
        char sub[1024];
        /* list is one of noc_people_rating_list's constants, never input */
        int m = snprintf(sub, sizeof sub, "%s", NOC_PEOPLE_RATED_RECORDS("$"));
        if (m < 0 || (size_t)m >= sizeof sub)
            return false;
        n += (size_t)snprintf(out + n, len - n, " AND c.call_id IN (");
        for (const char *c = sub; *c && n + strlen(list) + 2 < len; c++) {
            if (*c == '$')
                n += (size_t)snprintf(out + n, len - n, "%s", list);
            else
                out[n++] = *c;
        }
        if (n + 2 >= len)
            return false;
        out[n++] = ')';
        out[n] = '\0';
    }
    if ((p->seen & NOC_P_BUILDING) && n < len)
        n += (size_t)snprintf(out + n, len - n,
                              " AND EXISTS (SELECT 1 FROM verdict_participants bp"
                              " WHERE bp.call_id = c.call_id AND noc_building(bp.client_ip_enc,"
                              " CASE WHEN json_valid(bp.evidence) THEN"
                              " json_extract(bp.evidence, '$.graph.subnet') END) = ?23)");
    if ((p->seen & NOC_P_REGION) && n < len)
        n += (size_t)snprintf(out + n, len - n,
                              " AND EXISTS (SELECT 1 FROM verdict_participants rp"
                              " WHERE rp.call_id = c.call_id AND noc_building(rp.client_ip_enc,"
                              " CASE WHEN json_valid(rp.evidence) THEN"
                              " json_extract(rp.evidence, '$.graph.subnet') END, 'region') = ?24)");
    return n < len;
}

/* The building map for one request: the NOC's shared copy (reloaded only
 * after an import), or, for a caller without one (unit tests), a load of
 * its own. */
typedef struct {
    noc_buildings_ref_t *ref;
    building_map_t *own;
} map_hold_t;

static const building_map_t *map_get(const noc_api_req_t *r, map_hold_t *h, char *err,
                                     size_t errlen)
{
    h->ref = NULL;
    h->own = NULL;
    if (r->buildings) {
        h->ref = noc_buildings_acquire(r->buildings, r->store, err, errlen);
        return h->ref ? noc_buildings_map(h->ref) : NULL;
    }
    h->own = noc_buildings_load(r->store, err, errlen);
    return h->own;
}

static void map_put(const noc_api_req_t *r, map_hold_t *h)
{
    if (h->ref)
        noc_buildings_release(r->buildings, &h->ref);
    building_map_free(&h->own);
}

static void bind_people(sqlite3_stmt *st, const noc_params_t *p)
{
    if (p->seen & NOC_P_USER) {
        sqlite3_bind_blob(st, 20, p->user_upn, sizeof p->user_upn, SQLITE_TRANSIENT);
        sqlite3_bind_blob(st, 21, p->user_id, sizeof p->user_id, SQLITE_TRANSIENT);
        sqlite3_bind_blob(st, 22, p->user_name, sizeof p->user_name, SQLITE_TRANSIENT);
    }
    if (p->seen & NOC_P_BUILDING)
        sqlite3_bind_text(st, 23, p->building, -1, SQLITE_TRANSIENT);
    if (p->seen & NOC_P_REGION)
        sqlite3_bind_text(st, 24, p->region, -1, SQLITE_TRANSIENT);
}

int noc_api_calls(const noc_api_req_t *r, json_t **out, char *err, size_t errlen)
{
    NOC_API_SQLITE_ONLY(r, err, errlen);
    char extra[8192], sql[12288], filters[FILTERS_MAX];
    if (!people_filters(r->db, r->p, extra, sizeof extra)) {
        snprintf(err, errlen, "filters too long");
        return HTTP_UNAVAILABLE;
    }
    filters_sql(r->p, NULL, filters, sizeof filters);
    snprintf(
        sql, sizeof sql, "%s%s%s%s",
        "SELECT c.call_id, c.source, c.site, c.start, c.\"end\", c.verdict, c.confidence,"
        " c.graph_record_id, c.graph_version, c.evaluated,"
        " CASE WHEN json_valid(c.evidence) THEN json_extract(c.evidence, '$.rule') END AS rule,"
        " (SELECT count(*) FROM verdict_participants p WHERE p.call_id = c.call_id)"
        " AS participants," WORST_FIGURES " FROM verdict_calls c WHERE",
        filters, extra, " ORDER BY c.start DESC, c.call_id LIMIT ?6 OFFSET ?7");
    map_hold_t hold = {NULL, NULL};
    const building_map_t *bm = NULL;
    noc_people_building_ctx_t bctx = {r->pii, NULL};
    if (r->p->seen & (NOC_P_BUILDING | NOC_P_REGION)) {
        if (!(bm = map_get(r, &hold, err, errlen)))
            return HTTP_UNAVAILABLE;
        bctx.bm = bm;
        noc_people_building_fn(r->db, &bctx);
    }
    sqlite3_stmt *st;
    int code = HTTP_OK;
    if (!noc_db_prepare(r->db, sql, &st, err, errlen)) {
        code = HTTP_UNAVAILABLE;
        goto done;
    }
    bind_filters(st, r->p, NULL);
    bind_people(st, r->p);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)r->p->limit + 1);
    sqlite3_bind_int64(st, 7, r->p->offset);
    json_t *calls = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && json_array_size(calls) < r->p->limit)
        json_array_append_new(calls, call_list_row(st));
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        json_decref(calls);
        code = db_fail(st, r->db, err, errlen);
        goto done;
    }
    sqlite3_finalize(st);
    *out = json_pack("{s:o, s:I, s:I, s:b}", "calls", calls, "limit", (json_int_t)r->p->limit,
                     "offset", (json_int_t)r->p->offset, "more", rc == SQLITE_ROW);
done:
    if (bm) {
        noc_people_building_fn_drop(r->db);
        map_put(r, &hold);
    }
    return code;
}

/* ---- /api/calls/{id} ---------------------------------------------------- */

static int call_row(const noc_api_req_t *r, json_t **call, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (!noc_db_prepare(r->db,
                        "SELECT call_id, source, site, start, \"end\", verdict, confidence,"
                        " graph_record_id, graph_version, evaluated, evidence"
                        " FROM verdict_calls WHERE call_id = ?1",
                        &st, err, errlen))
        return HTTP_UNAVAILABLE;
    sqlite3_bind_text(st, 1, r->arg, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        sqlite3_finalize(st);
        snprintf(err, errlen, "no such call");
        return HTTP_NOT_FOUND;
    }
    if (rc != SQLITE_ROW)
        return db_fail(st, r->db, err, errlen);
    *call = json_object();
    for (int i = 0; i < 10; i++)
        json_object_set_new(*call, sqlite3_column_name(st, i), noc_db_column_json(st, i));
    json_object_set_new(*call, "evidence", noc_db_column_parsed(st, 10));
    sqlite3_finalize(st);
    return HTTP_OK;
}

typedef json_t *(*row_fn)(const noc_api_req_t *r, sqlite3_stmt *st);

/* Runs sql (?1 = the call id of the path) and appends row(st) for each row. */
static int call_rows(const noc_api_req_t *r, const char *sql, row_fn row, json_t *out, char *err,
                     size_t errlen)
{
    sqlite3_stmt *st;
    if (!noc_db_prepare(r->db, sql, &st, err, errlen))
        return HTTP_UNAVAILABLE;
    sqlite3_bind_text(st, 1, r->arg, -1, SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(out, row(r, st));
    if (rc != SQLITE_DONE)
        return db_fail(st, r->db, err, errlen);
    sqlite3_finalize(st);
    return HTTP_OK;
}

static json_t *participant_row(const noc_api_req_t *r, sqlite3_stmt *st)
{
    json_t *p = json_object();
    for (int i = 0; i < 4; i++)
        json_object_set_new(p, sqlite3_column_name(st, i), noc_db_column_json(st, i));
    json_object_set_new(p, "evidence", noc_db_column_parsed(st, 4));
    json_object_set_new(p, "client_id", client_id(st, 5));
    json_object_set_new(p, "client_ip", opened_ip(r->pii, PII_AAD_PARTICIPANT_IP, st, 6));
    return p;
}

static int participants(const noc_api_req_t *r, json_t *out, char *err, size_t errlen)
{
    return call_rows(r,
                     "SELECT participant, site, verdict, confidence, evidence, client_ip_hmac,"
                     " client_ip_enc FROM verdict_participants WHERE call_id = ?1"
                     " ORDER BY participant",
                     participant_row, out, err, errlen);
}

/* The probe's own stream row, the wire view of a verdict stream. */
static json_t *probe_stream(const noc_api_req_t *r, sqlite3_stmt *st)
{
    if (sqlite3_column_type(st, 9) == SQLITE_NULL)
        return json_null();
    json_t *o = json_object();
    for (int i = 9; i < 23; i++) /* p_<name>: the streams column */
        json_object_set_new(o, sqlite3_column_name(st, i) + 2, noc_db_column_json(st, i));
    json_object_set_new(o, "record", noc_db_column_parsed(st, 23));
    json_object_set_new(o, "client_ip", opened_ip(r->pii, PII_AAD_STREAMS_CLIENT_IP, st, 24));
    return o;
}

static json_t *stream_row(const noc_api_req_t *r, sqlite3_stmt *st)
{
    json_t *s = json_object();
    for (int i = 0; i < 8; i++)
        json_object_set_new(s, sqlite3_column_name(st, i), noc_db_column_json(st, i));
    json_object_set_new(s, "evidence", noc_db_column_parsed(st, 8));
    json_object_set_new(s, "probe", probe_stream(r, st));
    return s;
}

static int streams(const noc_api_req_t *r, json_t *out, char *err, size_t errlen)
{
    return call_rows(
        r,
        "SELECT v.id, v.participant, v.stream_id, v.graph_stream_rid, v.direction, v.media,"
        " v.verdict, v.confidence, v.evidence,"
        " s.id AS p_id, s.probe_id AS p_probe_id, s.site AS p_site,"
        " s.first_seen AS p_first_seen, s.last_seen AS p_last_seen,"
        " s.direction AS p_direction, s.media AS p_media, s.packets AS p_packets,"
        " s.lost AS p_lost, s.loss_pct AS p_loss_pct, s.jitter_ms_max AS p_jitter_ms_max,"
        " s.network_jitter_ms_max AS p_network_jitter_ms_max, s.mos AS p_mos,"
        " s.client_port AS p_client_port, s.record, s.client_ip_enc"
        " FROM verdict_streams v LEFT JOIN streams s ON s.id = v.stream_id"
        " WHERE v.call_id = ?1 ORDER BY v.participant, v.id",
        stream_row, out, err, errlen);
}

/* The call's verdicts over time, oldest first; [] for a store whose
 * verdict tables predate the history (verdict schema 1). */
static json_t *history(const noc_api_req_t *r)
{
    json_t *out = json_array();
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db,
                           "SELECT at, verdict, confidence, source, provisional, rule"
                           " FROM verdict_history WHERE call_id = ?1 ORDER BY id LIMIT 1000",
                           -1, &st, NULL) != SQLITE_OK)
        return out;
    sqlite3_bind_text(st, 1, r->arg, -1, SQLITE_TRANSIENT);
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *h = noc_db_row_json(st);
        json_object_set_new(h, "provisional", json_boolean(sqlite3_column_int(st, 4)));
        json_array_append_new(out, h);
    }
    sqlite3_finalize(st);
    return out;
}

int noc_api_call(const noc_api_req_t *r, json_t **out, char *err, size_t errlen)
{
    NOC_API_SQLITE_ONLY(r, err, errlen);
    json_t *call = NULL;
    int code = call_row(r, &call, err, errlen);
    if (code != HTTP_OK)
        return code;
    json_t *ps = json_array(), *ss = json_array();
    code = participants(r, ps, err, errlen);
    if (code == HTTP_OK)
        code = streams(r, ss, err, errlen);
    if (code != HTTP_OK) {
        json_decref(call);
        json_decref(ps);
        json_decref(ss);
        return code;
    }
    /* who and where: names, devices, feedback, meeting, building */
    map_hold_t hold;
    const building_map_t *bm = map_get(r, &hold, err, errlen);
    if (!bm || !noc_people_add(r->db, r->pii, bm,
                               json_string_value(json_object_get(call, "graph_record_id")), call,
                               ps, err, errlen)) {
        map_put(r, &hold);
        json_decref(call);
        json_decref(ps);
        json_decref(ss);
        return HTTP_UNAVAILABLE;
    }
    map_put(r, &hold);
    *out = json_pack("{s:o, s:o, s:o, s:o}", "call", call, "participants", ps, "streams", ss,
                     "history", history(r));
    return HTTP_OK;
}
