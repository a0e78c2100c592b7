#include "correlate_input.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "timefmt.h"

#define STREAM_COLS                                                                                \
    "id, probe_id, site, first_seen, last_seen, client_port, src_port, dst_port, ssrc,"            \
    " direction, media, packets, loss_pct, jitter_ms_max, network_jitter_ms_max, mos,"             \
    " client_ip_hmac, src_ip_hmac, dst_ip_hmac, client_ip_enc"

/* graph_media (m.) / graph_segment (s.) columns per side, in this order */
static const char *const side_cols[] = {"m.ip_hmac",
                                        "m.port",
                                        "m.reflexive_ip_hmac",
                                        "m.relay_ip",
                                        "m.relay_port",
                                        "m.ip_enc",
                                        "s.user_id_hmac",
                                        "s.odata_type",
                                        "s.ua_role",
                                        "m.dev_cpu_insufficient_ratio",
                                        "m.dev_glitch_ratio",
                                        "m.dev_clipping_ratio",
                                        "m.dev_low_speech_ratio",
                                        "m.dev_low_snr_ratio",
                                        "m.dev_capture_not_functioning_ratio",
                                        "m.dev_render_not_functioning_ratio",
                                        "m.dev_mic_glitch_rate",
                                        "m.dev_speaker_glitch_rate",
                                        "m.bssid",
                                        "m.subnet",
                                        "m.connection_type"};
#define NSIDE (sizeof side_cols / sizeof side_cols[0])
#define MEDIA_FIXED 4

enum {
    Q_NEW_STREAMS,
    Q_CLIENT_STREAMS,
    Q_NEW_RECORDS,
    Q_NEAR,
    Q_RECORD,
    Q_MEDIA,
    Q_GSTREAMS,
    Q_NEAR_ALL, /* PostgreSQL only, from here on */
    Q_SEQ,
    Q_WRITERS, /* PostgreSQL only */
    Q_COUNT
};

static const char *const queries[Q_COUNT] = {
    [Q_NEW_STREAMS] = "SELECT " STREAM_COLS " FROM streams WHERE id > ?1 AND received >= ?2"
                      " ORDER BY id LIMIT ?3",
    [Q_CLIENT_STREAMS] = "SELECT " STREAM_COLS " FROM streams WHERE client_ip_hmac = ?1"
                         " AND first_seen <= ?3 AND last_seen >= ?2 ORDER BY first_seen, id",
    [Q_NEW_RECORDS] = "SELECT stored_at_us, record_id FROM graph_record"
                      " WHERE stored_at_us >= ?1 ORDER BY stored_at_us",
    [Q_NEAR] = "SELECT DISTINCT record_id FROM graph_media_segment WHERE (caller_ip_hmac = ?1"
               " OR callee_ip_hmac = ?1 OR caller_reflexive_ip_hmac = ?1"
               " OR callee_reflexive_ip_hmac = ?1) AND segment_start_us <= ?3"
               " AND segment_end_us >= ?2",
    /* the record and its failureInfo in one statement (one round trip) */
    [Q_RECORD] = "SELECT version, start_us, end_us, EXISTS(SELECT 1 FROM graph_session WHERE"
                 " record_id = ?1 AND (failure_stage IS NOT NULL OR failure_reason IS NOT NULL))"
                 " OR EXISTS(SELECT 1 FROM graph_segment WHERE record_id = ?1 AND"
                 " (failure_stage IS NOT NULL OR failure_reason IS NOT NULL))"
                 " FROM graph_record WHERE record_id = ?1",
    [Q_MEDIA] = NULL, /* built from side_cols */
    [Q_GSTREAMS] = "SELECT rid, parent_rid, direction, avg_loss, max_loss, avg_jitter_ms,"
                   " max_jitter_ms, avg_rtt_ms, max_rtt_ms, avg_concealed, avg_degradation,"
                   " packet_utilization FROM graph_stream WHERE record_id = ?1"
                   " ORDER BY parent_rid, rid", /* by media: correlate.c searches it */
    /* Q_NEAR for many streams in one statement: u.o orders the records by
     * the first stream near them, as one Q_NEAR per stream would */
    [Q_NEAR_ALL] = "SELECT m.record_id FROM unnest(CAST(?1 AS BYTEA[]), CAST(?2 AS BIGINT[]),"
                   " CAST(?3 AS BIGINT[])) WITH ORDINALITY AS u(h, f, t, o)"
                   " JOIN graph_media_segment m ON (m.caller_ip_hmac = u.h OR"
                   " m.callee_ip_hmac = u.h OR m.caller_reflexive_ip_hmac = u.h OR"
                   " m.callee_reflexive_ip_hmac = u.h) AND m.segment_start_us <= u.t"
                   " AND m.segment_end_us >= u.f GROUP BY m.record_id"
                   " ORDER BY min(u.o), m.record_id",
    /* last_value is the last id handed out once is_called (a sequence
     * never used yet has handed out none) */
    [Q_SEQ] = "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM streams_id_seq",
    /* Writers of streams now: INSERT and COPY take RowExclusiveLock on the
     * table they name (the parent, or a partition written directly) when
     * the statement starts, before any row draws its id, and keep it to
     * the end of their transaction. Prepared (two-phase) transactions keep
     * it with no pid. Relation oids are per database. */
    [Q_WRITERS] = "SELECT DISTINCT virtualtransaction FROM pg_locks WHERE locktype = 'relation'"
                  " AND mode = 'RowExclusiveLock' AND pid IS DISTINCT FROM pg_backend_pid()"
                  " AND database = (SELECT oid FROM pg_database WHERE datname ="
                  " current_database()) AND (relation = 'streams'::regclass OR relation IN"
                  " (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'streams'::regclass))",
};

