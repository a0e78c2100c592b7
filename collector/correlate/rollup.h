/* rollup.h - verdict counts per site and hour, kept exact by triggers, so
 * that the NOC's site views over days or a month read a few thousand rows
 * instead of every call in the window (issue 13 "At scale"):
 *
 *   verdict_site_hours(site, end_hour, start_hour, verdict, calls)
 *     site:       verdict_calls.site, '' for NULL (as /api/sites shows it)
 *     start_hour: the first 13 characters of verdict_calls.start
 *                 ("2026-11-02T10": its UTC hour, the text order being the
 *                 time order), end_hour likewise of "end"
 *     calls:      the number of verdict_calls rows with that key (> 0)
 *
 * A call is counted under both its hours, so a window "end >= since AND
 * start < until" (noc_api_filter.h) takes whole rows where end_hour >
 * since's hour and start_hour < until's hour, and reads from verdict_calls
 * only the calls whose end falls in since's hour or whose start falls in
 * until's hour (collector/noc/noc_api_sites.c).
 *
 * Kept by triggers on verdict_calls (INSERT; UPDATE OF site, verdict,
 * start, end; DELETE: re-evaluation and retention), on SQLite as SQL
 * triggers and on PostgreSQL as a PL/pgSQL trigger function (no C in the
 * database; statement-level since the component's version 2, on the
 * statement's transition tables), in the writer's transaction. Made, with a backfill from
 * verdict_calls, by its own component's migration ('verdict_rollup' in
 * migrations), which verdict_store_migrate() runs after the verdict
 * tables'. Derived data: a store copied to PostgreSQL (store-migrate) gets
 * it from the triggers as verdict_calls is copied, not by copying it. */
#ifndef CALLSCOPE_ROLLUP_H
#define CALLSCOPE_ROLLUP_H

#include <stdbool.h>
#include <stddef.h>

#include "db.h"

/* Creates or upgrades verdict_site_hours and its triggers (db_migrate,
 * component 'verdict_rollup'); needs the verdict tables. */
bool rollup_migrate(db_t *db, char *err, size_t errlen);

#endif
