/* 'report' places each participant in its building: a store filled by the
 * real writers and the real correlation (store_fixture.h), a building map
 * stored as 'buildings-import' stores it, and cmd_report() itself, its
 * JSON and table output read back. */
#define FX_GRAPH
#include <fcntl.h>
#include <jansson.h>
#include <sys/stat.h>

#include "building_map.h"
#include "building_store.h"
#include "check.h"
#include "commands.h"
#include "building_unmapped.h"
#include "correlate.h"
#include "calls_fixture.h"

static fx_t F;

/* A joined call from 10.1.0.5 (HQ floor 2), a cloud-only one from
 * 10.1.0.9 (a /32 desk inside the HQ /16: longest prefix wins) and a
 * wire-only one from 10.1.0.7. */
static bool seed(void)
{
    return fx_seed_three_calls(&F);
}

static bool import_map(void)
{
    static const char text[] =
        "10.1.0.0,HQ,16,HQ,Own,Office,Open,Lyon,69002,FR,ARA,EMEA,1,1,0\n"
        "10.1.0.0,HQ-F2,29,HQ floor 2,Own,Office,Open,Lyon,69002,FR,ARA,EMEA,1,1,0\n"
        "10.1.0.9,Desk,32,Remote desk,Own,Home,,Paris,75001,FR,IDF,EMEA,0,0,1\n";
    char err[256];
    building_map_stats_t st;
    building_map_t *m =
        building_map_parse("t.csv", text, strlen(text), stderr, &st, err, sizeof err);
    db_t *db = db_from_sqlite(store_db(F.st));
    bool ok = m && db && building_store_save(db, m, "t.csv", &st, err, sizeof err);
    if (!ok)
        fprintf(stderr, "import: %s\n", err);
    db_close(&db);
    building_map_free(&m);
    return ok;
}

