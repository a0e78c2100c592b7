/* Unit tests: schema migration, version rules, sealed columns, pending ids.
 * On a temporary SQLite file without arguments; on the PostgreSQL URI given
 * as argv[1] (tests/pg/db_unit.py starts a throw-away server): the same
 * checks, so both backends store and find the same record the same way. */
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "graph_parse.h"
#include "graph_store.h"

static const char *rec_json(int version, const char *lm, int sessions)
{
    static char buf[4096];
    char ses[2048] = "";
    size_t off = 0;
    for (int i = 0; i < sessions; i++)
        off += (size_t)snprintf(
            ses + off, sizeof ses - off,
            "%s{\"id\":\"s%d\",\"segments\":[{\"id\":\"g\",\"startDateTime\":"
            "\"2025-01-01T10:00:00Z\",\"media\":[{\"callerNetwork\":{\"ipAddress\":\"10.0.0.%d\","
            "\"port\":50010,\"macAddress\":\"AA-BB-CC-00-11-22\"},\"streams\":[{"
            "\"averageJitter\":\"PT0.02S\"}]}]}]}",
            i ? "," : "", i, i + 1);
    snprintf(buf, sizeof buf,
             "{\"id\":\"r1\",\"version\":%d,\"lastModifiedDateTime\":\"%s\","
             "\"organizer_v2\":{\"id\":\"u1\",\"identity\":{\"user\":{\"displayName\":\"Ann\"}}},"
             "\"sessions\":[%s]}",
             version, lm, ses);
    return buf;
}

static graph_put_t put(graph_store_t *st, int version, const char *lm, int sessions)
{
    char err[256];
    const char *j = rec_json(version, lm, sessions);
    graph_record_t *r = graph_parse_text(j, strlen(j), err, sizeof err);
    graph_put_t p = r ? graph_store_put(st, r, "test", true, err, sizeof err) : GRAPH_PUT_ERROR;
    if (p == GRAPH_PUT_ERROR)
        fprintf(stderr, "%s\n", err);
    graph_record_free(&r);
    return p;
}

static int64_t count(db_t *db, const char *sql)
{
    char err[256];
    db_stmt_t *s = db_prepare(db, sql, err, sizeof err);
    int64_t n = -1;
    if (s && db_step(s, err, sizeof err) == DB_ROW)
        n = db_col_int(s, 0);
    else
        fprintf(stderr, "%s: %s\n", sql, err);
    db_finalize(&s);
    return n;
}

static void on_due(void *ctx, const char *id, int64_t first, int attempts)
{
    (*(int *)ctx)++;
    CHECK_STR(id, "p1");
    CHECK_EQ_INT(first, 1000);
    CHECK_EQ_INT(attempts, 2);
}

