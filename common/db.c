#include "db.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pgdb.h"
#include "sqldb.h"

/* libpq's type oids (server/catalog/pg_type_d.h is not in libpq-dev). */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_TEXT 25
#define OID_OID 26
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_NUMERIC 1700

/* Prepared forms kept per statement (one per type signature seen). Modules
 * bind one or two signatures per statement ("?1 IS NULL" filters); four
 * covers them without a server round trip per step. */
#define PG_CACHE 4

struct db {
    db_kind_t kind;
    bool owned;
    sqlite3 *sq;
    PGconn *pg;
    uint64_t seq; /* names of prepared statements on this connection */
};

typedef struct {
    Oid type; /* 0: NULL */
    char *val;
    size_t len;
    char num[32]; /* INT / REAL as text */
} pg_param_t;

typedef struct {
    char name[32];
    Oid *types;
    uint64_t used;
} pg_prep_t;

typedef struct {
    unsigned char *p;
    size_t len;
    bool done;
} pg_col_t;

struct db_stmt {
    db_t *db;
    sqlite3_stmt *sq;
    int64_t changes;
    /* PostgreSQL */
    char *sql; /* ?N translated to $N */
    int nparams;
    pg_param_t *params;
    pg_prep_t cache[PG_CACHE];
    uint64_t tick;
    PGresult *res;
    int row;   /* current row, -1 before the first */
    int state; /* 0 not run, 1 rows being read, 2 done */
    pg_col_t *cols;
    int ncols;
};

bool db_is_uri(const char *target)
{
    return target &&
           (strncmp(target, "postgresql://", 13) == 0 || strncmp(target, "postgres://", 11) == 0);
}

static db_t *db_alloc(db_kind_t kind, bool owned)
{
    db_t *db = calloc(1, sizeof *db);
    if (db) {
        db->kind = kind;
        db->owned = owned;
    }
    return db;
}

static db_t *open_sqlite(const char *path, unsigned flags, char *err, size_t errlen)
{
    sqlite3 *h = NULL;
    int of = (flags & DB_READONLY)
                 ? SQLITE_OPEN_READONLY
                 : SQLITE_OPEN_READWRITE | ((flags & DB_CREATE) ? SQLITE_OPEN_CREATE : 0);
    int rc = sqlite3_open_v2(path, &h, of | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
        sqlite3_close(h);
        return NULL;
    }
    sqlite3_busy_timeout(h, 5000);
    const char *init = (flags & DB_READONLY)
                           ? "PRAGMA query_only = 1; SELECT count(*) FROM sqlite_master"
                           : "PRAGMA journal_mode = WAL";
    char *msg = NULL;
    if (sqlite3_exec(h, init, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, msg ? msg : sqlite3_errmsg(h));
        sqlite3_free(msg);
        sqlite3_close(h);
        return NULL;
    }
    db_t *db = db_alloc(DB_SQLITE, true);
    if (!db) {
        snprintf(err, errlen, "%s: out of memory", path);
        sqlite3_close(h);
        return NULL;
    }
    db->sq = h;
    return db;
}

static db_t *open_pg(const char *uri, unsigned flags, const char *app, char *err, size_t errlen)
{
    PGconn *c = pgdb_connect(uri, app ? app : "callscope", err, errlen);
    if (!c)
        return NULL;
    /* quiet NOTICEs (CREATE TABLE IF NOT EXISTS ... skipping) */
    if (!pgdb_exec(c, "database", "SET client_min_messages = warning", err, errlen) ||
        ((flags & DB_READONLY) &&
         !pgdb_exec(c, "database", "SET default_transaction_read_only = on", err, errlen))) {
        PQfinish(c);
        return NULL;
    }
    db_t *db = db_alloc(DB_PG, true);
    if (!db) {
        snprintf(err, errlen, "PostgreSQL: out of memory");
        PQfinish(c);
        return NULL;
    }
    db->pg = c;
    return db;
}

db_t *db_open(const char *target, unsigned flags, const char *app, char *err, size_t errlen)
{
    if (!target || !*target) {
        snprintf(err, errlen, "no database given");
        return NULL;
    }
    return db_is_uri(target) ? open_pg(target, flags, app, err, errlen)
                             : open_sqlite(target, flags, err, errlen);
}

