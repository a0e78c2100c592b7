/* callscope-collector store-migrate --from FILE.db --to postgresql://...:
 * copies a SQLite store into PostgreSQL (docs/store.md, "Moving a SQLite
 * store to PostgreSQL").
 *
 * Generic over the tables: every table the target's schema has is copied from the source table of
 * the same name, over the columns both sides have, in key order (rowid, or the primary key of a
 * WITHOUT ROWID table), in chunks. Each chunk is one PostgreSQL transaction
 * that also moves the table's high-water mark in store_migrate_marks, so an
 * interrupted run (kill, lost connection, full disk) resumes after the last
 * committed chunk and copies no row twice. Values go in as COPY text; a
 * value that is not of its target column's type is NULL there (as ingest
 * does on PostgreSQL); sealed values and hashes (BLOB) become BYTEA with
 * the same bytes. Sequences behind id columns are moved past the copied ids.
 * At the end each table's counts are printed and compared.
 *
 * The target's schema is made here by each component's own migrations
 * (ingest's through store_open(); the Graph store's, the verdict store's and
 * the building map's through db.h), so every table the collector and the
 * NOC read is copied even when no correlate, graph-import or
 * buildings-import has run against the target yet.
 *
 * libpq and SQLite directly: common/db.h's implementation is engineer
 * pgcore's (not merged yet); the statements here are few and per backend
 * anyway (the catalogue queries have no common form).
 */
#include <inttypes.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "commands.h"
#include "building_store.h"
#include "db.h"
#include "dynbuf.h"
#include "graph_store.h"
#include "log.h"
#include "opttab.h"
#include "pgdb.h"
#include "store.h"
#include "textwrap.h"
#include "timefmt.h"
#include "verdict_store.h"

#define PROG "callscope-collector store-migrate"
#define MARKS "store_migrate_marks"
#define COLS_MAX 256
#define KEYS_MAX 8

typedef struct {
    const char *from, *to;
    unsigned chunk;
    bool quiet;
} smig_cfg_t;

#define SO(f) offsetof(smig_cfg_t, f)

static const opttab_def_t opts[] = {
    {"from", 'f', OPTTAB_STR, SO(from), 0, 0, "FILE",
     "The SQLite store to copy (read only; a collector may still be writing it: rows it adds "
     "later are copied by the next run)."},
    {"to", 't', OPTTAB_STR, SO(to), 0, 0, "URI",
     "The PostgreSQL database, a postgresql:// URI as --db takes it (the role must be able to "
     "create tables in it)."},
    {"chunk", 'c', OPTTAB_UINT, SO(chunk), 100, 1000000, "ROWS",
     "Rows per transaction (default 20000): an interruption undoes at most the chunk in "
     "flight, which the next run copies."},
    {"quiet", 'q', OPTTAB_FLAG, SO(quiet), 0, 0, NULL,
     "No progress on standard error (the counts are still printed)."},
    {"help", 'h', OPTTAB_SPECIAL, 0, 0, 0, NULL, "This manual."},
};

static opttab_result_t help(opttab_t *t, const opttab_def_t *d, const char *val)
{
    (void)d;
    (void)val;
    printf("SYNOPSIS\n    " PROG " --from FILE.db --to URI [--chunk ROWS] [--quiet]\n\n"
           "DESCRIPTION\n");
    textwrap(stdout,
             "Copies a collector's SQLite store into a PostgreSQL database, so that a site "
             "that outgrows one machine keeps its history. The target's tables are made first "
             "(the same migrations 'run --db URI' applies); then every table the target has "
             "is copied from the source table of the same name, over the columns both have, "
             "in chunks of --chunk rows. Sealed personal values and lookup hashes are copied "
             "as the same bytes: no key is needed and nothing is decrypted.",
             4, 78);
    printf("\n");
    textwrap(stdout,
             "Resumable: each chunk is one transaction on the target together with the "
             "table's high-water mark (table store_migrate_marks), so after an interruption "
             "running the same command again continues where the last committed chunk ended "
             "and copies no row twice. Rows the source gains meanwhile (a collector still "
             "writing it) are copied by the next run. Progress goes to standard error about "
             "every 2 seconds: the table, its rows and rate, and the whole run's rows, per cent, "
             "rate and time left.",
             4, 78);
    printf("\n");
    textwrap(stdout,
             "For speed, a table with 50,000 rows or more to copy loses its secondary indexes "
             "for the copy and has them built again after it (their definitions are kept in "
             "store_migrate_indexes until then, so an interrupted run's are built by the next "
             "run); the triggers that derive the site views' rollup and the participants' "
             "access point and subnet are off while their rows are copied, and the rollup is "
             "made again from the copied calls at the end (and, from a source before verdict "
             "schema 4, the participants' call_end is set from their calls).",
             4, 78);
    printf("\n");
    textwrap(stdout,
             "At the end each table's rows are counted on both sides and printed; the command "
             "fails when a table's counts differ (e.g. a collector already writing into the "
             "target). Start the collectors on the target after the migration: ids are kept, "
             "and the id sequences are moved past the copied ones.",
             4, 78);
    printf("\nOPTIONS\n");
    opttab_help(t, stdout);
    printf("\nEXIT STATUS\n    0 copied, every table's counts equal; 1 an error or a count "
           "that differs\n    (run again to resume); 2 usage.\n"
           "\nEXAMPLE\n    " PROG " --from /var/lib/callscope/collector.db \\\n"
           "        --to 'postgresql://callscope@db.example/callscope'\n"
           "\nSEE ALSO\n    docs/store.md\n");
    return OPTTAB_EXIT_OK;
}

/* ---- the copy ----------------------------------------------------------- */

typedef enum { T_TEXT, T_INT, T_FLOAT, T_BOOL, T_BYTEA } coltype_t;

