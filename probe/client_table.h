/* client_table.h - per-client aggregates (client = the LAN-side address of
 * a media flow, per VLAN): its streams and the worst loss and jitter it saw
 * in each direction. Bounded: past max entries new clients are counted,
 * not kept.
 */
#ifndef CALLSCOPE_CLIENT_TABLE_H
#define CALLSCOPE_CLIENT_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "netaddr.h"
#include "timefmt.h"

typedef struct {
    double worst_loss_pct, worst_jitter_ms;
    uint64_t streams, packets, lost;
} client_dir_t;

typedef struct client {
    netaddr_t addr;
    uint16_t vlan;
    bool has_mac;
    uint8_t mac[6];
    usec_t first_seen, last_seen;
    uint64_t flows, streams;
    uint32_t apps;       /* bit per app_t */
    client_dir_t dir[2]; /* 0 outbound (client sends), 1 inbound */
    struct client *next;
} client_t;

typedef struct client_table client_table_t;

client_table_t *client_table_new(uint32_t max_clients);
void client_table_free(client_table_t **t);
/* Finds or adds; NULL when full (counted). */
client_t *client_table_get(client_table_t *t, const netaddr_t *a, uint16_t vlan);
uint64_t client_table_overflow(const client_table_t *t);
/* Visits clients sorted by address then VLAN (deterministic output). */
void client_table_each_sorted(client_table_t *t, void (*fn)(void *ctx, const client_t *c),
                              void *ctx);

#endif
