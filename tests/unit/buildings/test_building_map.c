/* The CQD building file parser and the longest-prefix lookup. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "building_map.h"
#include "check.h"

/* 15 columns, comma-separated, as an administrator exports it */
static const char good_csv[] =
    "10.0.0.0,Corp,8,Campus,Own,Office,Open,Lyon,69000,FR,ARA,EMEA,1,0,0\n"
    "10.1.0.0,Lyon-HQ,16,Lyon HQ,Own,Office,Open,Lyon,69002,FR,ARA,EMEA,1,1,0\n"
    "10.1.2.0,Lyon-Floor2,24,Lyon HQ floor 2,Own,Office,Open,Lyon,69002,FR,ARA,EMEA,1,1,0\r\n"
    "\n"
    "192.168.7.99,VPN pool,24,VPN,Leased,Virtual,,Paris,75001,FR,IDF,EMEA,1,0,1\n"
    "2001:db8:1::,Paris-v6,48,Paris,Own,Office,Open,Paris,75001,FR,IDF,EMEA,1,0,0\n"
    "2001:db8:1:2::,Paris-v6-lab,64,Paris lab,Own,Lab,Open,Paris,75001,FR,IDF,EMEA,0,0,\n"
    "0.0.0.0,Everything,0,Internet,,,,,,,,,0,0,0\n";

static void test_good(void)
{
    char err[256] = "";
    building_map_stats_t st;
    building_map_t *m =
        building_map_parse("good.csv", good_csv, strlen(good_csv), stderr, &st, err, sizeof err);
    CHECK(m != NULL);
    if (!m)
        return;
    CHECK_EQ_UINT(st.loaded, 7);
    CHECK_EQ_UINT(st.v4, 5);
    CHECK_EQ_UINT(st.v6, 2);
    CHECK_EQ_UINT(st.skipped, 0);
    CHECK_EQ_INT(st.columns, 15);
    /* longest prefix wins, whatever the file's order */
    const building_t *b = building_map_lookup_text(m, "10.1.2.77");
    CHECK(b && strcmp(b->f[BUILDING_F_BUILDING], "Lyon HQ floor 2") == 0);
    CHECK(b && b->net.len == 24 && b->line == 3 && b->inside_corp && b->express_route && !b->vpn);
    b = building_map_lookup_text(m, "10.1.3.1");
    CHECK(b && strcmp(b->f[BUILDING_F_BUILDING], "Lyon HQ") == 0);
    b = building_map_lookup_text(m, "10.200.0.1");
    CHECK(b && strcmp(b->f[BUILDING_F_BUILDING], "Campus") == 0);
    b = building_map_lookup_text(m, "8.8.8.8"); /* only the /0 holds it */
    CHECK(b && strcmp(b->f[BUILDING_F_BUILDING], "Internet") == 0 && !b->inside_corp);
    /* host bits in NetworkIP are cleared: 192.168.7.99/24 is 192.168.7.0/24 */
    b = building_map_lookup_text(m, "192.168.7.1");
    CHECK(b && b->vpn && strcmp(b->f[BUILDING_F_CITY], "Paris") == 0);
    CHECK(b && strcmp(b->f[BUILDING_F_OFFICE_TYPE], "") == 0);
    /* IPv6, and the two families never mix */
    b = building_map_lookup_text(m, "2001:db8:1:2::42");
    CHECK(b && strcmp(b->f[BUILDING_F_BUILDING], "Paris lab") == 0 && !b->inside_corp);
    b = building_map_lookup_text(m, "2001:db8:1:3::1");
    CHECK(b && strcmp(b->f[BUILDING_F_BUILDING], "Paris") == 0);
    CHECK(building_map_lookup_text(m, "2001:db9::1") == NULL);
    CHECK(building_map_lookup_text(m, "::ffff:10.1.2.3") == NULL);
    /* canonical bytes */
    const uint8_t v4[4] = {10, 1, 2, 3};
    b = building_map_lookup_bytes(m, v4, 4);
    CHECK(b && strcmp(b->f[BUILDING_F_NETWORK_NAME], "Lyon-Floor2") == 0);
    CHECK(building_map_lookup_bytes(m, v4, 3) == NULL);
    CHECK(building_map_lookup_text(m, "not an address") == NULL);
    CHECK(building_map_lookup_text(m, NULL) == NULL);
    /* order: IPv4 first, longest first */
    CHECK(building_map_at(m, 0) && building_map_at(m, 0)->net.len == 24);
    CHECK(building_map_at(m, 7) == NULL);
    building_map_free(&m);
    CHECK(m == NULL);
}