typedef struct {
    char name[64];
    coltype_t type;
} col_t;

typedef struct {
    char name[64];
    col_t col[COLS_MAX]; /* the target's columns the source has, target order */
    size_t ncol;
    char key[KEYS_MAX][64]; /* source key columns ("rowid" or the primary key) */
    size_t nkey;
    int64_t src_rows, copied;
    json_t *mark;     /* last key copied (array), NULL: none yet */
    char trigger[64]; /* a trigger off while a chunk is copied ("": none) */
} table_t;

/* The whole run's progress: rows to copy at its start, copied since. */
typedef struct {
    int64_t todo, done;
    usec_t t0, last_note;
} progress_t;

static volatile sig_atomic_t stop_now;
static void on_signal(int sig)
{
    (void)sig;
    stop_now = 1;
}

/* Double-quoted identifier; names come from the catalogues and are plain. */
static bool ident_ok(const char *s)
{
    if (!*s || strlen(s) >= 64)
        return false;
    for (; *s; s++)
        if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9')))
            return false;
    return true;
}

static coltype_t pg_type(const char *t)
{
    if (strcmp(t, "bytea") == 0)
        return T_BYTEA;
    if (strcmp(t, "bigint") == 0 || strcmp(t, "integer") == 0 || strcmp(t, "smallint") == 0)
        return T_INT;
    if (strcmp(t, "double precision") == 0 || strcmp(t, "real") == 0 ||
        strncmp(t, "numeric", 7) == 0)
        return T_FLOAT;
    if (strcmp(t, "boolean") == 0)
        return T_BOOL;
    return T_TEXT;
}

static PGresult *pq(PGconn *c, const char *sql, int n, const char *const *params, const char *who,
                    char *err, size_t errlen)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        pgdb_error(c, r, who, err, errlen);
        PQclear(r);
        return NULL;
    }
    return r;
}

/* The source's columns of t->name that the target has, and its key. */
static bool source_columns(sqlite3 *src, table_t *t, const char *target_cols[], coltype_t types[],
                           size_t ntarget, char *err, size_t errlen)
{
    char sql[256];
    snprintf(sql, sizeof sql, "PRAGMA table_info(\"%s\")", t->name);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(src, sql, -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "source table %s: %s", t->name, sqlite3_errmsg(src));
        return false;
    }
    char pk[KEYS_MAX][64] = {{0}};
    int npk = 0;
    bool have[COLS_MAX] = {false};
    char skipped[512] = "";
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 1);
        int pkn = sqlite3_column_int(st, 5);
        if (!name)
            continue;
        if (pkn > 0 && pkn <= KEYS_MAX) {
            snprintf(pk[pkn - 1], sizeof pk[0], "%s", name);
            npk = pkn > npk ? pkn : npk;
        }
        size_t k = 0;
        while (k < ntarget && strcmp(target_cols[k], name) != 0)
            k++;
        if (k < ntarget)
            have[k] = true;
        else if (strlen(skipped) + strlen(name) + 3 < sizeof skipped)
            snprintf(skipped + strlen(skipped), sizeof skipped - strlen(skipped), "%s%s",
                     *skipped ? ", " : "", name);
    }
    sqlite3_finalize(st);
    if (*skipped)
        LOG_WARN("%s: source columns the target does not have, not copied: %s", t->name, skipped);
    t->ncol = 0;
    for (size_t k = 0; k < ntarget; k++) {
        if (!have[k])
            continue;
        snprintf(t->col[t->ncol].name, sizeof t->col[0].name, "%s", target_cols[k]);
        t->col[t->ncol++].type = types[k];
    }
    if (t->ncol == 0) {
        snprintf(err, errlen, "table %s: no column in common with the source", t->name);
        return false;
    }
    /* a rowid table pages by rowid; a WITHOUT ROWID one by its primary key */
    snprintf(sql, sizeof sql, "SELECT rowid FROM \"%s\" LIMIT 0", t->name);
    if (sqlite3_prepare_v2(src, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_finalize(st);
        snprintf(t->key[0], sizeof t->key[0], "rowid");
        t->nkey = 1;
    } else if (npk > 0) {
        for (int i = 0; i < npk; i++)
            memcpy(t->key[i], pk[i], sizeof t->key[0]);
        t->nkey = (size_t)npk;
    } else {
        snprintf(err, errlen, "source table %s has neither a rowid nor a primary key", t->name);
        return false;
    }
    return true;
}

/* The target's columns of t->name, then the source's side. */
static bool describe(PGconn *pg, sqlite3 *src, table_t *t, char *err, size_t errlen)
{
    const char *p[1] = {t->name};
    PGresult *r = pq(pg,
                     "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a"
                     " WHERE a.attrelid = to_regclass(quote_ident($1)) AND a.attnum > 0"
                     " AND NOT a.attisdropped ORDER BY a.attnum",
                     1, p, "target columns", err, errlen);
    if (!r)
        return false;
    int n = PQntuples(r);
    if (n > COLS_MAX) {
        snprintf(err, errlen, "table %s: more than %d columns", t->name, COLS_MAX);
        PQclear(r);
        return false;
    }
    const char *names[COLS_MAX];
    coltype_t types[COLS_MAX];
    size_t nt = 0;
    for (int i = 0; i < n; i++) {
        if (!ident_ok(PQgetvalue(r, i, 0)))
            continue; /* not a name this program makes */
        names[nt] = PQgetvalue(r, i, 0);
        types[nt++] = pg_type(PQgetvalue(r, i, 1));
    }
    bool ok = source_columns(src, t, names, types, nt, err, errlen);
    PQclear(r);
    return ok;
}

