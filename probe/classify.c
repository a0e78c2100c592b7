#include "classify.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ndpi_api.h>

#include "log.h"
#include "siphash.h"

#define MAX_PREFIXES 256
#define EP_CACHE_SIZE 4096 /* direct-mapped; a slot is overwritten on clash */
#define TEAMS_PORT_LO 50000
#define TEAMS_PORT_HI 50059

typedef struct {
    netaddr_t addr;
    uint16_t port, vlan;
    bool used;
} endpoint_t;

struct classify_ranges {
    struct ndpi_detection_module_struct *ndpi;
    netprefix_t teams[MAX_PREFIXES];
    size_t nteams;
    uint64_t flows; /* flows whose nDPI state began with this module */
    bool retired;   /* swapped out: freed when flows reaches 0 */
};

struct classify {
    classify_cfg_t cfg;
    classify_ranges_t *cur;
    siphash_key_t key;
    endpoint_t ep_cache[EP_CACHE_SIZE];
    classify_stats_t st;
};

static const char *const app_names[APP_COUNT] = {
    "other", "teams", "skype", "zoom", "webex", "meet", "whatsapp", "facebook", "signal", "discord",
};
static const char *const media_names[MEDIA_COUNT] = {"unknown", "audio", "video", "screenshare"};

const char *classify_app_name(app_t a)
{
    return (unsigned)a < APP_COUNT ? app_names[a] : "other";
}

const char *classify_media_name(media_t m)
{
    return (unsigned)m < MEDIA_COUNT ? media_names[m] : "unknown";
}

const classify_stats_t *classify_stats(const classify_t *c)
{
    return &c->st;
}

/* ---- Teams ranges ------------------------------------------------------- */

static bool add_range(classify_ranges_t *c, const char *text, const char *path, int lineno,
                      char *err, size_t errlen)
{
    char buf[80];
    size_t n = strcspn(text, "@ \t\r\n");
    if (n == 0 || n >= sizeof buf || c->nteams >= MAX_PREFIXES) {
        snprintf(err, errlen, "%s:%d: bad or too many prefixes", path, lineno);
        return false;
    }
    memcpy(buf, text, n);
    buf[n] = '\0';
    if (!netprefix_parse(buf, &c->teams[c->nteams])) {
        snprintf(err, errlen, "%s:%d: '%s' is not an IP prefix", path, lineno, buf);
        return false;
    }
    c->nteams++;
    return true;
}

static bool load_ranges(classify_ranges_t *c, const char *path, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        snprintf(err, errlen, "cannot open Teams ranges file %s: %s", path, strerror(errno));
        return false;
    }
    char line[256];
    int lineno = 0;
    bool ok = true;
    while (ok && fgets(line, sizeof line, fp)) {
        lineno++;
        if (strncmp(line, "ip:", 3) == 0 && strstr(line, "@Teams"))
            ok = add_range(c, line + 3, path, lineno, err, errlen);
        else if (strncmp(line, "#ipv6:", 6) == 0 && strstr(line, "@Teams"))
            ok = add_range(c, line + 6, path, lineno, err, errlen);
    }
    fclose(fp);
    if (ok && c->nteams == 0) {
        snprintf(err, errlen, "%s: no Teams prefixes (lines 'ip:PREFIX@Teams')", path);
        ok = false;
    }
    return ok;
}

bool classify_is_teams_addr(const classify_t *c, const netaddr_t *a)
{
    const classify_ranges_t *r = c->cur;
    for (size_t i = 0; i < r->nteams; i++)
        if (netprefix_contains(&r->teams[i], a))
            return true;
    return false;
}

size_t classify_ranges_count(const classify_t *c)
{
    return c->cur->nteams;
}

void classify_ranges_free(classify_ranges_t **pr)
{
    if (!pr || !*pr)
        return;
    if ((*pr)->ndpi)
        ndpi_exit_detection_module((*pr)->ndpi);
    free(*pr);
    *pr = NULL;
}