db_t *db_from_sqlite(sqlite3 *h)
{
    db_t *db = h ? db_alloc(DB_SQLITE, false) : NULL;
    if (db)
        db->sq = h;
    return db;
}

db_t *db_from_pg(PGconn *c)
{
    db_t *db = c ? db_alloc(DB_PG, false) : NULL;
    if (db)
        db->pg = c;
    return db;
}

void db_close(db_t **pdb)
{
    if (!pdb || !*pdb)
        return;
    db_t *db = *pdb;
    if (db->owned) {
        if (db->sq)
            sqlite3_close(db->sq);
        if (db->pg)
            PQfinish(db->pg);
    }
    free(db);
    *pdb = NULL;
}

db_kind_t db_kind(const db_t *db)
{
    return db->kind;
}

const char *db_name(const db_t *db)
{
    return db->kind == DB_PG ? "PostgreSQL" : "SQLite";
}

sqlite3 *db_sqlite(db_t *db)
{
    return db ? db->sq : NULL;
}

PGconn *db_pg(db_t *db)
{
    return db ? db->pg : NULL;
}

const char *db_pick(const db_t *db, db_sql_t s)
{
    return db->kind == DB_PG && s.pg ? s.pg : s.sqlite;
}

bool db_exec(db_t *db, const char *who, const char *sql, char *err, size_t errlen)
{
    return db->kind == DB_PG ? pgdb_exec(db->pg, who, sql, err, errlen)
                             : sqldb_exec(db->sq, who, sql, err, errlen);
}

bool db_begin(db_t *db, char *err, size_t errlen)
{
    return db_exec(db, "database", db->kind == DB_PG ? "BEGIN" : "BEGIN IMMEDIATE", err, errlen);
}

bool db_commit(db_t *db, char *err, size_t errlen)
{
    return db_exec(db, "database", "COMMIT", err, errlen);
}

void db_rollback(db_t *db)
{
    char ignored[8];
    db_exec(db, "database", "ROLLBACK", ignored, sizeof ignored);
}

/* ---- statements ------------------------------------------------------ */

/* ?N -> $N and a bare ? -> $(largest so far + 1) as SQLite numbers it,
 * outside '...' strings, "..." identifiers and -- comments. *nparams: the
 * largest number. */
static char *translate(const char *sql, int *nparams)
{
    size_t n = strlen(sql);
    /* "?" becomes at most "$99999": the text grows by at most 6 bytes a byte */
    char *out = malloc(n * 7 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    int maxp = 0;
    char quote = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = sql[i];
        if (quote) {
            out[o++] = ch;
            if (ch == quote)
                quote = 0;
        } else if (ch == '\'' || ch == '"') {
            quote = ch;
            out[o++] = ch;
        } else if (ch == '-' && sql[i + 1] == '-') {
            while (i < n && sql[i] != '\n')
                out[o++] = sql[i++];
            if (i < n)
                out[o++] = sql[i];
        } else if (ch != '?') {
            out[o++] = ch;
        } else {
            int num = 0;
            size_t j = i + 1;
            while (j < n && sql[j] >= '0' && sql[j] <= '9' && num < 10000)
                num = num * 10 + (sql[j++] - '0');
            if (j == i + 1)
                num = maxp + 1;
            if (num > maxp)
                maxp = num;
            o += (size_t)snprintf(out + o, 8, "$%d", num);
            i = j - 1;
        }
    }
    out[o] = '\0';
    *nparams = maxp;
    return out;
}

db_stmt_t *db_prepare(db_t *db, const char *sql, char *err, size_t errlen)
{
    db_stmt_t *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "database: out of memory");
        return NULL;
    }
    st->db = db;
    st->row = -1;
    if (db->kind == DB_SQLITE) {
        if (sqlite3_prepare_v2(db->sq, sql, -1, &st->sq, NULL) != SQLITE_OK) {
            snprintf(err, errlen, "database: %s", sqlite3_errmsg(db->sq));
            free(st);
            return NULL;
        }
        return st;
    }
    st->sql = translate(sql, &st->nparams);
    if (!st->sql ||
        (st->nparams && !(st->params = calloc((size_t)st->nparams, sizeof *st->params)))) {
        snprintf(err, errlen, "database: out of memory");
        free(st->sql);
        free(st);
        return NULL;
    }
    return st;
}

