/* callscope-collector buildings-import FILE --db PATH|URI: the tenant's CQD
 * building data file into the store; buildings-unmapped: the client
 * subnets no building holds (docs/buildings.md). Both on a SQLite file or
 * a postgresql:// URI (common/db.h). */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "building_map.h"
#include "building_store.h"
#include "building_unmapped.h"
#include "cliutil.h"
#include "commands.h"
#include "db.h"
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
    {"db", 'd', OPTTAB_STR, BO(db_path), 0, 0, "PATH|URI",
     "The collector's store: a SQLite file or a postgresql:// URI (required unless --check)."},
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
    printf("SYNOPSIS\n    " PROG " FILE --db PATH|URI [--check] [--quiet]\n\nDESCRIPTION\n");
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

static int save(const char *db_path, const char *file, building_map_stats_t *st, bool quiet)
{
    char err[512];
    int rc = 1;
    db_t *db = db_open(db_path, DB_CREATE, "callscope-collector buildings-import", err, sizeof err);
    if (!db)
        LOG_ERROR("%s", err);
    else if (building_store_import(db, file, quiet ? NULL : stderr, st, err, sizeof err))
        rc = 0;
    else
        LOG_ERROR("%s; the map in force is unchanged", err);
    db_close(&db);
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
    int rc = 0;
    if (cfg.check) {
        building_map_t *m =
            building_map_load(file, cfg.quiet ? NULL : stderr, &st, err, sizeof err);
        if (!m) {
            LOG_ERROR("%s", err);
            rc = 1;
        }
        building_map_free(&m);
    } else {
        rc = save(cfg.db_path, file, &st, cfg.quiet);
    }
    usec_t t1 = timefmt_now();
    if (rc == 0) {
        printf("buildings-import: %s: %zu networks (%zu IPv4, %zu IPv6, %d columns), %zu lines "
               "skipped (%zu duplicates) in %.3f s%s\n",
               file, st.loaded, st.v4, st.v6, st.columns, st.skipped, st.duplicates,
               (double)(t1 - t0) / 1e6, cfg.check ? ", not stored (--check)" : ", stored");
    }
    return rc;
}

/* ---- buildings-unmapped ----------------------------------------------------------- */

#define PROG_U "callscope-collector buildings-unmapped"

typedef struct {
    const char *db_path, *format;
    const char *org_keys[PII_MAX_KEYS];
    size_t norg_keys;
    int64_t since_s;
    unsigned min_streams, prefix4, prefix6;
} unmapped_cfg_t;

#define UO(f) offsetof(unmapped_cfg_t, f)

static const opttab_def_t uopts[] = {
    {"db", 'd', OPTTAB_STR, UO(db_path), 0, 0, "PATH|URI",
     "The collector's store: a SQLite file or a postgresql:// URI (required)."},
    {"org-key", 'o', OPTTAB_SPECIAL, 0, 0, 0, "FILE",
     "The organisation's master key (required; repeatable after rotation). Opens each "
     "client's sealed address in memory to find its subnet; only subnets are printed."},
    {"since", 's', OPTTAB_SPECIAL, 0, 0, 0, "DURATION",
     "Probe streams first seen within DURATION before now (90s, 30m, 24h, 7d; default 7d)."},
    {"min-streams", 'n', OPTTAB_UINT, UO(min_streams), 1, 1000000000, "N",
     "List a subnet with at least N streams in the window (default 1)."},
    {"prefix4", 0, OPTTAB_UINT, UO(prefix4), 8, 32, "BITS",
     "The subnet of an IPv4 client (default 24, as CQD's missing-subnet report)."},
    {"prefix6", 0, OPTTAB_UINT, UO(prefix6), 16, 128, "BITS",
     "The subnet of an IPv6 client (default 64)."},
    {"format", 'f', OPTTAB_STR, UO(format), 0, 0, "FORMAT",
     "table (default) or json (an object with the counts and a \"subnets\" array)."},
    {"help", 'h', OPTTAB_SPECIAL, 0, 0, 0, NULL, "This manual."},
};