struct correlate_input {
    db_t *db;
    const pii_t *pii;
    db_stmt_t *q[Q_COUNT];
    char err[256]; /* the last error */
};

static bool media_sql(char *buf, size_t len)
{
    size_t n = (size_t)snprintf(buf, len,
                                "SELECT m.rid, m.label, m.segment_start_us,"
                                " m.segment_end_us");
    for (int side = 0; side < 2; side++) {
        for (size_t k = 0; k < NSIDE && n < len; k++) {
            n += (size_t)snprintf(buf + n, len - n, ", ");
            /* "m.ip_hmac" -> "m.caller_ip_hmac" */
            if (n < len)
                n += (size_t)snprintf(buf + n, len - n, "%.2s%s%s", side_cols[k],
                                      side ? "callee_" : "caller_", side_cols[k] + 2);
        }
    }
    if (n < len)
        n += (size_t)snprintf(buf + n, len - n,
                              " FROM graph_media_segment m JOIN graph_segment s ON s.rid ="
                              " m.parent_rid WHERE m.record_id = ?1 ORDER BY m.rid");
    return n < len;
}

correlate_input_t *correlate_input_new(db_t *db, const pii_t *pii, char *err, size_t errlen)
{
    correlate_input_t *ci = calloc(1, sizeof *ci);
    char msql[4096];
    if (!ci || !media_sql(msql, sizeof msql)) {
        snprintf(err, errlen, "out of memory");
        free(ci);
        return NULL;
    }
    ci->db = db;
    ci->pii = pii;
    for (int i = 0; i < Q_COUNT; i++) {
        const char *q = i == Q_MEDIA ? msql : queries[i];
        char e[256];
        if (i >= Q_NEAR_ALL && db_kind(db) != DB_PG)
            continue; /* SQLite: no round trips to save; one writer, ids commit in order */
        if (!(ci->q[i] = db_prepare(db, q, e, sizeof e))) {
            snprintf(err, errlen, "correlation: %s", e);
            correlate_input_free(&ci);
            return NULL;
        }
    }
    return ci;
}

