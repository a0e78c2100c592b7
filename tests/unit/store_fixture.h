/* store_fixture.h - a collector store in a temporary directory, filled by
 * the real writers, for the in-process tests of ingest, correlate and noc.
 *
 * fx_open() makes an organisation key (pii_keygen) and opens the store
 * (store_open, so the schema is the store's own); fx_batch() stores probe
 * records exactly as a batch from ZeroMQ would be (wire_parse of a real
 * header, store_batch); fx_record() stores a Microsoft Graph call record
 * through graph_parse_text and graph_store_put (only where the test links
 * callscope_enrich: define FX_GRAPH first). No schema is copied here: the
 * tables are always the ones the collector makes.
 */
#ifndef CALLSCOPE_UNIT_STORE_FIXTURE_H
#define CALLSCOPE_UNIT_STORE_FIXTURE_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pii.h"
#include "store.h"
#include "wire.h"
#ifdef FX_GRAPH
#include "graph_parse.h"
#include "graph_store.h"
#endif

#define FX_EPOCH 1700000000000000LL /* the probe's start, microseconds */
#define FX_RELAY "52.112.0.10"      /* a Teams relay, the far end of every stream */
#define FX_RELAY_PORT 3478

typedef struct {
    char dir[64];
    char key[96], db[96];
    pii_t *pii;
    store_t *st;
#ifdef FX_GRAPH
    db_t *gdb; /* the store's connection, as graph_store speaks it */
    graph_store_t *gs;
#endif
} fx_t;

static inline int64_t fx_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline void fx_close(fx_t *f);

static inline bool fx_open(fx_t *f)
{
    char err[256];
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/callscope-unit-XXXXXX");
    if (!mkdtemp(f->dir))
        return false;
    snprintf(f->key, sizeof f->key, "%s/org.key", f->dir);
    snprintf(f->db, sizeof f->db, "%s/store.db", f->dir);
    const char *keys[] = {f->key};
    if (pii_keygen(f->key, "0d15ea5e-0000-4000-8000-00000000c0de", err, sizeof err) != 0 ||
        !(f->pii = pii_new(keys, 1, NULL, err, sizeof err)) ||
        !(f->st = store_open(f->db, false, f->pii, err, sizeof err))) {
        fprintf(stderr, "fixture: %s\n", err);
        fx_close(f); /* no temporary directory left behind */
        return false;
    }
#ifdef FX_GRAPH
    if (!(f->gdb = db_from_sqlite(store_db(f->st))) ||
        !graph_store_migrate(f->gdb, err, sizeof err) ||
        !(f->gs = graph_store_new(f->gdb, f->pii, err, sizeof err))) {
        fprintf(stderr, "fixture: %s\n", err);
        fx_close(f); /* no temporary directory left behind */
        return false;
    }
#endif
    return true;
}

static inline void fx_close(fx_t *f)
{
    static const char *const files[] = {"store.db", "store.db-wal", "store.db-shm", "org.key"};
#ifdef FX_GRAPH
    graph_store_free(&f->gs);
    db_close(&f->gdb); /* the wrapper only: store_free() closes the connection */
#endif
    store_free(&f->st);
    pii_free(&f->pii);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p[128];
        snprintf(p, sizeof p, "%s/%s", f->dir, files[i]);
        unlink(p);
    }
    rmdir(f->dir);
}

/* One probe stream record, as the probe writes it (docs/output.md). Times
 * are seconds after 2026-01-15T10:00:00Z. */
typedef struct {
    const char *client;
    int port;
    unsigned ssrc;
    bool inbound;
    int first_s, last_s;
    int packets, lost;
} fx_stream_t;