static void pg_clear_cols(db_stmt_t *st)
{
    for (int i = 0; i < st->ncols; i++) {
        free(st->cols[i].p);
        st->cols[i] = (pg_col_t){0};
    }
}

static void pg_clear_result(db_stmt_t *st)
{
    pg_clear_cols(st);
    free(st->cols);
    st->cols = NULL;
    st->ncols = 0;
    PQclear(st->res);
    st->res = NULL;
    st->row = -1;
    st->state = 0;
}

static void pg_deallocate(db_stmt_t *st, pg_prep_t *p)
{
    if (p->name[0]) {
        /* Fails inside an aborted transaction; the name is never reused and
         * the connection's end frees it. */
        char sql[64], ignored[8];
        snprintf(sql, sizeof sql, "DEALLOCATE %s", p->name);
        if (PQtransactionStatus(st->db->pg) != PQTRANS_INERROR)
            pgdb_exec(st->db->pg, "database", sql, ignored, sizeof ignored);
    }
    free(p->types);
    *p = (pg_prep_t){0};
}

void db_finalize(db_stmt_t **pst)
{
    if (!pst || !*pst)
        return;
    db_stmt_t *st = *pst;
    if (st->sq)
        sqlite3_finalize(st->sq);
    if (st->db->kind == DB_PG) {
        pg_clear_result(st);
        for (int i = 0; i < PG_CACHE; i++)
            pg_deallocate(st, &st->cache[i]);
        for (int i = 0; i < st->nparams; i++)
            free(st->params[i].val);
        free(st->params);
        free(st->sql);
    }
    free(st);
    *pst = NULL;
}

static pg_param_t *pg_param(db_stmt_t *st, int i)
{
    if (i < 1 || i > st->nparams)
        return NULL;
    pg_param_t *p = &st->params[i - 1];
    free(p->val);
    p->val = NULL;
    p->len = 0;
    p->type = 0;
    return p;
}

bool db_bind_int(db_stmt_t *st, int i, int64_t v)
{
    if (st->sq)
        return sqlite3_bind_int64(st->sq, i, v) == SQLITE_OK;
    pg_param_t *p = pg_param(st, i);
    if (!p)
        return false;
    p->type = OID_INT8;
    snprintf(p->num, sizeof p->num, "%" PRId64, v);
    return true;
}

bool db_bind_real(db_stmt_t *st, int i, double v)
{
    if (st->sq)
        return sqlite3_bind_double(st->sq, i, v) == SQLITE_OK;
    pg_param_t *p = pg_param(st, i);
    if (!p)
        return false;
    p->type = OID_FLOAT8;
    if (isnan(v))
        snprintf(p->num, sizeof p->num, "NaN");
    else if (isinf(v))
        snprintf(p->num, sizeof p->num, "%sInfinity", v < 0 ? "-" : "");
    else
        snprintf(p->num, sizeof p->num, "%.17g", v);
    return true;
}

bool db_bind_text(db_stmt_t *st, int i, const char *s, int len)
{
    if (!s)
        return db_bind_null(st, i);
    size_t n = len < 0 ? strlen(s) : (size_t)len;
    if (st->sq)
        return sqlite3_bind_text64(st->sq, i, s, n, SQLITE_TRANSIENT, SQLITE_UTF8) == SQLITE_OK;
    pg_param_t *p = pg_param(st, i);
    if (!p || !(p->val = malloc(n + 1)))
        return false;
    memcpy(p->val, s, n);
    p->val[n] = '\0';
    p->len = n;
    p->type = OID_TEXT;
    return true;
}

bool db_bind_blob(db_stmt_t *st, int i, const void *b, size_t len)
{
    if (st->sq) /* a NULL pointer would bind NULL, not an empty blob */
        return (len ? sqlite3_bind_blob64(st->sq, i, b, len, SQLITE_TRANSIENT)
                    : sqlite3_bind_zeroblob(st->sq, i, 0)) == SQLITE_OK;
    pg_param_t *p = pg_param(st, i);
    if (!p || !(p->val = malloc(len ? len : 1)))
        return false;
    if (len)
        memcpy(p->val, b, len);
    p->len = len;
    p->type = OID_BYTEA;
    return true;
}

bool db_bind_null(db_stmt_t *st, int i)
{
    if (st->sq)
        return sqlite3_bind_null(st->sq, i) == SQLITE_OK;
    return pg_param(st, i) != NULL;
}

