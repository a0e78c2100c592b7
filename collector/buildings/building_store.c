#include "building_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqldb.h"
#include "timefmt.h"

static const char schema_v1[] =
    "CREATE TABLE buildings(network TEXT NOT NULL, prefix_len INTEGER NOT NULL,"
    " family INTEGER NOT NULL, network_name TEXT, building TEXT, ownership_type TEXT,"
    " building_type TEXT, office_type TEXT, city TEXT, zip_code TEXT, country TEXT, state TEXT,"
    " region TEXT, inside_corp INTEGER NOT NULL, express_route INTEGER NOT NULL,"
    " vpn INTEGER NOT NULL, line INTEGER, PRIMARY KEY(network, prefix_len));"
    "CREATE TABLE buildings_imports(id INTEGER PRIMARY KEY, imported TEXT NOT NULL,"
    " source TEXT NOT NULL, networks INTEGER NOT NULL, skipped INTEGER NOT NULL);";

static const sqldb_step_t migrations[] = {{1, schema_v1, NULL}};

bool building_store_migrate(sqlite3 *db, char *err, size_t errlen)
{
    return sqldb_migrate(db, "building store", "buildings", migrations,
                         sizeof migrations / sizeof migrations[0], err, errlen);
}

static bool prep(sqlite3 *db, const char *sql, sqlite3_stmt **st, char *err, size_t errlen)
{
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) == SQLITE_OK)
        return true;
    snprintf(err, errlen, "building store: %s", sqlite3_errmsg(db));
    return false;
}

static bool insert_all(sqlite3 *db, const building_map_t *m, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    if (!prep(db,
              "INSERT INTO buildings(network, prefix_len, family, network_name, building,"
              " ownership_type, building_type, office_type, city, zip_code, country, state,"
              " region, inside_corp, express_route, vpn, line)"
              " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
              &st, err, errlen))
        return false;
    bool ok = true;
    for (size_t i = 0; ok && i < building_map_count(m); i++) {
        const building_t *b = building_map_at(m, i);
        char net[NETADDR_STRLEN];
        netaddr_fmt(&b->net.addr, net, sizeof net);
        sqlite3_bind_text(st, 1, net, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 2, b->net.len);
        sqlite3_bind_int(st, 3, b->net.addr.family);
        for (int f = 0; f < BUILDING_F_COUNT; f++)
            sqlite3_bind_text(st, 4 + f, b->f[f], -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 14, b->inside_corp);
        sqlite3_bind_int(st, 15, b->express_route);
        sqlite3_bind_int(st, 16, b->vpn);
        sqlite3_bind_int64(st, 17, b->line);
        if (sqlite3_step(st) != SQLITE_DONE) {
            snprintf(err, errlen, "building store: %s", sqlite3_errmsg(db));
            ok = false;
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return ok;
}

bool building_store_save(sqlite3 *db, const building_map_t *m, const char *source,
                         const building_map_stats_t *st, char *err, size_t errlen)
{
    if (!building_store_migrate(db, err, errlen))
        return false;
    if (!sqldb_exec(db, "building store", "BEGIN IMMEDIATE", err, errlen))
        return false;
    bool ok = sqldb_exec(db, "building store", "DELETE FROM buildings", err, errlen) &&
              insert_all(db, m, err, errlen);
    sqlite3_stmt *ins = NULL;
    if (ok)
        ok = prep(db,
                  "INSERT INTO buildings_imports(imported, source, networks, skipped)"
                  " VALUES(?,?,?,?)",
                  &ins, err, errlen);
    if (ok) {
        char now[40];
        timefmt_iso(timefmt_now(), now, sizeof now);
        sqlite3_bind_text(ins, 1, now, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 2, source, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 3, (sqlite3_int64)building_map_count(m));
        sqlite3_bind_int64(ins, 4, st ? (sqlite3_int64)st->skipped : 0);
        if (sqlite3_step(ins) != SQLITE_DONE) {
            snprintf(err, errlen, "building store: %s", sqlite3_errmsg(db));
            ok = false;
        }
    }
    sqlite3_finalize(ins);
    if (ok)
        return sqldb_exec(db, "building store", "COMMIT", err, errlen);
    char ignored[64];
    sqldb_exec(db, "building store", "ROLLBACK", ignored, sizeof ignored);
    return false;
}

bool building_store_import(sqlite3 *db, const char *path, FILE *diag, building_map_stats_t *st,
                           char *err, size_t errlen)
{
    building_map_t *m = building_map_load(path, diag, st, err, errlen);
    bool ok = m && building_store_save(db, m, path, st, err, errlen);
    building_map_free(&m);
    return ok;
}

building_map_t *building_store_load(sqlite3 *db, char *err, size_t errlen)
{
    /* read-only: a store without the table (nothing imported yet, or a
     * reader such as 'report' on a read-only handle) has an empty map */
    sqlite3_stmt *st = NULL;
    if (!prep(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'buildings'", &st,
              err, errlen))
        return NULL;
    bool have = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    st = NULL;
    if (!have) {
        building_map_t *m = building_map_new();
        if (m)
            building_map_finish(m, NULL);
        else
            snprintf(err, errlen, "building store: out of memory");
        return m;
    }
    if (!prep(db,
              "SELECT network, prefix_len, network_name, building, ownership_type, building_type,"
              " office_type, city, zip_code, country, state, region, inside_corp, express_route,"
              " vpn, line FROM buildings",
              &st, err, errlen))
        return NULL;
    building_map_t *m = building_map_new();
    bool ok = m != NULL;
    if (!m)
        snprintf(err, errlen, "building store: out of memory");
    int rc = SQLITE_DONE;
    while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        building_t b;
        memset(&b, 0, sizeof b);
        const char *net = (const char *)sqlite3_column_text(st, 0);
        if (!net || !netaddr_parse(net, &b.net.addr)) {
            snprintf(err, errlen, "building store: bad network in table buildings");
            ok = false;
            break;
        }
        b.net.len = (uint8_t)sqlite3_column_int(st, 1);
        for (int f = 0; f < BUILDING_F_COUNT; f++)
            b.f[f] = (const char *)sqlite3_column_text(st, 2 + f);
        b.inside_corp = sqlite3_column_int(st, 12) != 0;
        b.express_route = sqlite3_column_int(st, 13) != 0;
        b.vpn = sqlite3_column_int(st, 14) != 0;
        b.line = (unsigned)sqlite3_column_int64(st, 15);
        ok = building_map_add(m, &b, err, errlen);
    }
    if (ok && rc != SQLITE_DONE) {
        snprintf(err, errlen, "building store: %s", sqlite3_errmsg(db));
        ok = false;
    }
    sqlite3_finalize(st);
    if (!ok) {
        building_map_free(&m);
        return NULL;
    }
    building_map_finish(m, NULL);
    return m;
}
