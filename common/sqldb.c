#include "sqldb.h"

#include <stdio.h>

#include "log.h"

bool sqldb_exec(sqlite3 *db, const char *who, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return true;
    snprintf(err, errlen, "%s: %s", who, msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return false;
}

int sqldb_version(sqlite3 *db, const char *component)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT version FROM migrations WHERE component = ?", -1, &st,
                           NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, component, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int v = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : rc == SQLITE_DONE ? 0 : -1;
    sqlite3_finalize(st);
    return v;
}

/* One step and its version row in one transaction. The version is read
 * again under the write lock: another process opening the same store may
 * have applied the step meanwhile (*applied false then). */
static bool apply(sqlite3 *db, const char *who, const char *component, const sqldb_step_t *s,
                  bool *applied, char *err, size_t errlen)
{
    *applied = false;
    if (!sqldb_exec(db, who, "BEGIN IMMEDIATE", err, errlen))
        return false;
    if (sqldb_version(db, component) >= s->version)
        return sqldb_exec(db, who, "COMMIT", err, errlen);
    *applied = true;
    bool ok = s->sql ? sqldb_exec(db, who, s->sql, err, errlen) : s->fn(db, err, errlen);
    sqlite3_stmt *st = NULL;
    if (ok && sqlite3_prepare_v2(db,
                                 "INSERT OR REPLACE INTO migrations(component, version)"
                                 " VALUES(?, ?)",
                                 -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, component, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, s->version);
        ok = sqlite3_step(st) == SQLITE_DONE;
        if (!ok)
            snprintf(err, errlen, "%s: %s", who, sqlite3_errmsg(db));
    } else if (ok) {
        snprintf(err, errlen, "%s: %s", who, sqlite3_errmsg(db));
        ok = false;
    }
    sqlite3_finalize(st);
    if (!ok) {
        char ignored[8];
        sqldb_exec(db, who, "ROLLBACK", ignored, sizeof ignored);
        return false;
    }
    return sqldb_exec(db, who, "COMMIT", err, errlen);
}

bool sqldb_migrate(sqlite3 *db, const char *who, const char *component, const sqldb_step_t *steps,
                   size_t nsteps, char *err, size_t errlen)
{
    if (!sqldb_exec(db, who,
                    "CREATE TABLE IF NOT EXISTS migrations(component TEXT PRIMARY KEY,"
                    " version INTEGER NOT NULL)",
                    err, errlen))
        return false;
    int have = sqldb_version(db, component);
    if (have < 0) {
        snprintf(err, errlen, "%s: cannot read migrations: %s", who, sqlite3_errmsg(db));
        return false;
    }
    int last = nsteps ? steps[nsteps - 1].version : 0;
    if (have > last) {
        snprintf(err, errlen,
                 "database schema '%s' is version %d, newer than this collector knows (%d)",
                 component, have, last);
        return false;
    }
    for (size_t i = 0; i < nsteps; i++) {
        if (steps[i].version <= have)
            continue;
        bool applied;
        if (!apply(db, who, component, &steps[i], &applied, err, errlen))
            return false;
        if (applied)
            LOG_INFO("%s: schema '%s' migrated to version %d", who, component, steps[i].version);
    }
    return true;
}
