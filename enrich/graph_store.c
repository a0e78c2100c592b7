#include "graph_store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyfile.h"
#include "sqldb.h"
#include "timefmt.h"

#define SQL_MAX 16384

struct graph_store {
    sqlite3 *db;      /* borrowed */
    const pii_t *pii; /* borrowed */
    sqlite3_stmt *insert[GRAPH_NKINDS_ALL];
};

/* A bounded SQL text builder: an overflow sticks and fails the build. */
typedef struct {
    char s[SQL_MAX];
    size_t len;
    bool overflow;
} sqlbuf_t;

__attribute__((format(printf, 2, 3))) static void sb_add(sqlbuf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->s + b->len, sizeof b->s - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof b->s - b->len)
        b->overflow = true;
    else
        b->len += (size_t)n;
}

static const char *sql_type(graph_type_t t)
{
    switch (t) {
    case GT_INT:
    case GT_TIME:
    case GT_BOOL:
    case GT_SPEED:
        return "INTEGER";
    case GT_REAL:
    case GT_DUR:
        return "REAL";
    default:
        return "TEXT";
    }
}

static bool exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    return sqldb_exec(db, "graph store", sql, err, errlen);
}

/* Display names get a second lookup column, <column>_key_hmac: the hash of
 * the name normalised (pii_lookup_name), so a search by full name in any
 * case or spacing finds the row without opening any (migration 2). */
static bool name_keyed(const graph_field_t *f)
{
    size_t n = strlen(f->column);
    return f->pii == GP_ENC && ((n >= 9 && strcmp(f->column + n - 9, "user_name") == 0) ||
                                (n >= 10 && strcmp(f->column + n - 10, "guest_name") == 0) ||
                                strcmp(f->column, "organizer_name") == 0);
}

/* CREATE TABLE and indexes of one kind, from its field table. */
static bool create_kind(sqlite3 *db, graph_kind_t kind, char *err, size_t errlen)
{
    const graph_kind_info_t *ki = graph_kind(kind);
    sqlbuf_t b = {.len = 0, .overflow = false};
    sb_add(&b,
           "CREATE TABLE %s(rid INTEGER PRIMARY KEY, record_id TEXT NOT NULL, "
           "parent_rid INTEGER, idx INTEGER NOT NULL",
           ki->table);
    if (kind == GRAPH_RECORD)
        sb_add(&b, ", key_id INTEGER, source TEXT, complete INTEGER, stored_at_us INTEGER");
    for (size_t i = 0; i < ki->nfields; i++) {
        const graph_field_t *f = &ki->fields[i];
        if (f->pii == GP_NONE)
            sb_add(&b, ", %s %s", f->column, sql_type(f->type));
        else
            sb_add(&b, ", %s_enc BLOB", f->column);
        if (f->pii == GP_LOOKUP)
            sb_add(&b, ", %s_hmac BLOB", f->column);
    }
    sb_add(&b, ");\n");
    if (kind == GRAPH_RECORD)
        sb_add(&b, "CREATE UNIQUE INDEX %s_id ON %s(record_id);\n", ki->table, ki->table);
    else
        sb_add(
            &b,
            "CREATE INDEX %s_record ON %s(record_id);\nCREATE INDEX %s_parent ON %s(parent_rid);\n",
            ki->table, ki->table, ki->table, ki->table);
    for (size_t i = 0; i < ki->nfields; i++) {
        const graph_field_t *f = &ki->fields[i];
        if (f->pii == GP_LOOKUP && f->type == GT_IP)
            sb_add(&b, "CREATE INDEX %s_%s ON %s(%s_hmac);\n", ki->table, f->column, ki->table,
                   f->column);
    }
    if (b.overflow) {
        snprintf(err, errlen, "graph store: schema of %s too long", ki->table);
        return false;
    }
    return exec(db, b.s, err, errlen);
}

static bool migrate_v1(sqlite3 *db, char *err, size_t errlen)
{
    for (int k = 0; k < GRAPH_NKINDS; k++)
        if (!create_kind(db, (graph_kind_t)k, err, errlen))
            return false;
    return exec(db,
                "CREATE TABLE graph_pending(record_id TEXT PRIMARY KEY, first_seen_us INTEGER "
                "NOT NULL, next_try_us INTEGER NOT NULL, attempts INTEGER NOT NULL, "
                "last_status INTEGER);"
                /* Segment times beside each media: what the correlation joins on. */
                "CREATE VIEW graph_media_segment AS SELECT m.*, s.start_us AS segment_start_us, "
                "s.end_us AS segment_end_us, s.id AS segment_id FROM graph_media m "
                "JOIN graph_segment s ON s.rid = m.parent_rid;",
                err, errlen);
}

