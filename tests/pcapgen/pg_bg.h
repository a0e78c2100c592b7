/* pg_bg: background (non-media) traffic: DNS, TLS-looking TCP 443,
 * Zoom-like UDP 8801. */
#ifndef PG_BG_H
#define PG_BG_H

#include <stddef.h>
#include <stdint.h>

#include "pg_ctx.h"
#include "pg_flow.h"

/* DNS A query (answer NULL) or response with one A record. */
size_t pg_bg_dns(uint8_t *out, size_t cap, uint16_t id, const char *name, const uint8_t *answer);
/* Query from client to server at t, response 15 ms later. */
void pg_bg_dns_exchange(pg_ctx *c, const pg_ep *client, const pg_ep *server, uint64_t t,
                        const char *name, const uint8_t ans[4]);
/* TLS 1.2/1.3 application-data record of n random bytes. */
size_t pg_bg_tls_record(uint8_t *out, size_t cap, pg_rng *r, size_t n);
/* A TCP flow (no media framing) between client and server. */
void pg_bg_tcp_flow(pg_ctx *c, pg_flow *f, const pg_ep *client, const pg_ep *server);
/* Zoom-like media datagram: 0x05, seq, timestamp, type, random payload. */
size_t pg_bg_zoom(uint8_t *out, size_t cap, pg_rng *r, uint16_t seq, uint32_t ts, size_t n);

#endif
