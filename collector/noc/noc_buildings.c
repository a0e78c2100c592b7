#include "noc_buildings.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "building_store.h"
#include "db.h"

building_map_t *noc_buildings_load(db_t *db, char *err, size_t errlen)
{
    return building_store_load(db, err, errlen);
}

struct noc_buildings_ref {
    building_map_t *map;
    int64_t version;
    unsigned refs; /* holders, the cache's own included while current */
};

struct noc_buildings {
    pthread_mutex_t mu; /* cur, loads, and every ref's refs */
    noc_buildings_ref_t *cur;
    uint64_t loads;
};

noc_buildings_t *noc_buildings_new(void)
{
    noc_buildings_t *b = calloc(1, sizeof *b);
    if (b)
        pthread_mutex_init(&b->mu, NULL);
    return b;
}

static void unref(noc_buildings_ref_t *r)
{
    if (r && --r->refs == 0) {
        building_map_free(&r->map);
        free(r);
    }
}

void noc_buildings_free(noc_buildings_t **pb)
{
    if (!pb || !*pb)
        return;
    noc_buildings_t *b = *pb;
    unref(b->cur); /* every holder has released by now */
    pthread_mutex_destroy(&b->mu);
    free(b);
    *pb = NULL;
}

/* The newest import's id: 0 when there is none (or no table). */
static bool version_of(db_t *db, int64_t *v, char *err, size_t errlen)
{
    static const db_sql_t have_sql = {
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'buildings_imports'",
        "SELECT 1 FROM pg_tables WHERE tablename = 'buildings_imports'"
        " AND schemaname = ANY (current_schemas(false))"};
    *v = 0;
    db_stmt_t *st = db_prepare(db, db_pick(db, have_sql), err, errlen);
    int rc = st ? db_step(st, err, errlen) : DB_ERR;
    db_finalize(&st);
    if (rc == DB_ERR)
        return false;
    if (rc == DB_DONE)
        return true;
    st = db_prepare(db, "SELECT COALESCE(max(id), 0) FROM buildings_imports", err, errlen);
    rc = st ? db_step(st, err, errlen) : DB_ERR;
    if (rc == DB_ROW)
        *v = db_col_int(st, 0);
    db_finalize(&st);
    return rc == DB_ROW;
}