void correlate_input_free(correlate_input_t **pci)
{
    if (!pci || !*pci)
        return;
    for (int i = 0; i < Q_COUNT; i++)
        db_finalize(&(*pci)->q[i]);
    free(*pci);
    *pci = NULL;
}

const char *correlate_input_error(const correlate_input_t *ci)
{
    return ci->err;
}

void correlate_input_clear_error(correlate_input_t *ci)
{
    ci->err[0] = '\0';
}

/* ---- column helpers ---------------------------------------------------------- */

static double col_real(db_stmt_t *st, int i)
{
    return db_col_type(st, i) == DB_T_NULL ? NAN : db_col_real(st, i);
}

static int64_t col_int(db_stmt_t *st, int i, int64_t none)
{
    return db_col_type(st, i) == DB_T_NULL ? none : db_col_int(st, i);
}

static void col_text(db_stmt_t *st, int i, char *out, size_t len)
{
    const char *t = db_col_text(st, i);
    snprintf(out, len, "%s", t ? t : "");
}

static bool col_hash(db_stmt_t *st, int i, uint8_t *out)
{
    if (db_col_type(st, i) != DB_T_BLOB || db_col_bytes(st, i) != PII_HASH_LEN)
        return false;
    memcpy(out, db_col_blob(st, i), PII_HASH_LEN);
    return true;
}

static uint8_t *col_blob_dup(db_stmt_t *st, int i, size_t *len)
{
    *len = 0;
    if (db_col_type(st, i) != DB_T_BLOB || db_col_bytes(st, i) == 0)
        return NULL;
    size_t n = db_col_bytes(st, i);
    uint8_t *p = malloc(n);
    if (p) {
        memcpy(p, db_col_blob(st, i), n);
        *len = n;
    }
    return p;
}

static int64_t col_time(db_stmt_t *st, int i)
{
    int64_t t = -1;
    const char *s = db_col_text(st, i);
    if (!s || !timefmt_parse_iso(s, &t))
        return -1;
    return t;
}

static void bind_iso(db_stmt_t *st, int i, int64_t t)
{
    char buf[40];
    db_bind_text(st, i, timefmt_iso(t, buf, sizeof buf), -1);
}

static void finish(db_stmt_t *st)
{
    db_reset(st);
    db_clear_bindings(st);
}

/* The next row of st: DB_ROW, DB_DONE, or DB_ERR with ci->err set. */
static int step(correlate_input_t *ci, db_stmt_t *st)
{
    return db_step(st, ci->err, sizeof ci->err);
}

bool correlate_input_grow(void *pv, size_t *cap, size_t n, size_t size)
{
    void **v = pv;
    if (n < *cap)
        return true;
    size_t nc = *cap ? *cap * 2 : 16;
    void *nv = realloc(*v, nc * size);
    if (!nv)
        return false;
    *v = nv;
    *cap = nc;
    return true;
}

/* ---- streams ------------------------------------------------------------------- */

static void stream_row(db_stmt_t *st, correlate_stream_t *s)
{
    char dir[16];
    memset(s, 0, sizeof *s);
    s->id = db_col_int(st, 0);
    col_text(st, 1, s->probe, sizeof s->probe);
    col_text(st, 2, s->site, sizeof s->site);
    s->first_us = col_time(st, 3);
    s->last_us = col_time(st, 4);
    s->client_port = (int)col_int(st, 5, -1);
    s->src_port = (int)col_int(st, 6, -1);
    s->dst_port = (int)col_int(st, 7, -1);
    s->ssrc = col_int(st, 8, -1);
    col_text(st, 9, dir, sizeof dir);
    s->dir = strcmp(dir, "inbound") == 0 ? VERDICT_INBOUND : VERDICT_OUTBOUND;
    col_text(st, 10, s->media, sizeof s->media);
    if (!s->media[0])
        snprintf(s->media, sizeof s->media, "unknown");
    verdict_wire_clear(&s->wire);
    s->wire.present = true;
    s->wire.probes = 1;
    s->wire.packets = col_int(st, 11, 0);
    s->wire.loss_pct = col_real(st, 12);
    s->wire.jitter_ms_max = col_real(st, 13);
    s->wire.network_jitter_ms_max = col_real(st, 14);
    s->wire.mos = col_real(st, 15);
    s->has_client = col_hash(st, 16, s->client_h);
    s->has_src = col_hash(st, 17, s->src_h);
    s->has_dst = col_hash(st, 18, s->dst_h);
    s->client_enc = col_blob_dup(st, 19, &s->client_enc_len);
}

