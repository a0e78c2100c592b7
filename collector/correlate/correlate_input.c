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
    Q_WRITERS,
    Q_RECORDS_ANY, /* a chunk of records, media, Graph streams; streams of */
    Q_MEDIA_ANY,   /* many clients (correlate_input_prefetch_*) */
    Q_GSTREAMS_ANY,
    Q_CLIENTS_ANY,
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
    /* Q_RECORD for a chunk of ids, in the chunk's order, with each
     * record's number of media (the chunk's memory bound) */
    [Q_RECORDS_ANY] = "SELECT r.record_id, r.version, r.start_us, r.end_us, EXISTS(SELECT 1 FROM"
                      " graph_session WHERE record_id = r.record_id AND (failure_stage IS NOT NULL"
                      " OR failure_reason IS NOT NULL)) OR EXISTS(SELECT 1 FROM graph_segment WHERE"
                      " record_id = r.record_id AND (failure_stage IS NOT NULL OR failure_reason IS"
                      " NOT NULL)), (SELECT count(*) FROM graph_media_segment WHERE record_id ="
                      " r.record_id) FROM unnest(CAST(?1 AS TEXT[])) WITH ORDINALITY AS u(id, o)"
                      " JOIN graph_record r ON r.record_id = u.id ORDER BY u.o",
    [Q_MEDIA_ANY] = NULL, /* built from side_cols */
    [Q_GSTREAMS_ANY] = "SELECT rid, parent_rid, direction, avg_loss, max_loss, avg_jitter_ms,"
                       " max_jitter_ms, avg_rtt_ms, max_rtt_ms, avg_concealed, avg_degradation,"
                       " packet_utilization, record_id FROM graph_stream WHERE record_id ="
                       " ANY(CAST(?1 AS TEXT[])) ORDER BY record_id, parent_rid, rid",
    /* Q_CLIENT_STREAMS for many clients (one window per hash), grouped by
     * hash, each client's in Q_CLIENT_STREAMS's order */
    [Q_CLIENTS_ANY] = "SELECT s.id, s.probe_id, s.site, s.first_seen, s.last_seen, s.client_port,"
                      " s.src_port, s.dst_port, s.ssrc, s.direction, s.media, s.packets,"
                      " s.loss_pct, s.jitter_ms_max, s.network_jitter_ms_max, s.mos,"
                      " s.client_ip_hmac, s.src_ip_hmac, s.dst_ip_hmac, s.client_ip_enc"
                      " FROM unnest(CAST(?1 AS BYTEA[]), CAST(?2 AS TEXT[]), CAST(?3 AS TEXT[]))"
                      " AS u(h, f, t) JOIN streams s ON s.client_ip_hmac = u.h AND s.first_seen"
                      " <= u.t COLLATE \"C\" AND s.last_seen >= u.f COLLATE \"C\""
                      " ORDER BY s.client_ip_hmac, s.first_seen, s.id",
};

/* A prefetched stream with the times as stored (compared as text, as the
 * per-client statement compares them). */
typedef struct {
    correlate_stream_t s;
    char first[40], last[40];
} cached_stream_t;

struct correlate_input {
    db_t *db;
    const pii_t *pii;
    db_stmt_t *q[Q_COUNT];
    char err[256]; /* the last error */
    /* correlate_input_prefetch_records: the chunk's ids (found or not) and
     * the records found, handed out once by correlate_input_record() */
    correlate_ids_t want;
    correlate_record_t *rec;
    size_t nrec, caprec;
    /* correlate_input_prefetch_clients: windows by hash, streams by hash */
    correlate_window_t *win;
    size_t nwin, capwin;
    cached_stream_t *cs;
    size_t ncs, capcs;
};

static bool media_sql(char *buf, size_t len, bool any)
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
                              "%s FROM graph_media_segment m JOIN graph_segment s ON s.rid ="
                              " m.parent_rid WHERE %s",
                              any ? ", m.record_id" : "",
                              any ? "m.record_id = ANY(CAST(?1 AS TEXT[])) ORDER BY"
                                    " m.record_id, m.rid"
                                  : "m.record_id = ?1 ORDER BY m.rid");
    return n < len;
}