noc_buildings_ref_t *noc_buildings_acquire(noc_buildings_t *b, db_t *db, char *err, size_t errlen)
{
    int64_t v;
    /* the version and the map in one read transaction: an import between
     * the two cannot pair an old id with a new map (SQLite: unless the
     * caller's own read is one already; PostgreSQL: REPEATABLE READ, one
     * snapshot for both reads) */
    static const db_sql_t begin = {"BEGIN", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"};
    bool own_tx = db_kind(db) != DB_SQLITE || sqlite3_get_autocommit(db_sqlite(db)) != 0;
    if (own_tx && !db_exec(db, "buildings", db_pick(db, begin), err, errlen))
        return NULL;
    noc_buildings_ref_t *r = NULL;
    if (!version_of(db, &v, err, errlen))
        goto done;
    pthread_mutex_lock(&b->mu);
    if (b->cur && b->cur->version == v) {
        r = b->cur;
        r->refs++;
    }
    pthread_mutex_unlock(&b->mu);
    if (r)
        goto done;
    /* loaded outside the lock: the other holders go on meanwhile; two
     * threads may both load a new map, the second one's is kept */
    building_map_t *m = noc_buildings_load(db, err, errlen);
    if (!m)
        goto done;
    r = calloc(1, sizeof *r);
    if (!r) {
        building_map_free(&m);
        snprintf(err, errlen, "buildings: out of memory");
        goto done;
    }
    r->map = m;
    r->version = v;
    r->refs = 2; /* the cache's and the caller's */
    pthread_mutex_lock(&b->mu);
    noc_buildings_ref_t *old = b->cur;
    b->cur = r;
    b->loads++;
    unref(old);
    pthread_mutex_unlock(&b->mu);
done:
    if (own_tx) {
        char e2[128];
        (void)db_exec(db, "buildings", "COMMIT", e2, sizeof e2);
    }
    return r;
}

const building_map_t *noc_buildings_map(const noc_buildings_ref_t *r)
{
    return r->map;
}

int64_t noc_buildings_version(const noc_buildings_ref_t *r)
{
    return r->version;
}

void noc_buildings_release(noc_buildings_t *b, noc_buildings_ref_t **pr)
{
    if (!pr || !*pr)
        return;
    pthread_mutex_lock(&b->mu);
    unref(*pr);
    pthread_mutex_unlock(&b->mu);
    *pr = NULL;
}

uint64_t noc_buildings_loads(noc_buildings_t *b)
{
    pthread_mutex_lock(&b->mu);
    uint64_t n = b->loads;
    pthread_mutex_unlock(&b->mu);
    return n;
}

/* ---- calls per building ---------------------------------------------------------- */

const building_t *noc_buildings_of(const building_map_t *m, const pii_t *pii, const char *aad,
                                   const void *enc, size_t enclen, const char *subnet)
{
    const building_t *b = NULL;
    if (enc && enclen > PII_OVERHEAD && enclen < 128 + PII_OVERHEAD) {
        char ip[128];
        if (pii_open(pii, aad, enc, enclen, ip, sizeof ip))
            b = building_map_lookup_text(m, ip);
        memset(ip, 0, sizeof ip);
    }
    if (!b && subnet && *subnet) /* Graph's subnet is the network address: CQD's key */
        b = building_map_lookup_text(m, subnet);
    return b;
}

noc_buildings_count_t *noc_buildings_slot(noc_buildings_counts_t *out, const char *building,
                                          const char *region)
{
    for (size_t i = 0; i < out->n; i++)
        if (strcmp(out->c[i].building, building) == 0 && strcmp(out->c[i].region, region) == 0)
            return &out->c[i];
    bool unmapped = !*building;
    if (!unmapped && out->named >= NOC_BUILDINGS_MAX) {
        if (!out->seen)
            out->seen = json_object();
        char key[2 * NOC_BUILDINGS_NAME_MAX + 2];
        snprintf(key, sizeof key, "%s\x1f%s", building, region);
        if (out->seen && !json_object_get(out->seen, key)) {
            json_object_set_new(out->seen, key, json_true());
            out->folded++;
        }
        building = NOC_BUILDINGS_OTHER;
        region = "";
        for (size_t i = 0; i < out->n; i++)
            if (strcmp(out->c[i].building, building) == 0 && !out->c[i].region[0])
                return &out->c[i];
        if (out->n >= NOC_BUILDINGS_MAX + 2)
            return NULL; /* not reached: the unmapped and (other) entries are spare */
    }
    if (!unmapped && strcmp(building, NOC_BUILDINGS_OTHER) != 0)
        out->named++;
    noc_buildings_count_t *c = &out->c[out->n++];
    memset(c, 0, sizeof *c);
    snprintf(c->building, sizeof c->building, "%s", building);
    snprintf(c->region, sizeof c->region, "%s", region);
    c->last_call = -1;
    return c;
}

void noc_buildings_counts_clear(noc_buildings_counts_t *out)
{
    json_decref(out->seen);
    out->seen = NULL;
    out->n = 0;
    out->named = 0;
    out->folded = 0;
}

/* Rank of a verdict for a building's call: lower is worse. */
static int rank_of(const char *v)
{
    static const char *const order[] = {"lan", "wan", "endpoint", "cloud", "healthy", "unknown"};
    for (int i = 0; i < 6; i++)
        if (v && strcmp(v, order[i]) == 0)
            return i;
    return 6;
}

/* One call of the building, under its participants' worst rank. */
static void count(noc_buildings_count_t *c, int rank)
{
    if (rank > 5)
        return;
    c->calls++;
    /* verdicts[] is in noc_query_verdicts' order, which is verdict_order's */
    c->verdicts[rank]++;
}

/* The call being counted by the join below, if any. */
static void commit(noc_buildings_count_t *c)
{
    if (c->last_call >= 0)
        count(c, c->rank);
}

/* The statement of sql (db_pick'ed) with since bound as ?1. */
static db_stmt_t *since_stmt(db_t *db, const db_sql_t *sql, const char *since, char *err,
                             size_t errlen)
{
    db_stmt_t *st = db_prepare(db, db_pick(db, *sql), err, errlen);
    if (st)
        db_bind_text(st, 1, since, -1);
    return st;
}

/* The entry of a row's participant: its sealed address in column enc, its
 * Graph subnet in column enc + 1. */
static noc_buildings_count_t *slot_of_row(noc_buildings_counts_t *out, const building_map_t *m,
                                          const pii_t *pii, db_stmt_t *st, int enc)
{
    const building_t *b = noc_buildings_of(m, pii, PII_AAD_PARTICIPANT_IP, db_col_blob(st, enc),
                                           db_col_bytes(st, enc), db_col_text(st, enc + 1));
    return noc_buildings_slot(out, b ? b->f[BUILDING_F_BUILDING] : "",
                              b ? b->f[BUILDING_F_REGION] : "");
}

/* One participant of the equal-end group being read by range(): its
 * building's entry, its call and its verdict's rank. */
typedef struct {
    size_t slot;
    int rank;
    char *call;
} part_t;

static int part_cmp(const void *a, const void *b)
{
    const part_t *x = a, *y = b;
    if (x->slot != y->slot)
        return x->slot < y->slot ? -1 : 1;
    return strcmp(x->call, y->call);
}

/* The group's calls counted: once per (building, call), under the worst
 * rank of that building's participants in it; the group emptied. */
static void flush(noc_buildings_counts_t *out, part_t *g, size_t *n)
{
    if (*n == 0)
        return; /* g may be NULL: qsort's first argument never is */
    qsort(g, *n, sizeof *g, part_cmp);
    for (size_t i = 0; i < *n;) {
        size_t j = i;
        int rank = g[i].rank;
        for (; j < *n && g[j].slot == g[i].slot && strcmp(g[j].call, g[i].call) == 0; j++)
            if (g[j].rank < rank)
                rank = g[j].rank;
        count(&out->c[g[i].slot], rank);
        for (; i < j; i++)
            free(g[i].call);
    }
    *n = 0;
}

/* Verdict schema 5: the participants of the window from the one range of
 * verdict_participants_end (call_end, ..., subnet) alone. The range is in
 * call_end order, so the rows of one call are adjacent to those of the
 * calls that end at the same instant only: each such group is gathered
 * and counted by (building, call) as the join's rows of one call are. */
static bool range(db_t *db, const pii_t *pii, const building_map_t *m, const char *since,
                  noc_buildings_counts_t *out, char *err, size_t errlen)
{
    static const db_sql_t sql = {
        "SELECT p.call_end, p.call_id, p.verdict, p.client_ip_enc, p.subnet"
        " FROM verdict_participants p INDEXED BY verdict_participants_end"
        " WHERE p.call_end >= ?1 ORDER BY p.call_end",
        "SELECT p.call_end, p.call_id, p.verdict, p.client_ip_enc, p.subnet"
        " FROM verdict_participants p WHERE p.call_end >= ?1 ORDER BY p.call_end"};
    db_stmt_t *st = since_stmt(db, &sql, since, err, errlen);
    if (!st)
        return false;
    part_t *g = NULL;
    size_t n = 0, cap = 0;
    char *end = NULL; /* the group's instant, whatever its length */
    bool oom = false;
    int rc;
    while ((rc = db_step(st, err, errlen)) == DB_ROW) {
        const char *e = db_col_text(st, 0), *call = db_col_text(st, 1);
        if (!e || !call)
            continue; /* not reached: call_end >= ?1, call_id NOT NULL */
        if (!end || strcmp(e, end) != 0) {
            flush(out, g, &n);
            free(end);
            if (!(end = strdup(e))) {
                oom = true;
                break;
            }
        }
        noc_buildings_count_t *c = slot_of_row(out, m, pii, st, 3);
        if (!c)
            continue;
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 64;
            part_t *ng = realloc(g, nc * sizeof *ng);
            if (!ng) {
                oom = true;
                break;
            }
            g = ng;
            cap = nc;
        }
        char *id = strdup(call);
        if (!id) {
            oom = true;
            break;
        }
        g[n++] = (part_t){(size_t)(c - out->c), rank_of(db_col_text(st, 2)), id};
    }
    flush(out, g, &n);
    free(g);
    free(end);
    db_finalize(&st);
    if (oom) {
        snprintf(err, errlen, "buildings: out of memory");
        return false;
    }
    return rc == DB_DONE;
}