void db_clear_bindings(db_stmt_t *st)
{
    if (st->sq) {
        sqlite3_clear_bindings(st->sq);
        return;
    }
    for (int i = 1; i <= st->nparams; i++)
        pg_param(st, i);
}

void db_reset(db_stmt_t *st)
{
    if (st->sq)
        sqlite3_reset(st->sq);
    else
        pg_clear_result(st);
}

static int sqlite_step(db_stmt_t *st, char *err, size_t errlen)
{
    int rc = sqlite3_step(st->sq);
    if (rc == SQLITE_ROW)
        return DB_ROW;
    if (rc == SQLITE_DONE) {
        st->changes = sqlite3_changes64(st->db->sq);
        return DB_DONE;
    }
    snprintf(err, errlen, "database: %s", sqlite3_errmsg(st->db->sq));
    return DB_ERR;
}

/* A NULL goes with any parameter type, so a form prepared for the types
 * the server gave its NULLs serves a later step that binds values there
 * (inserts whose columns are now NULL, now set, prepare once). */
static bool fits(const pg_prep_t *p, const Oid *bound, int n)
{
    if (!p->name[0])
        return false;
    for (int i = 0; i < n; i++)
        if (bound[i] != 0 && bound[i] != p->types[i])
            return false;
    return true;
}

/* PQprepare under a savepoint inside a transaction: a failed prepare would
 * otherwise abort the caller's transaction, and a parameter bound NULL
 * whose type PostgreSQL cannot infer ("?1 IS NULL OR ...": 42P08 / 42P18)
 * is retried as text. */
static bool pg_prepare(db_stmt_t *st, pg_prep_t *p, Oid *types, char *err, size_t errlen)
{
    PGconn *c = st->db->pg;
    bool has_null = false;
    for (int i = 0; i < st->nparams; i++)
        has_null |= types[i] == 0;
    bool in_tx = has_null && PQtransactionStatus(c) == PQTRANS_INTRANS;
    char ignored[8];
    snprintf(p->name, sizeof p->name, "cs_%" PRIu64, ++st->db->seq);
    for (int attempt = 0; attempt < 2; attempt++) {
        if (in_tx && !pgdb_exec(c, "database", "SAVEPOINT db_prepare", err, errlen))
            break;
        PGresult *r = PQprepare(c, p->name, st->sql, st->nparams, types);
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        bool retry = !ok && has_null && attempt == 0 && state &&
                     (strcmp(state, "42P18") == 0 || strcmp(state, "42P08") == 0);
        if (!ok)
            pgdb_error(c, r, "database", err, errlen);
        PQclear(r);
        if (in_tx)
            pgdb_exec(c, "database",
                      ok ? "RELEASE SAVEPOINT db_prepare" : "ROLLBACK TO SAVEPOINT db_prepare",
                      ignored, sizeof ignored);
        if (ok) {
            size_t sz = (size_t)(st->nparams ? st->nparams : 1) * sizeof *types;
            if (!(p->types = malloc(sz))) {
                snprintf(err, errlen, "database: out of memory");
                break;
            }
            memcpy(p->types, types, (size_t)st->nparams * sizeof *types);
            /* the types the server chose for the NULLs */
            PGresult *d = has_null ? PQdescribePrepared(c, p->name) : NULL;
            if (d && PQresultStatus(d) == PGRES_COMMAND_OK && PQnparams(d) == st->nparams)
                for (int i = 0; i < st->nparams; i++)
                    p->types[i] = PQparamtype(d, i);
            PQclear(d);
            return true;
        }
        if (!retry)
            break;
        for (int i = 0; i < st->nparams; i++)
            if (types[i] == 0)
                types[i] = OID_TEXT;
    }
    p->name[0] = '\0';
    return false;
}

/* The prepared form for the bound types: from the cache, or prepared now
 * in the least recently used slot. */