static inline int fx_stream_line(char *buf, size_t cap, const fx_stream_t *s)
{
    const char *src = s->inbound ? FX_RELAY : s->client, *dst = s->inbound ? s->client : FX_RELAY;
    int sport = s->inbound ? FX_RELAY_PORT : s->port, dport = s->inbound ? s->port : FX_RELAY_PORT;
    double loss = s->packets ? 100.0 * s->lost / (s->packets + s->lost) : 0.0;
    return snprintf(
        buf, cap,
        "{\"type\":\"stream\",\"src_ip\":\"%s\",\"src_port\":%d,\"dst_ip\":\"%s\",\"dst_port\":%d,"
        "\"proto\":\"udp\",\"ssrc\":%u,\"payload_type\":111,\"codec\":\"SATIN\",\"app\":\"teams\","
        "\"client_ip\":\"%s\",\"client_port\":%d,\"client_mac\":\"02:00:00:00:00:01\","
        "\"media\":\"audio\",\"direction\":\"%s\",\"encap\":\"raw\","
        "\"first_seen\":\"2026-01-15T10:%02d:%02d.000000Z\","
        "\"last_seen\":\"2026-01-15T10:%02d:%02d.000000Z\",\"packets\":%d,\"bytes\":%d,"
        "\"expected\":%d,\"lost\":%d,\"loss_pct\":%.2f,\"duplicates\":0,\"out_of_order\":0,"
        "\"max_burst_loss\":1,\"jitter_ms_max\":4.0,\"jitter_ms_mean\":2.0,"
        "\"network_jitter_ms_max\":2.0,\"mos\":4.1,\"end_reason\":\"flush\"}\n",
        src, sport, dst, dport, s->ssrc, s->client, s->port, s->inbound ? "inbound" : "outbound",
        s->first_s / 60, s->first_s % 60, s->last_s / 60, s->last_s % 60, s->packets,
        s->packets * 100, s->packets + s->lost, s->lost, loss);
}

/* Stores one batch: header for `records` lines (the body may hold others,
 * to test the refusal), body as given. */
static inline bool fx_batch_raw(fx_t *f, const char *probe, int64_t seq, int64_t records,
                                const char *body, wire_status_t *status, store_result_t *r)
{
    char err[256];
    wire_msg_t m;
    char *hdr = wire_batch_header(probe, "hq", FX_EPOCH, seq, records);
    bool ok = hdr && wire_parse(hdr, strlen(hdr), &m, err, sizeof err);
    free(hdr);
    if (!ok) {
        fprintf(stderr, "fixture: %s\n", err);
        return false;
    }
    memset(r, 0, sizeof *r);
    ok = store_batch(f->st, probe, &m, body, strlen(body), status, r, err, sizeof err);
    if (!ok)
        fprintf(stderr, "fixture: %s\n", err);
    wire_msg_clear(&m);
    return ok;
}

/* Stores streams v[0..n) as one batch; true when every record was stored. */
static inline bool fx_streams(fx_t *f, const char *probe, int64_t seq, const fx_stream_t *v,
                              size_t n)
{
    char body[16384];
    size_t off = 0;
    for (size_t i = 0; i < n && off < sizeof body; i++)
        off += (size_t)fx_stream_line(body + off, sizeof body - off, &v[i]);
    wire_status_t st;
    store_result_t r;
    return off < sizeof body && fx_batch_raw(f, probe, seq, (int64_t)n, body, &st, &r) &&
           st == WIRE_STORED && r.stored == (int64_t)n;
}

