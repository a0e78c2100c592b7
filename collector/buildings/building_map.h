/* building_map.h - the tenant's CQD building data file, and which building
 * an address is in.
 *
 * The file is the one Teams administrators upload to Microsoft's Call
 * Quality Dashboard (docs/buildings.md): no header row, one network per
 * line, comma- or tab-separated (the first line decides), columns
 *   NetworkIP, NetworkName, NetworkRange, BuildingName, OwnershipType,
 *   BuildingType, BuildingOfficeType, City, ZipCode, Country, State,
 *   Region, InsideCorp, ExpressRoute[, VPN]
 * NetworkIP is an IPv4 or IPv6 network address, NetworkRange its prefix
 * length (0-32, 0-128), InsideCorp/ExpressRoute/VPN 0 or 1 (VPN may be
 * absent or empty: 0). CQD's format has no quoting: spaces and double
 * quotes around a field are trimmed, a separator inside one is not allowed.
 *
 * Bad input: a line whose fields are not this format (address, range or
 * flag) names the file, line and column on diag and is skipped (counted);
 * a line with another number of columns than the first refuses the whole
 * file (NULL, err says which line and how many), so a caller's previous
 * map stays in force. Host bits set in NetworkIP are cleared (CQD matches
 * the client's subnet); a network listed twice keeps its first line (the
 * others are skipped and counted).
 *
 * Lookup: longest prefix wins, IPv4 and IPv6 apart. Networks are sorted by
 * (family, prefix length descending, address); a lookup masks the address
 * to each length present and binary-searches that run: at most 33 (IPv4)
 * or 129 (IPv6) searches of log2(n) steps, no allocation. Memory is the
 * file's text plus 1 entry per network (bounded by BUILDING_MAP_MAX_*).
 *
 * Nothing here is personal data: networks and buildings. Callers pass a
 * participant's address in memory and never log it with the answer.
 */
#ifndef CALLSCOPE_BUILDING_MAP_H
#define CALLSCOPE_BUILDING_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "netaddr.h"

#define BUILDING_MAP_MAX_BYTES (64u << 20) /* CQD accepts files up to 50 MB */
#define BUILDING_MAP_MAX_ROWS 1000000u     /* CQD's own row limit */
#define BUILDING_MAP_COLUMNS 14            /* without VPN; 15 with it */

/* The text columns, in file order (BUILDING_F_COUNT of them). */
typedef enum {
    BUILDING_F_NETWORK_NAME,
    BUILDING_F_BUILDING,
    BUILDING_F_OWNERSHIP_TYPE,
    BUILDING_F_BUILDING_TYPE,
    BUILDING_F_OFFICE_TYPE,
    BUILDING_F_CITY,
    BUILDING_F_ZIP,
    BUILDING_F_COUNTRY,
    BUILDING_F_STATE,
    BUILDING_F_REGION,
    BUILDING_F_COUNT
} building_field_t;

/* One network of the file. Strings are borrowed from the map ("" when
 * the column was empty), valid until building_map_free(). */
typedef struct {
    netprefix_t net; /* host bits cleared */
    const char *f[BUILDING_F_COUNT];
    bool inside_corp, express_route, vpn;
    unsigned line; /* in the source file (0: added by building_map_add) */
} building_t;

typedef struct {
    size_t lines;      /* non-blank lines read */
    size_t loaded;     /* networks in the map */
    size_t skipped;    /* lines not in the format (named on diag) */
    size_t duplicates; /* networks already listed (of skipped) */
    size_t v4, v6;     /* of loaded */
    int columns;       /* 14 or 15 */
} building_map_stats_t;

typedef struct building_map building_map_t;

/* The column names, as Microsoft spells them (index 0 = NetworkIP). */
const char *building_map_column_name(int column);
/* The text column's name, for output ("building", "city", ...). */
const char *building_map_field_key(building_field_t f);

/* Parses a file's text (name is used in messages). Skipped lines are
 * reported on diag (NULL: not reported; the first 20 only, then a count).
 * NULL with err on a refusal (column count, size, memory). */
building_map_t *building_map_parse(const char *name, const char *text, size_t len, FILE *diag,
                                   building_map_stats_t *stats, char *err, size_t errlen);
/* The same on a file. */
building_map_t *building_map_load(const char *path, FILE *diag, building_map_stats_t *stats,
                                  char *err, size_t errlen);

/* An empty map to fill with building_map_add() (e.g. from the store),
 * then building_map_finish() before any lookup. */
building_map_t *building_map_new(void);
/* Copies b (net, strings, flags). false when full or out of memory. */
bool building_map_add(building_map_t *m, const building_t *b, char *err, size_t errlen);
/* Sorts; duplicates after the first are dropped and counted. */
void building_map_finish(building_map_t *m, building_map_stats_t *stats);

/* The building whose network holds a, the longest prefix; NULL: none
 * (or a is unset). Borrowed from m. */
const building_t *building_map_lookup(const building_map_t *m, const netaddr_t *a);
/* The same on an address's text ("10.1.2.3", "2001:db8::1"). */
const building_t *building_map_lookup_text(const building_map_t *m, const char *addr);
/* The same on canonical bytes: 4 (IPv4) or 16 (IPv6) bytes. */
const building_t *building_map_lookup_bytes(const building_map_t *m, const uint8_t *b, size_t n);

/* b as a JSON object (new reference): "network" ("10.1.2.0/24"), every
 * text column under building_map_field_key()'s name, "inside_corp",
 * "express_route", "vpn" (booleans). json null for b NULL (unmapped). The
 * same shape for report, the API and the dashboard. */
json_t *building_map_json(const building_t *b);

size_t building_map_count(const building_map_t *m);
/* The i-th network in lookup order (family, longest first, address). */
const building_t *building_map_at(const building_map_t *m, size_t i);

void building_map_free(building_map_t **m);

#endif