static pg_prep_t *pg_prepared(db_stmt_t *st, char *err, size_t errlen)
{
    int n = st->nparams;
    Oid stack[16], *types = n <= 16 ? stack : malloc((size_t)n * sizeof *types);
    if (!types) {
        snprintf(err, errlen, "database: out of memory");
        return NULL;
    }
    for (int i = 0; i < n; i++)
        types[i] = st->params[i].type;
    pg_prep_t *hit = NULL, *lru = &st->cache[0];
    for (int k = 0; k < PG_CACHE && !hit; k++) {
        if (fits(&st->cache[k], types, n))
            hit = &st->cache[k];
        else if (!st->cache[k].name[0] || (lru->name[0] && st->cache[k].used < lru->used))
            lru = &st->cache[k];
    }
    if (!hit) {
        pg_deallocate(st, lru);
        if (pg_prepare(st, lru, types, err, errlen))
            hit = lru;
    }
    if (types != stack)
        free(types);
    if (hit)
        hit->used = ++st->tick;
    return hit;
}

static int pg_run(db_stmt_t *st, char *err, size_t errlen)
{
    pg_prep_t *p = pg_prepared(st, err, errlen);
    if (!p)
        return DB_ERR;
    int n = st->nparams;
    const char *vstack[16];
    int lstack[16], fstack[16];
    const char **vals = n <= 16 ? vstack : malloc((size_t)n * sizeof *vals);
    int *lens = n <= 16 ? lstack : malloc((size_t)n * sizeof *lens);
    int *fmts = n <= 16 ? fstack : malloc((size_t)n * sizeof *fmts);
    int rc = DB_ERR;
    if (!vals || !lens || !fmts) {
        snprintf(err, errlen, "database: out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        const pg_param_t *q = &st->params[i];
        vals[i] = q->type == OID_INT8 || q->type == OID_FLOAT8 ? q->num : q->val;
        lens[i] = (int)q->len;
        fmts[i] = q->type == OID_BYTEA; /* bytea binary: no escaping, NULs kept */
    }
    st->res = PQexecPrepared(st->db->pg, p->name, n, vals, lens, fmts, 0);
    ExecStatusType s = PQresultStatus(st->res);
    if (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK) {
        const char *ct = PQcmdTuples(st->res);
        st->changes = ct && *ct ? strtoll(ct, NULL, 10) : 0;
        st->ncols = PQnfields(st->res);
        if (st->ncols && !(st->cols = calloc((size_t)st->ncols, sizeof *st->cols))) {
            snprintf(err, errlen, "database: out of memory");
            goto out;
        }
        st->state = 1;
        rc = DB_DONE;
    } else {
        pgdb_error(st->db->pg, st->res, "database", err, errlen);
    }
out:
    if (vals != vstack)
        free(vals);
    if (lens != lstack)
        free(lens);
    if (fmts != fstack)
        free(fmts);
    return rc;
}

static int pg_step(db_stmt_t *st, char *err, size_t errlen)
{
    if (st->state == 2) /* stepped past the end: run again, as SQLite does */
        pg_clear_result(st);
    if (st->state == 0) {
        if (pg_run(st, err, errlen) != DB_DONE) {
            pg_clear_result(st);
            return DB_ERR;
        }
    }
    pg_clear_cols(st);
    if (st->res && st->row + 1 < PQntuples(st->res)) {
        st->row++;
        return DB_ROW;
    }
    st->state = 2;
    return DB_DONE;
}

int db_step(db_stmt_t *st, char *err, size_t errlen)
{
    return st->sq ? sqlite_step(st, err, errlen) : pg_step(st, err, errlen);
}

int64_t db_changes(db_stmt_t *st)
{
    return st->changes;
}

/* ---- columns --------------------------------------------------------- */

static bool pg_has(db_stmt_t *st, int i)
{
    return st->res && st->row >= 0 && st->row < PQntuples(st->res) && i >= 0 && i < st->ncols;
}

static bool pg_null(db_stmt_t *st, int i)
{
    return !pg_has(st, i) || PQgetisnull(st->res, st->row, i);
}

int db_col_count(db_stmt_t *st)
{
    return st->sq ? sqlite3_column_count(st->sq) : st->res ? PQnfields(st->res) : 0;
}

const char *db_col_name(db_stmt_t *st, int i)
{
    if (st->sq)
        return sqlite3_column_name(st->sq, i);
    return st->res && i >= 0 && i < PQnfields(st->res) ? PQfname(st->res, i) : NULL;
}

db_type_t db_col_type(db_stmt_t *st, int i)
{
    if (st->sq) {
        switch (sqlite3_column_type(st->sq, i)) {
        case SQLITE_INTEGER:
            return DB_T_INT;
        case SQLITE_FLOAT:
            return DB_T_REAL;
        case SQLITE_TEXT:
            return DB_T_TEXT;
        case SQLITE_BLOB:
            return DB_T_BLOB;
        default:
            return DB_T_NULL;
        }
    }
    if (pg_null(st, i))
        return DB_T_NULL;
    switch (PQftype(st->res, i)) {
    case OID_BOOL:
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
    case OID_OID:
        return DB_T_INT;
    case OID_FLOAT4:
    case OID_FLOAT8:
    case OID_NUMERIC:
        return DB_T_REAL;
    case OID_BYTEA:
        return DB_T_BLOB;
    default:
        return DB_T_TEXT;
    }
}

/* The column's bytes: bytea decoded once per row, booleans as "1"/"0". */
static const pg_col_t *pg_col(db_stmt_t *st, int i)
{
    if (pg_null(st, i))
        return NULL;
    pg_col_t *c = &st->cols[i];
    if (c->done)
        return c;
    const char *v = PQgetvalue(st->res, st->row, i);
    Oid t = PQftype(st->res, i);
    if (t == OID_BYTEA) {
        size_t n = 0;
        unsigned char *raw = PQunescapeBytea((const unsigned char *)v, &n);
        if (raw && (c->p = malloc(n + 1))) {
            memcpy(c->p, raw, n);
            c->p[n] = '\0';
            c->len = n;
        }
        PQfreemem(raw);
    } else {
        size_t n = (size_t)PQgetlength(st->res, st->row, i);
        if (t == OID_BOOL) {
            v = v[0] == 't' ? "1" : "0";
            n = 1;
        }
        if ((c->p = malloc(n + 1))) {
            memcpy(c->p, v, n);
            c->p[n] = '\0';
            c->len = n;
        }
    }
    c->done = c->p != NULL;
    return c->done ? c : NULL;
}

int64_t db_col_int(db_stmt_t *st, int i)
{
    if (st->sq)
        return sqlite3_column_int64(st->sq, i);
    const pg_col_t *c = pg_col(st, i);
    if (!c)
        return 0;
    const char *s = (const char *)c->p;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end && *end && (*end == '.' || *end == 'e' || *end == 'E'))
        return (int64_t)strtod(s, NULL);
    return (int64_t)v;
}

