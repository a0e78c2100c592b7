/* building_unmapped.h - CQD's "missing subnets" report: the client subnets
 * with probe streams in a window that no network of the building map
 * holds, so an administrator knows which lines the building file lacks.
 *
 * Each distinct client (streams.client_ip_hmac) in the window is opened
 * once with the organisation key, in memory; its subnet is the address
 * masked to prefix4 (IPv4) or prefix6 (IPv6) bits. Only subnets are
 * returned, never addresses. At most BUILDING_UNMAPPED_MAX subnets are
 * kept (the rest counted in more). Either backend (common/db.h).
 */
#ifndef CALLSCOPE_BUILDING_UNMAPPED_H
#define CALLSCOPE_BUILDING_UNMAPPED_H

#include <stddef.h>
#include <stdint.h>

#include "building_map.h"
#include "db.h"
#include "pii.h"

#define BUILDING_UNMAPPED_MAX 100000u

typedef struct {
    netprefix_t subnet;
    uint64_t streams; /* in the window */
    uint64_t clients; /* distinct addresses */
} building_unmapped_t;

typedef struct {
    building_unmapped_t *v; /* streams descending, then subnet */
    size_t n;
    uint64_t clients;    /* distinct clients in the window */
    uint64_t mapped;     /* of them, in a building */
    uint64_t unreadable; /* addresses that would not open (another key) */
    uint64_t more;       /* subnets beyond BUILDING_UNMAPPED_MAX */
} building_unmapped_list_t;

/* Fills out with the subnets having at least min_streams streams whose
 * first_seen is at or after since_iso. false with err on a store error. */
bool building_unmapped_find(db_t *db, const pii_t *pii, const building_map_t *m,
                            const char *since_iso, unsigned prefix4, unsigned prefix6,
                            uint64_t min_streams, building_unmapped_list_t *out, char *err,
                            size_t errlen);
void building_unmapped_clear(building_unmapped_list_t *l);

#endif
