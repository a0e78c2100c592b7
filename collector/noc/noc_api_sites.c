/* noc_api_sites.c - the site views of the API: GET /api/sites (verdict
 * counts per site), /api/sites/{site} (a site's counts, verdict timeline
 * and worst clients, access points and subnets) and /api/clients (worst
 * clients anywhere). On both backends (common/db.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "noc_api.h"
#include "noc_api_filter.h"
#include "noc_db.h"
#include "timefmt.h"

#define MAX_SITES 1000
#define MAX_TIMELINE_ROWS 20000
#define WORST_DEFAULT 10
/* The site page's worst clients, access points and subnets read the last
 * 24 h of a longer window's calls (the answer's "worst_since"): they join every
 * call of the window with its participants, and over a month at one site
 * of the scale store (25,600 calls) the three took 1.5 s of CPU (684, 410
 * and 400 ms) against 124 ms over 24 h (bench/bench_noc_scale.py;
 * docs/noc.md "At scale"). */
#define WORST_SPAN_S (24 * 3600)
/* rollup rows a timeline reads (hours x verdicts: a year of one site is
 * about 53,000) */
#define MAX_ROLLUP_ROWS 200000

/* Adds rows (key, verdict, count) into {key: {calls, bad, verdicts{}}}. */
static void add_count(json_t *by, const char *key, const char *verdict, json_int_t n)
{
    if (!key || !verdict)
        return;
    json_t *e = json_object_get(by, key);
    if (!e) {
        e = json_pack("{s:I, s:I, s:o}", "calls", (json_int_t)0, "bad", (json_int_t)0, "verdicts",
                      noc_api_verdict_counts());
        json_object_set_new(by, key, e);
    }
    json_t *vc = json_object_get(e, "verdicts");
    json_t *cur = json_object_get(vc, verdict);
    json_object_set_new(vc, verdict, json_integer(n + (cur ? json_integer_value(cur) : 0)));
    json_object_set_new(e, "calls",
                        json_integer(json_integer_value(json_object_get(e, "calls")) + n));
    bool bad = strcmp(verdict, "lan") == 0 || strcmp(verdict, "wan") == 0 ||
               strcmp(verdict, "endpoint") == 0 || strcmp(verdict, "cloud") == 0;
    if (bad)
        json_object_set_new(e, "bad",
                            json_integer(json_integer_value(json_object_get(e, "bad")) + n));
}

/* Runs st (bound) and adds each row (key, verdict, count) to by; key_int:
 * the key column is a number (a bucket's start), written zero-padded so
 * that the object's keys sort in time order. */
static int add_rows(const noc_api_req_t *r, db_stmt_t *st, json_t *by, bool key_int, char *err,
                    size_t errlen)
{
    int rc;
    while ((rc = noc_store_step(st, r->limit, err, errlen)) == DB_ROW) {
        char key[32];
        const char *k = db_col_text(st, 0);
        if (key_int) {
            snprintf(key, sizeof key, "%020lld", (long long)db_col_int(st, 0));
            k = key;
        }
        add_count(by, k, db_col_text(st, 1), (json_int_t)db_col_int(st, 2));
    }
    if (rc != DB_DONE)
        return noc_api_db_fail(&st);
    db_finalize(&st);
    return NOC_HTTP_OK;
}

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ---- the rollup (collector/correlate/rollup.h) -------------------------------
 *
 * verdict_site_hours counts the calls per site, end hour, start hour and
 * verdict. A window "end >= since AND start < until" (noc_filter_sql) is
 * then, exactly:
 *   - the rollup's rows with end_hour > since's hour and start_hour <
 *     until's hour (every call of such a row is inside: the hours compare
 *     as text as the times do, being their first 13 characters);
 *   - plus the calls that end in since's hour (the left edge), read from
 *     verdict_calls with the window's own terms;
 *   - plus the calls that start in until's hour and end after since's hour
 *     (the right edge; those ending in it are the left edge's).
 * A row with end_hour < since's hour, or start_hour > until's hour, has no
 * call in the window. So a month at one site reads some thousands of
 * rollup rows and two hours of calls instead of the month's calls (figures:
 * docs/noc.md "At scale"). The rollup answers the since, until and site
 * filters only; a verdict or client filter reads verdict_calls as before. */

