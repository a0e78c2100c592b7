/* GET /api/live: the calls in progress, from interval records still
 * arriving (noc_api.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "noc_api.h"
#include "noc_db.h"
#include "timefmt.h"
#include "verdict.h"

#define HTTP_OK 200
#define HTTP_UNAVAILABLE 503
#define MAX_LIVE_STREAMS 20000

/* The newest interval of every stream with an interval record stored
 * within the look-back (?1), kept when it arrived within
 * max(?3 s, 2.5 intervals) of now (?2): a stream whose records stopped
 * has ended (or its probe is gone). The client is the stream's LAN end:
 * the sender of an outbound stream, the receiver of an inbound one. */
static const char live_sql[] =
    "WITH latest AS (SELECT max(id) AS id, min(start) AS first_start, count(*) AS n"
    "  FROM intervals WHERE received >= ?1"
    "  GROUP BY probe_id, ssrc, src_port, dst_port, src_ip_hmac, dst_ip_hmac)"
    " SELECT i.site, i.probe_id, i.direction,"
    "  CASE WHEN i.direction = 'inbound' THEN i.dst_ip_hmac ELSE i.src_ip_hmac END AS client,"
    "  l.first_start, i.\"end\", i.packets, i.loss_pct, i.jitter_ms_max, i.ssrc,"
    "  json_extract(i.record, '$.app') AS app"
    " FROM latest l JOIN intervals i ON i.id = l.id"
    " WHERE (?4 IS NULL OR i.site = ?4)"
    "  AND (julianday(?2) - julianday(i.received)) * 86400.0 <= max(?3,"
    "   2.5 * (julianday(i.\"end\") - julianday(i.start)) * 86400.0)"
    " ORDER BY i.site, client, i.direction LIMIT ?5";

typedef struct {
    verdict_thresholds_t thr;
    json_t *sites; /* {site: {active_calls, degraded, lan, wan, streams}} */
    json_t *calls; /* [call] */
    json_t *cur;   /* the call being filled (borrowed from calls) */
    verdict_t worst;
} live_t;

static json_int_t iget(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static void inc(json_t *o, const char *k, json_int_t by)
{
    json_object_set_new(o, k, json_integer(iget(o, k) + by));
}

static json_t *site_entry(live_t *lv, const char *site)
{
    json_t *e = json_object_get(lv->sites, site);
    if (!e) {
        e = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "site", site, "active_calls", (json_int_t)0,
                      "degraded_calls", (json_int_t)0, "lan_degraded", (json_int_t)0,
                      "wan_degraded", (json_int_t)0, "streams", (json_int_t)0);
        json_object_set_new(lv->sites, site, e);
    }
    return e;
}

