/* pg_bg: background traffic builders. */
#include "pg_bg.h"

#include <string.h>

static size_t put_qname(uint8_t *out, size_t cap, const char *name)
{
    size_t o = 0;
    const char *p = name;

    while (*p != '\0') {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        if (l == 0 || l > 63 || o + l + 2 > cap) {
            return 0;
        }
        out[o++] = (uint8_t)l;
        memcpy(out + o, p, l);
        o += l;
        p += l + (dot ? 1 : 0);
    }
    out[o++] = 0;
    return o;
}

size_t pg_bg_dns(uint8_t *out, size_t cap, uint16_t id, const char *name, const uint8_t *answer)
{
    size_t o, q;

    if (cap < 12 + 4 + 16) {
        return 0;
    }
    memset(out, 0, 12);
    pg_put16(out, id);
    pg_put16(out + 2, answer ? 0x8180 : 0x0100);
    pg_put16(out + 4, 1);
    pg_put16(out + 6, answer ? 1 : 0);
    q = put_qname(out + 12, cap - 12 - 4 - 16, name);
    if (q == 0) {
        return 0;
    }
    o = 12 + q;
    pg_put16(out + o, 1);     /* A */
    pg_put16(out + o + 2, 1); /* IN */
    o += 4;
    if (answer != NULL) {
        pg_put16(out + o, 0xC00C); /* pointer to the question name */
        pg_put16(out + o + 2, 1);
        pg_put16(out + o + 4, 1);
        pg_put32(out + o + 6, 300);
        pg_put16(out + o + 10, 4);
        memcpy(out + o + 12, answer, 4);
        o += 16;
    }
    return o;
}

void pg_bg_dns_exchange(pg_ctx *c, const pg_ep *client, const pg_ep *server, uint64_t t,
                        const char *name, const uint8_t ans[4])
{
    uint8_t buf[512];
    uint16_t id = (uint16_t)pg_rng_u64(&c->rng);
    pg_ep cl = *client;
    pg_flow f;
    size_t n;

    cl.port = (uint16_t)pg_rng_range(&c->rng, 32768, 60999);
    pg_flow_init(&f, c, &cl, server, PG_ENC_RAW);
    n = pg_bg_dns(buf, sizeof(buf), id, name, NULL);
    pg_flow_send_plain(c, &f, 0, t, buf, n);
    n = pg_bg_dns(buf, sizeof(buf), id, name, ans);
    pg_flow_send_plain(c, &f, 1, t + 15 * PG_MS, buf, n);
}

size_t pg_bg_tls_record(uint8_t *out, size_t cap, pg_rng *r, size_t n)
{
    if (n + 5 > cap) {
        return 0;
    }
    out[0] = 0x17; /* application_data */
    out[1] = 0x03;
    out[2] = 0x03;
    pg_put16(out + 3, (uint16_t)n);
    pg_rng_fill(r, out + 5, n);
    return n + 5;
}

void pg_bg_tcp_flow(pg_ctx *c, pg_flow *f, const pg_ep *client, const pg_ep *server)
{
    pg_flow_init(f, c, client, server, PG_ENC_RAW);
    f->tcp = 1;
}

size_t pg_bg_zoom(uint8_t *out, size_t cap, pg_rng *r, uint16_t seq, uint32_t ts, size_t n)
{
    if (n + 8 > cap) {
        return 0;
    }
    out[0] = 0x05; /* Zoom media encapsulation type, not RTP (version 0) */
    pg_put16(out + 1, seq);
    pg_put32(out + 3, ts);
    out[7] = 0x0f; /* audio */
    pg_rng_fill(r, out + 8, n);
    return n + 8;
}