/* Search by person (docs/graph.md "Search by person"): the name key
 * columns, and partial indexes on every participant identity hash of the
 * sessions and segments (the service side has none, so the indexes hold
 * only people). Rows stored before this step get their name keys from
 * graph_store_new(), which has the organisation key a migration lacks. */
static bool migrate_v2(sqlite3 *db, char *err, size_t errlen)
{
    static const char *const who[] = {"user_upn_hmac", "user_id_hmac", "user_name_key_hmac",
                                      "guest_name_key_hmac"};
    sqlbuf_t b = {.len = 0, .overflow = false};
    for (int k = 0; k < GRAPH_NKINDS; k++) {
        const graph_kind_info_t *ki = graph_kind((graph_kind_t)k);
        for (size_t i = 0; i < ki->nfields; i++)
            if (name_keyed(&ki->fields[i]))
                sb_add(&b, "ALTER TABLE %s ADD COLUMN %s_key_hmac BLOB;\n", ki->table,
                       ki->fields[i].column);
    }
    static const char *const tables[] = {"graph_session", "graph_segment"};
    for (size_t t = 0; t < 2; t++)
        for (int side = 0; side < 2; side++)
            for (size_t w = 0; w < sizeof who / sizeof who[0]; w++) {
                const char *sd = side ? "callee" : "caller";
                sb_add(&b, "CREATE INDEX %s_%s_%s ON %s(%s_%s) WHERE %s_%s IS NOT NULL;\n",
                       tables[t], sd, who[w], tables[t], sd, who[w], sd, who[w]);
            }
    /* "rated poor": partial indexes of the few rows rated 1-2 stars (most
     * are notRated), used when a query has the same term (the list is
     * NOC_PEOPLE_RATED_RECORDS' with noc_people_rating_list("poor")); a
     * plain index on the rating column lost to a scan once ANALYZE saw two
     * distinct values: 0.67 s on 20,000 calls. */
    for (size_t t = 0; t < 2; t++)
        for (int side = 0; side < 2; side++) {
            const char *sd = side ? "callee" : "caller";
            sb_add(&b,
                   "CREATE INDEX %s_%s_rated_poor ON %s(record_id)"
                   " WHERE %s_rating IN ('bad','poor','1','2');\n",
                   tables[t], sd, tables[t], sd);
        }
    sb_add(&b, "CREATE INDEX graph_record_organizer_upn ON graph_record(organizer_upn_hmac)"
               " WHERE organizer_upn_hmac IS NOT NULL;\n");
    if (b.overflow) {
        snprintf(err, errlen, "graph store: migration 2 too long");
        return false;
    }
    return exec(db, b.s, err, errlen);
}

/* Search by person finds the organiser too (docs/noc.md): their object id
 * and name key, as migration 2 indexed their UPN. */
static const char migrate_v3[] =
    "CREATE INDEX graph_record_organizer_id ON graph_record(organizer_id_hmac)"
    " WHERE organizer_id_hmac IS NOT NULL;"
    "CREATE INDEX graph_record_organizer_name_key ON graph_record(organizer_name_key_hmac)"
    " WHERE organizer_name_key_hmac IS NOT NULL;";

static const sqldb_step_t migrations[] = {
    {1, NULL, migrate_v1}, {2, NULL, migrate_v2}, {3, migrate_v3, NULL}};

/* graph_participant (participants_v2), a component of its own; its name
 * key columns (as migration 2 gives the other kinds) from the start. */
