/* Unit tests of the NOC's building map cache and calls per building
 * (collector/noc/noc_buildings.c), and of the search by person's SQL
 * (noc_people_user_sql): three calls judged by the real correlation
 * (calls_fixture.h), building maps stored as 'buildings-import' stores
 * them, in process. */
#define FX_GRAPH
#include "building_store.h"
#include "noc_buildings.h"
#include "noc_people.h"

#include "check.h"
#include "calls_fixture.h"

static fx_t F;

static bool import_text(const char *text)
{
    char err[256];
    building_map_stats_t st;
    building_map_t *m =
        building_map_parse("t.csv", text, strlen(text), stderr, &st, err, sizeof err);
    bool ok = m && building_store_save(F.gdb, m, "t.csv", &st, err, sizeof err);
    if (!ok)
        fprintf(stderr, "import: %s\n", err);
    building_map_free(&m);
    return ok;
}

static const char MAP_A[] =
    "10.1.0.0,HQ-F2,29,HQ floor 2,Own,Office,Open,Lyon,69002,FR,ARA,EMEA,1,1,0\n"
    "10.1.0.9,Desk,32,Remote desk,Own,Home,,Paris,75001,FR,IDF,EMEA,0,0,1\n";
static const char MAP_B[] =
    "10.1.0.0,HQ-F2,29,Lyon Tower,Own,Office,Open,Lyon,69002,FR,ARA,EMEA,1,1,0\n";

static const char *building_at(const building_map_t *m, const char *ip)
{
    const building_t *b = building_map_lookup_text(m, ip);
    return b ? b->f[BUILDING_F_BUILDING] : "(none)";
}

/* The map is read once, and again only after an import; a held map
 * outlives the import that replaces it. */
static void test_cache(void)
{
    char err[256];
    db_t *db = F.gdb;
    noc_buildings_t *nb = noc_buildings_new();
    CHECK(nb != NULL);
    if (!nb)
        return;
    noc_buildings_ref_t *r0 = noc_buildings_acquire(nb, db, err, sizeof err);
    CHECK(r0 != NULL);
    if (!r0)
        return;
    CHECK_EQ_UINT(building_map_count(noc_buildings_map(r0)), 0); /* nothing imported yet */
    CHECK_EQ_INT(noc_buildings_version(r0), 0);
    noc_buildings_ref_t *r1 = noc_buildings_acquire(nb, db, err, sizeof err);
    CHECK(r1 == r0);
    CHECK_EQ_UINT(noc_buildings_loads(nb), 1);
    noc_buildings_release(nb, &r1);
    CHECK(r1 == NULL);

    CHECK(import_text(MAP_A));
    noc_buildings_ref_t *ra = noc_buildings_acquire(nb, db, err, sizeof err);
    CHECK(ra && ra != r0);
    CHECK_EQ_UINT(noc_buildings_loads(nb), 2);
    CHECK(ra && noc_buildings_version(ra) > 0);
    CHECK_STR(building_at(noc_buildings_map(ra), "10.1.0.5"), "HQ floor 2");
    /* the first map, still held, is intact */
    CHECK_EQ_UINT(building_map_count(noc_buildings_map(r0)), 0);
    noc_buildings_release(nb, &r0);
    for (int i = 0; i < 5; i++) { /* unchanged: no reload */
        noc_buildings_ref_t *r = noc_buildings_acquire(nb, db, err, sizeof err);
        CHECK(r == ra);
        noc_buildings_release(nb, &r);
    }
    CHECK_EQ_UINT(noc_buildings_loads(nb), 2);

    CHECK(import_text(MAP_B)); /* a re-import is seen at the next acquire */
    noc_buildings_ref_t *rb = noc_buildings_acquire(nb, db, err, sizeof err);
    CHECK(rb && rb != ra);
    CHECK_EQ_UINT(noc_buildings_loads(nb), 3);
    CHECK(rb && ra && noc_buildings_version(rb) > noc_buildings_version(ra));
    CHECK_STR(building_at(noc_buildings_map(rb), "10.1.0.5"), "Lyon Tower");
    CHECK_STR(building_at(noc_buildings_map(rb), "10.1.0.9"), "(none)");
    CHECK_STR(building_at(noc_buildings_map(ra), "10.1.0.5"), "HQ floor 2"); /* held */
    noc_buildings_release(nb, &ra);
    noc_buildings_release(nb, &rb);
    noc_buildings_free(&nb);
    CHECK(nb == NULL);
}

static const noc_buildings_count_t *entry(const noc_buildings_counts_t *c, const char *b)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->c[i].building, b) == 0)
            return &c->c[i];
    return NULL;
}

/* A call counts once per building of its participants, under their
 * verdict there. */