/* A pseudonymous client id: the first 8 bytes of the lookup hash. */
static void client_hex(sqlite3_stmt *st, int col, char out[17])
{
    snprintf(out, 17, "unknown");
    if (sqlite3_column_type(st, col) != SQLITE_BLOB || sqlite3_column_bytes(st, col) < 8)
        return;
    const unsigned char *h = sqlite3_column_blob(st, col);
    for (int i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* Closes the call at hand: its provisional verdict and the site counts. */
static void call_close(live_t *lv)
{
    if (!lv->cur)
        return;
    json_t *c = lv->cur;
    const char *v = verdict_name(lv->worst.kind);
    json_object_set_new(c, "verdict", json_string(v));
    json_object_set_new(c, "rule", json_string(lv->worst.rule));
    json_object_set_new(c, "provisional", json_true());
    json_t *e = site_entry(lv, json_string_value(json_object_get(c, "site")));
    inc(e, "active_calls", 1);
    bool lan = lv->worst.kind == VERDICT_LAN, wan = lv->worst.kind == VERDICT_WAN;
    inc(e, "degraded_calls", lan || wan);
    inc(e, "lan_degraded", lan);
    inc(e, "wan_degraded", wan);
    lv->cur = NULL;
}

static double col_num(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

/* One stream's newest interval, judged on the wire alone. */
static json_t *stream_of(live_t *lv, sqlite3_stmt *st, verdict_t *v)
{
    verdict_wire_t w;
    verdict_graph_t g;
    verdict_wire_clear(&w);
    verdict_graph_clear(&g);
    w.present = true;
    w.packets = sqlite3_column_int64(st, 6);
    w.loss_pct = col_num(st, 7);
    w.jitter_ms_max = col_num(st, 8);
    w.probes = 1;
    const char *dir = (const char *)sqlite3_column_text(st, 2);
    bool in = dir && strcmp(dir, "inbound") == 0;
    verdict_stream(&lv->thr, in ? VERDICT_INBOUND : VERDICT_OUTBOUND, &w, &g, v);
    json_t *o = json_object();
    json_object_set_new(o, "probe_id", noc_db_column_json(st, 1));
    json_object_set_new(o, "direction", noc_db_column_json(st, 2));
    json_object_set_new(o, "ssrc", noc_db_column_json(st, 9));
    json_object_set_new(o, "app", noc_db_column_json(st, 10));
    json_object_set_new(o, "last_end", noc_db_column_json(st, 5));
    json_object_set_new(o, "packets", noc_db_column_json(st, 6));
    json_object_set_new(o, "loss_pct", noc_db_column_json(st, 7));
    json_object_set_new(o, "jitter_ms_max", noc_db_column_json(st, 8));
    json_object_set_new(o, "verdict", json_string(verdict_name(v->kind)));
    return o;
}

/* Rank of a wire verdict for "worst": a network fault over healthy over
 * not enough data. */
static int rank(verdict_kind_t k)
{
    return k == VERDICT_LAN || k == VERDICT_WAN ? 2 : k == VERDICT_HEALTHY ? 1 : 0;
}

static void row(live_t *lv, sqlite3_stmt *st)
{
    const char *site = (const char *)sqlite3_column_text(st, 0);
    char client[17];
    client_hex(st, 3, client);
    json_t *c = lv->cur;
    if (c && (strcmp(json_string_value(json_object_get(c, "site")), site ? site : "") != 0 ||
              strcmp(json_string_value(json_object_get(c, "client_id")), client) != 0)) {
        call_close(lv);
        c = NULL;
    }
    if (!c) {
        char id[64];
        snprintf(id, sizeof id, "live:%s", client);
        c = json_pack("{s:s, s:s, s:s, s:o, s:[]}", "live_id", id, "site", site ? site : "",
                      "client_id", client, "since", noc_db_column_json(st, 4), "streams");
        json_array_append_new(lv->calls, c);
        lv->cur = c;
        lv->worst.kind = VERDICT_UNKNOWN;
        snprintf(lv->worst.rule, sizeof lv->worst.rule, "not enough data yet");
    }
    verdict_t v;
    json_array_append_new(json_object_get(c, "streams"), stream_of(lv, st, &v));
    inc(site_entry(lv, site ? site : ""), "streams", 1);
    if (rank(v.kind) > rank(lv->worst.kind) ||
        (rank(v.kind) == 2 && lv->worst.kind == VERDICT_WAN && v.kind == VERDICT_LAN))
        lv->worst = v; /* outbound (LAN) first: the site's own side */
}

int noc_api_live(const noc_api_req_t *r, json_t **out, char *err, size_t errlen)
{
    int64_t now = timefmt_now();
    char now_s[40], since_s[40];
    timefmt_iso(now, now_s, sizeof now_s);
    timefmt_iso(now - (int64_t)NOC_LIVE_LOOKBACK_S * USEC_PER_SEC, since_s, sizeof since_s);
    sqlite3_stmt *st;
    if (!noc_db_prepare(r->db, live_sql, &st, err, errlen))
        return HTTP_UNAVAILABLE;
    sqlite3_bind_text(st, 1, since_s, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, now_s, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(st, 3, NOC_LIVE_MIN_AGE_S);
    if (r->p->site[0])
        sqlite3_bind_text(st, 4, r->p->site, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 5, MAX_LIVE_STREAMS);
    live_t lv = {.sites = json_object(), .calls = json_array()};
    verdict_thresholds_defaults(&lv.thr);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        row(&lv, st);
    call_close(&lv);
    if (rc != SQLITE_DONE) {
        snprintf(err, errlen, "database: %s", sqlite3_errmsg(r->db));
        sqlite3_finalize(st);
        json_decref(lv.sites);
        json_decref(lv.calls);
        return HTTP_UNAVAILABLE;
    }
    sqlite3_finalize(st);
    json_t *sites = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(lv.sites, k, v) json_array_append(sites, v);
    json_decref(lv.sites);
    *out = json_pack("{s:s, s:i, s:o, s:o, s:o}", "time", now_s, "lookback_s", NOC_LIVE_LOOKBACK_S,
                     "thresholds", verdict_thresholds_json(&lv.thr), "sites", sites, "calls",
                     lv.calls);
    return HTTP_OK;
}