classify_ranges_t *classify_ranges_load(const char *path, char *err, size_t errlen)
{
    classify_ranges_t *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (!load_ranges(r, path, err, errlen))
        goto fail;
    r->ndpi = ndpi_init_detection_module(ndpi_no_prefs);
    if (!r->ndpi) {
        snprintf(err, errlen, "nDPI initialisation failed");
        goto fail;
    }
    NDPI_PROTOCOL_BITMASK all;
    NDPI_BITMASK_SET_ALL(all);
    ndpi_set_protocol_detection_bitmask2(r->ndpi, &all);
    if (ndpi_load_protocols_file(r->ndpi, (char *)path) != 0) {
        snprintf(err, errlen, "nDPI could not load protocol file %s", path);
        goto fail;
    }
    ndpi_finalize_initialization(r->ndpi);
    return r;
fail:
    classify_ranges_free(&r);
    return NULL;
}

/* The set is no longer current: freed now or by its last flow. */
static void ranges_retire(classify_ranges_t *r)
{
    if (!r)
        return;
    r->retired = true;
    if (r->flows == 0)
        classify_ranges_free(&r);
}

void classify_ranges_swap(classify_t *c, classify_ranges_t *r)
{
    ranges_retire(c->cur);
    c->cur = r;
}

/* ---- life cycle --------------------------------------------------------- */

classify_t *classify_new(const classify_cfg_t *cfg, char *err, size_t errlen)
{
    classify_t *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->cfg = *cfg;
    siphash_key_random(&c->key);
    c->cur = classify_ranges_load(cfg->ranges_file, err, errlen);
    if (!c->cur) {
        free(c);
        return NULL;
    }
    return c;
}

void classify_free(classify_t **pc)
{
    if (!pc || !*pc)
        return;
    ranges_retire((*pc)->cur); /* flows still holding nDPI state free it last */
    free(*pc);
    *pc = NULL;
}

/* ---- client side and the endpoint cache --------------------------------- */

static bool teams_port(uint16_t p)
{
    return p >= TEAMS_PORT_LO && p <= TEAMS_PORT_HI;
}

static bool relay_port(uint16_t p)
{
    return p >= 3478 && p <= 3481;
}

static bool service_port(uint16_t p)
{
    return p < 1024 || p == 5060 || p == 5061 || p == 8801 || p == 8802 ||
           (p >= 19302 && p <= 19309);
}

/* How much an endpoint looks like the server/relay end of a flow. */
static int server_score(const classify_t *c, const netaddr_t *a, uint16_t port)
{
    int s = 0;
    if (classify_is_teams_addr(c, a))
        s += 8;
    if (relay_port(port))
        s += 4;
    if (service_port(port))
        s += 2;
    if (!netaddr_is_private(a))
        s += 1;
    if (teams_port(port))
        s -= 4;
    return s;
}

static endpoint_t *ep_slot(classify_t *c, const netaddr_t *a, uint16_t port, uint16_t vlan)
{
    struct {
        netaddr_t a;
        uint16_t port, vlan;
    } k;
    memset(&k, 0, sizeof k);
    k.a = *a;
    k.port = port;
    k.vlan = vlan;
    return &c->ep_cache[siphash13(&c->key, &k, sizeof k) % EP_CACHE_SIZE];
}

static void ep_remember(classify_t *c, const flow_t *f)
{
    int cs = f->client_side;
    endpoint_t *e = ep_slot(c, &f->key.addr[cs], f->key.port[cs], f->key.vlan);
    e->addr = f->key.addr[cs];
    e->port = f->key.port[cs];
    e->vlan = f->key.vlan;
    e->used = true;
}

static bool ep_known(classify_t *c, const flow_t *f)
{
    int cs = f->client_side;
    const endpoint_t *e = ep_slot(c, &f->key.addr[cs], f->key.port[cs], f->key.vlan);
    return e->used && e->port == f->key.port[cs] && e->vlan == f->key.vlan &&
           netaddr_cmp(&e->addr, &f->key.addr[cs]) == 0;
}

void classify_flow_start(classify_t *c, flow_t *f, int dir)
{
    f->init_side = (uint8_t)dir;
    int s0 = server_score(c, &f->key.addr[0], f->key.port[0]);
    int s1 = server_score(c, &f->key.addr[1], f->key.port[1]);
    if (s0 == s1)
        f->client_side = (int8_t)dir; /* the initiator */
    else
        f->client_side = s0 > s1 ? 1 : 0;
    int remote = 1 - f->client_side;
    if (f->key.proto == IPPROTO_UDP && classify_is_teams_addr(c, &f->key.addr[remote]))
        ep_remember(c, f);
}

