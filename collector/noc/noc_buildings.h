/* noc_buildings.h - the building map in force, kept in memory for the NOC
 * (API requests, /metrics, alerts) and reloaded only when it changed.
 *
 * The map is the one 'buildings-import' (or 'run --buildings', on start
 * and SIGHUP) stored (collector/buildings/building_store.h). Loading it
 * reads every network, which the building filter and the call page used to
 * do on every request. Here the map is loaded once and its version kept:
 * the id of the newest buildings_imports row, one read per acquire. Each
 * import writes a new row in the same transaction as its networks, so a
 * changed id is a new map, and the next acquire loads it; a request in
 * flight keeps the map it holds (maps are reference counted).
 *
 * Thread-safe: the HTTP threads, the /metrics request and the alert tick
 * share one noc_buildings_t, each with its own read connection.
 *
 * Buildings are not personal data; callers open a participant's address
 * in memory to look it up and never log it with the answer.
 */
#ifndef CALLSCOPE_NOC_BUILDINGS_H
#define CALLSCOPE_NOC_BUILDINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "building_map.h"
#include "pii.h"

/* Per-building series and alerts are bounded: at most NOC_BUILDINGS_MAX
 * (building, region) pairs; the rest are counted together under
 * NOC_BUILDINGS_OTHER, and how many they were. */
#define NOC_BUILDINGS_MAX 256
#define NOC_BUILDINGS_OTHER "(other)"
#define NOC_BUILDINGS_NAME_MAX 256 /* a CQD text column's longest */

typedef struct noc_buildings noc_buildings_t;

/* A held map: valid until noc_buildings_release(). */
typedef struct noc_buildings_ref noc_buildings_ref_t;

/* The building map stored in db (building_store_load), either backend. */
building_map_t *noc_buildings_load(db_t *db, char *err, size_t errlen);

noc_buildings_t *noc_buildings_new(void);
/* After every ref was released. */
void noc_buildings_free(noc_buildings_t **b);

/* The map in force read through db (reloaded when the store's newest
 * import differs from the one held). NULL with err on a database error; a
 * store without buildings gives an empty map. */
noc_buildings_ref_t *noc_buildings_acquire(noc_buildings_t *b, db_t *db, char *err, size_t errlen);
const building_map_t *noc_buildings_map(const noc_buildings_ref_t *r);
/* The import id of the held map (0: none imported). */
int64_t noc_buildings_version(const noc_buildings_ref_t *r);
void noc_buildings_release(noc_buildings_t *b, noc_buildings_ref_t **r);

/* ---- calls per building ---------------------------------------------------------

 * An address's building: the sealed address enc (label aad, pii.h:
 * PII_AAD_PARTICIPANT_IP, PII_AAD_STREAMS_CLIENT_IP) opened in memory and
 * looked up, else the Graph subnet's network; NULL when neither is in the
 * map. The opened address is wiped, never kept. */
const building_t *noc_buildings_of(const building_map_t *m, const pii_t *pii, const char *aad,
                                   const void *enc, size_t enclen, const char *subnet);

/* The verdicts of one (building, region): a call is counted once per
 * building it had a participant in, under the worst verdict of that
 * building's participants (a bad one, lan wan endpoint cloud in that
 * order, before healthy, before unknown): the building's own experience of
 * the call, not the other end's. */
#define NOC_BUILDINGS_VERDICTS 6 /* noc_query_verdicts' order */
typedef struct {
    char building[NOC_BUILDINGS_NAME_MAX + 1],
        region[NOC_BUILDINGS_NAME_MAX + 1]; /* "": unmapped */
    int64_t calls, verdicts[NOC_BUILDINGS_VERDICTS];
    int64_t last_call; /* internal: the call being counted, and its rank */
    int rank;
} noc_buildings_count_t;

typedef struct {
    noc_buildings_count_t c[NOC_BUILDINGS_MAX + 2]; /* + unmapped + (other) */
    size_t n, named;                                /* entries, and of them named buildings */
    size_t folded; /* distinct (building, region) counted under (other) */
    void *seen;    /* internal */
} noc_buildings_counts_t;

/* Of the calls that ended at or after since (ISO text): per (building,
 * region) of their participants, the calls and their verdicts as above;
 * participants in no building under ("", ""). The first NOC_BUILDINGS_MAX
 * pairs met get their own entry, later ones share (NOC_BUILDINGS_OTHER, "")
 * and are counted in folded. Needs
 * verdict schema 3 (verdict_participants.subnet). false with err on a
 * database error. */
bool noc_buildings_calls(db_t *db, const pii_t *pii, const building_map_t *m, const char *since,
                         noc_buildings_counts_t *out, char *err, size_t errlen);
/* The entry of (building, region) in out, made on first sight (or the
 * (other) one past the cap): for callers that keep other figures per
 * building under the same bound (out may live across calls). */
noc_buildings_count_t *noc_buildings_slot(noc_buildings_counts_t *out, const char *building,
                                          const char *region);
void noc_buildings_counts_clear(noc_buildings_counts_t *out);

/* How many times a map was loaded: 1 after the first acquire, one more per
 * import seen since. */
uint64_t noc_buildings_loads(noc_buildings_t *b);

#endif
