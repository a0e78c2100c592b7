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

#include "pii.h"
#include "opttab.h"
#include "verdict.h"

/* Parses the options of a subcommand that takes --db PATH and --org-key
 * FILE (both required) and no operands: -1 to go on, else the exit code
 * (0 after --help, 2 on a usage error, printed). */
int cliutil_parse_db_key(opttab_t *t, int argc, char **argv, const char *const *db_path,
                         const size_t *norg_keys);
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