static opttab_result_t uspecial(opttab_t *t, const opttab_def_t *d, const char *val)
{
    unmapped_cfg_t *o = t->cfg;
    if (d->short_name == 'o')
        return cliutil_org_key(PROG_U, o->org_keys, &o->norg_keys, val) ? OPTTAB_RUN
                                                                        : OPTTAB_EXIT_USAGE;
    if (d->short_name == 's')
        return cliutil_since(PROG_U, val, &o->since_s) ? OPTTAB_RUN : OPTTAB_EXIT_USAGE;
    printf("SYNOPSIS\n    " PROG_U " --db PATH|URI --org-key FILE [--since 7d] [--min-streams N]\n"
           "        [--format table|json]\n\nDESCRIPTION\n");
    textwrap(stdout,
             "Lists the client subnets (IPv4 /24, IPv6 /64 by default) with probe streams in "
             "the window that no network of the building map in force holds (CQD's "
             "missing-subnet report): the lines the building file lacks. Most streams first.",
             4, 78);
    printf("\nOPTIONS\n");
    opttab_help(t, stdout);
    printf("\nEXIT STATUS\n    0 done (also when every subnet is mapped); 1 store or key error; 2 "
           "usage.\n\nSEE ALSO\n    callscope-collector buildings-import --help, "
           "docs/buildings.md\n");
    return OPTTAB_EXIT_OK;
}

static void print_unmapped(const building_unmapped_list_t *l, bool json)
{
    if (json) {
        json_t *o = json_object(), *a = json_array();
        for (size_t i = 0; i < l->n; i++) {
            char net[NETADDR_STRLEN + 4];
            netaddr_fmt(&l->v[i].subnet.addr, net, NETADDR_STRLEN);
            snprintf(net + strlen(net), sizeof net - strlen(net), "/%u", l->v[i].subnet.len);
            json_t *s = json_object();
            json_object_set_new(s, "subnet", json_string(net));
            json_object_set_new(s, "streams", json_integer((json_int_t)l->v[i].streams));
            json_object_set_new(s, "clients", json_integer((json_int_t)l->v[i].clients));
            json_array_append_new(a, s);
        }
        json_object_set_new(o, "clients", json_integer((json_int_t)l->clients));
        json_object_set_new(o, "mapped", json_integer((json_int_t)l->mapped));
        json_object_set_new(o, "unreadable", json_integer((json_int_t)l->unreadable));
        json_object_set_new(o, "more", json_integer((json_int_t)l->more));
        json_object_set_new(o, "subnets", a);
        json_dumpf(o, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(o);
        return;
    }
    printf("%-43s  %8s  %7s\n", "SUBNET", "STREAMS", "CLIENTS");
    for (size_t i = 0; i < l->n; i++) {
        char net[NETADDR_STRLEN + 4];
        netaddr_fmt(&l->v[i].subnet.addr, net, NETADDR_STRLEN);
        snprintf(net + strlen(net), sizeof net - strlen(net), "/%u", l->v[i].subnet.len);
        printf("%-43s  %8llu  %7llu\n", net, (unsigned long long)l->v[i].streams,
               (unsigned long long)l->v[i].clients);
    }
    printf("%zu unmapped subnets; %llu clients in the window, %llu in a building, %llu "
           "unreadable%s\n",
           l->n, (unsigned long long)l->clients, (unsigned long long)l->mapped,
           (unsigned long long)l->unreadable, l->more ? " (more not listed)" : "");
}

static int unmapped(const unmapped_cfg_t *o)
{
    char err[512], since[40];
    int rc = 1;
    building_unmapped_list_t l = {0};
    cliutil_store_t s;
    if (!cliutil_store_open(&s, PROG_U, o->db_path, o->org_keys, o->norg_keys))
        return 1;
    timefmt_iso(timefmt_now() - o->since_s * USEC_PER_SEC, since, sizeof since);
    if (!building_unmapped_find(s.db, s.pii, s.map, since, o->prefix4, o->prefix6, o->min_streams,
                                &l, err, sizeof err)) {
        LOG_ERROR("%s", err);
    } else {
        print_unmapped(&l, strcmp(o->format, "json") == 0);
        rc = 0;
    }
    building_unmapped_clear(&l);
    cliutil_store_close(&s);
    return rc;
}

int cmd_buildings_unmapped(int argc, char **argv)
{
    unmapped_cfg_t o;
    memset(&o, 0, sizeof o);
    o.since_s = 7 * 86400;
    o.min_streams = 1;
    o.prefix4 = 24;
    o.prefix6 = 64;
    o.format = "table";
    opttab_t t = {.prog = PROG_U,
                  .defs = uopts,
                  .ndefs = sizeof uopts / sizeof uopts[0],
                  .cfg = &o,
                  .special = uspecial};
    int rc = cliutil_parse_db_key(&t, argc, argv, &o.db_path, &o.norg_keys);
    if (rc >= 0)
        return rc;
    if (strcmp(o.format, "table") != 0 && strcmp(o.format, "json") != 0) {
        fprintf(stderr, PROG_U ": --format: '%s' is not table or json\n", o.format);
        return 2;
    }
    return unmapped(&o);
}