/* A command with stdout into a file; the output, malloc'd */
static char *capture(int (*cmd)(int, char **), int argc, char **argv)
{
    char out[160];
    snprintf(out, sizeof out, "%s/cmd.out", F.dir);
    fflush(stdout);
    int saved = dup(1), fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (saved < 0 || fd < 0)
        return NULL;
    dup2(fd, 1);
    close(fd);
    int rc = cmd(argc, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    CHECK_EQ_INT(rc, 0);
    FILE *fp = fopen(out, "r");
    char *buf = calloc(1, 1 << 20);
    size_t n = fp && buf ? fread(buf, 1, (1 << 20) - 1, fp) : 0;
    (void)n;
    if (fp)
        fclose(fp);
    unlink(out);
    return buf;
}

static char *report(const char *format)
{
    char *argv[] = {"report",  "--db", F.db,       "--org-key",    F.key,
                    "--since", "520w", "--format", (char *)format, NULL};
    return capture(cmd_report, 9, argv);
}

static const json_t *participant(const json_t *calls, const char *ip)
{
    size_t i, j;
    json_t *c, *p;
    json_array_foreach(calls, i, c) json_array_foreach(json_object_get(c, "participants"), j, p)
    {
        if (json_is_string(json_object_get(p, "client_ip")) &&
            strcmp(json_string_value(json_object_get(p, "client_ip")), ip) == 0)
            return p;
    }
    return NULL;
}

static const char *bfield(const json_t *p, const char *k)
{
    const json_t *b = json_object_get(p, "building");
    return json_string_value(json_object_get(b, k));
}

static void test_before_import(void)
{
    /* no map yet: report works on its read-only handle, building null */
    char *out = report("json");
    json_t *calls = out ? json_loads(out, 0, NULL) : NULL;
    CHECK(json_array_size(calls) == 3);
    const json_t *p = participant(calls, "10.1.0.5");
    CHECK(p && json_is_null(json_object_get(p, "building")));
    json_decref(calls);
    free(out);
}

static void test_after_import(void)
{
    CHECK(import_map());
    char *out = report("json");
    json_t *calls = out ? json_loads(out, 0, NULL) : NULL;
    CHECK(json_array_size(calls) == 3);
    const json_t *p5 = participant(calls, "10.1.0.5"), *p9 = participant(calls, "10.1.0.9"),
                 *p7 = participant(calls, "10.1.0.7");
    CHECK(p5 && p9 && p7);
    CHECK_STR(bfield(p5, "building"), "HQ floor 2");
    CHECK_STR(bfield(p5, "network"), "10.1.0.0/29");
    CHECK_STR(bfield(p5, "region"), "EMEA");
    CHECK(json_is_true(json_object_get(json_object_get(p5, "building"), "inside_corp")));
    CHECK_STR(bfield(p9, "building"), "Remote desk");
    CHECK_STR(bfield(p9, "city"), "Paris");
    CHECK(json_is_true(json_object_get(json_object_get(p9, "building"), "vpn")));
    CHECK_STR(bfield(p7, "building"), "HQ floor 2");
    json_decref(calls);
    free(out);
    out = report("table");
    CHECK(out && strstr(out, "      building HQ floor 2, Lyon, FR (EMEA) inside corp\n") != NULL);
    CHECK(out && strstr(out, "      building Remote desk, Paris, FR (EMEA) VPN\n") != NULL);
    free(out);
}

/* Streams from two clients of 192.0.2.0/24 and one of 2001:db8:9::/64 that
 * no building holds, besides the mapped 10.1.0.x ones: only those subnets
 * are listed, by streams, with --min-streams applied. */
static void test_unmapped(void)
{
    fx_stream_t v[] = {{"192.0.2.10", 50100, 4441, false, 0, 60, 3000, 0},
                       {"192.0.2.10", 50100, 4442, true, 0, 60, 3000, 0},
                       {"192.0.2.20", 50110, 4443, false, 0, 60, 3000, 0},
                       {"2001:db8:9::5", 50120, 4444, false, 0, 60, 3000, 0}};
    CHECK(fx_streams(&F, "p1", 7, v, 4));
    char err[256];
    db_t *db = db_from_sqlite(store_db(F.st));
    CHECK(db != NULL);
    building_map_t *m = building_store_load(db, err, sizeof err);
    CHECK(m && building_map_count(m) == 3);
    building_unmapped_list_t l;
    CHECK(building_unmapped_find(db, F.pii, m, "2026-01-01T00:00:00Z", 24, 64, 1, &l, err,
                                 sizeof err));
    CHECK_EQ_UINT(l.n, 2);
    CHECK_EQ_UINT(l.clients, 5); /* 10.1.0.5, 10.1.0.7 and the three above */
    CHECK_EQ_UINT(l.mapped, 2);
    char net[NETADDR_STRLEN];
    if (l.n == 2) {
        CHECK_STR(netaddr_fmt(&l.v[0].subnet.addr, net, sizeof net), "192.0.2.0");
        CHECK_EQ_UINT(l.v[0].subnet.len, 24);
        CHECK_EQ_UINT(l.v[0].streams, 3);
        CHECK_EQ_UINT(l.v[0].clients, 2);
        CHECK_STR(netaddr_fmt(&l.v[1].subnet.addr, net, sizeof net), "2001:db8:9::");
        CHECK_EQ_UINT(l.v[1].streams, 1);
    }
    building_unmapped_clear(&l);
    /* a window after every stream: nothing */
    CHECK(building_unmapped_find(db, F.pii, m, "2027-01-01T00:00:00Z", 24, 64, 1, &l, err,
                                 sizeof err));
    CHECK_EQ_UINT(l.n, 0);
    CHECK_EQ_UINT(l.clients, 0);
    building_unmapped_clear(&l);
    building_map_free(&m);
    db_close(&db);
    /* the command, --min-streams 2: only 192.0.2.0/24; no address printed */
    char *argv[] = {"buildings-unmapped", "--db", F.db,       "--org-key", F.key, "--since", "520w",
                    "--min-streams",      "2",    "--format", "json",      NULL};
    char *out = capture(cmd_buildings_unmapped, 11, argv);
    json_t *j = out ? json_loads(out, 0, NULL) : NULL;
    const json_t *subnets = json_object_get(j, "subnets");
    CHECK(json_array_size(subnets) == 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(subnets, 0), "subnet")),
              "192.0.2.0/24");
    CHECK(out && strstr(out, "192.0.2.10") == NULL && strstr(out, "2001:db8:9::5") == NULL);
    json_decref(j);
    free(out);
}

int main(void)
{
    if (!fx_open(&F) || !seed()) {
        fx_close(&F);
        return 1;
    }
    RUN(test_before_import);
    RUN(test_after_import);
    RUN(test_unmapped);
    fx_close(&F);
    return check_finish("unit_report_buildings");
}