/* ---- nDPI --------------------------------------------------------------- */

/* Protocols nDPI recognises by their own structure that never carry RTP:
 * their payloads are not searched for media (random first bytes of DNS or
 * LLMNR ids would otherwise look like one-packet RTP streams). */
static bool proto_never_media(uint16_t master, uint16_t app)
{
    static const uint16_t deny[] = {
        NDPI_PROTOCOL_DNS,     NDPI_PROTOCOL_HTTP,       NDPI_PROTOCOL_MDNS,  NDPI_PROTOCOL_NTP,
        NDPI_PROTOCOL_NETBIOS, NDPI_PROTOCOL_SSDP,       NDPI_PROTOCOL_SNMP,  NDPI_PROTOCOL_SYSLOG,
        NDPI_PROTOCOL_DHCP,    NDPI_PROTOCOL_DHCPV6,     NDPI_PROTOCOL_LLMNR, NDPI_PROTOCOL_QUIC,
        NDPI_PROTOCOL_TLS,     NDPI_PROTOCOL_BITTORRENT,
    };
    for (size_t i = 0; i < sizeof deny / sizeof deny[0]; i++)
        if (master == deny[i] || (master == 0 && app == deny[i]))
            return true;
    return false;
}

static bool is_teams_proto(uint16_t id)
{
    return id == NDPI_PROTOCOL_MSTEAMS || id == NDPI_PROTOCOL_SKYPE_TEAMS;
}

static void ndpi_settle(classify_t *c, flow_t *f, ndpi_protocol r)
{
    f->ndpi_master = r.master_protocol;
    f->ndpi_app = r.app_protocol;
    f->not_media = proto_never_media(r.master_protocol, r.app_protocol);
    ndpi_protocol2name(f->ranges->ndpi, r, f->ndpi_name, sizeof f->ndpi_name);
    if (f->key.proto == IPPROTO_UDP &&
        (is_teams_proto(r.app_protocol) || is_teams_proto(r.master_protocol)))
        ep_remember(c, f);
}

static void ndpi_done(classify_t *c, flow_t *f)
{
    if (f->ndpi_done)
        return;
    f->ndpi_done = true;
    if (!f->ndpi)
        return;
    if (f->ndpi_master == NDPI_PROTOCOL_UNKNOWN && f->ndpi_app == NDPI_PROTOCOL_UNKNOWN) {
        uint8_t guessed = 0;
        ndpi_protocol r = ndpi_detection_giveup(f->ranges->ndpi, f->ndpi, 1, &guessed);
        c->st.ndpi_giveups++;
        ndpi_settle(c, f, r);
    }
    classify_flow_release(f);
}

void classify_packet(classify_t *c, flow_t *f, const pkt_t *p)
{
    if (f->ndpi_done || !p->l3)
        return;
    if (!f->ndpi) {
        f->ndpi = calloc(1, SIZEOF_FLOW_STRUCT);
        if (!f->ndpi) {
            c->st.ndpi_alloc_failures++;
            f->ndpi_done = true;
            return;
        }
        f->ranges = c->cur;
        c->cur->flows++;
        c->st.ndpi_flows++;
    }
    uint32_t len = p->l3_len > 65535 ? 65535 : p->l3_len;
    ndpi_protocol r = ndpi_detection_process_packet(f->ranges->ndpi, f->ndpi, p->l3,
                                                    (unsigned short)len, (uint64_t)(p->ts / 1000));
    c->st.ndpi_packets++;
    f->ndpi_packets++;
    bool detected =
        r.app_protocol != NDPI_PROTOCOL_UNKNOWN || r.master_protocol != NDPI_PROTOCOL_UNKNOWN;
    if (detected)
        ndpi_settle(c, f, r);
    if ((detected && !ndpi_extra_dissection_possible(f->ranges->ndpi, f->ndpi)) ||
        f->ndpi_packets >= c->cfg.ndpi_max_packets)
        ndpi_done(c, f);
}

void classify_flow_release(flow_t *f)
{
    if (f->ndpi) {
        ndpi_free_flow(f->ndpi);
        f->ndpi = NULL;
    }
    classify_ranges_t *r = f->ranges;
    f->ranges = NULL;
    if (r && --r->flows == 0 && r->retired)
        classify_ranges_free(&r);
}

