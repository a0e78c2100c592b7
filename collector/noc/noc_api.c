/* noc_api.c - the call views of the API: GET /api/calls (the call list
 * and its filters) and GET /api/calls/{id} (a call's participants,
 * streams, people and verdict history). On both backends (common/db.h). */
#include "noc_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "building_store.h"
#include "noc_api_filter.h"
#include "noc_db.h"
#include "noc_people.h"

/* ---- /api/calls ----------------------------------------------------------- */

/* The worst of the call's probe streams, for a list that reads at a glance. */
static const db_sql_t worst_sql = {
    "(SELECT json_array(max(s.loss_pct), max(COALESCE(s.network_jitter_ms_max,"
    " s.jitter_ms_max)), min(s.mos)) FROM verdict_streams v JOIN streams s"
    " ON s.id = v.stream_id WHERE v.call_id = c.call_id)",
    "(SELECT CAST(json_build_array(max(s.loss_pct), max(COALESCE(s.network_jitter_ms_max,"
    " s.jitter_ms_max)), min(s.mos)) AS TEXT) FROM verdict_streams v JOIN streams s"
    " ON s.id = v.stream_id WHERE v.call_id = c.call_id)"};

/* The list's order: newest first, then the call id bytewise (SQLite's
 * BINARY; PostgreSQL's "C" whatever the database's locale). */
static const db_sql_t order_sql = {" ORDER BY c.start DESC, c.call_id",
                                   " ORDER BY c.start DESC, c.call_id COLLATE \"C\""};

/* A list row: its columns, "rule" from the evidence (read here, not by
 * SQL: PostgreSQL's jsonb cast would fail the whole list on one call's
 * evidence that is not JSON, where SQLite's json_valid() gives null), the
 * worst figures spread into worst_loss_pct, worst_jitter_ms, worst_mos
 * (null without probe streams). */
#define CALL_LIST_RULE 10 /* the column "rule": the call's evidence */

static json_t *call_list_row(db_stmt_t *st)
{
    static const char *const keys[] = {"worst_loss_pct", "worst_jitter_ms", "worst_mos"};
    json_t *o = noc_store_row_json(st);
    int last = db_col_count(st) - 1;
    json_t *w = noc_store_col_parsed(st, last);
    json_t *ev = noc_store_col_parsed(st, CALL_LIST_RULE), *rule = json_object_get(ev, "rule");
    json_object_set_new(o, "rule", rule ? json_incref(rule) : json_null()); /* in its place */
    json_decref(ev);
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
 * ?23 the building, ?24 the region). The building and region terms are
 * SQLite's (its noc_building() function); on PostgreSQL they are done in C
 * (building_page) and left out here. */