double db_col_real(db_stmt_t *st, int i)
{
    if (st->sq)
        return sqlite3_column_double(st->sq, i);
    const pg_col_t *c = pg_col(st, i);
    return c ? strtod((const char *)c->p, NULL) : 0.0;
}

const char *db_col_text(db_stmt_t *st, int i)
{
    if (st->sq)
        return (const char *)sqlite3_column_text(st->sq, i);
    const pg_col_t *c = pg_col(st, i);
    return c ? (const char *)c->p : NULL;
}

const void *db_col_blob(db_stmt_t *st, int i)
{
    if (st->sq)
        return sqlite3_column_blob(st->sq, i);
    const pg_col_t *c = pg_col(st, i);
    return c && c->len ? c->p : NULL;
}

size_t db_col_bytes(db_stmt_t *st, int i)
{
    if (st->sq)
        return (size_t)sqlite3_column_bytes(st->sq, i);
    const pg_col_t *c = pg_col(st, i);
    return c ? c->len : 0;
}

/* ---- migrations ------------------------------------------------------ */

int db_version(db_t *db, const char *component)
{
    return db->kind == DB_PG ? pgdb_version(db->pg, component) : sqldb_version(db->sq, component);
}

static bool run_step(db_t *db, const char *who, const db_step_t *s, char *err, size_t errlen)
{
    const char *sql = db_pick(db, s->sql);
    if (sql && !db_exec(db, who, sql, err, errlen))
        return false;
    return !s->fn || s->fn(db, err, errlen);
}

static bool set_version(db_t *db, const char *who, const char *component, int version, char *err,
                        size_t errlen)
{
    char e[256];
    db_stmt_t *st = db_prepare(
        db,
        db->kind == DB_PG ? "INSERT INTO migrations(component, version) VALUES(?1, ?2)"
                            " ON CONFLICT(component) DO UPDATE SET version = excluded.version"
                          : "INSERT OR REPLACE INTO migrations(component, version)"
                            " VALUES(?1, ?2)",
        e, sizeof e);
    bool ok = st && db_bind_text(st, 1, component, -1) && db_bind_int(st, 2, version) &&
              db_step(st, e, sizeof e) == DB_DONE;
    if (!ok)
        snprintf(err, errlen, "%s: %s", who, e);
    db_finalize(&st);
    return ok;
}