static bool read_streams(correlate_input_t *ci, db_stmt_t *st, correlate_streams_t *out)
{
    int rc;
    while ((rc = step(ci, st)) == DB_ROW) {
        if (!correlate_input_grow(&out->v, &out->cap, out->n, sizeof *out->v))
            break;
        out->nread++;
        stream_row(st, &out->v[out->n]);
        if (out->v[out->n].id > out->max_id)
            out->max_id = out->v[out->n].id;
        if (out->v[out->n].first_us >= 0 && out->v[out->n].has_client)
            out->n++;
        else
            free(out->v[out->n].client_enc);
    }
    finish(st);
    return rc == DB_DONE;
}

bool correlate_input_new_streams(correlate_input_t *ci, int64_t after_id, int64_t since_us,
                                 size_t max, correlate_streams_t *out)
{
    db_stmt_t *st = ci->q[Q_NEW_STREAMS];
    db_bind_int(st, 1, after_id);
    bind_iso(st, 2, since_us);
    db_bind_int(st, 3, (int64_t)max);
    return read_streams(ci, st, out);
}

bool correlate_input_client_streams(correlate_input_t *ci, const uint8_t *h, int64_t from_us,
                                    int64_t to_us, correlate_streams_t *out)
{
    db_stmt_t *st = ci->q[Q_CLIENT_STREAMS];
    db_bind_blob(st, 1, h, PII_HASH_LEN);
    bind_iso(st, 2, from_us);
    bind_iso(st, 3, to_us);
    return read_streams(ci, st, out);
}

void correlate_streams_free(correlate_streams_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].client_enc);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* ---- ids ------------------------------------------------------------------------- */

bool correlate_ids_add(correlate_ids_t *ids, const char *id)
{
    for (size_t i = 0; i < ids->n; i++)
        if (strcmp(ids->v[i], id) == 0)
            return true;
    if (!correlate_input_grow(&ids->v, &ids->cap, ids->n, sizeof *ids->v))
        return false;
    snprintf(ids->v[ids->n++], CORRELATE_ID_MAX, "%s", id);
    return true;
}

void correlate_ids_free(correlate_ids_t *ids)
{
    free(ids->v);
    memset(ids, 0, sizeof *ids);
}

static bool read_ids(correlate_input_t *ci, db_stmt_t *st, correlate_ids_t *out)
{
    int rc;
    bool ok = true;
    while ((rc = step(ci, st)) == DB_ROW) {
        const char *id = db_col_text(st, 0);
        if (id && !correlate_ids_add(out, id))
            ok = false;
    }
    finish(st);
    return ok && rc == DB_DONE;
}

bool correlate_input_stream_seq(correlate_input_t *ci, int64_t *last)
{
    db_stmt_t *st = ci->q[Q_SEQ];
    if (!st) {
        snprintf(ci->err, sizeof ci->err, "database: stream sequence on PostgreSQL only");
        return false;
    }
    int rc = step(ci, st);
    *last = rc == DB_ROW ? col_int(st, 0, 0) : 0;
    finish(st);
    return rc == DB_ROW;
}

