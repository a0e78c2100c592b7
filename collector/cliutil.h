/* cliutil.h - small pieces the collector's subcommands share: durations
 * ("90s", "30m", "24h", "7d"; bare numbers are seconds) and the
 * --threshold option of the verdict engine.
 */
#ifndef CALLSCOPE_CLIUTIL_H
#define CALLSCOPE_CLIUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "building_map.h"
#include "db.h"
#include "pii.h"
#include "opttab.h"
#include "verdict.h"

/* Parses the options of a subcommand that takes --db PATH and --org-key
 * FILE (both required) and no operands: -1 to go on, else the exit code
 * (0 after --help, 2 on a usage error, printed). */
int cliutil_parse_db_key(opttab_t *t, int argc, char **argv, const char *const *db_path,
                         const size_t *norg_keys);
/* What a reading subcommand (report, buildings-unmapped) opens from its
 * --db and --org-key: the organisation keys, the store read-only (a SQLite
 * file or a postgresql:// URI, common/db.h) and the building map in force
 * (empty when none was imported). */
typedef struct {
    pii_t *pii;
    db_t *db;
    building_map_t *map;
} cliutil_store_t;

/* Opens all three; on failure logs why (naming the store, never a key's
 * bytes), closes what was opened and returns false. */
bool cliutil_store_open(cliutil_store_t *s, const char *prog, const char *db_path,
                        const char *const *org_keys, size_t norg_keys);
/* Closes what cliutil_store_open() opened; safe on a zeroed or closed one. */
void cliutil_store_close(cliutil_store_t *s);
/* Appends an --org-key FILE to keys (at most PII_MAX_KEYS); prints
 * the error and returns false when full. */
bool cliutil_org_key(const char *prog, const char **keys, size_t *n, const char *file);
/* --since DURATION into *seconds; prints the error and returns false. */
bool cliutil_since(const char *prog, const char *val, int64_t *seconds);
/* false for text that is not a positive duration up to 10 years. */
bool cliutil_duration(const char *s, int64_t *seconds);
/* Applies "NAME=VALUE" to t; on error prints it (naming prog) and returns false. */
bool cliutil_threshold(const char *prog, verdict_thresholds_t *t, const char *assignment);
/* The THRESHOLDS section of a manual page: every name, default and source. */
void cliutil_threshold_help(FILE *to);

#endif