static bool participants_v1(sqlite3 *db, char *err, size_t errlen)
{
    const graph_kind_info_t *ki = graph_kind(GRAPH_PARTICIPANT);
    sqlbuf_t b = {.len = 0, .overflow = false};
    for (size_t i = 0; i < ki->nfields; i++)
        if (name_keyed(&ki->fields[i]))
            sb_add(&b, "ALTER TABLE %s ADD COLUMN %s_key_hmac BLOB;\n", ki->table,
                   ki->fields[i].column);
    sb_add(&b, "CREATE INDEX graph_participant_user ON graph_participant(user_id_hmac);"
               "CREATE INDEX graph_participant_upn ON graph_participant(user_upn_hmac);");
    if (b.overflow) {
        snprintf(err, errlen, "graph store: participant schema too long");
        return false;
    }
    return create_kind(db, GRAPH_PARTICIPANT, err, errlen) && exec(db, b.s, err, errlen);
}
/* ... and a participant listed only in participants_v2 by name. */
static const char participants_v2[] =
    "CREATE INDEX graph_participant_user_name_key ON graph_participant(user_name_key_hmac)"
    " WHERE user_name_key_hmac IS NOT NULL;"
    "CREATE INDEX graph_participant_guest_name_key ON graph_participant(guest_name_key_hmac)"
    " WHERE guest_name_key_hmac IS NOT NULL;";
static const sqldb_step_t participant_migrations[] = {{1, NULL, participants_v1},
                                                      {2, participants_v2, NULL}};

bool graph_store_migrate(sqlite3 *db, char *err, size_t errlen)
{
    return sqldb_migrate(db, "graph store", "graph", migrations,
                         sizeof migrations / sizeof migrations[0], err, errlen) &&
           sqldb_migrate(db, "graph store", "graph_participant", participant_migrations,
                         sizeof participant_migrations / sizeof participant_migrations[0], err,
                         errlen);
}