static bool people_filters(db_t *db, const noc_params_t *p, char *out, size_t len)
{
    size_t n = 0;
    out[0] = '\0';
    if ((p->seen & (NOC_P_USER | NOC_P_RATING)) && !noc_people_ready(db)) {
        snprintf(out, len, " AND 1 = 0"); /* no call records: nobody to find */
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
    if (db_kind(db) != DB_SQLITE)
        return n < len;
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

static void bind_people(db_t *db, db_stmt_t *st, const noc_params_t *p)
{
    if (p->seen & NOC_P_USER) {
        db_bind_blob(st, 20, p->user_upn, sizeof p->user_upn);
        db_bind_blob(st, 21, p->user_id, sizeof p->user_id);
        db_bind_blob(st, 22, p->user_name, sizeof p->user_name);
    }
    if (db_kind(db) != DB_SQLITE)
        return;
    if (p->seen & NOC_P_BUILDING)
        db_bind_text(st, 23, p->building, -1);
    if (p->seen & NOC_P_REGION)
        db_bind_text(st, 24, p->region, -1);
}
/* ---- the building and region filter on PostgreSQL ------------------------------- */

/* No SQL function may be registered on PostgreSQL (sealing and lookups
 * happen in C), so there the list's building and region filter reads the
 * calls of its other filters newest first, BUILDING_PAGE_CALLS at a time
 * (keyset paging on start and call id: each page one bounded statement)
 * with their participants, opens each participant's sealed address in
 * memory and looks it up in the map (noc_buildings_of: else its Graph
 * subnet), as SQLite's noc_building() does. A call matches when one of
 * its participants is in the building and one (the same or another) in
 * the region, as SQLite's two EXISTS terms. The first `offset` matches are
 * counted and dropped, the next limit + 1 ids kept (memory bounded by the
 * page and the limit); the list then reads those calls by id.
 * Cost: one pii_open and one map lookup per participant of every call read
 * until limit + 1 calls matched past the offset; a building with few calls
 * in a long window reads the whole window: on the month store's 30 days,
 * 1.05 M calls and 2.1 M participants, that is 2,100 pages and 2.1 M
 * opens, seconds of CPU, past the request's 3 s limit (503), where SQLite's
 * noc_building() pays the same opens inside one statement. */
#define BUILDING_PAGE_CALLS 500

typedef struct {
    unsigned need, got; /* 1 building, 2 region */
    char *id;           /* the call being read */
    unsigned skip;      /* matches still to drop (offset) */
    size_t want;        /* ids to keep (limit + 1) */
    json_t *ids;
} bpage_t;

static void bpage_done(bpage_t *b)
{
    if (b->id && b->got == b->need) {
        if (b->skip > 0)
            b->skip--;
        else if (json_array_size(b->ids) < b->want)
            json_array_append_new(b->ids, json_string(b->id));
    }
    free(b->id);
    b->id = NULL;
    b->got = 0;
}

static void bpage_row(const noc_api_req_t *r, const building_map_t *bm, bpage_t *b, db_stmt_t *st)
{
    const char *id = db_col_text(st, 0);
    if (!id)
        return;
    if (!b->id || strcmp(b->id, id) != 0) {
        bpage_done(b);
        b->id = strdup(id);
    }
    const building_t *bl = noc_buildings_of(bm, r->pii, PII_AAD_PARTICIPANT_IP, db_col_blob(st, 2),
                                            db_col_bytes(st, 2), db_col_text(st, 3));
    if (!bl)
        return;
    const char *name = bl->f[BUILDING_F_BUILDING], *region = bl->f[BUILDING_F_REGION];
    if ((b->need & 1) && name && strcmp(name, r->p->building) == 0)
        b->got |= 1;
    if ((b->need & 2) && region && strcmp(region, r->p->region) == 0)
        b->got |= 2;
}

/* ids: the matching calls' ids past the offset, at most limit + 1, in the
 * list's order. where: the list's other terms (" 1 = 1 AND ..."). */
static int building_page(const noc_api_req_t *r, const building_map_t *bm, const char *where,
                         json_t *ids, char *err, size_t errlen)
{
    static const char *const next =
        " AND (c.start < ?9 OR (c.start = ?9 AND c.call_id COLLATE \"C\" > ?10))";
    bpage_t b = {((r->p->seen & NOC_P_BUILDING) ? 1u : 0u) |
                     ((r->p->seen & NOC_P_REGION) ? 2u : 0u),
                 0,
                 NULL,
                 r->p->offset,
                 (size_t)r->p->limit + 1,
                 ids};
    char *last_start = NULL, *last_id = NULL;
    int code = NOC_HTTP_OK;
    for (bool first = true;; first = false) {
        char sql[12288];
        int m = snprintf(sql, sizeof sql,
                         "SELECT k.call_id, k.start, p.client_ip_enc, p.subnet FROM"
                         " (SELECT c.call_id, c.start FROM verdict_calls c WHERE%s%s"
                         " ORDER BY c.start DESC, c.call_id COLLATE \"C\" LIMIT ?8) k"
                         " LEFT JOIN verdict_participants p ON p.call_id = k.call_id"
                         " ORDER BY k.start DESC, k.call_id COLLATE \"C\"",
                         where, first ? "" : next);
        if (m < 0 || (size_t)m >= sizeof sql) {
            snprintf(err, errlen, "filters too long");
            code = NOC_HTTP_UNAVAILABLE;
            break;
        }
        db_stmt_t *st = noc_store_prepare(r->store, sql, err, errlen);
        if (!st) {
            code = NOC_HTTP_UNAVAILABLE;
            break;
        }
        noc_filter_bind(st, r->p, NULL);
        bind_people(r->store, st, r->p);
        db_bind_int(st, 8, BUILDING_PAGE_CALLS);
        if (!first) {
            db_bind_text(st, 9, last_start, -1);
            db_bind_text(st, 10, last_id, -1);
        }
        int rc;
        size_t calls = 0;
        while ((rc = noc_store_step(st, r->limit, err, errlen)) == DB_ROW) {
            const char *id = db_col_text(st, 0), *start = db_col_text(st, 1);
            if (!id || !start)
                continue;
            if (!last_id || strcmp(last_id, id) != 0) {
                calls++;
                free(last_id);
                free(last_start);
                last_id = strdup(id);
                last_start = strdup(start);
                if (!last_id || !last_start) {
                    snprintf(err, errlen, "out of memory");
                    rc = DB_ERR;
                    break;
                }
            }
            bpage_row(r, bm, &b, st);
        }
        db_finalize(&st);
        if (rc != DB_DONE) {
            code = NOC_HTTP_UNAVAILABLE;
            break;
        }
        bpage_done(&b);
        if (calls < BUILDING_PAGE_CALLS || json_array_size(ids) >= b.want)
            break;
        /* the server's statement_timeout bounds each page; the request's
         * limit bounds them all */
        if (r->limit && r->limit->deadline_ms && noc_db_now_ms() >= r->limit->deadline_ms) {
            if (!r->limit->hit)
                r->limit->hits++;
            r->limit->hit = true;
            snprintf(err, errlen, "building filter: time limit reached");
            code = NOC_HTTP_UNAVAILABLE;
            break;
        }
    }
    bpage_done(&b);
    free(last_id);
    free(last_start);
    return code;
}

/* ---- the call list's "buildings" column ------------------------------------------ */

/* Each row's "buildings": the sorted (bytewise), distinct names of the
 * buildings its participants were in, [] when none is in the map. A
 * participant's building is the building filter's: noc_buildings_of(), the
 * sealed address opened in memory and looked up, else its Graph subnet.
 * One statement for the page's calls (their ids as a JSON array: the same
 * text on both backends), on the participants' call_id index; then one
 * pii_open and one map lookup per participant of the page. Without a
 * building file imported no participant is read. */
static const db_sql_t page_parts_sql = {
    "SELECT call_id, client_ip_enc, subnet FROM verdict_participants"
    " WHERE call_id IN (SELECT value FROM json_each(?1))",
    "SELECT call_id, client_ip_enc, subnet FROM verdict_participants"
    " WHERE call_id IN (SELECT jsonb_array_elements_text(CAST(?1 AS jsonb)))"};

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* names: a set (name -> true) made a sorted array; consumes names. */
static json_t *sorted_names(json_t *names)
{
    size_t n = json_object_size(names), i = 0;
    const char **v = calloc(n ? n : 1, sizeof *v);
    json_t *out = json_array();
    const char *k;
    json_t *x;
    if (v) {
        json_object_foreach(names, k, x)
        {
            v[i++] = k;
        }
        qsort(v, n, sizeof *v, by_name);
        for (i = 0; i < n; i++)
            json_array_append_new(out, json_string(v[i]));
    }
    free(v);
    json_decref(names);
    return out;
}

static int list_buildings(const noc_api_req_t *r, const building_map_t *bm, json_t *calls,
                          char *err, size_t errlen)
{
    size_t n = json_array_size(calls);
    json_t *sets = json_object(), *ids = json_array(); /* call id -> {name: true} */
    for (size_t i = 0; i < n; i++) {
        const char *id = json_string_value(json_object_get(json_array_get(calls, i), "call_id"));
        if (id && !json_object_get(sets, id)) {
            json_object_set_new(sets, id, json_object());
            json_array_append_new(ids, json_string(id));
        }
    }
    int code = NOC_HTTP_OK;
    char *text = NULL;
    db_stmt_t *st = NULL;
    if (json_array_size(ids) > 0 && building_map_count(bm) > 0) {
        text = json_dumps(ids, JSON_COMPACT);
        st = text ? noc_store_prepare(r->store, db_pick(r->store, page_parts_sql), err, errlen)
                  : NULL;
        if (!st) {
            if (!text)
                snprintf(err, errlen, "out of memory");
            code = NOC_HTTP_UNAVAILABLE;
            goto done;
        }
        db_bind_text(st, 1, text, -1);
        int rc;
        while ((rc = noc_store_step(st, r->limit, err, errlen)) == DB_ROW) {
            json_t *set = json_object_get(sets, db_col_text(st, 0) ? db_col_text(st, 0) : "");
            const building_t *b =
                set ? noc_buildings_of(bm, r->pii, PII_AAD_PARTICIPANT_IP, db_col_blob(st, 1),
                                       db_col_bytes(st, 1), db_col_text(st, 2))
                    : NULL;
            const char *name = b ? b->f[BUILDING_F_BUILDING] : NULL;
            if (name && *name)
                json_object_set_new(set, name, json_true());
        }
        if (rc != DB_DONE) {
            code = noc_api_db_fail(&st);
            goto done;
        }
    }
    for (size_t i = 0; i < n; i++) {
        json_t *row = json_array_get(calls, i);
        json_t *set = json_object_get(sets, json_string_value(json_object_get(row, "call_id")));
        json_object_set_new(row, "buildings", set ? sorted_names(json_incref(set)) : json_array());
    }
done:
    db_finalize(&st);
    free(text);
    json_decref(ids);
    json_decref(sets);
    return code;
}

/* ---- the list ------------------------------------------------------------------ */

/* Finds the list's rows: the calls page (ids, LIMIT/OFFSET under the
 * hood on the cheap columns only), then the expensive columns (rule,
 * participants, worst figures) for those rows alone: a deep offset no
 * longer computes them for every skipped call (offset=5000 on the month
 * store: 5,100 worst-figure subqueries before, 101 now). */
int noc_api_calls(const noc_api_req_t *r, json_t **out, char *err, size_t errlen)
{
    char extra[8192], sql[16384], filters[NOC_FILTERS_MAX], where[8192 + NOC_FILTERS_MAX];
    if (!people_filters(r->store, r->p, extra, sizeof extra)) {
        snprintf(err, errlen, "filters too long");
        return NOC_HTTP_UNAVAILABLE;
    }
    noc_filter_sql(r->p, NULL, filters, sizeof filters);
    snprintf(where, sizeof where, "%s%s", filters, extra);
    bool places = (r->p->seen & (NOC_P_BUILDING | NOC_P_REGION)) != 0;
    bool in_c = places && db_kind(r->store) != DB_SQLITE; /* building_page */
    map_hold_t hold = {NULL, NULL};
    const building_map_t *bm = NULL;
    noc_people_building_ctx_t bctx = {r->pii, NULL};
    json_t *ids = NULL;
    char *ids_text = NULL;
    int code = NOC_HTTP_OK;
    /* the map for the filter and for every row's "buildings" */
    if (!(bm = map_get(r, &hold, err, errlen))) {
        map_put(r, &hold);
        return NOC_HTTP_UNAVAILABLE;
    }
    bctx.bm = bm;
    if (places && !in_c)
        noc_people_building_fn(db_sqlite(r->store), &bctx);
    if (in_c) {
        ids = json_array();
        code = building_page(r, bm, where, ids, err, errlen);
        if (code != NOC_HTTP_OK)
            goto done;
        ids_text = json_dumps(ids, JSON_COMPACT);
        snprintf(where, sizeof where, "%s%s", filters,
                 " AND c.call_id IN (SELECT jsonb_array_elements_text(CAST(?25 AS jsonb)))");
    }
    const char *order = db_pick(r->store, order_sql);
    int m = snprintf(sql, sizeof sql,
                     "SELECT c.call_id, c.source, c.site, c.start, c.\"end\", c.verdict,"
                     " c.confidence, c.graph_record_id, c.graph_version, c.evaluated,"
                     " c.evidence AS rule,"
                     " (SELECT count(*) FROM verdict_participants p WHERE p.call_id = c.call_id)"
                     " AS participants, %s AS worst"
                     " FROM (SELECT c.call_id FROM verdict_calls c WHERE%s%s LIMIT ?6 OFFSET ?7) k"
                     " JOIN verdict_calls c ON c.call_id = k.call_id%s",
                     db_pick(r->store, worst_sql), where, order, order);
    if (m < 0 || (size_t)m >= sizeof sql) {
        snprintf(err, errlen, "filters too long");
        code = NOC_HTTP_UNAVAILABLE;
        goto done;
    }
    db_stmt_t *st = noc_store_prepare(r->store, sql, err, errlen);
    if (!st) {
        code = NOC_HTTP_UNAVAILABLE;
        goto done;
    }
    noc_filter_bind(st, r->p, NULL);
    if (in_c) {
        db_bind_text(st, 25, ids_text ? ids_text : "[]", -1);
        db_bind_int(st, 7, 0); /* building_page dropped the offset's calls */
    } else {
        bind_people(r->store, st, r->p);
        db_bind_int(st, 7, r->p->offset);
    }
    db_bind_int(st, 6, (int64_t)r->p->limit + 1);
    json_t *calls = json_array();
    int rc;
    while ((rc = noc_store_step(st, r->limit, err, errlen)) == DB_ROW &&
           json_array_size(calls) < r->p->limit)
        json_array_append_new(calls, call_list_row(st));
    if (rc != DB_ROW && rc != DB_DONE) {
        json_decref(calls);
        code = noc_api_db_fail(&st);
        goto done;
    }
    bool more = rc == DB_ROW;
    db_finalize(&st);
    code = list_buildings(r, bm, calls, err, errlen);
    if (code != NOC_HTTP_OK) {
        json_decref(calls);
        goto done;
    }
    *out = json_pack("{s:o, s:I, s:I, s:b}", "calls", calls, "limit", (json_int_t)r->p->limit,
                     "offset", (json_int_t)r->p->offset, "more", more);
done:
    free(ids_text);
    json_decref(ids);
    if (places && !in_c)
        noc_people_building_fn_drop(db_sqlite(r->store));
    map_put(r, &hold);
    return code;
}

/* ---- /api/calls/{id} ---------------------------------------------------- */

static int call_row(const noc_api_req_t *r, json_t **call, char *err, size_t errlen)
{
    db_stmt_t *st = noc_store_prepare(r->store,
                                      "SELECT call_id, source, site, start, \"end\", verdict,"
                                      " confidence, graph_record_id, graph_version, evaluated,"
                                      " evidence FROM verdict_calls WHERE call_id = ?1",
                                      err, errlen);
    if (!st)
        return NOC_HTTP_UNAVAILABLE;
    db_bind_text(st, 1, r->arg, -1);
    int rc = noc_store_step(st, r->limit, err, errlen);
    if (rc == DB_DONE) {
        db_finalize(&st);
        snprintf(err, errlen, "no such call");
        return NOC_HTTP_NOT_FOUND;
    }
    if (rc != DB_ROW)
        return noc_api_db_fail(&st);
    *call = json_object();
    for (int i = 0; i < 10; i++)
        json_object_set_new(*call, db_col_name(st, i), noc_store_col_json(st, i));
    json_object_set_new(*call, "evidence", noc_store_col_parsed(st, 10));
    db_finalize(&st);
    return NOC_HTTP_OK;
}

typedef json_t *(*row_fn)(const noc_api_req_t *r, db_stmt_t *st);

/* Runs sql (?1 = the call id of the path) and appends row(st) for each row. */
static int call_rows(const noc_api_req_t *r, const char *sql, row_fn row, json_t *out, char *err,
                     size_t errlen)
{
    db_stmt_t *st = noc_store_prepare(r->store, sql, err, errlen);
    if (!st)
        return NOC_HTTP_UNAVAILABLE;
    db_bind_text(st, 1, r->arg, -1);
    int rc;
    while ((rc = noc_store_step(st, r->limit, err, errlen)) == DB_ROW)
        json_array_append_new(out, row(r, st));
    if (rc != DB_DONE)
        return noc_api_db_fail(&st);
    db_finalize(&st);
    return NOC_HTTP_OK;
}

static json_t *participant_row(const noc_api_req_t *r, db_stmt_t *st)
{
    json_t *p = json_object();
    for (int i = 0; i < 4; i++)
        json_object_set_new(p, db_col_name(st, i), noc_store_col_json(st, i));
    json_object_set_new(p, "evidence", noc_store_col_parsed(st, 4));
    json_object_set_new(p, "client_id", noc_api_client_id(st, 5));
    json_object_set_new(p, "client_ip", noc_api_opened_ip(r->pii, PII_AAD_PARTICIPANT_IP, st, 6));
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
static json_t *probe_stream(const noc_api_req_t *r, db_stmt_t *st)
{
    if (db_col_type(st, 9) == DB_T_NULL)
        return json_null();
    json_t *o = json_object();
    for (int i = 9; i < 23; i++) /* p_<name>: the streams column */
        json_object_set_new(o, db_col_name(st, i) + 2, noc_store_col_json(st, i));
    json_object_set_new(o, "record", noc_store_col_parsed(st, 23));
    json_object_set_new(o, "client_ip",
                        noc_api_opened_ip(r->pii, PII_AAD_STREAMS_CLIENT_IP, st, 24));
    return o;
}

static json_t *stream_row(const noc_api_req_t *r, db_stmt_t *st)
{
    json_t *s = json_object();
    for (int i = 0; i < 8; i++)
        json_object_set_new(s, db_col_name(st, i), noc_store_col_json(st, i));
    json_object_set_new(s, "evidence", noc_store_col_parsed(st, 8));
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
 * verdict tables predate the history (verdict schema 1). The last of the
 * page's statements: on PostgreSQL a failed one leaves nothing after it to
 * spoil. */
static json_t *history(const noc_api_req_t *r)
{
    json_t *out = json_array();
    char err[256];
    db_stmt_t *st = db_prepare(r->store,
                               "SELECT at, verdict, confidence, source, provisional, rule"
                               " FROM verdict_history WHERE call_id = ?1 ORDER BY id LIMIT 1000",
                               err, sizeof err);
    if (!st)
        return out;
    db_bind_text(st, 1, r->arg, -1);
    while (noc_store_step(st, r->limit, err, sizeof err) == DB_ROW) {
        json_t *h = noc_store_row_json(st);
        json_object_set_new(h, "provisional", json_boolean(db_col_int(st, 4)));
        json_array_append_new(out, h);
    }
    db_finalize(&st);
    return out;
}

int noc_api_call(const noc_api_req_t *r, json_t **out, char *err, size_t errlen)
{
    json_t *call = NULL;
    int code = call_row(r, &call, err, errlen);
    if (code != NOC_HTTP_OK)
        return code;
    json_t *ps = json_array(), *ss = json_array();
    code = participants(r, ps, err, errlen);
    if (code == NOC_HTTP_OK)
        code = streams(r, ss, err, errlen);
    if (code != NOC_HTTP_OK) {
        json_decref(call);
        json_decref(ps);
        json_decref(ss);
        return code;
    }
    /* who and where: names, devices, feedback, meeting, building */
    map_hold_t hold;
    const building_map_t *bm = map_get(r, &hold, err, errlen);
    if (!bm || !noc_people_add(r->store, r->pii, bm,
                               json_string_value(json_object_get(call, "graph_record_id")), call,
                               ps, err, errlen)) {
        map_put(r, &hold);
        json_decref(call);
        json_decref(ps);
        json_decref(ss);
        return NOC_HTTP_UNAVAILABLE;
    }
    map_put(r, &hold);
    *out = json_pack("{s:o, s:o, s:o, s:o}", "call", call, "participants", ps, "streams", ss,
                     "history", history(r));
    return NOC_HTTP_OK;
}