typedef struct {
    bool on;               /* the rollup answers this request */
    char s0[14], s0hi[15]; /* since's hour ("" without since), and its end */
    char u0[14], u0hi[15]; /* until's hour ("" without until), and its end */
} window_t;

static const db_sql_t rollup_exists = {
    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'verdict_site_hours'",
    "SELECT 1 FROM pg_tables WHERE schemaname = current_schema()"
    " AND tablename = 'verdict_site_hours'",
};

/* An hour key and the end of its range: every text that starts with the
 * key sorts at or after it and before key + "~" (times are digits, '-',
 * 'T', ':', '.', 'Z', '+' and spaces, all below '~'). */
static void hour_key(const char *t, char *key, char *hi)
{
    snprintf(key, 14, "%.13s", t);
    snprintf(hi, 15, "%s~", key);
}

static window_t window_of(const noc_api_req_t *r, char *err, size_t errlen)
{
    window_t w = {0};
    const noc_params_t *p = r->p;
    if (noc_filter_has(p->verdict) || (p->seen & NOC_P_CLIENT) ||
        (noc_filter_has(p->since) && strlen(p->since) < 13) ||
        (noc_filter_has(p->until) && strlen(p->until) < 13))
        return w;
    db_stmt_t *st = noc_store_prepare(r->store, db_pick(r->store, rollup_exists), err, errlen);
    if (!st) {
        err[0] = '\0';
        return w;
    }
    /* a store 'run' or 'correlate' has not migrated yet: no rollup */
    w.on = noc_store_step(st, r->limit, err, errlen) == DB_ROW;
    db_finalize(&st);
    err[0] = '\0';
    if (noc_filter_has(p->since))
        hour_key(p->since, w.s0, w.s0hi);
    if (noc_filter_has(p->until))
        hour_key(p->until, w.u0, w.u0hi);
    return w;
}

/* The rollup's terms on verdict_site_hours h: ?8 since's hour, ?10
 * until's hour, ?3 the site. */
static void rollup_sql(const window_t *w, const char *site, char *buf, size_t n)
{
    snprintf(buf, n, " 1 = 1%s%s%s", w->s0[0] ? " AND h.end_hour > ?8" : "",
             w->u0[0] ? " AND h.start_hour < ?10" : "",
             noc_filter_has(site) ? " AND h.site = ?3" : "");
}

/* The edges' terms on verdict_calls c, beside the window's own: ?8/?9
 * since's hour, ?10/?11 until's hour. */
static const char *edge_sql(const window_t *w, bool right)
{
    if (!right)
        return " AND c.\"end\" >= ?8 AND c.\"end\" < ?9";
    return w->s0[0] ? " AND c.start >= ?10 AND c.start < ?11 AND c.\"end\" >= ?9"
                    : " AND c.start >= ?10 AND c.start < ?11";
}

static void window_bind(db_stmt_t *st, const window_t *w)
{
    if (w->s0[0]) {
        db_bind_text(st, 8, w->s0, -1);
        db_bind_text(st, 9, w->s0hi, -1);
    }
    if (w->u0[0]) {
        db_bind_text(st, 10, w->u0, -1);
        db_bind_text(st, 11, w->u0hi, -1);
    }
}

/* The object's entries as an array in the order of their keys (strcmp:
 * sites by name, zero-padded bucket starts by time); t: add the key as
 * "t" (a number) or "site". */
static json_t *sorted_entries(json_t *by, bool t)
{
    size_t n = json_object_size(by), i = 0;
    const char **keys = calloc(n ? n : 1, sizeof *keys);
    json_t *arr = json_array();
    if (!keys)
        return arr;
    const char *k;
    json_t *v;
    json_object_foreach(by, k, v) keys[i++] = k;
    qsort((void *)keys, n, sizeof *keys, cmp_keys);
    for (i = 0; i < n; i++) {
        json_t *e = json_object_get(by, keys[i]);
        if (t)
            json_object_set_new(e, "t", json_integer((json_int_t)strtoll(keys[i], NULL, 10)));
        else
            json_object_set_new(e, "site", json_string(keys[i]));
        json_array_append(arr, e);
    }
    free(keys);
    return arr;
}