sqlite3 *graph_store_open_db(const char *path, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    if (path[0] != ':' && !keyfile_create_private(path, err, errlen)) /* 0600 whatever the umask */
        return NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "store %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 5000);
    if (!exec(db, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;", err, errlen) ||
        !graph_store_migrate(db, err, errlen)) {
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

/* INSERT for one kind; placeholder order = bind order in bind_node(). */
static bool prepare_insert(graph_store_t *st, graph_kind_t kind, char *err, size_t errlen)
{
    const graph_kind_info_t *ki = graph_kind(kind);
    sqlbuf_t cols = {.len = 0, .overflow = false}, vals = {.len = 0, .overflow = false};
    sb_add(&cols, "INSERT INTO %s(record_id, parent_rid, idx", ki->table);
    sb_add(&vals, "?, ?, ?");
    if (kind == GRAPH_RECORD) {
        sb_add(&cols, ", key_id, source, complete, stored_at_us");
        sb_add(&vals, ", ?, ?, ?, ?");
    }
    for (size_t i = 0; i < ki->nfields; i++) {
        const graph_field_t *f = &ki->fields[i];
        sb_add(&cols, f->pii == GP_NONE ? ", %s" : ", %s_enc", f->column);
        sb_add(&vals, ", ?");
        if (f->pii == GP_LOOKUP) {
            sb_add(&cols, ", %s_hmac", f->column);
            sb_add(&vals, ", ?");
        }
        if (name_keyed(f)) {
            sb_add(&cols, ", %s_key_hmac", f->column);
            sb_add(&vals, ", ?");
        }
    }
    sb_add(&cols, ") VALUES(%s)", vals.s);
    if (cols.overflow || vals.overflow ||
        sqlite3_prepare_v2(st->db, cols.s, -1, &st->insert[kind], NULL) != SQLITE_OK) {
        snprintf(err, errlen, "graph store: cannot prepare insert into %s: %s", ki->table,
                 sqlite3_errmsg(st->db));
        return false;
    }
    return true;
}

/* Name keys of the rows stored before migration 2 (or under a key the
 * keyring has since gained): each sealed name without its key is opened in
 * memory, hashed and the hash written, in one transaction. Only rows
 * lacking the key are read, so this costs nothing once done. */
static bool backfill_column(graph_store_t *st, const char *table, const char *col, char *err,
                            size_t errlen)
{
    char sel[256], upd[256];
    snprintf(sel, sizeof sel,
             "SELECT rid, %s_enc FROM %s WHERE %s_enc IS NOT NULL AND %s_key_hmac IS NULL", col,
             table, col, col);
    snprintf(upd, sizeof upd, "UPDATE %s SET %s_key_hmac = ?1 WHERE rid = ?2", table, col);
    sqlite3_stmt *s = NULL, *u = NULL;
    if (sqlite3_prepare_v2(st->db, sel, -1, &s, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db, upd, -1, &u, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "graph store: name keys of %s: %s", table, sqlite3_errmsg(st->db));
        sqlite3_finalize(s);
        sqlite3_finalize(u);
        return false;
    }
    bool ok = true;
    int rc;
    while (ok && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        char name[1024];
        uint8_t h[PII_HASH_LEN];
        if (!pii_open(st->pii, col, sqlite3_column_blob(s, 1), (size_t)sqlite3_column_bytes(s, 1),
                      name, sizeof name) ||
            !pii_lookup_name(st->pii, name, h))
            continue; /* another organisation's key, or no name: left without a key */
        sqlite3_reset(u);
        sqlite3_bind_blob(u, 1, h, sizeof h, SQLITE_TRANSIENT);
        sqlite3_bind_int64(u, 2, sqlite3_column_int64(s, 0));
        ok = sqlite3_step(u) == SQLITE_DONE;
        memset(name, 0, sizeof name);
    }
    if (ok && rc != SQLITE_DONE)
        ok = false;
    if (!ok)
        snprintf(err, errlen, "graph store: name keys of %s: %s", table, sqlite3_errmsg(st->db));
    sqlite3_finalize(s);
    sqlite3_finalize(u);
    return ok;
}

static bool backfill_names(graph_store_t *st, char *err, size_t errlen)
{
    char ignored[16];
    if (!exec(st->db, "BEGIN IMMEDIATE", err, errlen))
        return false;
    bool ok = true;
    for (int k = 0; ok && k < GRAPH_NKINDS_ALL; k++) {
        const graph_kind_info_t *ki = graph_kind((graph_kind_t)k);
        for (size_t i = 0; ok && i < ki->nfields; i++)
            if (name_keyed(&ki->fields[i]))
                ok = backfill_column(st, ki->table, ki->fields[i].column, err, errlen);
    }
    if (!ok || !exec(st->db, "COMMIT", err, errlen)) {
        exec(st->db, "ROLLBACK", ignored, sizeof ignored);
        return false;
    }
    return true;
}

graph_store_t *graph_store_new(sqlite3 *db, const pii_t *pii, char *err, size_t errlen)
{
    graph_store_t *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    st->db = db;
    st->pii = pii;
    for (int k = 0; k < GRAPH_NKINDS_ALL; k++) {
        if (!prepare_insert(st, (graph_kind_t)k, err, errlen)) {
            graph_store_free(&st);
            return NULL;
        }
    }
    if (!backfill_names(st, err, errlen)) {
        graph_store_free(&st);
        return NULL;
    }
    return st;
}

void graph_store_free(graph_store_t **st)
{
    if (!st || !*st)
        return;
    for (int k = 0; k < GRAPH_NKINDS_ALL; k++)
        sqlite3_finalize((*st)->insert[k]);
    free(*st);
    *st = NULL;
}

/* The lookup domain of a column is its last word: caller_ip -> "ip",
 * caller_user_upn -> "upn", organizer_id -> "id"; so every IP column hashes
 * alike and joins across columns. */
static const char *lookup_domain(const char *column)
{
    const char *u = strrchr(column, '_');
    return u ? u + 1 : column;
}

static bool bind_pii(graph_store_t *st, sqlite3_stmt *s, int *col, const graph_field_t *f,
                     const graph_val_t *v)
{
    int enc = (*col)++;
    int mac = f->pii == GP_LOOKUP ? (*col)++ : 0;
    int key = name_keyed(f) ? (*col)++ : 0;
    if (!v->known || !v->s) {
        sqlite3_bind_null(s, enc);
        if (mac)
            sqlite3_bind_null(s, mac);
        if (key)
            sqlite3_bind_null(s, key);
        return true;
    }
    size_t len = strlen(v->s), outlen = 0;
    uint8_t *sealed = malloc(len + PII_OVERHEAD);
    bool ok =
        sealed && pii_seal(st->pii, f->column, v->s, len, sealed, len + PII_OVERHEAD, &outlen);
    ok = ok && sqlite3_bind_blob(s, enc, sealed, (int)outlen, SQLITE_TRANSIENT) == SQLITE_OK;
    free(sealed);
    if (ok && mac) {
        uint8_t h[PII_HASH_LEN];
        const char *dom = lookup_domain(f->column);
        /* addresses canonical, so the probe's and Graph's hashes match */
        bool hashed = strcmp(dom, "ip") == 0 && pii_lookup_ip(st->pii, v->s, h);
        ok = (hashed || pii_lookup(st->pii, dom, v->s, h)) &&
             sqlite3_bind_blob(s, mac, h, sizeof h, SQLITE_TRANSIENT) == SQLITE_OK;
    }
    if (ok && key) {
        uint8_t h[PII_HASH_LEN];
        /* a name of white space only, or over 255 bytes, has no key */
        if (pii_lookup_name(st->pii, v->s, h))
            ok = sqlite3_bind_blob(s, key, h, sizeof h, SQLITE_TRANSIENT) == SQLITE_OK;
        else
            sqlite3_bind_null(s, key);
    }
    return ok;
}

static bool bind_plain(sqlite3_stmt *s, int col, const graph_field_t *f, const graph_val_t *v)
{
    if (!v->known)
        return sqlite3_bind_null(s, col) == SQLITE_OK;
    switch (f->type) {
    case GT_INT:
    case GT_TIME:
    case GT_BOOL:
    case GT_SPEED:
        return sqlite3_bind_int64(s, col, v->i) == SQLITE_OK;
    case GT_REAL:
    case GT_DUR:
        return sqlite3_bind_double(s, col, v->d) == SQLITE_OK;
    default:
        return sqlite3_bind_text(s, col, v->s, -1, SQLITE_TRANSIENT) == SQLITE_OK;
    }
}

typedef struct {
    const char *record_id;
    const char *source;
    bool complete;
} put_ctx_t;

static bool insert_node(graph_store_t *st, const put_ctx_t *pc, const graph_node_t *n,
                        int64_t parent_rid, size_t idx)
{
    const graph_kind_info_t *ki = graph_kind(n->kind);
    sqlite3_stmt *s = st->insert[n->kind];
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    int col = 1;
    bool ok = sqlite3_bind_text(s, col++, pc->record_id, -1, SQLITE_TRANSIENT) == SQLITE_OK;
    if (parent_rid > 0)
        sqlite3_bind_int64(s, col, parent_rid);
    col++;
    sqlite3_bind_int64(s, col++, (int64_t)idx);
    if (n->kind == GRAPH_RECORD) {
        sqlite3_bind_int64(s, col++, pii_key_id(st->pii));
        sqlite3_bind_text(s, col++, pc->source, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, col++, pc->complete);
        sqlite3_bind_int64(s, col++, timefmt_now());
    }
    for (size_t i = 0; ok && i < ki->nfields; i++) {
        const graph_field_t *f = &ki->fields[i];
        if (f->pii == GP_NONE)
            ok = bind_plain(s, col++, f, &n->v[i]);
        else
            ok = bind_pii(st, s, &col, f, &n->v[i]);
    }
    ok = ok && sqlite3_step(s) == SQLITE_DONE;
    int64_t rid = sqlite3_last_insert_rowid(st->db);
    sqlite3_reset(s);
    for (size_t i = 0; ok && i < n->nkids; i++)
        ok = insert_node(st, pc, &n->kids[i], rid, i);
    for (size_t i = 0; ok && i < n->nparts; i++) /* a record's participants */
        ok = insert_node(st, pc, &n->parts[i], rid, i);
    return ok;
}

static bool run1(graph_store_t *st, const char *sql, const char *id)
{
    sqlite3_stmt *s = NULL;
    bool ok = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) == SQLITE_OK &&
              sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC) == SQLITE_OK &&
              sqlite3_step(s) == SQLITE_DONE;
    sqlite3_finalize(s);
    return ok;
}

static bool delete_record(graph_store_t *st, const char *id)
{
    bool ok = true;
    for (int k = GRAPH_NKINDS_ALL - 1; ok && k >= 0; k--) {
        char sql[128];
        snprintf(sql, sizeof sql, "DELETE FROM %s WHERE record_id = ?",
                 graph_kind((graph_kind_t)k)->table);
        ok = run1(st, sql, id);
    }
    return ok && run1(st, "DELETE FROM graph_pending WHERE record_id = ?", id);
}

/* Is what is stored at least as good as rec? */
static bool stored_is_current(graph_store_t *st, const char *id, const graph_record_t *rec,
                              bool complete, bool *exists)
{
    sqlite3_stmt *s = NULL;
    bool current = false;
    *exists = false;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT version, last_modified_us, complete FROM graph_record "
                           "WHERE record_id = ?",
                           -1, &s, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW) {
        *exists = true;
        int64_t ver = -1, lm = -1, sver, slm;
        graph_node_int(rec, REC_VERSION, &ver);
        graph_node_int(rec, REC_LAST_MODIFIED, &lm);
        sver = sqlite3_column_type(s, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 0);
        slm = sqlite3_column_type(s, 1) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 1);
        int scomplete = sqlite3_column_int(s, 2);
        current = sver > ver || (sver == ver && slm >= lm && scomplete >= (int)complete);
    }
    sqlite3_finalize(s);
    return current;
}