/* SQLite: one step and its version row in one transaction. The version is
 * read again under the write lock: another process opening the same store
 * may have applied the step meanwhile (*applied false then). */
static bool sqlite_apply(db_t *db, const char *who, const char *component, const db_step_t *s,
                         bool *applied, char *err, size_t errlen)
{
    *applied = false;
    if (!db_exec(db, who, "BEGIN IMMEDIATE", err, errlen))
        return false;
    if (sqldb_version(db->sq, component) >= s->version)
        return db_exec(db, who, "COMMIT", err, errlen);
    *applied = true;
    if (!run_step(db, who, s, err, errlen) ||
        !set_version(db, who, component, s->version, err, errlen)) {
        db_rollback(db);
        return false;
    }
    return db_exec(db, who, "COMMIT", err, errlen);
}

static bool too_new(const char *component, int have, int last, char *err, size_t errlen)
{
    if (have <= last)
        return false;
    snprintf(err, errlen,
             "database schema '%s' is version %d, newer than this collector knows (%d)", component,
             have, last);
    return true;
}

static bool sqlite_migrate(db_t *db, const char *who, const char *component, const db_step_t *steps,
                           size_t nsteps, char *err, size_t errlen)
{
    if (!db_exec(db, who,
                 "CREATE TABLE IF NOT EXISTS migrations(component TEXT PRIMARY KEY,"
                 " version INTEGER NOT NULL)",
                 err, errlen))
        return false;
    int have = sqldb_version(db->sq, component);
    if (have < 0) {
        snprintf(err, errlen, "%s: cannot read migrations: %s", who, sqlite3_errmsg(db->sq));
        return false;
    }
    int last = nsteps ? steps[nsteps - 1].version : 0;
    if (too_new(component, have, last, err, errlen))
        return false;
    for (size_t i = 0; i < nsteps; i++) {
        if (steps[i].version <= have)
            continue;
        bool applied;
        if (!sqlite_apply(db, who, component, &steps[i], &applied, err, errlen))
            return false;
        if (applied)
            LOG_INFO("%s: schema '%s' migrated to version %d", who, component, steps[i].version);
    }
    return true;
}

/* Any number: every migrating collector takes the same one (as pgdb.c). */
#define MIGRATION_LOCK "7613001"

static bool pg_migrate(db_t *db, const char *who, const char *component, const db_step_t *steps,
                       size_t nsteps, char *err, size_t errlen)
{
    if (!db_exec(db, who,
                 "BEGIN; SELECT pg_advisory_xact_lock(" MIGRATION_LOCK ");"
                 " CREATE TABLE IF NOT EXISTS migrations(component TEXT PRIMARY KEY,"
                 " version INTEGER NOT NULL)",
                 err, errlen)) {
        db_rollback(db);
        return false;
    }
    int have = pgdb_version(db->pg, component);
    int last = nsteps ? steps[nsteps - 1].version : 0;
    bool ok = true;
    if (have < 0) {
        pgdb_error(db->pg, NULL, who, err, errlen);
        ok = false;
    } else if (too_new(component, have, last, err, errlen)) {
        ok = false;
    }
    for (size_t i = 0; ok && i < nsteps; i++) {
        if (steps[i].version <= have)
            continue;
        ok = run_step(db, who, &steps[i], err, errlen) &&
             set_version(db, who, component, steps[i].version, err, errlen);
        if (ok)
            LOG_INFO("%s: schema '%s' migrated to version %d", who, component, steps[i].version);
    }
    if (!ok) {
        db_rollback(db);
        return false;
    }
    return db_exec(db, who, "COMMIT", err, errlen);
}

bool db_migrate(db_t *db, const char *who, const char *component, const db_step_t *steps,
                size_t nsteps, char *err, size_t errlen)
{
    return db->kind == DB_PG ? pg_migrate(db, who, component, steps, nsteps, err, errlen)
                             : sqlite_migrate(db, who, component, steps, nsteps, err, errlen);
}