static void test_tabs_no_vpn(void)
{
    const char tsv[] = "\xef\xbb\xbf"
                       "172.16.0.0\tLab\t12\tLab bldg\tOwn\tLab\tClosed\tBerlin\t10115\tDE\tBE\t"
                       "EMEA\t1\t0\n";
    char err[256] = "";
    building_map_stats_t st;
    building_map_t *m = building_map_parse("t.tsv", tsv, strlen(tsv), NULL, &st, err, sizeof err);
    CHECK(m != NULL);
    CHECK_EQ_INT(st.columns, 14);
    const building_t *b = building_map_lookup_text(m, "172.31.255.255");
    CHECK(b && strcmp(b->f[BUILDING_F_COUNTRY], "DE") == 0 && !b->vpn);
    CHECK(building_map_lookup_text(m, "172.32.0.0") == NULL);
    building_map_free(&m);
}

static void test_bad_lines(void)
{
    const char text[] = "10.0.0.0,A,8,A,,,,,,,,,1,0\n"           /* 1 good */
                        "10.0.0.300,B,24,B,,,,,,,,,1,0\n"        /* 2 column 1 */
                        "10.2.0.0,C,33,C,,,,,,,,,1,0\n"          /* 3 column 3 */
                        "10.3.0.0,D,x,D,,,,,,,,,1,0\n"           /* 4 column 3 */
                        "10.4.0.0,E,16,E,,,,,,,,,yes,0\n"        /* 5 column 13 */
                        "10.5.0.0,F,16,F,,,,,,,,,1,2\n"          /* 6 column 14 */
                        "10.0.0.0,G,8,G,,,,,,,,,1,0\n"           /* 7 duplicate of 1 */
                        "2001:db8::,H,129,H,,,,,,,,,1,0\n"       /* 8 column 3 */
                        ",I,16,I,,,,,,,,,1,0\n"                  /* 9 column 1 empty */
                        "10.6.0.0 , J ,16, J ,,,,,,,,, 1 , 0\n"; /* 10 good (spaces trimmed) */
    char err[256] = "";
    building_map_stats_t st;
    FILE *diag = tmpfile();
    building_map_t *m =
        building_map_parse("bad.csv", text, strlen(text), diag, &st, err, sizeof err);
    CHECK(m != NULL);
    CHECK_EQ_UINT(st.lines, 10);
    CHECK_EQ_UINT(st.loaded, 2);
    CHECK_EQ_UINT(st.skipped, 8);
    CHECK_EQ_UINT(st.duplicates, 1);
    char out[4096] = "";
    if (diag) {
        rewind(diag);
        size_t n = fread(out, 1, sizeof out - 1, diag);
        out[n] = '\0';
        fclose(diag);
    }
    CHECK(strstr(out, "bad.csv:2: column 1 (NetworkIP): not an IPv4 or IPv6 address") != NULL);
    CHECK(strstr(out, "bad.csv:3: column 3 (NetworkRange): longer than 32") != NULL);
    CHECK(strstr(out, "bad.csv:4: column 3 (NetworkRange)") != NULL);
    CHECK(strstr(out, "bad.csv:5: column 13 (InsideCorp): not 0 or 1") != NULL);
    CHECK(strstr(out, "bad.csv:6: column 14 (ExpressRoute)") != NULL);
    CHECK(strstr(out, "bad.csv:7: column 1 (NetworkIP): network already on line 1") != NULL);
    CHECK(strstr(out, "bad.csv:8: column 3") != NULL);
    CHECK(strstr(out, "bad.csv:9: column 1 (NetworkIP): empty") != NULL);
    const building_t *b = building_map_lookup_text(m, "10.6.1.1");
    CHECK(b && strcmp(b->f[BUILDING_F_BUILDING], "J") == 0 && b->inside_corp);
    b = building_map_lookup_text(m, "10.9.9.9");
    CHECK(b && strcmp(b->f[BUILDING_F_BUILDING], "A") == 0); /* the first line's, not G */
    building_map_free(&m);
}

