/* callscope-collector buildings-import FILE --db PATH: the tenant's CQD
 * building data file into the store (docs/buildings.md). */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "building_map.h"
#include "building_store.h"
#include "commands.h"
#include "log.h"
#include "opttab.h"
#include "textwrap.h"
#include "timefmt.h"

#define PROG "callscope-collector buildings-import"

typedef struct {
    const char *db_path;
    bool check; /* parse only */
    bool quiet;
} bimport_cfg_t;

#define BO(f) offsetof(bimport_cfg_t, f)

static const opttab_def_t opts[] = {
    {"db", 'd', OPTTAB_STR, BO(db_path), 0, 0, "PATH",
     "The collector's SQLite store (required unless --check)."},
    {"check", 'c', OPTTAB_FLAG, BO(check), 0, 0, NULL,
     "Read and check FILE, print what would be loaded, change nothing."},
    {"quiet", 'q', OPTTAB_FLAG, BO(quiet), 0, 0, NULL,
     "Do not name the skipped lines (they are still counted)."},
    {"help", 'h', OPTTAB_SPECIAL, 0, 0, 0, NULL, "This manual."},
};

static opttab_result_t help(opttab_t *t, const opttab_def_t *d, const char *val)
{
    (void)d;
    (void)val;
    printf("SYNOPSIS\n    " PROG " FILE --db PATH [--check] [--quiet]\n\nDESCRIPTION\n");
    textwrap(stdout,
             "Loads the building data file a Teams administrator uploads to Microsoft's Call "
             "Quality Dashboard, as is: no header row, comma- or tab-separated, columns "
             "NetworkIP, NetworkName, NetworkRange, BuildingName, OwnershipType, BuildingType, "
             "BuildingOfficeType, City, ZipCode, Country, State, Region, InsideCorp, "
             "ExpressRoute and optionally VPN. IPv4 and IPv6 networks; an address belongs to "
             "the longest network that holds it. The map replaces the one in force in the "
             "store (table buildings), in one transaction, for 'run', 'serve' and 'report'.",
             4, 78);
    printf("\n");
    textwrap(stdout,
             "A line not in the format is named (file, line, column) and skipped; a line with "
             "another number of columns than the first refuses the whole file and the map in "
             "force stays.",
             4, 78);
    printf("\nOPTIONS\n");
    opttab_help(t, stdout);
    printf("\nEXIT STATUS\n    0 loaded (skipped lines are counted, not errors); 1 file refused "
           "or store\n    error (the previous map stays); 2 usage.\n"
           "\nEXAMPLE\n    " PROG " buildings.tsv --db /var/lib/callscope/collector.db\n"
           "\nSEE ALSO\n    docs/buildings.md\n");
    return OPTTAB_EXIT_OK;
}

static int save(const char *db_path, const building_map_t *m, const char *file,
                const building_map_stats_t *st)
{
    char err[512];
    sqlite3 *db = NULL;
    int rc = 1;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        LOG_ERROR("%s: %s", db_path, db ? sqlite3_errmsg(db) : "cannot open");
    } else {
        sqlite3_busy_timeout(db, 5000);
        if (building_store_save(db, m, file, st, err, sizeof err))
            rc = 0;
        else
            LOG_ERROR("%s; the map in force is unchanged", err);
    }
    sqlite3_close(db);
    return rc;
}

int cmd_buildings_import(int argc, char **argv)
{
    bimport_cfg_t cfg;
    memset(&cfg, 0, sizeof cfg);
    opttab_t t = {.prog = PROG,
                  .defs = opts,
                  .ndefs = sizeof opts / sizeof opts[0],
                  .cfg = &cfg,
                  .special = help};
    int first = 1;
    opttab_result_t r = opttab_parse(&t, argc, argv, &first);
    if (r != OPTTAB_RUN)
        return r == OPTTAB_EXIT_OK ? 0 : 2;
    if (argc - first != 1 || (!cfg.db_path && !cfg.check)) {
        fprintf(stderr, PROG ": %s (see --help)\n",
                argc - first != 1 ? "give one FILE" : "--db PATH is required");
        return 2;
    }
    const char *file = argv[first];
    char err[512];
    building_map_stats_t st;
    usec_t t0 = timefmt_now();
    building_map_t *m = building_map_load(file, cfg.quiet ? NULL : stderr, &st, err, sizeof err);
    if (!m) {
        LOG_ERROR("%s%s", err, cfg.check ? "" : "; the map in force is unchanged");
        return 1;
    }
    usec_t t1 = timefmt_now();
    int rc = cfg.check ? 0 : save(cfg.db_path, m, file, &st);
    usec_t t2 = timefmt_now();
    if (rc == 0) {
        printf("buildings-import: %s: %zu networks (%zu IPv4, %zu IPv6, %d columns), %zu lines "
               "skipped (%zu duplicates); read in %.3f s",
               file, st.loaded, st.v4, st.v6, st.columns, st.skipped, st.duplicates,
               (double)(t1 - t0) / 1e6);
        if (cfg.check)
            printf(", not stored (--check)\n");
        else
            printf(", stored in %.3f s\n", (double)(t2 - t1) / 1e6);
    }
    building_map_free(&m);
    return rc;
}
