#include "pgdb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* libpq's messages end in a newline and may hold several lines. */
static void one_line(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
        s[--n] = '\0';
    for (char *p = s; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
}

void pgdb_describe(const char *uri, char *out, size_t outlen)
{
    char *msg = NULL;
    PQconninfoOption *o = PQconninfoParse(uri, &msg);
    const char *user = NULL, *host = NULL, *port = NULL, *db = NULL;
    for (PQconninfoOption *p = o; p && p->keyword; p++) {
        if (!p->val)
            continue;
        if (strcmp(p->keyword, "user") == 0)
            user = p->val;
        else if (strcmp(p->keyword, "host") == 0 || (!host && strcmp(p->keyword, "hostaddr") == 0))
            host = p->val;
        else if (strcmp(p->keyword, "port") == 0)
            port = p->val;
        else if (strcmp(p->keyword, "dbname") == 0)
            db = p->val;
    }
    snprintf(out, outlen, "%s%s%s%s%s/%s", user ? user : "", user ? "@" : "",
             host ? host : "localhost", port ? ":" : "", port ? port : "", db ? db : "");
    PQconninfoFree(o);
    PQfreemem(msg);
}

PGconn *pgdb_connect(const char *uri, const char *app, char *err, size_t errlen)
{
    char *msg = NULL;
    PQconninfoOption *o = PQconninfoParse(uri, &msg);
    if (!o) {
        if (msg)
            one_line(msg);
        snprintf(err, errlen, "invalid PostgreSQL URI: %s", msg ? msg : "out of memory");
        PQfreemem(msg);
        return NULL;
    }
    PQconninfoFree(o);
    /* the URI (expanded last) overrides these defaults */
    const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *vals[] = {"10", app, uri, NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (c && PQstatus(c) == CONNECTION_OK)
        return c;
    char where[256], why[512];
    pgdb_describe(uri, where, sizeof where);
    snprintf(why, sizeof why, "%s", c ? PQerrorMessage(c) : "out of memory");
    one_line(why);
    snprintf(err, errlen, "cannot connect to PostgreSQL %s: %s", where, why);
    PQfinish(c);
    return NULL;
}

void pgdb_error(PGconn *c, const PGresult *r, const char *who, char *err, size_t errlen)
{
    char why[512];
    /* the primary message only: its DETAIL may quote a row's values */
    const char *m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (m && *m)
        snprintf(why, sizeof why, "%s", m);
    else
        snprintf(why, sizeof why, "%s", PQerrorMessage(c));
    one_line(why);
    snprintf(err, errlen, "%s: %s", who, why);
}

bool pgdb_exec(PGconn *c, const char *who, const char *sql, char *err, size_t errlen)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        pgdb_error(c, r, who, err, errlen);
    PQclear(r);
    return ok;
}

int pgdb_version(PGconn *c, const char *component)
{
    const char *p[1] = {component};
    PGresult *r = PQexecParams(c, "SELECT version FROM migrations WHERE component = $1", 1, NULL, p,
                               NULL, NULL, 0);
    int v = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        v = PQntuples(r) ? atoi(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    return v;
}

static bool set_version(PGconn *c, const char *who, const char *component, int version, char *err,
                        size_t errlen)
{
    char v[16];
    snprintf(v, sizeof v, "%d", version);
    const char *p[2] = {component, v};
    PGresult *r = PQexecParams(c,
                               "INSERT INTO migrations(component, version) VALUES($1, $2)"
                               " ON CONFLICT(component) DO UPDATE SET version = EXCLUDED.version",
                               2, NULL, p, NULL, NULL, 0);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        pgdb_error(c, r, who, err, errlen);
    PQclear(r);
    return ok;
}

/* Any number: every migrating collector takes the same one. */
#define MIGRATION_LOCK "7613001"

bool pgdb_migrate(PGconn *c, const char *who, const char *component, const pgdb_step_t *steps,
                  size_t nsteps, char *err, size_t errlen)
{
    if (!pgdb_exec(c, who,
                   "BEGIN; SELECT pg_advisory_xact_lock(" MIGRATION_LOCK ");"
                   " CREATE TABLE IF NOT EXISTS migrations(component TEXT PRIMARY KEY,"
                   " version INTEGER NOT NULL)",
                   err, errlen)) {
        char ignored[8];
        pgdb_exec(c, who, "ROLLBACK", ignored, sizeof ignored);
        return false;
    }
    int have = pgdb_version(c, component);
    int last = nsteps ? steps[nsteps - 1].version : 0;
    bool ok = true;
    if (have < 0) {
        pgdb_error(c, NULL, who, err, errlen);
        ok = false;
    } else if (have > last) {
        snprintf(err, errlen,
                 "database schema '%s' is version %d, newer than this collector knows (%d)",
                 component, have, last);
        ok = false;
    }
    for (size_t i = 0; ok && i < nsteps; i++) {
        if (steps[i].version <= have)
            continue;
        ok = pgdb_exec(c, who, steps[i].sql, err, errlen) &&
             set_version(c, who, component, steps[i].version, err, errlen);
        if (ok)
            LOG_INFO("%s: schema '%s' migrated to version %d", who, component, steps[i].version);
    }
    char ignored[8];
    if (!ok) {
        pgdb_exec(c, who, "ROLLBACK", ignored, sizeof ignored);
        return false;
    }
    return pgdb_exec(c, who, "COMMIT", err, errlen);
}