/* COPY text of one value (docs: "COPY ... text format"). */
static bool put_text(dynbuf_t *d, const char *s, size_t n)
{
    const char *run = s;
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        char c = s[i], e = c == '\\'   ? '\\'
                           : c == '\t' ? 't'
                           : c == '\n' ? 'n'
                           : c == '\r' ? 'r'
                                       : 0;
        if (!e)
            continue;
        char esc[2] = {'\\', e};
        ok = dynbuf_add(d, run, (size_t)(s + i - run)) && dynbuf_add(d, esc, 2);
        run = s + i + 1;
    }
    return ok && dynbuf_add(d, run, (size_t)(s + n - run));
}

static bool put_value(dynbuf_t *d, sqlite3_stmt *st, int i, coltype_t type, bool *nul)
{
    static const char hex[] = "0123456789abcdef";
    int vt = sqlite3_column_type(st, i);
    char num[64];
    int n;
    if (vt == SQLITE_NULL)
        return dynbuf_add(d, "\\N", 2);
    switch (type) {
    case T_INT:
    case T_BOOL:
        if (vt != SQLITE_INTEGER)
            return dynbuf_add(d, "\\N", 2); /* not of the column's type: NULL, as ingest */
        if (type == T_BOOL)
            return dynbuf_add(d, sqlite3_column_int64(st, i) ? "t" : "f", 1);
        n = snprintf(num, sizeof num, "%lld", (long long)sqlite3_column_int64(st, i));
        return dynbuf_add(d, num, (size_t)n);
    case T_FLOAT:
        if (vt != SQLITE_INTEGER && vt != SQLITE_FLOAT)
            return dynbuf_add(d, "\\N", 2);
        n = snprintf(num, sizeof num, "%.17g", sqlite3_column_double(st, i));
        return dynbuf_add(d, num, (size_t)n);
    case T_BYTEA: {
        const unsigned char *b = sqlite3_column_blob(st, i);
        size_t len = (size_t)sqlite3_column_bytes(st, i);
        if (!dynbuf_add(d, "\\\\x", 3))
            return false;
        for (size_t k = 0; k < len; k++) {
            char h[2] = {hex[b[k] >> 4], hex[b[k] & 15]};
            if (!dynbuf_add(d, h, 2))
                return false;
        }
        return true;
    }
    default: {
        const char *s = (const char *)sqlite3_column_text(st, i);
        size_t len = (size_t)sqlite3_column_bytes(st, i);
        if (s && memchr(s, '\0', len))
            *nul = true; /* PostgreSQL text cannot hold it */
        return s ? put_text(d, s, len) : dynbuf_add(d, "\\N", 2);
    }
    }
}

/* COPY data goes out in parts of COPY_SEND bytes; the slack is room for
 * the row that crosses it (a stored record is at most a few hundred KB). */
#define COPY_SEND (1u << 20)
#define COPY_SLACK (16u << 20)

/* The chunk's SELECT: key columns, then the copied ones; after the mark. */
static bool select_sql(const table_t *t, bool after, unsigned chunk, char *sql, size_t len)
{
    size_t o = (size_t)snprintf(sql, len, "SELECT ");
    for (size_t k = 0; k < t->nkey && o < len; k++)
        o += (size_t)snprintf(sql + o, len - o, "\"%s\", ", t->key[k]);
    for (size_t c = 0; c < t->ncol && o < len; c++)
        o += (size_t)snprintf(sql + o, len - o, "%s\"%s\"", c ? ", " : "", t->col[c].name);
    o += (size_t)snprintf(sql + o < sql + len ? sql + o : sql, o < len ? len - o : 0,
                          " FROM \"%s\"", t->name);
    if (after && o < len) {
        o += (size_t)snprintf(sql + o, len - o, " WHERE (");
        for (size_t k = 0; k < t->nkey && o < len; k++)
            o += (size_t)snprintf(sql + o, len - o, "%s\"%s\"", k ? ", " : "", t->key[k]);
        o += (size_t)snprintf(sql + o < sql + len ? sql + o : sql, o < len ? len - o : 0, ") > (");
        for (size_t k = 0; k < t->nkey && o < len; k++)
            o += (size_t)snprintf(sql + o, len - o, "%s?", k ? ", " : "");
        o += (size_t)snprintf(sql + o < sql + len ? sql + o : sql, o < len ? len - o : 0, ")");
    }
    if (o < len) {
        o += (size_t)snprintf(sql + o, len - o, " ORDER BY ");
        for (size_t k = 0; k < t->nkey && o < len; k++)
            o += (size_t)snprintf(sql + o, len - o, "%s\"%s\"", k ? ", " : "", t->key[k]);
        o += (size_t)snprintf(sql + o < sql + len ? sql + o : sql, o < len ? len - o : 0,
                              " LIMIT %u", chunk);
    }
    return o < len;
}

static bool bind_mark(sqlite3_stmt *st, const json_t *mark, size_t nkey, char *err, size_t errlen)
{
    if (!json_is_array(mark) || json_array_size(mark) != nkey) {
        snprintf(err, errlen, "the mark kept in " MARKS " does not fit this table's key");
        return false;
    }
    for (size_t k = 0; k < nkey; k++) {
        json_t *v = json_array_get(mark, k);
        if (json_is_integer(v))
            sqlite3_bind_int64(st, (int)k + 1, json_integer_value(v));
        else if (json_is_real(v))
            sqlite3_bind_double(st, (int)k + 1, json_real_value(v));
        else if (json_is_string(v))
            sqlite3_bind_text(st, (int)k + 1, json_string_value(v), -1, SQLITE_TRANSIENT);
        else {
            snprintf(err, errlen, "the mark kept in " MARKS " is not a key");
            return false;
        }
    }
    return true;
}