/* Verdict counts per site: {site: {calls, bad, verdicts}}. */
static int site_counts(const noc_api_req_t *r, const char *site, json_t *by, char *err,
                       size_t errlen)
{
    char filters[NOC_FILTERS_MAX], sql[1024];
    noc_filter_sql(r->p, site, filters, sizeof filters);
    window_t w = window_of(r, err, errlen);
    if (!w.on) {
        snprintf(sql, sizeof sql,
                 "SELECT COALESCE(c.site, ''), c.verdict, count(*) FROM verdict_calls c"
                 " WHERE%s GROUP BY 1, 2 ORDER BY 1 LIMIT ?6",
                 filters);
        db_stmt_t *st = noc_store_prepare(r->store, sql, err, errlen);
        if (!st)
            return NOC_HTTP_UNAVAILABLE;
        noc_filter_bind(st, r->p, site);
        db_bind_int(st, 6, MAX_SITES * 8);
        return add_rows(r, st, by, false, err, errlen);
    }
    const char *s = site ? site : r->p->site;
    for (int part = 0; part < 3; part++) {
        if ((part == 1 && !w.s0[0]) || (part == 2 && !w.u0[0]))
            continue;
        if (part == 0) {
            char terms[256];
            rollup_sql(&w, s, terms, sizeof terms);
            snprintf(sql, sizeof sql,
                     "SELECT h.site, h.verdict, sum(h.calls) FROM verdict_site_hours h"
                     " WHERE%s GROUP BY 1, 2 ORDER BY 1 LIMIT ?6",
                     terms);
        } else {
            snprintf(sql, sizeof sql,
                     "SELECT COALESCE(c.site, ''), c.verdict, count(*) FROM verdict_calls c"
                     " WHERE%s%s GROUP BY 1, 2 ORDER BY 1 LIMIT ?6",
                     filters, edge_sql(&w, part == 2));
        }
        db_stmt_t *st = noc_store_prepare(r->store, sql, err, errlen);
        if (!st)
            return NOC_HTTP_UNAVAILABLE;
        if (part == 0 && noc_filter_has(s))
            db_bind_text(st, 3, s, -1);
        if (part > 0)
            noc_filter_bind(st, r->p, site);
        window_bind(st, &w);
        db_bind_int(st, 6, MAX_SITES * 8);
        int code = add_rows(r, st, by, false, err, errlen);
        if (code != NOC_HTTP_OK)
            return code;
    }
    return NOC_HTTP_OK;
}

int noc_api_sites(const noc_api_req_t *r, json_t **out, char *err, size_t errlen)
{
    json_t *by = json_object();
    int code = site_counts(r, NULL, by, err, errlen);
    if (code != NOC_HTTP_OK) {
        json_decref(by);
        return code;
    }
    json_t *arr = sorted_entries(by, false);
    json_decref(by);
    *out = json_pack("{s:o}", "sites", arr);
    return NOC_HTTP_OK;
}

/* A call's start (ISO text) in seconds since the epoch, per backend. */
static const db_sql_t start_epoch = {
    "CAST(strftime('%s', c.start) AS INTEGER)",
    "CAST(extract(epoch FROM CAST(c.start AS timestamptz)) AS BIGINT)",
};

/* The rollup's whole hours of a site's timeline: each start hour's counts
 * into its bucket (bucket_s is a multiple of 3600). NOC_HTTP_OK, or -1
 * when a start hour is not "YYYY-MM-DDTHH" (the caller reads the calls). */
static int timeline_hours(const noc_api_req_t *r, const window_t *w, json_t *by, char *err,
                          size_t errlen)
{
    char terms[256], sql[512];
    rollup_sql(w, r->arg, terms, sizeof terms);
    snprintf(sql, sizeof sql,
             "SELECT h.start_hour, h.verdict, sum(h.calls) FROM verdict_site_hours h"
             " WHERE%s GROUP BY 1, 2 LIMIT ?6",
             terms);
    db_stmt_t *st = noc_store_prepare(r->store, sql, err, errlen);
    if (!st)
        return NOC_HTTP_UNAVAILABLE;
    db_bind_text(st, 3, r->arg, -1);
    window_bind(st, w);
    db_bind_int(st, 6, MAX_ROLLUP_ROWS);
    int rc;
    while ((rc = noc_store_step(st, r->limit, err, errlen)) == DB_ROW) {
        char iso[32], key[32];
        const char *h = db_col_text(st, 0);
        usec_t t;
        if (!h || strlen(h) != 13 || h[10] != 'T')
            break;
        snprintf(iso, sizeof iso, "%s:00:00Z", h);
        if (!timefmt_parse_iso(iso, &t))
            break;
        int64_t sec = t / USEC_PER_SEC, b = (int64_t)r->p->bucket_s;
        snprintf(key, sizeof key, "%020lld", (long long)(sec / b * b));
        add_count(by, key, db_col_text(st, 1), (json_int_t)db_col_int(st, 2));
    }
    if (rc == DB_ROW) {
        db_finalize(&st);
        return -1;
    }
    if (rc != DB_DONE)
        return noc_api_db_fail(&st);
    db_finalize(&st);
    return NOC_HTTP_OK;
}