graph_put_t graph_store_put(graph_store_t *st, const graph_record_t *rec, const char *source,
                            bool complete, char *err, size_t errlen)
{
    const char *id;
    char ignored[16];
    if (!graph_node_str(rec, REC_ID, &id)) {
        snprintf(err, errlen, "graph store: record without id");
        return GRAPH_PUT_ERROR;
    }
    if (!exec(st->db, "BEGIN IMMEDIATE", err, errlen))
        return GRAPH_PUT_ERROR;
    bool exists;
    if (stored_is_current(st, id, rec, complete, &exists)) {
        run1(st, "DELETE FROM graph_pending WHERE record_id = ?", id);
        return exec(st->db, "COMMIT", err, errlen) ? GRAPH_PUT_UNCHANGED : GRAPH_PUT_ERROR;
    }
    put_ctx_t pc = {id, source, complete};
    if (!delete_record(st, id) || !insert_node(st, &pc, rec, 0, 0)) {
        snprintf(err, errlen, "graph store: write failed: %s", sqlite3_errmsg(st->db));
        exec(st->db, "ROLLBACK", ignored, sizeof ignored);
        return GRAPH_PUT_ERROR;
    }
    if (!exec(st->db, "COMMIT", err, errlen)) {
        exec(st->db, "ROLLBACK", ignored, sizeof ignored);
        return GRAPH_PUT_ERROR;
    }
    return exists ? GRAPH_PUT_UPDATED : GRAPH_PUT_INSERTED;
}