/* The key of the row at st as a JSON array (the next mark). */
static json_t *row_key(sqlite3_stmt *st, size_t nkey)
{
    json_t *a = json_array();
    for (size_t k = 0; a && k < nkey; k++) {
        switch (sqlite3_column_type(st, (int)k)) {
        case SQLITE_INTEGER:
            json_array_append_new(a, json_integer(sqlite3_column_int64(st, (int)k)));
            break;
        case SQLITE_FLOAT:
            json_array_append_new(a, json_real(sqlite3_column_double(st, (int)k)));
            break;
        case SQLITE_TEXT:
            json_array_append_new(a, json_string((const char *)sqlite3_column_text(st, (int)k)));
            break;
        default: /* a BLOB or NULL key cannot be a mark */
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* Sends what d holds as COPY data (d emptied). */
static bool copy_flush(PGconn *pg, dynbuf_t *d)
{
    bool ok = d->len == 0 || PQputCopyData(pg, d->p, (int)d->len) == 1;
    dynbuf_reset(d);
    return ok;
}

/* One chunk: up to cfg->chunk rows after the mark, COPYed with the new mark
 * in one transaction. The rows are streamed: COPY data goes out every
 * COPY_SEND bytes while SQLite reads on, so the server parses and stores
 * one part while this process reads the next (the two use both cores;
 * before, a chunk's whole text was built first and then sent, the one
 * waiting for the other). *n: rows copied (0 at the end). */
static bool copy_chunk(sqlite3 *src, PGconn *pg, table_t *t, unsigned chunk, dynbuf_t *d,
                       int64_t *n, char *err, size_t errlen)
{
    char sql[8192];
    *n = 0;
    if (!select_sql(t, t->mark != NULL, chunk, sql, sizeof sql)) {
        snprintf(err, errlen, "table %s: too many columns", t->name);
        return false;
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(src, sql, -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "source table %s: %s", t->name, sqlite3_errmsg(src));
        return false;
    }
    if (t->mark && !bind_mark(st, t->mark, t->nkey, err, errlen)) {
        sqlite3_finalize(st);
        return false;
    }
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        bool done = rc == SQLITE_DONE;
        if (!done)
            snprintf(err, errlen, "source table %s: %s", t->name, sqlite3_errmsg(src));
        sqlite3_finalize(st);
        return done;
    }
    /* COPY, the mark and (for a derived column or table rebuilt after
     * the copy) the trigger switched off, all in one transaction: the
     * trigger is on again whatever happens to this run */
    char copy[8192], trig[200] = "";
    size_t o = (size_t)snprintf(copy, sizeof copy, "COPY \"%s\"(", t->name);
    for (size_t c = 0; c < t->ncol && o < sizeof copy; c++)
        o += (size_t)snprintf(copy + o, sizeof copy - o, "%s\"%s\"", c ? ", " : "", t->col[c].name);
    if (o < sizeof copy)
        snprintf(copy + o, sizeof copy - o, ") FROM STDIN");
    if (t->trigger[0])
        snprintf(trig, sizeof trig, "ALTER TABLE \"%s\" DISABLE TRIGGER \"%s\"", t->name,
                 t->trigger);
    PGresult *r = NULL;
    bool ok = pgdb_exec(pg, "BEGIN", "BEGIN", err, errlen) &&
              (!trig[0] || pgdb_exec(pg, t->name, trig, err, errlen));
    if (ok) {
        r = PQexec(pg, copy);
        ok = PQresultStatus(r) == PGRES_COPY_IN;
        if (!ok)
            pgdb_error(pg, r, t->name, err, errlen);
        PQclear(r);
    }
    bool in_copy = ok, nul = false;
    json_t *last = NULL;
    dynbuf_reset(d);
    while (ok && rc == SQLITE_ROW) {
        for (size_t c = 0; ok && c < t->ncol; c++)
            ok = (c == 0 || dynbuf_add(d, "\t", 1)) &&
                 put_value(d, st, (int)(t->nkey + c), t->col[c].type, &nul);
        ok = ok && dynbuf_add(d, "\n", 1);
        if (!ok && !*err)
            snprintf(err, errlen, "out of memory");
        json_decref(last);
        last = row_key(st, t->nkey);
        if (ok && !last) {
            snprintf(err, errlen, "source table %s: a key that is NULL or a BLOB", t->name);
            ok = false;
        }
        if (ok && nul) {
            snprintf(err, errlen, "source table %s: a text value holds a NUL byte", t->name);
            ok = false;
        }
        (*n)++;
        if (ok && d->len >= COPY_SEND && !copy_flush(pg, d)) {
            pgdb_error(pg, NULL, t->name, err, errlen);
            ok = false;
        }
        if (ok)
            rc = sqlite3_step(st);
    }
    if (ok && rc != SQLITE_DONE) {
        snprintf(err, errlen, "source table %s: %s", t->name, sqlite3_errmsg(src));
        ok = false;
    }
    sqlite3_finalize(st);
    if (in_copy) {
        /* a failed chunk ends its COPY with an error: nothing of it stays */
        if (ok && !copy_flush(pg, d)) {
            pgdb_error(pg, NULL, t->name, err, errlen);
            ok = false;
        }
        if (PQputCopyEnd(pg, ok ? NULL : "store-migrate: chunk abandoned") != 1 && ok) {
            pgdb_error(pg, NULL, t->name, err, errlen);
            ok = false;
        }
        while ((r = PQgetResult(pg)) != NULL) {
            if (PQresultStatus(r) != PGRES_COMMAND_OK && ok) {
                pgdb_error(pg, r, t->name, err, errlen);
                ok = false;
            }
            PQclear(r);
        }
    }
    char *mark = ok ? json_dumps(last, JSON_COMPACT) : NULL;
    char rows[32];
    snprintf(rows, sizeof rows, "%" PRId64, *n);
    const char *p[3] = {t->name, mark, rows};
    if (ok && !mark) {
        snprintf(err, errlen, "out of memory");
        ok = false;
    }
    if (ok) {
        r = pq(pg,
               "INSERT INTO " MARKS "(source_table, last_key, rows) VALUES ($1, $2, $3)"
               " ON CONFLICT (source_table) DO UPDATE SET last_key = EXCLUDED.last_key,"
               " rows = " MARKS ".rows + EXCLUDED.rows",
               3, p, MARKS, err, errlen);
        ok = r != NULL;
        PQclear(r);
    }
    if (ok && trig[0]) {
        snprintf(trig, sizeof trig, "ALTER TABLE \"%s\" ENABLE TRIGGER \"%s\"", t->name,
                 t->trigger);
        ok = pgdb_exec(pg, t->name, trig, err, errlen);
    }
    ok = ok && pgdb_exec(pg, "COMMIT", "COMMIT", err, errlen);
    if (!ok) {
        PQclear(PQexec(pg, "ROLLBACK"));
        json_decref(last);
        *n = 0;
    } else {
        json_decref(t->mark);
        t->mark = last;
        t->copied += *n;
    }
    free(mark);
    return ok;
}

/* Moves each sequence behind an id of t past the copied ids: a column
 * default's nextval() (ingest's partitioned tables, BIGSERIAL) and an
 * identity column's own sequence (the Graph, verdict and building stores'
 * GENERATED BY DEFAULT AS IDENTITY, which has no default expression: left
 * behind, the next INSERT there collided with a copied id). */
static bool fix_sequences(PGconn *pg, const table_t *t, char *err, size_t errlen)
{
    const char *p[1] = {t->name};
    PGresult *r = pq(pg,
                     "SELECT a.attname, COALESCE(pg_get_serial_sequence(quote_ident($1),"
                     " a.attname), substring(pg_get_expr(d.adbin, d.adrelid)"
                     " from 'nextval\\(''([^'']+)''')) FROM pg_attribute a LEFT JOIN pg_attrdef d"
                     " ON a.attrelid = d.adrelid AND a.attnum = d.adnum"
                     " WHERE a.attrelid = to_regclass(quote_ident($1)) AND a.attnum > 0"
                     " AND NOT a.attisdropped AND (a.attidentity <> ''"
                     " OR pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%')",
                     1, p, "sequences", err, errlen);
    if (!r)
        return false;
    bool ok = true;
    for (int i = 0; ok && i < PQntuples(r); i++) {
        const char *col = PQgetvalue(r, i, 0), *seq = PQgetvalue(r, i, 1);
        if (!ident_ok(col))
            continue;
        char sql[512];
        snprintf(sql, sizeof sql,
                 "SELECT setval($1::regclass, m) FROM (SELECT max(\"%s\") AS m FROM \"%s\") x"
                 " WHERE m IS NOT NULL AND m > COALESCE(pg_sequence_last_value($1::regclass), 0)",
                 col, t->name);
        const char *q[1] = {seq};
        PGresult *s = pq(pg, sql, 1, q, "sequence", err, errlen);
        ok = s != NULL;
        PQclear(s);
    }
    PQclear(r);
    return ok;
}

static int64_t src_count(sqlite3 *src, const char *table)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\"", table);
    sqlite3_stmt *st;
    int64_t n = -1;
    if (sqlite3_prepare_v2(src, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static int64_t pg_count(PGconn *pg, const char *table)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\"", table);
    PGresult *r = PQexec(pg, sql);
    int64_t n = PQresultStatus(r) == PGRES_TUPLES_OK ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : -1;
    PQclear(r);
    return n;
}

static bool src_has(sqlite3 *src, const char *table)
{
    sqlite3_stmt *st;
    bool yes = false;
    if (sqlite3_prepare_v2(src, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", -1,
                           &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
        yes = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    return yes;
}

static void note(const smig_cfg_t *cfg, const table_t *t, progress_t *pr, usec_t t0,
                 int64_t at_start, bool last)
{
    usec_t now = timefmt_now();
    if (cfg->quiet || (now - pr->last_note < 2000000 && !last))
        return;
    double s = (double)(now - t0) / 1e6, all = (double)(now - pr->t0) / 1e6;
    double rate = all > 0 ? (double)pr->done / all : 0.0;
    char eta[48] = "";
    if (rate > 0 && pr->todo > pr->done) {
        double left = (double)(pr->todo - pr->done) / rate;
        snprintf(eta, sizeof eta, ", about %.0f %s left", left >= 120 ? left / 60 : left,
                 left >= 120 ? "min" : "s");
    }
    fprintf(stderr,
            PROG ": %s: %" PRId64 " of %" PRId64
                 " rows (%.0f %%), %.0f rows/s; all tables: %" PRId64 " of %" PRId64
                 " rows (%.0f %%), %.0f rows/s%s\n",
            t->name, t->copied, t->src_rows,
            t->src_rows > 0 ? 100.0 * (double)t->copied / (double)t->src_rows : 100.0,
            s > 0 ? (double)(t->copied - at_start) / s : 0.0, pr->done, pr->todo,
            pr->todo > 0 ? 100.0 * (double)pr->done / (double)pr->todo : 100.0, rate, eta);
    pr->last_note = now;
}

/* ---- indexes: dropped for a large copy, built after it ------------------
 *
 * Building an index once over the copied rows is several times cheaper
 * than keeping it row by row (figures: docs/store.md). A table with at
 * least BULK_MIN rows still to copy loses its secondary indexes (not the
 * primary key or a unique one: they check the copy) for the copy; their
 * definitions are kept in store_migrate_indexes in the same transaction as
 * the drop, and each is built again, and its row removed, in one
 * transaction, after the table's last chunk. An interrupted run leaves
 * them dropped; the next run builds them after finishing that table (or at
 * its end), so the target never stays without them once a run succeeds. */
#define IDX "store_migrate_indexes"
#define BULK_MIN 50000

static bool drop_indexes(PGconn *pg, const table_t *t, char *err, size_t errlen)
{
    const char *p[1] = {t->name};
    if (!pgdb_exec(pg, "BEGIN", "BEGIN", err, errlen))
        return false;
    /* a partitioned table's index is defined "ON ONLY" the parent: made
     * again without ONLY it covers every partition as it did */
    PGresult *r = pq(pg,
                     "INSERT INTO " IDX "(name, source_table, def) SELECT c.relname, $1,"
                     " replace(pg_get_indexdef(i.indexrelid), ' ON ONLY ', ' ON ') FROM pg_index i"
                     " JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid ="
                     " to_regclass(quote_ident($1)) AND NOT i.indisunique AND NOT i.indisprimary"
                     " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid ="
                     " i.indexrelid) ON CONFLICT (name) DO NOTHING RETURNING name",
                     1, p, IDX, err, errlen);
    bool ok = r != NULL;
    for (int i = 0; ok && i < PQntuples(r); i++) {
        char sql[128];
        if (!ident_ok(PQgetvalue(r, i, 0)))
            continue;
        snprintf(sql, sizeof sql, "DROP INDEX \"%s\"", PQgetvalue(r, i, 0));
        ok = pgdb_exec(pg, "drop index", sql, err, errlen);
    }
    PQclear(r);
    ok = ok && pgdb_exec(pg, "COMMIT", "COMMIT", err, errlen);
    if (!ok)
        PQclear(PQexec(pg, "ROLLBACK"));
    return ok;
}

/* Builds the indexes kept for table (NULL: every table's). */
static bool build_indexes(const smig_cfg_t *cfg, PGconn *pg, const char *table, char *err,
                          size_t errlen)
{
    const char *p[1] = {table};
    PGresult *r =
        table ? pq(pg, "SELECT name, def FROM " IDX " WHERE source_table = $1 ORDER BY name", 1, p,
                   IDX, err, errlen)
              : pq(pg, "SELECT name, def FROM " IDX " ORDER BY name", 0, NULL, IDX, err, errlen);
    bool ok = r != NULL;
    for (int i = 0; ok && i < PQntuples(r) && !stop_now; i++) {
        usec_t t0 = timefmt_now();
        const char *q[1] = {PQgetvalue(r, i, 0)};
        ok = pgdb_exec(pg, "BEGIN", "BEGIN", err, errlen) &&
             pgdb_exec(pg, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), err, errlen);
        PGresult *d =
            ok ? pq(pg, "DELETE FROM " IDX " WHERE name = $1", 1, q, IDX, err, errlen) : NULL;
        ok = d != NULL && pgdb_exec(pg, "COMMIT", "COMMIT", err, errlen);
        PQclear(d);
        if (!ok)
            PQclear(PQexec(pg, "ROLLBACK"));
        else if (!cfg->quiet)
            fprintf(stderr, PROG ": index %s built in %.1f s\n", PQgetvalue(r, i, 0),
                    (double)(timefmt_now() - t0) / 1e6);
    }
    PQclear(r);
    if (ok && stop_now) {
        snprintf(err, errlen, "interrupted; run the same command again to resume");
        return false;
    }
    return ok;
}

/* Copies one table to its end (or until a signal). */
static bool copy_table(sqlite3 *src, PGconn *pg, table_t *t, const smig_cfg_t *cfg, progress_t *pr,
                       char *err, size_t errlen)
{
    if (t->src_rows - t->copied >= BULK_MIN && !drop_indexes(pg, t, err, errlen))
        return false;
    dynbuf_t d;
    dynbuf_init(&d, COPY_SEND + COPY_SLACK);
    usec_t t0 = timefmt_now();
    int64_t at_start = t->copied, n = 1;
    bool ok = true;
    while (ok && n > 0 && !stop_now) {
        ok = copy_chunk(src, pg, t, cfg->chunk, &d, &n, err, errlen);
        pr->done += n;
        note(cfg, t, pr, t0, at_start, ok && n == 0);
    }
    dynbuf_free(&d);
    if (ok && stop_now) {
        snprintf(err, errlen, "interrupted; run the same command again to resume");
        return false;
    }
    return ok && build_indexes(cfg, pg, t->name, err, errlen) && fix_sequences(pg, t, err, errlen);
}

/* ---- triggers ------------------------------------------------------------
 *
 * Two triggers on the target derive data the source already holds:
 * verdict_site_hours_keep adds each verdict_calls row to the site views'
 * rollup (rollup.h), one upsert per call (7,400 calls/s against 50,000/s
 * for verdict_streams, which has none); verdict_participants_graph parses
 * each participant's evidence as jsonb for its bssid and subnet. Each is
 * off while a chunk of its table is copied (in the chunk's transaction):
 * the rollup is made again from the copied calls in one statement at the
 * end of the run (rollup_rebuild), and bssid and subnet are copied from a
 * source that has them (verdict schema 3; an older source keeps the
 * trigger on, which fills them). */
static const struct {
    const char *table, *trigger, *needs[2]; /* source columns it derives */
} derived[] = {
    {"verdict_calls", "verdict_site_hours_keep", {NULL, NULL}},
    {"verdict_participants", "verdict_participants_graph", {"bssid", "subnet"}},
};

static bool has_col(const table_t *t, const char *name)
{
    for (size_t c = 0; c < t->ncol; c++)
        if (strcmp(t->col[c].name, name) == 0)
            return true;
    return false;
}

static bool pick_trigger(PGconn *pg, table_t *t, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof derived / sizeof derived[0]; i++) {
        if (strcmp(derived[i].table, t->name) != 0)
            continue;
        for (size_t k = 0; k < 2; k++)
            if (derived[i].needs[k] && !has_col(t, derived[i].needs[k]))
                return true; /* the source lacks it: the trigger makes it */
        const char *p[2] = {t->name, derived[i].trigger};
        PGresult *r = pq(pg,
                         "SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass(quote_ident($1))"
                         " AND tgname = $2",
                         2, p, "triggers", err, errlen);
        if (!r)
            return false;
        if (PQntuples(r) == 1)
            snprintf(t->trigger, sizeof t->trigger, "%s", derived[i].trigger);
        PQclear(r);
    }
    return true;
}

/* The rollup made again from the target's verdict_calls (the same
 * definition as its migration's backfill, collector/correlate/rollup.c),
 * in one transaction: exact whatever part of the calls was copied with its
 * trigger off, in this run or an interrupted one. */
static bool rollup_rebuild(const smig_cfg_t *cfg, PGconn *pg, char *err, size_t errlen)
{
    PGresult *r = pq(pg, "SELECT to_regclass('verdict_site_hours') IS NOT NULL", 0, NULL, "rollup",
                     err, errlen);
    if (!r)
        return false;
    bool has = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (!has)
        return true;
    usec_t t0 = timefmt_now();
    bool ok =
        pgdb_exec(pg, "rollup",
                  "BEGIN; DELETE FROM verdict_site_hours;"
                  " INSERT INTO verdict_site_hours(site, verdict, end_hour, start_hour, calls)"
                  " SELECT COALESCE(site, ''), verdict, substr(\"end\", 1, 13),"
                  " substr(start, 1, 13), count(*) FROM verdict_calls GROUP BY 1, 2, 3, 4;"
                  " COMMIT",
                  err, errlen);
    if (!ok)
        PQclear(PQexec(pg, "ROLLBACK"));
    else if (!cfg->quiet)
        fprintf(stderr,
                PROG ": verdict_site_hours (the site views' rollup) made from verdict_calls"
                     " in %.1f s\n",
                (double)(timefmt_now() - t0) / 1e6);
    return ok;
}

/* A source before verdict schema 4 has no verdict_participants.call_end:
 * the copied rows take their call's end here (the schema's backfill,
 * collector/correlate/verdict_store.c), in one statement after the copy;
 * rows that have it are left as they are. */
static bool participants_end_fill(const smig_cfg_t *cfg, PGconn *pg, const table_t *t, int nt,
                                  char *err, size_t errlen)
{
    const table_t *p = NULL;
    for (int i = 0; i < nt; i++)
        if (strcmp(t[i].name, "verdict_participants") == 0 && t[i].src_rows >= 0)
            p = &t[i];
    if (!p || has_col(p, "call_end"))
        return true;
    PGresult *r = pq(pg,
                     "SELECT 1 FROM information_schema.columns WHERE table_schema ="
                     " current_schema() AND table_name = 'verdict_participants'"
                     " AND column_name = 'call_end'",
                     0, NULL, "participants", err, errlen);
    if (!r)
        return false;
    bool has = PQntuples(r) == 1;
    PQclear(r);
    if (!has)
        return true;
    usec_t t0 = timefmt_now();
    bool ok =
        pgdb_exec(pg, "participants",
                  "UPDATE verdict_participants p SET call_end = c.\"end\" FROM verdict_calls c"
                  " WHERE c.call_id = p.call_id AND p.call_end IS DISTINCT FROM c.\"end\"",
                  err, errlen);
    if (ok && !cfg->quiet)
        fprintf(stderr,
                PROG ": verdict_participants.call_end (a source before verdict schema 4) set"
                     " from verdict_calls in %.1f s\n",
                (double)(timefmt_now() - t0) / 1e6);
    return ok;
}

static bool load_mark(PGconn *pg, table_t *t, char *err, size_t errlen)
{
    const char *p[1] = {t->name};
    PGresult *r = pq(pg, "SELECT last_key, rows FROM " MARKS " WHERE source_table = $1", 1, p,
                     MARKS, err, errlen);
    if (!r)
        return false;
    bool ok = true;
    if (PQntuples(r) == 1) {
        t->mark = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
        t->copied = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
        if (!json_is_array(t->mark)) {
            snprintf(err, errlen, "%s: the mark of %s is not readable", MARKS, t->name);
            ok = false;
        }
    }
    PQclear(r);
    return ok;
}

static int migrate(const smig_cfg_t *cfg)
{
    char err[1024] = "";
    sqlite3 *src = NULL;
    PGconn *pg = NULL;
    PGresult *tables = NULL;
    int rc = 1;
    if (sqlite3_open_v2(cfg->from, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        LOG_ERROR("%s: %s", cfg->from, src ? sqlite3_errmsg(src) : "cannot open");
        goto done;
    }
    sqlite3_busy_timeout(src, 10000);
    if (!src_has(src, "migrations")) {
        LOG_ERROR("%s: not a callscope store (no migrations table)", cfg->from);
        goto done;
    }
    /* the target's tables: ingest's through the store itself */
    store_t *s = store_open(cfg->to, false, NULL, err, sizeof err);
    if (!s) {
        LOG_ERROR("%s", err);
        goto done;
    }
    store_free(&s);
    /* the other components' tables (the NOC reads them all) */
    db_t *d = db_open(cfg->to, DB_CREATE, PROG, err, sizeof err);
    bool made = d && graph_store_migrate(d, err, sizeof err) &&
                verdict_store_migrate(d, err, sizeof err) &&
                building_store_migrate(d, err, sizeof err);
    db_close(&d);
    if (!made) {
        LOG_ERROR("%s", err);
        goto done;
    }
    if (!(pg = pgdb_connect(cfg->to, "callscope-collector store-migrate", err, sizeof err))) {
        LOG_ERROR("%s", err);
        goto done;
    }
    if (!pgdb_exec(pg, MARKS,
                   "SET client_min_messages = warning;"
                   /* a commit lost in a crash of the server is lost with its
                    * mark (the same transaction): the next run copies it
                    * again. Memory for the index builds after a table. */
                   "SET synchronous_commit = off;"
                   "SET maintenance_work_mem = '256MB';"
                   "CREATE TABLE IF NOT EXISTS " MARKS "(source_table TEXT PRIMARY KEY,"
                   " last_key TEXT NOT NULL, rows BIGINT NOT NULL);"
                   "CREATE TABLE IF NOT EXISTS " IDX "(name TEXT PRIMARY KEY,"
                   " source_table TEXT NOT NULL, def TEXT NOT NULL)",
                   err, sizeof err) ||
        !(tables = pq(pg,
                      "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid ="
                      " c.relnamespace WHERE n.nspname = current_schema() AND c.relkind IN"
                      " ('r', 'p') AND NOT c.relispartition AND c.relname NOT IN"
                      " ('migrations', '" MARKS "', '" IDX
                      "', 'verdict_site_hours') ORDER BY c.relname", /* rollup.h */
                      0, NULL, "target tables", err, sizeof err))) {
        LOG_ERROR("%s", err);
        goto done;
    }
    int nt = PQntuples(tables);
    table_t *t = calloc((size_t)(nt > 0 ? nt : 1), sizeof *t);
    if (!t) {
        LOG_ERROR("out of memory");
        goto done;
    }
    progress_t pr = {.t0 = timefmt_now()};
    bool ok = true;
    /* first what each table has and where its copy stands: the progress
     * counts the whole run */
    for (int i = 0; ok && i < nt; i++) {
        table_t *x = &t[i];
        snprintf(x->name, sizeof x->name, "%s", PQgetvalue(tables, i, 0));
        if (!ident_ok(x->name) || !src_has(src, x->name)) {
            x->src_rows = -1; /* not in the source: nothing to copy */
            continue;
        }
        x->src_rows = src_count(src, x->name);
        ok = describe(pg, src, x, err, sizeof err) && load_mark(pg, x, err, sizeof err) &&
             pick_trigger(pg, x, err, sizeof err);
        if (!ok)
            LOG_ERROR("%s: %s", x->name, err);
        else if (x->src_rows > x->copied)
            pr.todo += x->src_rows - x->copied;
    }
    if (ok && !cfg->quiet)
        fprintf(stderr, PROG ": %" PRId64 " rows to copy\n", pr.todo);
    for (int i = 0; ok && i < nt; i++) {
        if (t[i].src_rows < 0)
            continue;
        ok = copy_table(src, pg, &t[i], cfg, &pr, err, sizeof err);
        if (!ok)
            LOG_ERROR("%s: %s", t[i].name, err);
    }
    /* indexes an interrupted run left dropped on a table not copied now */
    if (ok && !(ok = build_indexes(cfg, pg, NULL, err, sizeof err)))
        LOG_ERROR("%s", err);
    if (ok && !(ok = rollup_rebuild(cfg, pg, err, sizeof err)))
        LOG_ERROR("verdict_site_hours: %s", err);
    if (ok && !(ok = participants_end_fill(cfg, pg, t, nt, err, sizeof err)))
        LOG_ERROR("verdict_participants: %s", err);
    if (!ok)
        LOG_ERROR("indexes dropped for the copy (if any) are kept in " IDX
                  " and built by the next run: run the same command again");
    if (ok) {
        /* the counts, both sides, after the copy */
        bool equal = true;
        printf("%-28s %12s %12s %12s\n", "table", "source", "copied", "target");
        for (int i = 0; i < nt; i++) {
            if (t[i].src_rows < 0) {
                printf("%-28s %12s %12s %12" PRId64 "  (not in the source)\n", t[i].name, "-", "-",
                       pg_count(pg, t[i].name));
                continue;
            }
            int64_t sn = src_count(src, t[i].name), tn = pg_count(pg, t[i].name);
            bool same = sn == tn && t[i].copied == sn;
            equal = equal && same;
            printf("%-28s %12" PRId64 " %12" PRId64 " %12" PRId64 "  %s\n", t[i].name, sn,
                   t[i].copied, tn, same ? "equal" : "DIFFERENT");
        }
        if (equal) {
            rc = 0;
        } else {
            LOG_ERROR("counts differ: the source gained rows during the copy (run again) or "
                      "the target held rows of its own");
        }
    }
    for (int i = 0; i < nt; i++)
        json_decref(t[i].mark);
    free(t);
done:
    PQclear(tables);
    if (pg)
        PQfinish(pg);
    sqlite3_close(src);
    return rc;
}

int cmd_store_migrate(int argc, char **argv)
{
    smig_cfg_t cfg = {.chunk = 20000};
    opttab_t t = {.prog = PROG,
                  .defs = opts,
                  .ndefs = sizeof opts / sizeof opts[0],
                  .cfg = &cfg,
                  .special = help};
    int first = 1;
    opttab_result_t r = opttab_parse(&t, argc, argv, &first);
    if (r != OPTTAB_RUN)
        return r == OPTTAB_EXIT_OK ? 0 : 2;
    if (argc != first || !cfg.from || !cfg.to) {
        fprintf(stderr, PROG ": %s (see --help)\n",
                argc != first ? "no operands expected" : "--from FILE and --to URI are required");
        return 2;
    }
    if (!store_is_uri(cfg.to)) {
        fprintf(stderr, PROG ": --to must be a postgresql:// URI\n");
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return migrate(&cfg);
}