static void test_refused(void)
{
    char err[256];
    building_map_stats_t st;
    /* a header row has the right count but is not data: skipped, named */
    const char header[] = "NetworkIP,NetworkName,NetworkRange,BuildingName,OwnershipType,"
                          "BuildingType,BuildingOfficeType,City,ZipCode,Country,State,Region,"
                          "InsideCorp,ExpressRoute\n10.0.0.0,A,8,A,,,,,,,,,1,0\n";
    building_map_t *m =
        building_map_parse("h.csv", header, strlen(header), NULL, &st, err, sizeof err);
    CHECK(m && st.skipped == 1 && st.loaded == 1);
    building_map_free(&m);
    /* the second line has 13 columns: the whole file is refused */
    const char short_line[] = "10.0.0.0,A,8,A,,,,,,,,,1,0\n10.1.0.0,B,16,B,,,,,,,,,1\n";
    err[0] = '\0';
    m = building_map_parse("s.csv", short_line, strlen(short_line), NULL, &st, err, sizeof err);
    CHECK(m == NULL);
    CHECK(strstr(err, "s.csv:2: 13 columns where line 1 has 14; file refused") != NULL);
    /* the first line decides: 3 columns is not the format */
    const char three[] = "10.0.0.0,8,A\n";
    m = building_map_parse("3.csv", three, strlen(three), NULL, &st, err, sizeof err);
    CHECK(m == NULL);
    CHECK(strstr(err, "3.csv:1: 3 comma-separated columns") != NULL);
    /* 16 columns */
    const char sixteen[] = "10.0.0.0,A,8,A,,,,,,,,,1,0,0,extra\n";
    m = building_map_parse("16.csv", sixteen, strlen(sixteen), NULL, &st, err, sizeof err);
    CHECK(m == NULL && strstr(err, "16 comma-separated") != NULL);
    /* empty, and binary */
    m = building_map_parse("e.csv", "\n\n", 2, NULL, &st, err, sizeof err);
    CHECK(m == NULL && strstr(err, "no networks") != NULL);
    const char bin[] = "10.0.0.0,A,8\0,A";
    m = building_map_parse("b.csv", bin, sizeof bin, NULL, &st, err, sizeof err);
    CHECK(m == NULL && strstr(err, "NUL") != NULL);
    m = building_map_load("/nonexistent/buildings.csv", NULL, &st, err, sizeof err);
    CHECK(m == NULL && strstr(err, "/nonexistent/buildings.csv") != NULL);
}

/* The same map built row by row (as from the store) answers the same. */
static void test_add(void)
{
    building_map_t *m = building_map_new();
    CHECK(m != NULL);
    char err[128];
    building_t b;
    memset(&b, 0, sizeof b);
    CHECK(netprefix_parse("10.1.0.0/16", &b.net));
    b.f[BUILDING_F_BUILDING] = "Sixteen";
    CHECK(building_map_add(m, &b, err, sizeof err));
    CHECK(netprefix_parse("10.1.128.0/17", &b.net));
    b.f[BUILDING_F_BUILDING] = "Seventeen";
    CHECK(building_map_add(m, &b, err, sizeof err));
    b.net.len = 200;
    CHECK(!building_map_add(m, &b, err, sizeof err));
    /* not finished: no answer rather than a wrong one */
    CHECK(building_map_lookup_text(m, "10.1.200.1") == NULL);
    building_map_finish(m, NULL);
    const building_t *r = building_map_lookup_text(m, "10.1.200.1");
    CHECK(r && strcmp(r->f[BUILDING_F_BUILDING], "Seventeen") == 0);
    r = building_map_lookup_text(m, "10.1.127.1");
    CHECK(r && strcmp(r->f[BUILDING_F_BUILDING], "Sixteen") == 0);
    CHECK(r && strcmp(r->f[BUILDING_F_CITY], "") == 0);
    building_map_free(&m);
}

/* Every /24 of 10.0.0.0/12 (4096 networks) and every /32 of one: each
 * address finds its own, checked against a linear scan. */
static void test_many(void)
{
    size_t cap = 5000 * 64, len = 0;
    char *text = malloc(cap);
    CHECK(text != NULL);
    if (!text)
        return;
    for (unsigned i = 0; i < 4096; i++)
        len += (size_t)snprintf(text + len, cap - len, "10.%u.%u.0,n,24,B%u,,,,,,,,,1,0\n", i >> 8,
                                i & 255, i);
    for (unsigned i = 0; i < 256; i++)
        len += (size_t)snprintf(text + len, cap - len, "10.0.7.%u,h,32,H%u,,,,,,,,,1,0\n", i, i);
    char err[128];
    building_map_stats_t st;
    building_map_t *m = building_map_parse("many", text, len, NULL, &st, err, sizeof err);
    CHECK(m && st.loaded == 4096 + 256);
    char addr[32], want[16];
    int wrong = 0;
    for (unsigned i = 0; m && i < 4096; i += 7) {
        snprintf(addr, sizeof addr, "10.%u.%u.%u", i >> 8, i & 255, i % 251);
        snprintf(want, sizeof want, (i == 7) ? "H%u" : "B%u", (i == 7) ? i % 251 : i);
        const building_t *b = building_map_lookup_text(m, addr);
        if (!b || strcmp(b->f[BUILDING_F_BUILDING], want) != 0)
            wrong++;
    }
    CHECK_EQ_INT(wrong, 0);
    CHECK(building_map_lookup_text(m, "10.16.0.1") == NULL);
    building_map_free(&m);
    free(text);
}

int main(void)
{
    RUN(test_good);
    RUN(test_tabs_no_vpn);
    RUN(test_bad_lines);
    RUN(test_refused);
    RUN(test_add);
    RUN(test_many);
    return check_finish("unit_building_map");
}