int main(int argc, char **argv)
{
    char dir[] = "/tmp/graph_store_XXXXXX", key[300], dbp[300], err[512];
    if (!mkdtemp(dir))
        return 1;
    snprintf(key, sizeof key, "%s/k", dir);
    snprintf(dbp, sizeof dbp, "%s/db", dir);
    CHECK_EQ_INT(pii_keygen(key, "t", err, sizeof err), 0);
    const char *files[] = {key};
    pii_t *pii = pii_new(files, 1, "t", err, sizeof err);
    const char *target = argc > 1 ? argv[1] : dbp;
    db_t *db = graph_store_open_db(target, err, sizeof err);
    if (!db)
        fprintf(stderr, "open: %s\n", err);
    else
        fprintf(stderr, "backend: %s\n", db_name(db));
    CHECK(pii && db);
    CHECK(graph_store_migrate(db, err, sizeof err)); /* idempotent */
    CHECK_EQ_INT(count(db, "SELECT max(version) FROM migrations WHERE component='graph'"), 2);
    CHECK_EQ_INT(count(db, "SELECT version FROM migrations WHERE component='graph_participant'"),
                 1);
    graph_store_t *st = pii && db ? graph_store_new(db, pii, err, sizeof err) : NULL;
    CHECK(st != NULL);
    if (st) {
        CHECK_EQ_INT(put(st, 1, "2025-01-01T11:00:00Z", 1), GRAPH_PUT_INSERTED);
        CHECK_EQ_INT(put(st, 1, "2025-01-01T11:00:00Z", 1), GRAPH_PUT_UNCHANGED);
        CHECK_EQ_INT(put(st, 2, "2025-01-01T12:00:00Z", 3), GRAPH_PUT_UPDATED);
        CHECK_EQ_INT(put(st, 1, "2025-01-01T11:00:00Z", 1), GRAPH_PUT_UNCHANGED); /* older */
        CHECK_EQ_INT(count(db, "SELECT COUNT(*) FROM graph_record"), 1);
        CHECK_EQ_INT(count(db, "SELECT COUNT(*) FROM graph_session"), 3);
        CHECK_EQ_INT(count(db, "SELECT COUNT(*) FROM graph_stream"), 3);
        CHECK_EQ_INT(count(db, "SELECT COUNT(*) FROM graph_media_segment "
                               "WHERE segment_start_us = 1735725600000000"),
                     3);
        int64_t v = 0, lm = 0;
        CHECK_EQ_INT(graph_store_known(st, "r1", &v, &lm), 1);
        CHECK_EQ_INT(v, 2);
        CHECK_EQ_INT(graph_store_known(st, "nope", &v, &lm), 0);
        /* the sealed IP opens, and its lookup hash finds the row */
        uint8_t h[PII_HASH_LEN];
        CHECK(pii_lookup_ip(pii, "10.0.0.2", h));
        db_stmt_t *s = db_prepare(db,
                                  "SELECT caller_ip_enc, caller_port FROM graph_media "
                                  "WHERE caller_ip_hmac = ?1",
                                  err, sizeof err);
        CHECK(s != NULL);
        CHECK(s && db_bind_blob(s, 1, h, sizeof h));
        CHECK(s && db_step(s, err, sizeof err) == DB_ROW);
        char ip[64] = "";
        CHECK(s &&
              pii_open(pii, "caller_ip", db_col_blob(s, 0), db_col_bytes(s, 0), ip, sizeof ip));
        CHECK_STR(ip, "10.0.0.2");
        CHECK_EQ_INT(s ? db_col_int(s, 1) : 0, 50010);
        db_finalize(&s);
        /* the organizer's name key (migration 2's column, C backfill) */
        uint8_t nk[PII_HASH_LEN];
        CHECK(pii_lookup_name(pii, "  ann ", nk));
        s = db_prepare(db, "SELECT count(*) FROM graph_record WHERE organizer_name_key_hmac = ?1",
                       err, sizeof err);
        CHECK(s && db_bind_blob(s, 1, nk, sizeof nk) && db_step(s, err, sizeof err) == DB_ROW &&
              db_col_int(s, 0) == 1);
        db_finalize(&s);
        CHECK_EQ_INT(count(db, "SELECT COUNT(*) FROM graph_media WHERE caller_mac_hmac IS NOT "
                               "NULL AND caller_mac_enc IS NOT NULL"),
                     3);
        /* pending */
        CHECK(graph_store_pending_add(st, "p1", 1000, 2000, 404));
        CHECK(graph_store_pending_add(st, "p1", 1500, 3000, 404));
        int n = 0;
        CHECK_EQ_INT(graph_store_pending_due(st, 2500, 10, on_due, &n), 0);
        CHECK_EQ_INT(graph_store_pending_due(st, 3000, 10, on_due, &n), 1);
        CHECK_EQ_INT(n, 1);
        CHECK(graph_store_pending_done(st, "p1"));
        CHECK_EQ_INT(count(db, "SELECT COUNT(*) FROM graph_pending"), 0);
    }
    graph_store_free(&st);
    db_close(&db);
    pii_free(&pii);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_finish("graph_unit_store");
}
