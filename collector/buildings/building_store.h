/* building_store.h - the building map in the collector's store, so that
 * 'run', 'serve' and 'report' use the file 'buildings-import' loaded.
 *
 * Tables (component "buildings", docs/buildings.md):
 *   buildings(network, prefix_len, family, network_name, building,
 *             ownership_type, building_type, office_type, city, zip_code,
 *             country, state, region, inside_corp, express_route, vpn, line)
 *       one row per network of the map in force;
 *   buildings_imports(id, imported, source, networks, skipped)
 *       one row per import (the file's name and counts; no personal data).
 * An import replaces every row of buildings in one transaction: a reader
 * sees the old map or the new one, never a mix. The same on both backends
 * (common/db.h: a SQLite file or PostgreSQL, where the integers are BIGINT
 * and imported is TEXT COLLATE "C").
 */
#ifndef CALLSCOPE_BUILDING_STORE_H
#define CALLSCOPE_BUILDING_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "building_map.h"
#include "db.h"

/* Creates or upgrades the tables. */
bool building_store_migrate(db_t *db, char *err, size_t errlen);
/* Replaces the map in force with m (finished), recording the import. */
bool building_store_save(db_t *db, const building_map_t *m, const char *source,
                         const building_map_stats_t *st, char *err, size_t errlen);
/* Reads the file at path (building_map_load: skipped lines named on diag)
 * and makes it the map in force. false with err when the file is refused
 * or the store fails: the previous map stays. */
bool building_store_import(db_t *db, const char *path, FILE *diag, building_map_stats_t *st,
                           char *err, size_t errlen);
/* The map in force (empty when none was imported; finished). Reads only:
 * works on a read-only handle, creates nothing. */
building_map_t *building_store_load(db_t *db, char *err, size_t errlen);

#endif