/* ---- the decision ------------------------------------------------------- */

static app_t app_from_ndpi(uint16_t id)
{
    switch (id) {
    case NDPI_PROTOCOL_MSTEAMS:
    case NDPI_PROTOCOL_SKYPE_TEAMS:
        return APP_TEAMS;
    case NDPI_PROTOCOL_SKYPE_CALL:
        return APP_SKYPE;
    case NDPI_PROTOCOL_ZOOM:
        return APP_ZOOM;
    case NDPI_PROTOCOL_WEBEX:
        return APP_WEBEX;
    case NDPI_PROTOCOL_WHATSAPP:
    case NDPI_PROTOCOL_WHATSAPP_CALL:
        return APP_WHATSAPP;
    case NDPI_PROTOCOL_FACEBOOK_VOIP:
        return APP_FACEBOOK;
    case NDPI_PROTOCOL_SIGNAL:
        return APP_SIGNAL;
    case NDPI_PROTOCOL_DISCORD:
        return APP_DISCORD;
    case NDPI_PROTOCOL_GOOGLE:
        return APP_MEET;
    default:
        return APP_OTHER;
    }
}

static app_t app_decide(classify_t *c, const flow_t *f)
{
    int cs = f->client_side < 0 ? 0 : f->client_side;
    app_t nd = app_from_ndpi(f->ndpi_app);
    if (nd == APP_OTHER)
        nd = app_from_ndpi(f->ndpi_master);
    if (classify_is_teams_addr(c, &f->key.addr[1 - cs]) || nd == APP_TEAMS)
        return APP_TEAMS;
    if (f->key.proto == IPPROTO_UDP && ep_known(c, f))
        return APP_TEAMS;
    if (nd == APP_SKYPE && teams_port(f->key.port[cs]))
        return APP_TEAMS;
    /* Google's STUN/TURN ports for Meet; nDPI 4.2 calls some of these flows
     * FacebookVoip (shared/pcaps/public/stun_google_meet.pcapng). */
    uint16_t rport = f->key.port[1 - cs];
    if (f->key.proto == IPPROTO_UDP && rport >= 19302 && rport <= 19309)
        return APP_MEET;
    /* nDPI 4.2 calls any Google destination "Google": only media-looking
     * flows (STUN/RTP/DTLS on UDP) are Meet. */
    if (nd == APP_MEET && f->key.proto != IPPROTO_UDP)
        return APP_OTHER;
    return nd;
}

bool classify_not_media(const flow_t *f)
{
    return f->not_media;
}

app_t classify_app_now(classify_t *c, const flow_t *f)
{
    return app_decide(c, f);
}

void classify_flow_end(classify_t *c, flow_t *f)
{
    ndpi_done(c, f);
    if (f->ndpi_name[0] == '\0')
        snprintf(f->ndpi_name, sizeof f->ndpi_name, "Unknown");
    f->app = app_decide(c, f);
}

media_t classify_media(const flow_t *f, uint8_t pt, uint32_t clock_rate, uint32_t max_pkts_per_ts)
{
    int cs = f->client_side < 0 ? 0 : f->client_side;
    uint16_t port = f->key.port[cs];
    if ((f->app == APP_TEAMS || f->app == APP_SKYPE) && teams_port(port)) {
        if (port < 50020)
            return MEDIA_AUDIO;
        return port < 50040 ? MEDIA_VIDEO : MEDIA_SCREENSHARE;
    }
    if ((pt >= 25 && pt <= 34) || clock_rate == 90000)
        return MEDIA_VIDEO;
    /* The codec and its clock decide before the packet pattern: a G.711
     * stream carrying RFC 4733 telephone-events (DTMF) repeats one event's
     * timestamp over 3 to 7 packets, which looks like a video frame
     * (shared/pcaps/public/SIP_DTMF2.cap, ms4conference.pcapng). */
    if (pt < 25 || clock_rate == 8000 || clock_rate == 16000 || clock_rate == 48000)
        return MEDIA_AUDIO;
    if (max_pkts_per_ts >= 3)
        return MEDIA_VIDEO;
    return MEDIA_UNKNOWN;
}
