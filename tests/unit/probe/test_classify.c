/* test_classify.c - probe/classify.h: Teams prefixes (v4 and v6), the
 * client side of a flow, media kind by port range and RTP hints, and the
 * error for a missing ranges file. */
#include <netinet/in.h>
#include <stdlib.h>

#include "check.h"
#include "classify.h"
#include "flow_table.h"

#ifndef RANGES_FILE
#error "RANGES_FILE must name probe/teams-media.protos"
#endif

static classify_t *C;

static bool teams(const char *s)
{
    netaddr_t a;
    CHECK(netaddr_parse(s, &a));
    return classify_is_teams_addr(C, &a);
}

static void test_teams_addresses(void)
{
    CHECK(teams("52.113.1.1"));
    CHECK(teams("52.122.5.5"));
    CHECK(teams("13.107.64.1"));
    CHECK(teams("2603:1063:1::20"));
    CHECK(!teams("52.111.255.255"));
    CHECK(!teams("8.8.8.8"));
    CHECK(!teams("10.1.2.3"));
    CHECK(!teams("2001:db8::1"));
}

static flow_t *flow_from(const char *src, uint16_t sport, const char *dst, uint16_t dport, int *dir)
{
    pkt_t p;
    memset(&p, 0, sizeof p);
    CHECK(netaddr_parse(src, &p.src));
    CHECK(netaddr_parse(dst, &p.dst));
    p.sport = sport;
    p.dport = dport;
    p.l4proto = IPPROTO_UDP;
    flow_t *f = calloc(1, sizeof *f);
    flow_key_from_pkt(&p, &f->key, dir);
    f->client_side = -1;
    return f;
}

static void test_client_side(void)
{
    int dir;
    /* client sends first */
    flow_t *f = flow_from("10.1.2.3", 50010, "52.113.1.1", 3478, &dir);
    classify_flow_start(C, f, dir);
    CHECK_EQ_INT(f->init_side, dir);
    CHECK_STR(netaddr_fmt(&f->key.addr[f->client_side], (char[NETADDR_STRLEN]){0}, NETADDR_STRLEN),
              "10.1.2.3");
    CHECK_EQ_UINT(f->key.port[f->client_side], 50010);
    classify_flow_end(C, f);
    CHECK_EQ_INT(f->app, APP_TEAMS);
    free(f);

    /* relay sends first */
    f = flow_from("52.113.1.1", 3478, "10.1.2.3", 50010, &dir);
    classify_flow_start(C, f, dir);
    CHECK_EQ_INT(f->init_side, dir);
    CHECK_STR(netaddr_fmt(&f->key.addr[f->client_side], (char[NETADDR_STRLEN]){0}, NETADDR_STRLEN),
              "10.1.2.3");
    classify_flow_end(C, f);
    CHECK_EQ_INT(f->app, APP_TEAMS);
    free(f);

    /* the same client endpoint then talks peer-to-peer: known as Teams */
    f = flow_from("10.1.2.3", 50010, "198.51.100.7", 61000, &dir);
    classify_flow_start(C, f, dir);
    CHECK_STR(netaddr_fmt(&f->key.addr[f->client_side], (char[NETADDR_STRLEN]){0}, NETADDR_STRLEN),
              "10.1.2.3");
    CHECK_EQ_INT(classify_app_now(C, f), APP_TEAMS);
    free(f);

    /* IPv6 relay */
    f = flow_from("2603:1063:1::20", 3478, "2001:db8::1", 50030, &dir);
    classify_flow_start(C, f, dir);
    CHECK_STR(netaddr_fmt(&f->key.addr[f->client_side], (char[NETADDR_STRLEN]){0}, NETADDR_STRLEN),
              "2001:db8::1");
    free(f);
}

static void test_media(void)
{
    flow_t f;
    memset(&f, 0, sizeof f);
    f.client_side = 0;
    f.app = APP_TEAMS;
    f.key.port[1] = 3478;
    static const struct {
        uint16_t port;
        media_t m;
    } cases[] = {
        {50000, MEDIA_AUDIO}, {50019, MEDIA_AUDIO},       {50020, MEDIA_VIDEO},
        {50039, MEDIA_VIDEO}, {50040, MEDIA_SCREENSHARE}, {50059, MEDIA_SCREENSHARE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        f.key.port[0] = cases[i].port;
        /* the port range wins over RTP hints that say otherwise */
        CHECK_EQ_INT(classify_media(&f, 96, 90000, 5), cases[i].m);
    }
    /* outside the ranges, or not Teams: the RTP hints decide */
    f.key.port[0] = 50060;
    CHECK_EQ_INT(classify_media(&f, 0, 8000, 1), MEDIA_AUDIO);
    CHECK_EQ_INT(classify_media(&f, 111, 48000, 1), MEDIA_AUDIO);
    CHECK_EQ_INT(classify_media(&f, 96, 90000, 1), MEDIA_VIDEO);
    CHECK_EQ_INT(classify_media(&f, 96, 0, 3), MEDIA_VIDEO);
    /* G.711 with RFC 4733 telephone-events: an event's 3+ packets share one
     * timestamp, yet the codec says audio */
    CHECK_EQ_INT(classify_media(&f, 0, 8000, 7), MEDIA_AUDIO);
    CHECK_EQ_INT(classify_media(&f, 8, 8000, 3), MEDIA_AUDIO);
    CHECK_EQ_INT(classify_media(&f, 111, 48000, 4), MEDIA_AUDIO);
    CHECK_EQ_INT(classify_media(&f, 34, 0, 1), MEDIA_VIDEO); /* H.263 */
    CHECK_EQ_INT(classify_media(&f, 96, 0, 1), MEDIA_UNKNOWN);
    f.key.port[0] = 49999;
    CHECK_EQ_INT(classify_media(&f, 96, 0, 1), MEDIA_UNKNOWN);
    f.app = APP_ZOOM;
    f.key.port[0] = 50010;
    CHECK_EQ_INT(classify_media(&f, 96, 0, 1), MEDIA_UNKNOWN);
    CHECK_STR(classify_media_name(MEDIA_SCREENSHARE), "screenshare");
    CHECK_STR(classify_app_name(APP_TEAMS), "teams");
}

static void test_missing_file(void)
{
    char err[512] = "";
    classify_cfg_t cfg = {.ranges_file = "/nonexistent/dir/teams-media.protos",
                          .ndpi_max_packets = 8};
    classify_t *c = classify_new(&cfg, err, sizeof err);
    CHECK(c == NULL);
    CHECK(strstr(err, "/nonexistent/dir/teams-media.protos") != NULL);
    classify_free(&c); /* NULL-safe */
}

int main(void)
{
    char err[512] = "";
    classify_cfg_t cfg = {.ranges_file = RANGES_FILE, .ndpi_max_packets = 8};
    C = classify_new(&cfg, err, sizeof err);
    CHECK(C != NULL);
    if (!C) {
        fprintf(stderr, "classify_new: %s\n", err);
        return check_finish("unit_classify");
    }
    RUN(test_teams_addresses);
    RUN(test_client_side);
    RUN(test_media);
    RUN(test_missing_file);
    classify_free(&C);
    CHECK(C == NULL);
    return check_finish("unit_classify");
}