bool correlate_input_stream_writers(correlate_input_t *ci, correlate_ids_t *out)
{
    db_stmt_t *st = ci->q[Q_WRITERS];
    if (!st) {
        snprintf(ci->err, sizeof ci->err, "database: stream writers on PostgreSQL only");
        return false;
    }
    return read_ids(ci, st, out);
}

bool correlate_input_new_records(correlate_input_t *ci, int64_t from_us,
                                 bool (*fn)(void *ctx, const char *id, int64_t stored_at_us),
                                 void *ctx)
{
    db_stmt_t *st = ci->q[Q_NEW_RECORDS];
    db_bind_int(st, 1, from_us);
    int rc = DB_DONE;
    bool ok = true;
    while (ok && (rc = step(ci, st)) == DB_ROW) {
        const char *id = db_col_text(st, 1);
        if (id)
            ok = fn(ctx, id, db_col_int(st, 0));
    }
    finish(st);
    return ok && rc == DB_DONE;
}

bool correlate_input_records_near(correlate_input_t *ci, const correlate_stream_t *s,
                                  int64_t slack_us, correlate_ids_t *out)
{
    db_stmt_t *st = ci->q[Q_NEAR];
    db_bind_blob(st, 1, s->client_h, PII_HASH_LEN);
    db_bind_int(st, 2, s->first_us - slack_us);
    db_bind_int(st, 3, (s->last_us >= 0 ? s->last_us : s->first_us) + slack_us);
    return read_ids(ci, st, out);
}

#define NEAR_CHUNK 1000 /* streams per statement: about 100 KB of literals */

bool correlate_input_records_near_all(correlate_input_t *ci, const correlate_stream_t *v, size_t n,
                                      int64_t slack_us, correlate_ids_t *out)
{
    db_stmt_t *st = ci->q[Q_NEAR_ALL];
    if (!st) {
        for (size_t i = 0; i < n; i++)
            if (!correlate_input_records_near(ci, &v[i], slack_us, out))
                return false;
        return true;
    }
    correlate_arr_t a[3] = {{0}};
    bool ok = true;
    for (size_t lo = 0; ok && lo < n; lo += NEAR_CHUNK) {
        size_t hi = n - lo > NEAR_CHUNK ? lo + NEAR_CHUNK : n;
        for (int k = 0; k < 3; k++)
            correlate_arr_reset(&a[k]);
        for (size_t i = lo; i < hi; i++) {
            const correlate_stream_t *s = &v[i];
            correlate_arr_blob(&a[0], s->client_h, PII_HASH_LEN);
            correlate_arr_int(&a[1], s->first_us - slack_us);
            correlate_arr_int(&a[2], (s->last_us >= 0 ? s->last_us : s->first_us) + slack_us);
        }
        for (int k = 0; ok && k < 3; k++) {
            const char *t = correlate_arr_end(&a[k]);
            ok = t && db_bind_text(st, k + 1, t, (int)a[k].len);
        }
        if (!ok)
            snprintf(ci->err, sizeof ci->err, "out of memory");
        ok = ok && read_ids(ci, st, out);
        finish(st);
    }
    for (int k = 0; k < 3; k++)
        correlate_arr_free(&a[k]);
    return ok;
}

/* ---- records ------------------------------------------------------------------------ */

static const char *media_kind(const char *label)
{
    bool share = strstr(label, "sharing") || strstr(label, "vbss") || strstr(label, "screen");
    if (strstr(label, "audio"))
        return "audio";
    if (share)
        return "screenshare";
    if (strstr(label, "video"))
        return "video";
    return "unknown";
}