static int timeline(const noc_api_req_t *r, json_t *out, char *err, size_t errlen)
{
    char filters[NOC_FILTERS_MAX], sql[1024];
    noc_filter_sql(r->p, r->arg, filters, sizeof filters);
    window_t w = window_of(r, err, errlen);
    json_t *by = json_object();
    int code = NOC_HTTP_OK;
    if (w.on && r->p->bucket_s % 3600 == 0) {
        code = timeline_hours(r, &w, by, err, errlen);
        if (code == -1) {
            json_object_clear(by);
            w.on = false;
            code = NOC_HTTP_OK;
        }
    } else {
        w.on = false;
    }
    /* without the rollup: every call in the window; with it: the edges */
    for (int part = w.on ? 1 : 0; code == NOC_HTTP_OK && part < 3; part++) {
        if (w.on && ((part == 1 && !w.s0[0]) || (part == 2 && !w.u0[0])))
            continue;
        snprintf(sql, sizeof sql,
                 "SELECT (%s / ?7) * ?7, c.verdict, count(*) FROM verdict_calls c WHERE%s%s"
                 " GROUP BY 1, 2 ORDER BY 1 LIMIT ?6",
                 db_pick(r->store, start_epoch), filters, part ? edge_sql(&w, part == 2) : "");
        db_stmt_t *st = noc_store_prepare(r->store, sql, err, errlen);
        if (!st) {
            code = NOC_HTTP_UNAVAILABLE;
            break;
        }
        noc_filter_bind(st, r->p, r->arg);
        if (part)
            window_bind(st, &w);
        db_bind_int(st, 6, MAX_TIMELINE_ROWS);
        db_bind_int(st, 7, r->p->bucket_s);
        code = add_rows(r, st, by, true, err, errlen);
        if (!w.on)
            break;
    }
    if (code == NOC_HTTP_OK) {
        json_t *arr = sorted_entries(by, true);
        size_t i;
        json_t *v;
        json_array_foreach(arr, i, v)
        {
            if (i >= MAX_TIMELINE_ROWS)
                break;
            json_array_append(out, v);
        }
        json_decref(arr);
    }
    json_decref(by);
    return code;
}

/* Worst-first lists over participants: by client address hash, or by a
 * Graph field of the participant's evidence (access point, subnet). */
typedef enum { GROUP_CLIENT, GROUP_BSSID, GROUP_SUBNET } group_t;

static const char *const group_expr[] = {
    [GROUP_CLIENT] = "p.client_ip_hmac",
    /* kept from the evidence, indexed (verdict schema 3) */
    [GROUP_BSSID] = "p.bssid",
    [GROUP_SUBNET] = "p.subnet",
};

static const char *const group_key[] = {
    [GROUP_CLIENT] = "client_id", [GROUP_BSSID] = "bssid", [GROUP_SUBNET] = "subnet"};

static json_t *worst_row(const noc_api_req_t *r, group_t g, db_stmt_t *st)
{
    json_t *o = json_object();
    if (g == GROUP_CLIENT) {
        json_object_set_new(o, "client_id", noc_api_client_id(st, 0));
        json_object_set_new(o, "client_ip",
                            noc_api_opened_ip(r->pii, PII_AAD_PARTICIPANT_IP, st, 1));
    } else {
        json_object_set_new(o, group_key[g], noc_store_col_json(st, 0));
    }
    json_object_set_new(o, "calls", json_integer(db_col_int(st, 2)));
    json_object_set_new(o, "bad", json_integer(db_col_int(st, 3)));
    json_t *vc = noc_api_verdict_counts();
    for (int i = 0; noc_query_verdicts[i]; i++)
        json_object_set_new(vc, noc_query_verdicts[i], json_integer(db_col_int(st, 4 + i)));
    json_object_set_new(o, "verdicts", vc);
    return o;
}