static void test_calls(void)
{
    char err[256];
    CHECK(import_text(MAP_A));
    building_map_t *m = building_store_load(F.gdb, err, sizeof err);
    noc_buildings_counts_t *c = calloc(1, sizeof *c);
    CHECK(m && c);
    if (!m || !c) {
        free(c);
        building_map_free(&m);
        return;
    }
    CHECK(noc_buildings_calls(F.gdb, F.pii, m, "1970-01-01T00:00:00Z", c, err, sizeof err));
    /* 10.1.0.5 (joined, lan) and 10.1.0.7 (wire only, lan) in HQ floor 2;
     * 10.1.0.9 (cloud only, healthy) at the remote desk */
    const noc_buildings_count_t *hq = entry(c, "HQ floor 2"), *desk = entry(c, "Remote desk");
    CHECK(hq && desk);
    if (hq && desk) {
        CHECK_STR(hq->region, "EMEA");
        CHECK_EQ_INT(hq->calls, 2);
        CHECK_EQ_INT(hq->verdicts[0], 2); /* lan */
        CHECK_EQ_INT(desk->calls, 1);
        CHECK_EQ_INT(desk->verdicts[4], 1); /* healthy */
        CHECK_EQ_INT(desk->verdicts[0] + desk->verdicts[1], 0);
    }
    CHECK(entry(c, "") == NULL); /* every participant is mapped */
    CHECK_EQ_UINT(c->folded, 0);
    noc_buildings_counts_clear(c);
    /* a window after every call: nothing */
    CHECK(noc_buildings_calls(F.gdb, F.pii, m, "2999-01-01T00:00:00Z", c, err, sizeof err));
    CHECK_EQ_UINT(c->n, 0);
    noc_buildings_counts_clear(c);
    free(c);
    building_map_free(&m);
}

/* At most NOC_BUILDINGS_MAX buildings of their own; the rest share one
 * entry and are counted once each. */
static void test_cap(void)
{
    noc_buildings_counts_t *c = calloc(1, sizeof *c);
    CHECK(c != NULL);
    if (!c)
        return;
    char name[32];
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < NOC_BUILDINGS_MAX + 44; i++) {
            snprintf(name, sizeof name, "B%03d", i);
            CHECK(noc_buildings_slot(c, name, i % 2 ? "EMEA" : "APAC") != NULL);
        }
    CHECK(noc_buildings_slot(c, "", "") != NULL); /* unmapped has its own, past the cap */
    CHECK_EQ_UINT(c->named, NOC_BUILDINGS_MAX);
    CHECK_EQ_UINT(c->n, NOC_BUILDINGS_MAX + 2);
    CHECK_EQ_UINT(c->folded, 44);
    noc_buildings_count_t *o = noc_buildings_slot(c, "B299", "EMEA");
    CHECK(o && strcmp(o->building, NOC_BUILDINGS_OTHER) == 0);
    noc_buildings_counts_clear(c);
    free(c);
}

/* Search by person: every term an indexed equality on a lookup hash, the
 * organiser's and participants_v2's included. */
static void test_user_sql_plan(void)
{
    char who[4096], sql[4600];
    sqlite3 *db = store_db(F.st);
    db_t *w = db_from_sqlite(db);
    CHECK(noc_people_user_sql(w, "20", "21", "22", who, sizeof who));
    CHECK(strstr(who, "graph_record WHERE organizer_upn_hmac = ?20") != NULL);
    CHECK(strstr(who, "graph_record WHERE organizer_id_hmac = ?21") != NULL);
    CHECK(strstr(who, "graph_record WHERE organizer_name_key_hmac = ?22") != NULL);
    CHECK(strstr(who, "graph_participant WHERE user_upn_hmac = ?20") != NULL);
    CHECK(strstr(who, "graph_participant WHERE guest_name_key_hmac = ?22") != NULL);
    CHECK(!noc_people_user_sql(w, "20", "21", "22", who, 200)); /* too small: refused */
    CHECK(noc_people_user_sql(w, "20", "21", "22", who, sizeof who));
    db_close(&w);
    snprintf(sql, sizeof sql,
             "EXPLAIN QUERY PLAN SELECT call_id FROM verdict_calls WHERE call_id IN (%s)", who);
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK);
    int searches = 0, scans = 0;
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        const char *d = (const char *)sqlite3_column_text(st, 3);
        if (d && strstr(d, "graph_") && strstr(d, "USING INDEX"))
            searches++;
        if (d && strstr(d, "SCAN graph_")) {
            fprintf(stderr, "  full scan: %s\n", d);
            scans++;
        }
    }
    sqlite3_finalize(st);
    CHECK_EQ_INT(scans, 0);
    CHECK_EQ_INT(searches, 4 * 4 + 3 + 4); /* sides, organiser, v2 participants */
}

int main(void)
{
    if (!fx_open(&F) || !fx_seed_three_calls(&F)) {
        fx_close(&F);
        return 1;
    }
    RUN(test_cache);
    RUN(test_calls);
    RUN(test_cap);
    RUN(test_user_sql_plan);
    fx_close(&F);
    return check_finish("unit_noc_buildings");
}