static void side_row(correlate_input_t *ci, db_stmt_t *st, int base, correlate_side_t *sd)
{
    char relay[64], otype[96];
    memset(sd, 0, sizeof *sd);
    sd->has_ip = col_hash(st, base + 0, sd->ip_h);
    sd->port = (int)col_int(st, base + 1, -1);
    sd->has_refl = col_hash(st, base + 2, sd->refl_h);
    col_text(st, base + 3, relay, sizeof relay);
    sd->has_relay = relay[0] && pii_lookup_ip(ci->pii, relay, sd->relay_h);
    sd->relay_port = (int)col_int(st, base + 4, -1);
    sd->ip_enc = col_blob_dup(st, base + 5, &sd->ip_enc_len);
    sd->has_user = col_hash(st, base + 6, sd->user_h);
    col_text(st, base + 7, otype, sizeof otype);
    bool service = strstr(otype, "serviceEndpoint") || db_col_type(st, base + 8) != DB_T_NULL;
    sd->participant = !service && (sd->has_ip || sd->has_user);
    verdict_device_t *d = &sd->dev;
    verdict_device_clear(d);
    double *f[] = {&d->cpu_insufficient,
                   &d->glitch,
                   &d->clipping,
                   &d->low_speech,
                   &d->low_snr,
                   &d->capture_not_functioning,
                   &d->render_not_functioning,
                   &d->mic_glitch_rate,
                   &d->speaker_glitch_rate};
    for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) {
        *f[k] = col_real(st, base + 9 + (int)k);
        if (!isnan(*f[k]))
            d->present = true;
    }
    col_text(st, base + 18, sd->bssid, sizeof sd->bssid);
    col_text(st, base + 19, sd->subnet, sizeof sd->subnet);
    col_text(st, base + 20, sd->connection, sizeof sd->connection);
}

static bool read_media(correlate_input_t *ci, const char *id, correlate_record_t *r)
{
    db_stmt_t *st = ci->q[Q_MEDIA];
    db_bind_text(st, 1, id, -1);
    int rc;
    size_t cap = 0;
    while ((rc = step(ci, st)) == DB_ROW) {
        if (!correlate_input_grow(&r->media, &cap, r->nmedia, sizeof *r->media))
            break;
        correlate_media_t *m = &r->media[r->nmedia++];
        char label[64];
        m->rid = db_col_int(st, 0);
        col_text(st, 1, label, sizeof label);
        snprintf(m->media, sizeof m->media, "%s", media_kind(label));
        m->start_us = col_int(st, 2, r->start_us);
        m->end_us = col_int(st, 3, r->end_us);
        for (int s = 0; s < 2; s++)
            side_row(ci, st, MEDIA_FIXED + s * (int)NSIDE, &m->side[s]);
    }
    finish(st);
    return rc == DB_DONE;
}

static bool read_gstreams(correlate_input_t *ci, const char *id, correlate_record_t *r)
{
    db_stmt_t *st = ci->q[Q_GSTREAMS];
    db_bind_text(st, 1, id, -1);
    int rc;
    size_t cap = 0;
    while ((rc = step(ci, st)) == DB_ROW) {
        if (!correlate_input_grow(&r->streams, &cap, r->nstreams, sizeof *r->streams))
            break;
        correlate_gstream_t *g = &r->streams[r->nstreams++];
        char dir[32];
        g->rid = db_col_int(st, 0);
        g->media_rid = col_int(st, 1, -1);
        col_text(st, 2, dir, sizeof dir);
        g->caller_to_callee = strcmp(dir, "calleeToCaller") != 0;
        verdict_graph_clear(&g->g);
        g->g.present = true;
        double *f[] = {&g->g.avg_loss,      &g->g.max_loss,       &g->g.avg_jitter_ms,
                       &g->g.max_jitter_ms, &g->g.avg_rtt_ms,     &g->g.max_rtt_ms,
                       &g->g.avg_concealed, &g->g.avg_degradation};
        for (size_t k = 0; k < sizeof f / sizeof f[0]; k++)
            *f[k] = col_real(st, 3 + (int)k);
        g->g.packets = col_int(st, 11, -1);
    }
    finish(st);
    return rc == DB_DONE;
}