int graph_store_known(graph_store_t *st, const char *id, int64_t *version,
                      int64_t *last_modified_us)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT version, last_modified_us FROM graph_record "
                           "WHERE record_id = ? AND complete = 1",
                           -1, &s, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s), r = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
    if (r == 1) {
        *version = sqlite3_column_type(s, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 0);
        *last_modified_us =
            sqlite3_column_type(s, 1) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 1);
    }
    sqlite3_finalize(s);
    return r;
}

bool graph_store_pending_add(graph_store_t *st, const char *id, int64_t now_us, int64_t next_try_us,
                             int http_status)
{
    sqlite3_stmt *s = NULL;
    bool ok = sqlite3_prepare_v2(st->db,
                                 "INSERT INTO graph_pending(record_id, first_seen_us, next_try_us, "
                                 "attempts, last_status) VALUES(?1, ?2, ?3, 1, ?4) "
                                 "ON CONFLICT(record_id) DO UPDATE SET next_try_us = ?3, "
                                 "attempts = attempts + 1, last_status = ?4",
                                 -1, &s, NULL) == SQLITE_OK;
    if (ok) {
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, now_us);
        sqlite3_bind_int64(s, 3, next_try_us);
        sqlite3_bind_int(s, 4, http_status);
        ok = sqlite3_step(s) == SQLITE_DONE;
    }
    sqlite3_finalize(s);
    return ok;
}

int graph_store_pending_due(graph_store_t *st, int64_t now_us, int max,
                            void (*fn)(void *ctx, const char *id, int64_t first_seen_us,
                                       int attempts),
                            void *ctx)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT record_id, first_seen_us, attempts FROM graph_pending "
                           "WHERE next_try_us <= ? ORDER BY first_seen_us LIMIT ?",
                           -1, &s, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(s, 1, now_us);
    sqlite3_bind_int(s, 2, max);
    int n = 0, rc = sqlite3_step(s);
    for (; rc == SQLITE_ROW; rc = sqlite3_step(s)) {
        fn(ctx, (const char *)sqlite3_column_text(s, 0), sqlite3_column_int64(s, 1),
           sqlite3_column_int(s, 2));
        n++;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? n : -1;
}

bool graph_store_pending_done(graph_store_t *st, const char *id)
{
    return run1(st, "DELETE FROM graph_pending WHERE record_id = ?", id);
}