/* One of a group's sealed addresses (any: they are the same address), and
 * the join: SQLite's CROSS JOIN keeps the calls first (the window's index),
 * PostgreSQL plans the join itself and has no max() of bytea. */
static const db_sql_t any_enc = {"max(p.client_ip_enc)", "(array_agg(p.client_ip_enc))[1]"};
static const db_sql_t join = {"CROSS JOIN", "JOIN"};

#define N_(v) "sum(CASE WHEN p.verdict = '" v "' THEN 1 ELSE 0 END)"

#define WORST_COLS                                                                                 \
    "SELECT %s AS g, %s, count(DISTINCT p.call_id),"                                               \
    " sum(CASE WHEN p.verdict " NOC_BAD_VERDICT " THEN 1 ELSE 0 END)," N_("lan") "," N_(           \
        "wan") "," N_("endpoint") "," N_("cloud") "," N_("healthy") "," N_("unknown")
#define WORST_ORDER " GROUP BY 1 ORDER BY 4 DESC, 3 DESC, 1 LIMIT ?6"

/* The participants of the calls that end at or after since, read from
 * verdict_participants_end (verdict schema 4: the call's end on each
 * participant row) alone: one range instead of each call's participants
 * looked up at random (24,000 calls in the month-sized store's 24 h). The
 * same rows as the join (call_end is its call's end, NULL without a call).
 * SQLite: named (INDEXED BY), so that the plan does not rest on the
 * planner's choice against verdict_participants_client, which would serve
 * the GROUP BY but read every participant of the store. */
static const db_sql_t end_range = {"verdict_participants p INDEXED BY verdict_participants_end",
                                   "verdict_participants p"};

static const db_sql_t end_index_exists = {
    "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'verdict_participants_end'",
    "SELECT 1 FROM pg_indexes WHERE schemaname = current_schema()"
    " AND indexname = 'verdict_participants_end'",
};

/* A window with since alone (no until, site, verdict or client) on a store
 * at verdict schema 4 (a store 'run' or 'correlate' has not migrated yet
 * has no call_end: the join): the worst clients from the participants'
 * own call_end. */
static bool since_only(const noc_api_req_t *r, group_t g, const char *site)
{
    const noc_params_t *p = r->p;
    if (g != GROUP_CLIENT || site || !noc_filter_has(p->since) || noc_filter_has(p->until) ||
        noc_filter_has(p->site) || noc_filter_has(p->verdict) || (p->seen & NOC_P_CLIENT))
        return false;
    char err[256];
    db_stmt_t *st =
        noc_store_prepare(r->store, db_pick(r->store, end_index_exists), err, sizeof err);
    bool has = st && noc_store_step(st, r->limit, err, sizeof err) == DB_ROW;
    db_finalize(&st);
    return has;
}

static int worst(const noc_api_req_t *r, group_t g, const char *site, unsigned limit, json_t *out,
                 char *err, size_t errlen)
{
    char sql[2048], filters[NOC_FILTERS_MAX];
    if (since_only(r, g, site)) {
        snprintf(sql, sizeof sql,
                 WORST_COLS " FROM %s WHERE p.call_end >= ?1 AND %s IS NOT NULL" WORST_ORDER,
                 group_expr[g], db_pick(r->store, any_enc), db_pick(r->store, end_range),
                 group_expr[g]);
    } else {
        noc_filter_sql(r->p, site, filters, sizeof filters);
        snprintf(sql, sizeof sql,
                 WORST_COLS " FROM verdict_calls c %s verdict_participants p ON"
                            " p.call_id = c.call_id WHERE %s IS NOT NULL AND%s" WORST_ORDER,
                 group_expr[g], db_pick(r->store, any_enc), db_pick(r->store, join), group_expr[g],
                 filters);
    }
    db_stmt_t *st = noc_store_prepare(r->store, sql, err, errlen);
    if (!st)
        return NOC_HTTP_UNAVAILABLE;
    noc_filter_bind(st, r->p, site);
    db_bind_int(st, 6, (int64_t)limit);
    int rc;
    while ((rc = noc_store_step(st, r->limit, err, errlen)) == DB_ROW)
        json_array_append_new(out, worst_row(r, g, st));
    if (rc != DB_DONE)
        return noc_api_db_fail(&st);
    db_finalize(&st);
    return NOC_HTTP_OK;
}

