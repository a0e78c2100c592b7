/* Unit tests: the person lookup columns of the Graph store (migration 2):
 * UPN, object id and display name found by their keyed hashes through the
 * indexes, names keyed on insert and backfilled for rows stored without. */
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "graph_parse.h"
#include "graph_store.h"

static const char rec[] =
    "{\"id\":\"r1\",\"version\":1,\"sessions\":[{\"id\":\"s0\",\"caller\":{"
    "\"@odata.type\":\"#microsoft.graph.callRecords.participantEndpoint\","
    "\"associatedIdentity\":{\"id\":\"A11CE000-0000-4000-8000-000000000001\","
    "\"displayName\":\"Jane  van Doe\",\"userPrincipalName\":\"Jane.Doe@Contoso.example\"}},"
    "\"segments\":[{\"id\":\"g0\",\"caller\":{\"identity\":{\"guest\":{\"displayName\":"
    "\"Visiting Guest\"}}}}]}]}";

static int64_t count(sqlite3 *db, const char *sql, const uint8_t *h)
{
    sqlite3_stmt *s = NULL;
    int64_t n = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
        if (h)
            sqlite3_bind_blob(s, 1, h, PII_HASH_LEN, SQLITE_STATIC);
        if (sqlite3_step(s) == SQLITE_ROW)
            n = sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
    return n;
}

/* The plan of sql names the index: the lookup does not scan the table. */
static bool uses_index(sqlite3 *db, const char *sql, const char *index)
{
    char q[512];
    snprintf(q, sizeof q, "EXPLAIN QUERY PLAN %s", sql);
    sqlite3_stmt *s = NULL;
    bool found = false;
    if (sqlite3_prepare_v2(db, q, -1, &s, NULL) != SQLITE_OK)
        return false;
    while (sqlite3_step(s) == SQLITE_ROW)
        found = found || strstr((const char *)sqlite3_column_text(s, 3), index) != NULL;
    sqlite3_finalize(s);
    return found;
}

int main(void)
{
    char dir[] = "/tmp/graph_people_XXXXXX", key[300], dbp[300], err[512];
    if (!mkdtemp(dir))
        return 1;
    snprintf(key, sizeof key, "%s/k", dir);
    snprintf(dbp, sizeof dbp, "%s/db", dir);
    CHECK_EQ_INT(pii_keygen(key, "t", err, sizeof err), 0);
    const char *files[] = {key};
    pii_t *pii = pii_new(files, 1, "t", err, sizeof err);
    db_t *gdb = graph_store_open_db(dbp, err, sizeof err);
    sqlite3 *db = gdb ? db_sqlite(gdb) : NULL; /* the query plans below are SQLite's */
    CHECK(pii && db);
    if (!pii || !db)
        return check_finish("graph_unit_people");
    CHECK_EQ_INT(count(db, "SELECT max(version) FROM migrations WHERE component='graph'", NULL), 2);
    graph_store_t *st = graph_store_new(gdb, pii, err, sizeof err);
    graph_record_t *r = graph_parse_text(rec, strlen(rec), err, sizeof err);
    CHECK(st && r);
    CHECK_EQ_INT(graph_store_put(st, r, "test", true, err, sizeof err), GRAPH_PUT_INSERTED);
    graph_record_free(&r);
    graph_store_free(&st);

    uint8_t upn[PII_HASH_LEN], oid[PII_HASH_LEN], name[PII_HASH_LEN], guest[PII_HASH_LEN];
    CHECK(pii_lookup(pii, "upn", "JANE.DOE@contoso.EXAMPLE", upn));
    CHECK(pii_lookup(pii, "id", "a11ce000-0000-4000-8000-000000000001", oid));
    CHECK(pii_lookup_name(pii, "jane van doe", name));
    CHECK(pii_lookup_name(pii, " VISITING   guest", guest));
    static const char q_upn[] = "SELECT count(*) FROM graph_session WHERE caller_user_upn_hmac = ?";
    static const char q_oid[] = "SELECT count(*) FROM graph_session WHERE caller_user_id_hmac = ?";
    static const char q_name[] =
        "SELECT count(*) FROM graph_session WHERE caller_user_name_key_hmac = ?";
    static const char q_guest[] =
        "SELECT count(*) FROM graph_segment WHERE caller_guest_name_key_hmac = ?";
    CHECK_EQ_INT(count(db, q_upn, upn), 1);
    CHECK_EQ_INT(count(db, q_oid, oid), 1);
    CHECK_EQ_INT(count(db, q_name, name), 1);
    CHECK_EQ_INT(count(db, q_guest, guest), 1);
    CHECK_EQ_INT(count(db, q_name, upn), 0); /* another domain's hash finds nothing */
    CHECK(uses_index(db, q_upn, "graph_session_caller_user_upn_hmac"));
    CHECK(uses_index(db, q_name, "graph_session_caller_user_name_key_hmac"));
    CHECK(uses_index(db, q_guest, "graph_segment_caller_guest_name_key_hmac"));

    /* a row stored before migration 2 has no key: the next writer adds it */
    CHECK(sqlite3_exec(db, "UPDATE graph_session SET caller_user_name_key_hmac = NULL", NULL, NULL,
                       NULL) == SQLITE_OK);
    CHECK_EQ_INT(count(db, q_name, name), 0);
    st = graph_store_new(gdb, pii, err, sizeof err);
    CHECK(st != NULL);
    graph_store_free(&st);
    CHECK_EQ_INT(count(db, q_name, name), 1);
    CHECK_EQ_INT(count(db,
                       "SELECT count(*) FROM graph_session WHERE caller_user_name_enc IS NOT NULL"
                       " AND caller_user_name_key_hmac IS NULL",
                       NULL),
                 0);
    db_close(&gdb);
    pii_free(&pii);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_finish("graph_unit_people");
}
