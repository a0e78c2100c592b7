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

#define MAX_SITES 1000
#define MAX_TIMELINE_ROWS 20000
#define WORST_DEFAULT 10

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

/* Verdict counts per site: {site: {calls, bad, verdicts}}. */
static int site_counts(const noc_api_req_t *r, const char *site, json_t *by, char *err,
                       size_t errlen)
{
    char filters[NOC_FILTERS_MAX], sql[1024];
    noc_filter_sql(r->p, site, filters, sizeof filters);
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

int noc_api_sites(const noc_api_req_t *r, json_t **out, char *err, size_t errlen)
{
    json_t *by = json_object();
    int code = site_counts(r, NULL, by, err, errlen);
    if (code != NOC_HTTP_OK) {
        json_decref(by);
        return code;
    }
    json_t *arr = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(by, k, v)
    {
        json_object_set_new(v, "site", json_string(k));
        json_array_append(arr, v);
    }
    json_decref(by);
    *out = json_pack("{s:o}", "sites", arr);
    return NOC_HTTP_OK;
}

/* A call's start (ISO text) in seconds since the epoch, per backend. */
static const db_sql_t start_epoch = {
    "CAST(strftime('%s', c.start) AS INTEGER)",
    "CAST(extract(epoch FROM CAST(c.start AS timestamptz)) AS BIGINT)",
};

static int timeline(const noc_api_req_t *r, json_t *out, char *err, size_t errlen)
{
    char filters[NOC_FILTERS_MAX], sql[1024];
    noc_filter_sql(r->p, r->arg, filters, sizeof filters);
    snprintf(sql, sizeof sql,
             "SELECT (%s / ?7) * ?7, c.verdict, count(*) FROM verdict_calls c WHERE%s"
             " GROUP BY 1, 2 ORDER BY 1 LIMIT ?6",
             db_pick(r->store, start_epoch), filters);
    db_stmt_t *st = noc_store_prepare(r->store, sql, err, errlen);
    if (!st)
        return NOC_HTTP_UNAVAILABLE;
    noc_filter_bind(st, r->p, r->arg);
    db_bind_int(st, 6, MAX_TIMELINE_ROWS);
    db_bind_int(st, 7, r->p->bucket_s);
    json_t *by = json_object();
    int code = add_rows(r, st, by, true, err, errlen);
    const char *k;
    json_t *v;
    json_object_foreach(by, k, v)
    {
        json_object_set_new(v, "t", json_integer((json_int_t)strtoll(k, NULL, 10)));
        if (code == NOC_HTTP_OK)
            json_array_append(out, v);
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

static int worst(const noc_api_req_t *r, group_t g, const char *site, unsigned limit, json_t *out,
                 char *err, size_t errlen)
{
    char sql[2048], filters[NOC_FILTERS_MAX];
    noc_filter_sql(r->p, site, filters, sizeof filters);
    snprintf(sql, sizeof sql,
             "SELECT %s AS g, %s, count(DISTINCT p.call_id),"
             " sum(CASE WHEN p.verdict " NOC_BAD_VERDICT " THEN 1 ELSE 0 END)," N_("lan") ","
             N_("wan") "," N_("endpoint") "," N_("cloud") "," N_("healthy") "," N_("unknown")
             " FROM verdict_calls c %s verdict_participants p ON p.call_id = c.call_id"
             " WHERE %s IS NOT NULL AND%s GROUP BY 1 ORDER BY 4 DESC, 3 DESC, 1 LIMIT ?6",
             group_expr[g], db_pick(r->store, any_enc), db_pick(r->store, join), group_expr[g],
             filters);
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

int noc_api_site(const noc_api_req_t *r, json_t **out, char *err, size_t errlen)
{
    json_t *by = json_object(), *tl = json_array(), *wc = json_array(), *wa = json_array(),
           *ws = json_array();
    unsigned n = r->p->limit < WORST_DEFAULT ? r->p->limit : WORST_DEFAULT;
    int code = site_counts(r, r->arg, by, err, errlen);
    if (code == NOC_HTTP_OK)
        code = timeline(r, tl, err, errlen);
    if (code == NOC_HTTP_OK)
        code = worst(r, GROUP_CLIENT, r->arg, n, wc, err, errlen);
    if (code == NOC_HTTP_OK)
        code = worst(r, GROUP_BSSID, r->arg, n, wa, err, errlen);
    if (code == NOC_HTTP_OK)
        code = worst(r, GROUP_SUBNET, r->arg, n, ws, err, errlen);
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