/* The worst lists' window: the last WORST_SPAN_S of the window's calls,
 * up to the end of the timeline's newest bucket (tl, sorted by time) or
 * p's until (or now), whichever is earlier, so that a window whose calls
 * are older than a day (a past incident, the demo's captures) still lists
 * them. */
static void worst_window(noc_params_t *p, const json_t *tl, int64_t bucket_s)
{
    usec_t until = timefmt_now(), since = 0;
    if (p->until[0] && !timefmt_parse_iso(p->until, &until))
        return;
    if (p->since[0] && !timefmt_parse_iso(p->since, &since))
        return;
    json_t *last = json_array_get(tl, json_array_size(tl) ? json_array_size(tl) - 1 : 0);
    json_int_t t = json_integer_value(json_object_get(last, "t"));
    if (last && t > 0) {
        usec_t newest = ((usec_t)t + (usec_t)bucket_s) * USEC_PER_SEC;
        if (newest < until)
            until = newest;
    }
    if (until - since > (usec_t)WORST_SPAN_S * USEC_PER_SEC)
        timefmt_iso(until - (usec_t)WORST_SPAN_S * USEC_PER_SEC, p->since, sizeof p->since);
}

int noc_api_site(const noc_api_req_t *r, json_t **out, char *err, size_t errlen)
{
    json_t *by = json_object(), *tl = json_array(), *wc = json_array(), *wa = json_array(),
           *ws = json_array();
    unsigned n = r->p->limit < WORST_DEFAULT ? r->p->limit : WORST_DEFAULT;
    int code = site_counts(r, r->arg, by, err, errlen);
    if (code == NOC_HTTP_OK)
        code = timeline(r, tl, err, errlen);
    noc_params_t wp = *r->p;
    noc_api_req_t wr = *r;
    wr.p = &wp;
    worst_window(&wp, tl, r->p->bucket_s);
    if (code == NOC_HTTP_OK)
        code = worst(&wr, GROUP_CLIENT, r->arg, n, wc, err, errlen);
    if (code == NOC_HTTP_OK)
        code = worst(&wr, GROUP_BSSID, r->arg, n, wa, err, errlen);
    if (code == NOC_HTTP_OK)
        code = worst(&wr, GROUP_SUBNET, r->arg, n, ws, err, errlen);
    json_t *totals = json_object_get(by, r->arg);
    if (code == NOC_HTTP_OK && !totals && json_array_size(tl) == 0) {
        snprintf(err, errlen, "no calls at this site in the window");
        code = NOC_HTTP_NOT_FOUND;
    }
    if (code != NOC_HTTP_OK) {
        json_decref(by);
        json_decref(tl);
        json_decref(wc);
        json_decref(wa);
        json_decref(ws);
        return code;
    }
    json_t *t = json_deep_copy(totals);
    json_decref(by);
    json_object_set_new(t, "site", json_string(r->arg));
    json_object_set_new(t, "bucket_s", json_integer(r->p->bucket_s));
    json_object_set_new(t, "timeline", tl);
    json_object_set_new(t, "worst_clients", wc);
    json_object_set_new(t, "worst_access_points", wa);
    json_object_set_new(t, "worst_subnets", ws);
    json_object_set_new(t, "worst_since", wp.since[0] ? json_string(wp.since) : json_null());
    *out = t;
    return NOC_HTTP_OK;
}

int noc_api_clients(const noc_api_req_t *r, json_t **out, char *err, size_t errlen)
{
    json_t *arr = json_array();
    int code = worst(r, GROUP_CLIENT, NULL, r->p->limit, arr, err, errlen);
    if (code != NOC_HTTP_OK) {
        json_decref(arr);
        return code;
    }
    *out = json_pack("{s:o}", "clients", arr);
    return NOC_HTTP_OK;
}