/* verdict_participants_end holds subnet (verdict schema 5); false on a
 * store before it, which the join below reads as it always did. Asked of
 * the index itself, as /api/clients asks for it (noc_api_sites.c). */
static bool has_range(db_t *db)
{
    static const db_sql_t sql = {
        "SELECT 1 FROM pragma_index_info('verdict_participants_end') WHERE name = 'subnet'",
        "SELECT 1 FROM pg_indexes WHERE schemaname = current_schema()"
        " AND indexname = 'verdict_participants_end' AND indexdef LIKE '%subnet%'"};
    char err[256];
    db_stmt_t *st = db_prepare(db, db_pick(db, sql), err, sizeof err);
    bool has = st && db_step(st, err, sizeof err) == DB_ROW;
    db_finalize(&st);
    return has;
}

bool noc_buildings_calls(db_t *db, const pii_t *pii, const building_map_t *m, const char *since,
                         noc_buildings_counts_t *out, char *err, size_t errlen)
{
    if (has_range(db))
        return range(db, pii, m, since, out, err, errlen);
    /* before schema 5: the window through verdict_calls_end (as the surge
     * alerts), each call's participants through their call_id index; rows
     * of one call arrive together, numbered by the call's row */
    static const db_sql_t sql = {
        "SELECT c.rowid, p.verdict, p.client_ip_enc, p.subnet"
        " FROM verdict_calls c INDEXED BY verdict_calls_end"
        " JOIN verdict_participants p ON p.call_id = c.call_id"
        " WHERE c.\"end\" >= ?1 ORDER BY c.rowid",
        "SELECT c.call_id, p.verdict, p.client_ip_enc, p.subnet"
        " FROM verdict_calls c JOIN verdict_participants p ON p.call_id = c.call_id"
        " WHERE c.\"end\" >= ?1 ORDER BY c.call_id"};
    db_stmt_t *st = since_stmt(db, &sql, since, err, errlen);
    if (!st)
        return false;
    int rc;
    int64_t seq = 0;
    char last[256] = "";
    while ((rc = db_step(st, err, errlen)) == DB_ROW) {
        /* a call's number: SQLite's rowid, or on PostgreSQL a count of the
         * call ids seen (rows of one call are adjacent) */
        int64_t call;
        if (db_kind(db) == DB_SQLITE) {
            call = db_col_int(st, 0);
        } else {
            const char *id = db_col_text(st, 0);
            if (!id || strncmp(id, last, sizeof last) != 0) {
                seq++;
                snprintf(last, sizeof last, "%s", id ? id : "");
            }
            call = seq;
        }
        noc_buildings_count_t *c = slot_of_row(out, m, pii, st, 2);
        if (!c)
            continue;
        int r = rank_of(db_col_text(st, 1));
        if (c->last_call != call) {
            commit(c);
            c->last_call = call;
            c->rank = r;
        } else if (r < c->rank) {
            c->rank = r;
        }
    }
    for (size_t i = 0; i < out->n; i++) {
        commit(&out->c[i]);
        out->c[i].last_call = -1;
    }
    db_finalize(&st);
    return rc == DB_DONE;
}