static inline int64_t fx_count(fx_t *f, const char *sql)
{
    sqlite3_stmt *s = NULL;
    int64_t n = -1;
    if (sqlite3_prepare_v2(store_db(f->st), sql, -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    else
        fprintf(stderr, "fixture: %s: %s\n", sql, sqlite3_errmsg(store_db(f->st)));
    sqlite3_finalize(s);
    return n;
}

/* The first column of the first row as text (into buf, "" when NULL). */
static inline const char *fx_text(fx_t *f, const char *sql, char *buf, size_t cap)
{
    sqlite3_stmt *s = NULL;
    buf[0] = '\0';
    if (sqlite3_prepare_v2(store_db(f->st), sql, -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
        snprintf(buf, cap, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return buf;
}

/* Opens the sealed blob of the first row of sql under aad ("" if it does not open). */
static inline const char *fx_open_blob(fx_t *f, const char *sql, const char *aad, char *buf,
                                       size_t cap)
{
    sqlite3_stmt *s = NULL;
    buf[0] = '\0';
    if (sqlite3_prepare_v2(store_db(f->st), sql, -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) == SQLITE_BLOB &&
        !pii_open(f->pii, aad, sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0), buf,
                  cap))
        buf[0] = '\0';
    sqlite3_finalize(s);
    return buf;
}

#ifdef FX_GRAPH
/* A meeting record as Graph sends it (tests/e2e/gen_records.py has the
 * full shape): one session, the client as caller on client:port through
 * the relay, the conferencing service as callee; loss fractions per
 * direction. Times are seconds after 2026-01-15T10:00:00Z. */
static inline bool fx_record(fx_t *f, const char *id, int version, const char *client, int port,
                             int start_s, int end_s, double loss_out, double loss_in)
{
    char j[4096], err[256];
    snprintf(
        j, sizeof j,
        "{\"id\":\"%s\",\"version\":%d,\"type\":\"groupCall\",\"modalities\":[\"audio\"],"
        "\"lastModifiedDateTime\":\"2026-01-15T11:%02d:00Z\","
        "\"startDateTime\":\"2026-01-15T10:%02d:%02dZ\",\"endDateTime\":\"2026-01-15T10:%02d:%"
        "02dZ\","
        "\"sessions\":[{\"id\":\"%s-s0\",\"segments\":[{\"id\":\"%s-g0\","
        "\"startDateTime\":\"2026-01-15T10:%02d:%02dZ\",\"endDateTime\":\"2026-01-15T10:%02d:%"
        "02dZ\","
        "\"caller\":{\"@odata.type\":\"#microsoft.graph.callRecords.participantEndpoint\","
        "\"name\":\"LAPTOP-1\",\"associatedIdentity\":{\"id\":\"u-%s\",\"displayName\":\"Tester\"},"
        "\"userAgent\":{\"@odata.type\":\"#microsoft.graph.callRecords.clientUserAgent\","
        "\"platform\":\"windows\",\"productFamily\":\"teams\"}},"
        "\"callee\":{\"@odata.type\":\"#microsoft.graph.callRecords.serviceEndpoint\","
        "\"userAgent\":{\"@odata.type\":\"#microsoft.graph.callRecords.serviceUserAgent\","
        "\"role\":\"skypeForBusinessAudioVideoMcu\"}},"
        "\"media\":[{\"label\":\"main-audio\",\"callerNetwork\":{\"ipAddress\":\"%s\",\"port\":%d,"
        "\"reflexiveIPAddress\":\"198.51.100.7\",\"relayIPAddress\":\"%s\",\"relayPort\":%d,"
        "\"subnet\":\"10.1.0.0\",\"connectionType\":\"wifi\"},"
        "\"calleeNetwork\":{\"ipAddress\":\"\",\"port\":null},\"callerDevice\":{},"
        "\"calleeDevice\":{},\"streams\":["
        "{\"streamId\":\"1000\",\"streamDirection\":\"callerToCallee\","
        "\"averageJitter\":\"PT0.004S\",\"maxJitter\":\"PT0.008S\",\"averageRoundTripTime\":"
        "\"PT0.045S\",\"averagePacketLossRate\":%.3f,\"maxPacketLossRate\":%.3f},"
        "{\"streamId\":\"1001\",\"streamDirection\":\"calleeToCaller\","
        "\"averageJitter\":\"PT0.004S\",\"maxJitter\":\"PT0.008S\",\"averageRoundTripTime\":"
        "\"PT0.045S\",\"averagePacketLossRate\":%.3f,\"maxPacketLossRate\":%.3f}]}]}]}]}",
        id, version, version, start_s / 60, start_s % 60, end_s / 60, end_s % 60, id, id,
        start_s / 60, start_s % 60, end_s / 60, end_s % 60, id, client, port, FX_RELAY,
        FX_RELAY_PORT, loss_out, loss_out * 2, loss_in, loss_in * 2);
    graph_record_t *r = graph_parse_text(j, strlen(j), err, sizeof err);
    graph_put_t p = r ? graph_store_put(f->gs, r, "test", true, err, sizeof err) : GRAPH_PUT_ERROR;
    if (p == GRAPH_PUT_ERROR)
        fprintf(stderr, "fixture: %s\n", err);
    graph_record_free(&r);
    return p != GRAPH_PUT_ERROR;
}
#endif

#endif
