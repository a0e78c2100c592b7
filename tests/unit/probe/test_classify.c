/* test_classify.c - probe/classify.h: Teams prefixes (v4 and v6), the
 * client side of a flow, media kind by port range and RTP hints, and the
 * error for a missing ranges file. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* A copy of the shipped ranges with one more line. */
static void write_ranges(const char *path, const char *extra)
{
    FILE *in = fopen(RANGES_FILE, "r"), *out = fopen(path, "w");
    CHECK(in && out);
    char line[256];
    while (in && out && fgets(line, sizeof line, in))
        fputs(line, out);
    if (out)
        fputs(extra, out);
    if (in)
        fclose(in);
    if (out)
        fclose(out);
}

/* One UDP packet from src:50010 to dst:3478 for nDPI (IPv4, 8 payload bytes). */
static void feed_udp(flow_t *f, const char *src, const char *dst)
{
    static uint8_t ip[36];
    memset(ip, 0, sizeof ip);
    ip[0] = 0x45;
    ip[3] = sizeof ip;
    ip[8] = 64;
    ip[9] = IPPROTO_UDP;
    netaddr_t a, b;
    CHECK(netaddr_parse(src, &a) && netaddr_parse(dst, &b));
    memcpy(ip + 12, a.a, 4);
    memcpy(ip + 16, b.a, 4);
    ip[20] = 50010 >> 8, ip[21] = 50010 & 255, ip[22] = 3478 >> 8, ip[23] = 3478 & 255;
    ip[25] = 16;
    pkt_t p;
    memset(&p, 0, sizeof p);
    p.l3 = ip;
    p.l3_len = sizeof ip;
    p.ts = 1000000;
    classify_packet(C, f, &p);
}

/* SIGHUP's ranges swap: a new prefix counts at once; a flow whose nDPI
 * state began before keeps its module until it lets go (ASan: no leak, no
 * use after free); a bad file is refused with the line named. */
static void test_ranges_swap(void)
{
    char path[] = "/tmp/unit_classify_rangesXXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    int dir;
    flow_t *old = flow_from("10.1.2.3", 50010, "192.0.2.7", 3478, &dir);
    classify_flow_start(C, old, dir);
    feed_udp(old, "10.1.2.3", "192.0.2.7");
    CHECK(old->ndpi != NULL);
    CHECK(!teams("192.0.2.7"));
    CHECK_EQ_UINT(classify_ranges_count(C), 4);

    char err[512] = "";
    write_ranges(path, "ip:192.0.2.0/24@Teams\n");
    classify_ranges_t *r = classify_ranges_load(path, err, sizeof err);
    CHECK(r != NULL);
    classify_ranges_swap(C, r);
    CHECK(teams("192.0.2.7"));
    CHECK(teams("52.113.1.1"));
    CHECK_EQ_UINT(classify_ranges_count(C), 5);
    /* the old flow goes on with the module it began with */
    feed_udp(old, "10.1.2.3", "192.0.2.7");
    /* and is judged with the new prefixes at its end */
    classify_flow_end(C, old);
    CHECK_EQ_INT(old->app, APP_TEAMS);
    CHECK(old->ndpi == NULL && old->ranges == NULL); /* the old module went with it */
    free(old);
    /* a new flow begins on the new module */
    flow_t *f = flow_from("10.1.2.4", 50010, "192.0.2.8", 3478, &dir);
    classify_flow_start(C, f, dir);
    feed_udp(f, "10.1.2.4", "192.0.2.8");
    CHECK(f->ranges != NULL);
    classify_flow_release(f);
    free(f);

    write_ranges(path, "ip:not-a-prefix@Teams\n");
    r = classify_ranges_load(path, err, sizeof err);
    CHECK(r == NULL);
    CHECK(strstr(err, "'not-a-prefix' is not an IP prefix") != NULL);
    CHECK(teams("192.0.2.7")); /* what was in force stays */
    unlink(path);
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
    RUN(test_ranges_swap);
    classify_free(&C);
    CHECK(C == NULL);
    return check_finish("unit_classify");
}