bool correlate_input_record(correlate_input_t *ci, const char *id, correlate_record_t *r,
                            bool *found)
{
    memset(r, 0, sizeof *r);
    snprintf(r->id, sizeof r->id, "%s", id);
    db_stmt_t *st = ci->q[Q_RECORD];
    db_bind_text(st, 1, id, -1);
    int rc = step(ci, st);
    *found = rc == DB_ROW;
    if (*found) {
        r->version = col_int(st, 0, -1);
        r->start_us = col_int(st, 1, -1);
        r->end_us = col_int(st, 2, -1);
        r->failure = db_col_int(st, 3) != 0;
    }
    finish(st);
    if (rc != DB_ROW)
        return rc == DB_DONE;
    return read_media(ci, id, r) && read_gstreams(ci, id, r);
}

void correlate_record_free(correlate_record_t *r)
{
    for (size_t i = 0; i < r->nmedia; i++)
        for (int s = 0; s < 2; s++)
            free(r->media[i].side[s].ip_enc);
    free(r->media);
    free(r->streams);
    memset(r, 0, sizeof *r);
}

/* ---- array literals ------------------------------------------------------------------ */

static void arr_put(correlate_arr_t *a, const char *p, size_t n)
{
    if (a->bad)
        return;
    if (a->len + n + 2 > a->cap) {
        size_t cap = a->cap ? a->cap : 256;
        while (a->len + n + 2 > cap)
            cap *= 2;
        char *s = realloc(a->s, cap);
        if (!s) {
            a->bad = true;
            return;
        }
        a->s = s;
        a->cap = cap;
    }
    memcpy(a->s + a->len, p, n);
    a->len += n;
    a->s[a->len] = '\0';
}

static void arr_sep(correlate_arr_t *a)
{
    if (a->n++)
        arr_put(a, ",", 1);
}

void correlate_arr_reset(correlate_arr_t *a)
{
    a->len = a->n = 0;
    a->bad = false;
    arr_put(a, "{", 1);
}

void correlate_arr_int(correlate_arr_t *a, int64_t v)
{
    char b[24];
    arr_sep(a);
    arr_put(a, b, (size_t)snprintf(b, sizeof b, "%lld", (long long)v));
}

void correlate_arr_id(correlate_arr_t *a, int64_t v)
{
    if (v >= 0) {
        correlate_arr_int(a, v);
    } else {
        arr_sep(a);
        arr_put(a, "NULL", 4);
    }
}

void correlate_arr_real(correlate_arr_t *a, double v)
{
    char b[40];
    arr_sep(a);
    arr_put(a, b, (size_t)snprintf(b, sizeof b, "%.17g", v));
}

void correlate_arr_text(correlate_arr_t *a, const char *s)
{
    arr_sep(a);
    if (!s) {
        arr_put(a, "NULL", 4);
        return;
    }
    arr_put(a, "\"", 1);
    for (const char *p = s; *p;) {
        size_t n = strcspn(p, "\"\\");
        arr_put(a, p, n);
        p += n;
        if (*p) {
            char e[2] = {'\\', *p++};
            arr_put(a, e, 2);
        }
    }
    arr_put(a, "\"", 1);
}

void correlate_arr_blob(correlate_arr_t *a, const void *p, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    arr_sep(a);
    if (!p) {
        arr_put(a, "NULL", 4);
        return;
    }
    arr_put(a, "\"\\\\x", 4); /* "\\x: the array's escape, then bytea's hex form */
    for (size_t i = 0; i < len; i++) {
        uint8_t b = ((const uint8_t *)p)[i];
        char h[2] = {hex[b >> 4], hex[b & 15]};
        arr_put(a, h, 2);
    }
    arr_put(a, "\"", 1);
}

const char *correlate_arr_end(correlate_arr_t *a)
{
    arr_put(a, "}", 1);
    return a->bad ? NULL : a->s;
}

void correlate_arr_free(correlate_arr_t *a)
{
    free(a->s);
    memset(a, 0, sizeof *a);
}