correlate_input_t *correlate_input_new(db_t *db, const pii_t *pii, char *err, size_t errlen)
{
    correlate_input_t *ci = calloc(1, sizeof *ci);
    char msql[4096], masql[4096];
    if (!ci || !media_sql(msql, sizeof msql, false) || !media_sql(masql, sizeof masql, true)) {
        snprintf(err, errlen, "out of memory");
        free(ci);
        return NULL;
    }
    ci->db = db;
    ci->pii = pii;
    for (int i = 0; i < Q_COUNT; i++) {
        const char *q = i == Q_MEDIA ? msql : i == Q_MEDIA_ANY ? masql : queries[i];
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
    correlate_input_cache_drop(*pci);
    correlate_ids_free(&(*pci)->want);
    free((*pci)->rec);
    free((*pci)->win);
    free((*pci)->cs);
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

static bool cached_streams(correlate_input_t *ci, const uint8_t *h, int64_t from_us, int64_t to_us,
                           correlate_streams_t *out, bool *ok);

bool correlate_input_client_streams(correlate_input_t *ci, const uint8_t *h, int64_t from_us,
                                    int64_t to_us, correlate_streams_t *out)
{
    bool ok;
    if (cached_streams(ci, h, from_us, to_us, out, &ok))
        return ok;
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

static void media_row(correlate_input_t *ci, db_stmt_t *st, const correlate_record_t *r,
                      correlate_media_t *m)
{
    char label[64];
    m->rid = db_col_int(st, 0);
    col_text(st, 1, label, sizeof label);
    snprintf(m->media, sizeof m->media, "%s", media_kind(label));
    m->start_us = col_int(st, 2, r->start_us);
    m->end_us = col_int(st, 3, r->end_us);
    for (int s = 0; s < 2; s++)
        side_row(ci, st, MEDIA_FIXED + s * (int)NSIDE, &m->side[s]);
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
        media_row(ci, st, r, &r->media[r->nmedia++]);
    }
    finish(st);
    return rc == DB_DONE;
}

static void gstream_row(db_stmt_t *st, correlate_gstream_t *g)
{
    char dir[32];
    g->rid = db_col_int(st, 0);
    g->media_rid = col_int(st, 1, -1);
    col_text(st, 2, dir, sizeof dir);
    g->caller_to_callee = strcmp(dir, "calleeToCaller") != 0;
    verdict_graph_clear(&g->g);
    g->g.present = true;
    double *f[] = {&g->g.avg_loss,   &g->g.max_loss,   &g->g.avg_jitter_ms, &g->g.max_jitter_ms,
                   &g->g.avg_rtt_ms, &g->g.max_rtt_ms, &g->g.avg_concealed, &g->g.avg_degradation};
    for (size_t k = 0; k < sizeof f / sizeof f[0]; k++)
        *f[k] = col_real(st, 3 + (int)k);
    g->g.packets = col_int(st, 11, -1);
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
        gstream_row(st, &r->streams[r->nstreams++]);
    }
    finish(st);
    return rc == DB_DONE;
}

static bool cached_record(correlate_input_t *ci, const char *id, correlate_record_t *r,
                          bool *found);

bool correlate_input_record(correlate_input_t *ci, const char *id, correlate_record_t *r,
                            bool *found)
{
    if (cached_record(ci, id, r, found))
        return true;
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

/* ---- a step's inputs as sets (PostgreSQL) ------------------------------------------------ */

void correlate_input_cache_drop(correlate_input_t *ci)
{
    for (size_t i = 0; i < ci->nrec; i++)
        correlate_record_free(&ci->rec[i]);
    ci->nrec = 0;
    ci->want.n = 0;
    for (size_t i = 0; i < ci->ncs; i++)
        free(ci->cs[i].s.client_enc);
    ci->ncs = 0;
    ci->nwin = 0;
}

/* Binds the array literal a as parameter i (error set when memory ran out). */
static bool bind_arr(correlate_input_t *ci, db_stmt_t *st, int i, correlate_arr_t *a)
{
    const char *t = correlate_arr_end(a);
    if (!t || !db_bind_text(st, i, t, (int)a->len)) {
        snprintf(ci->err, sizeof ci->err, "out of memory");
        return false;
    }
    return true;
}

static correlate_record_t *rec_find(correlate_input_t *ci, const char *id, size_t hint)
{
    if (hint < ci->nrec && strcmp(ci->rec[hint].id, id) == 0)
        return &ci->rec[hint];
    for (size_t i = 0; i < ci->nrec; i++)
        if (strcmp(ci->rec[i].id, id) == 0)
            return &ci->rec[i];
    return NULL;
}

static bool cached_record(correlate_input_t *ci, const char *id, correlate_record_t *r, bool *found)
{
    bool wanted = false;
    for (size_t i = 0; !wanted && i < ci->want.n; i++)
        wanted = strcmp(ci->want.v[i], id) == 0;
    if (!wanted)
        return false;
    correlate_record_t *c = rec_find(ci, id, 0);
    *found = c != NULL;
    if (c) {
        *r = *c; /* handed out once: the cache keeps an empty shell */
        memset(c, 0, sizeof *c);
    } else {
        memset(r, 0, sizeof *r);
        snprintf(r->id, sizeof r->id, "%s", id);
    }
    return true;
}

const correlate_record_t *correlate_input_cached_record(const correlate_input_t *ci, size_t i)
{
    return i < ci->nrec ? &ci->rec[i] : NULL;
}

/* The records of ids->v[from..hi) and their media count; stops at the
 * bounds and sets *to. */
static bool prefetch_record_rows(correlate_input_t *ci, const correlate_ids_t *ids, size_t from,
                                 size_t hi, size_t *to)
{
    db_stmt_t *st = ci->q[Q_RECORDS_ANY];
    correlate_arr_t a = {0};
    correlate_arr_reset(&a);
    for (size_t i = from; i < hi; i++)
        correlate_arr_text(&a, ids->v[i]);
    bool ok = bind_arr(ci, st, 1, &a);
    int rc = DB_DONE;
    size_t pos = from, media = 0;
    *to = hi;
    while (ok && (rc = step(ci, st)) == DB_ROW) {
        const char *id = db_col_text(st, 0);
        while (id && pos < hi && strcmp(ids->v[pos], id) != 0)
            pos++; /* not stored (any more): in the chunk, not found */
        if (!id || pos >= hi || *to < hi)
            continue; /* past the cut: read by the next chunk */
        media += (size_t)col_int(st, 5, 0);
        if (ci->nrec > 0 && media > CORRELATE_CHUNK_MEDIA) {
            *to = pos;
            continue;
        }
        if (!correlate_input_grow(&ci->rec, &ci->caprec, ci->nrec, sizeof *ci->rec)) {
            snprintf(ci->err, sizeof ci->err, "out of memory");
            ok = false;
            break;
        }
        correlate_record_t *r = &ci->rec[ci->nrec++];
        memset(r, 0, sizeof *r);
        snprintf(r->id, sizeof r->id, "%s", id);
        r->version = col_int(st, 1, -1);
        r->start_us = col_int(st, 2, -1);
        r->end_us = col_int(st, 3, -1);
        r->failure = db_col_int(st, 4) != 0;
        pos++;
    }
    finish(st);
    correlate_arr_free(&a);
    for (size_t i = from; ok && i < *to; i++)
        ok = correlate_ids_add(&ci->want, ids->v[i]);
    return ok && rc == DB_DONE;
}

/* Rows of st (bound) whose last column names the record, grouped by
 * record: fn adds one to it. */
static bool prefetch_parts(correlate_input_t *ci, db_stmt_t *st, int idcol, bool media)
{
    int rc;
    size_t cap = 0;
    correlate_record_t *r = NULL;
    bool ok = true;
    while ((rc = step(ci, st)) == DB_ROW) {
        const char *id = db_col_text(st, idcol);
        if (!id)
            continue;
        if (!r || strcmp(r->id, id) != 0) {
            r = rec_find(ci, id, r ? (size_t)(r - ci->rec) + 1 : 0);
            cap = 0;
            if (!r)
                continue;
        }
        if (media) {
            cap = cap ? cap : r->nmedia;
            if (!correlate_input_grow(&r->media, &cap, r->nmedia, sizeof *r->media)) {
                ok = false;
                break;
            }
            media_row(ci, st, r, &r->media[r->nmedia++]);
        } else {
            cap = cap ? cap : r->nstreams;
            if (!correlate_input_grow(&r->streams, &cap, r->nstreams, sizeof *r->streams)) {
                ok = false;
                break;
            }
            gstream_row(st, &r->streams[r->nstreams++]);
        }
    }
    finish(st);
    if (!ok)
        snprintf(ci->err, sizeof ci->err, "out of memory");
    return ok && rc == DB_DONE;
}

bool correlate_input_prefetch_records(correlate_input_t *ci, const correlate_ids_t *ids,
                                      size_t from, size_t *to)
{
    correlate_input_cache_drop(ci);
    *to = ids->n;
    if (!ci->q[Q_RECORDS_ANY] || from >= ids->n)
        return true;
    size_t hi = ids->n - from > CORRELATE_CHUNK_RECORDS ? from + CORRELATE_CHUNK_RECORDS : ids->n;
    if (!prefetch_record_rows(ci, ids, from, hi, to))
        return false;
    if (ci->nrec == 0)
        return true;
    correlate_arr_t a = {0};
    correlate_arr_reset(&a);
    for (size_t i = 0; i < ci->nrec; i++)
        correlate_arr_text(&a, ci->rec[i].id);
    const char *t = correlate_arr_end(&a); /* closed once, bound twice */
    bool ok = t && db_bind_text(ci->q[Q_MEDIA_ANY], 1, t, (int)a.len) &&
              prefetch_parts(ci, ci->q[Q_MEDIA_ANY], MEDIA_FIXED + 2 * (int)NSIDE, true) &&
              db_bind_text(ci->q[Q_GSTREAMS_ANY], 1, t, (int)a.len) &&
              prefetch_parts(ci, ci->q[Q_GSTREAMS_ANY], 12, false);
    if (!t)
        snprintf(ci->err, sizeof ci->err, "out of memory");
    correlate_arr_free(&a);
    return ok;
}

static int win_cmp(const void *a, const void *b)
{
    const correlate_window_t *x = a, *y = b;
    int c = memcmp(x->h, y->h, PII_HASH_LEN);
    if (c)
        return c;
    return x->from_us < y->from_us ? -1 : x->from_us > y->from_us;
}

static const correlate_window_t *win_find(const correlate_input_t *ci, const uint8_t *h)
{
    size_t lo = 0, hi = ci->nwin;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(ci->win[mid].h, h, PII_HASH_LEN);
        if (c == 0)
            return &ci->win[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

#define CLIENT_CHUNK 1000 /* hashes per statement: about 110 KB of literals */

bool correlate_input_prefetch_clients(correlate_input_t *ci, const correlate_window_t *w, size_t n)
{
    for (size_t i = 0; i < ci->ncs; i++)
        free(ci->cs[i].s.client_enc);
    ci->ncs = ci->nwin = 0;
    db_stmt_t *st = ci->q[Q_CLIENTS_ANY];
    if (!st || n == 0)
        return true;
    if (n > ci->capwin) {
        correlate_window_t *v = realloc(ci->win, n * sizeof *v);
        if (!v) {
            snprintf(ci->err, sizeof ci->err, "out of memory");
            return false;
        }
        ci->win = v;
        ci->capwin = n;
    }
    memcpy(ci->win, w, n * sizeof *w);
    qsort(ci->win, n, sizeof *ci->win, win_cmp);
    for (size_t i = 0; i < n; i++) { /* one window per hash: their span */
        correlate_window_t *x = &ci->win[i], *last = ci->nwin ? &ci->win[ci->nwin - 1] : NULL;
        if (last && memcmp(last->h, x->h, PII_HASH_LEN) == 0) {
            last->to_us = x->to_us > last->to_us ? x->to_us : last->to_us;
            continue;
        }
        ci->win[ci->nwin++] = *x;
    }
    correlate_arr_t a[3] = {{0}};
    bool ok = true;
    for (size_t lo = 0; ok && lo < ci->nwin; lo += CLIENT_CHUNK) {
        size_t hi = ci->nwin - lo > CLIENT_CHUNK ? lo + CLIENT_CHUNK : ci->nwin;
        for (int k = 0; k < 3; k++)
            correlate_arr_reset(&a[k]);
        for (size_t i = lo; i < hi; i++) {
            char iso[40];
            correlate_arr_blob(&a[0], ci->win[i].h, PII_HASH_LEN);
            correlate_arr_text(&a[1], timefmt_iso(ci->win[i].from_us, iso, sizeof iso));
            correlate_arr_text(&a[2], timefmt_iso(ci->win[i].to_us, iso, sizeof iso));
        }
        for (int k = 0; ok && k < 3; k++)
            ok = bind_arr(ci, st, k + 1, &a[k]);
        int rc = DB_DONE;
        while (ok && (rc = step(ci, st)) == DB_ROW) {
            if (!correlate_input_grow(&ci->cs, &ci->capcs, ci->ncs, sizeof *ci->cs)) {
                snprintf(ci->err, sizeof ci->err, "out of memory");
                ok = false;
                break;
            }
            cached_stream_t *x = &ci->cs[ci->ncs];
            stream_row(st, &x->s);
            col_text(st, 3, x->first, sizeof x->first);
            col_text(st, 4, x->last, sizeof x->last);
            if (x->s.first_us >= 0 && x->s.has_client)
                ci->ncs++;
            else
                free(x->s.client_enc);
        }
        finish(st);
        ok = ok && rc == DB_DONE;
    }
    for (int k = 0; k < 3; k++)
        correlate_arr_free(&a[k]);
    if (!ok) {
        for (size_t i = 0; i < ci->ncs; i++)
            free(ci->cs[i].s.client_enc);
        ci->ncs = ci->nwin = 0;
    }
    return ok;
}

size_t correlate_input_cached_stream_ids(const correlate_input_t *ci, int64_t *out)
{
    for (size_t i = 0; out && i < ci->ncs; i++)
        out[i] = ci->cs[i].s.id;
    return ci->ncs;
}

/* Q_CLIENT_STREAMS answered from the prefetched streams when a window of
 * h covers [from_us, to_us]: the same predicate on the same text, in the
 * same order (first_seen, id). false: not covered, ask the store. */
static bool cached_streams(correlate_input_t *ci, const uint8_t *h, int64_t from_us, int64_t to_us,
                           correlate_streams_t *out, bool *ok)
{
    const correlate_window_t *w = ci->nwin ? win_find(ci, h) : NULL;
    if (!w || w->from_us > from_us || w->to_us < to_us)
        return false;
    char f[40], t[40];
    timefmt_iso(from_us, f, sizeof f);
    timefmt_iso(to_us, t, sizeof t);
    size_t lo = 0, hi = ci->ncs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(ci->cs[mid].s.client_h, h, PII_HASH_LEN) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *ok = true;
    for (size_t i = lo; i < ci->ncs && memcmp(ci->cs[i].s.client_h, h, PII_HASH_LEN) == 0; i++) {
        const cached_stream_t *x = &ci->cs[i];
        if (strcmp(x->first, t) > 0 || strcmp(x->last, f) < 0)
            continue;
        if (!correlate_input_grow(&out->v, &out->cap, out->n, sizeof *out->v)) {
            snprintf(ci->err, sizeof ci->err, "out of memory");
            *ok = false;
            break;
        }
        correlate_stream_t *s = &out->v[out->n];
        *s = x->s;
        s->client_enc = NULL;
        s->client_enc_len = 0;
        if (x->s.client_enc && (s->client_enc = malloc(x->s.client_enc_len))) {
            memcpy(s->client_enc, x->s.client_enc, x->s.client_enc_len);
            s->client_enc_len = x->s.client_enc_len;
        }
        out->nread++;
        out->max_id = s->id > out->max_id ? s->id : out->max_id;
        out->n++;
    }
    return true;
}
