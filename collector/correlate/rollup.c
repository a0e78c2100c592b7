#include "rollup.h"

/* The key of a verdict_calls row X (NEW or OLD), in both backends' words. */
#define KEY_COLS "site, verdict, end_hour, start_hour"
#define KEY_VALS(X)                                                                                \
    "COALESCE(" X ".site, ''), " X ".verdict, substr(" X ".\"end\", 1, 13), substr(" X             \
    ".start, 1, 13)"
#define KEY_WHERE(X)                                                                               \
    "site = COALESCE(" X ".site, '') AND end_hour = substr(" X ".\"end\", 1, 13)"                  \
    " AND start_hour = substr(" X ".start, 1, 13) AND verdict = " X ".verdict"
#define ADD(X)                                                                                     \
    "INSERT INTO verdict_site_hours(" KEY_COLS                                                     \
    ", calls) VALUES(" KEY_VALS(X) ", 1)"                                                          \
                                   " ON CONFLICT(" KEY_COLS                                        \
                                   ") DO UPDATE SET calls = verdict_site_hours.calls + 1"
#define SUB(X)                                                                                     \
    "UPDATE verdict_site_hours SET calls = calls - 1 WHERE " KEY_WHERE(                            \
        X) ";"                                                                                     \
           "DELETE FROM verdict_site_hours WHERE " KEY_WHERE(X) " AND calls <= 0"

/* The backfill: the covering index verdict_calls_cover (site, verdict,
 * end, start, call_id) holds every column it reads, so neither backend
 * reads the rows (each carries about 1 KB of evidence). */
#define BACKFILL                                                                                   \
    "INSERT INTO verdict_site_hours(" KEY_COLS ", calls) SELECT COALESCE(site, ''), verdict,"      \
    " substr(\"end\", 1, 13), substr(start, 1, 13), count(*) FROM verdict_calls"                   \
    " GROUP BY 1, 2, 3, 4;"

/* The key (site, verdict, end_hour, start_hour) is the order /api/sites
 * groups in, so a month of every site (206,000 rows for 1.05 M calls at 41
 * sites) is summed as it is read: 28-34 ms of CPU, against 137-159 ms with
 * (site, end_hour, start_hour, verdict), where SQLite sorted every row
 * first; a site's window reads its own range. verdict_site_hours_end
 * (end_hour, ...) answers short windows of every site (the main page's
 * 24 h) from the index alone. */
static const char schema_v1[] =
    "CREATE TABLE verdict_site_hours(site TEXT NOT NULL, end_hour TEXT NOT NULL,"
    " start_hour TEXT NOT NULL, verdict TEXT NOT NULL, calls INTEGER NOT NULL,"
    " PRIMARY KEY(" KEY_COLS ")) WITHOUT ROWID;"
    "CREATE INDEX verdict_site_hours_end ON verdict_site_hours(end_hour, site, verdict,"
    " start_hour, calls);"
    "CREATE TRIGGER verdict_site_hours_ins AFTER INSERT ON verdict_calls BEGIN " ADD(
        "NEW") "; END;"
               "CREATE TRIGGER verdict_site_hours_del AFTER DELETE ON verdict_calls BEGIN " SUB(
                   "OLD") "; END;"
                          "CREATE TRIGGER verdict_site_hours_upd AFTER UPDATE OF site, verdict, "
                          "start, \"end\""
                          " ON verdict_calls BEGIN " SUB("OLD") "; " ADD("NEW") "; END;" BACKFILL;

static const char schema_v1_pg[] =
    "CREATE TABLE verdict_site_hours(site TEXT NOT NULL, end_hour TEXT COLLATE \"C\" NOT NULL,"
    " start_hour TEXT COLLATE \"C\" NOT NULL, verdict TEXT NOT NULL, calls BIGINT NOT NULL,"
    " PRIMARY KEY(" KEY_COLS "));"
    "CREATE INDEX verdict_site_hours_end ON verdict_site_hours(end_hour, site, verdict,"
    " start_hour, calls);"
    "CREATE FUNCTION verdict_site_hours_keep() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    "  IF TG_OP <> 'INSERT' THEN " SUB(
        "OLD") "; END IF;"
               "  IF TG_OP <> 'DELETE' THEN " ADD(
                   "NEW") "; END IF;"
                          "  RETURN NULL;"
                          " END $$;"
                          "CREATE TRIGGER verdict_site_hours_keep AFTER INSERT OR DELETE"
                          " OR UPDATE OF site, verdict, start, \"end\" ON verdict_calls"
                          " FOR EACH ROW EXECUTE FUNCTION verdict_site_hours_keep();" BACKFILL;

/* Step 2, PostgreSQL only (issue 13): the trigger fired for each call of a
 * correlation chunk's DELETE and INSERT (400 calls: 403 + 232 ms of the
 * server's time, the largest part of a step; 88 + 14 ms after at load 9,
 * docs/verdicts.md). Statement-level triggers now
 * read the statement's rows as transition tables and change each key once
 * by its net count: the same rows as the per-row trigger left (an UPDATE
 * that moves no call between keys changes nothing). PostgreSQL takes a
 * transition table only for one event and without a column list, hence
 * three triggers on one function; the INSERT one keeps the old name, which
 * store-migrate switches off while it copies verdict_calls. SQLite keeps
 * its row triggers: the step records the version only. */
// clang-format off
#define PG_KEY                                                                                     \
    "COALESCE(site, '') AS site, verdict, substr(\"end\", 1, 13) AS end_hour,"                     \
    " substr(start, 1, 13) AS start_hour"
#define PG_NEW "SELECT " PG_KEY ", 1 AS n FROM new_calls"
#define PG_OLD "SELECT " PG_KEY ", -1 AS n FROM old_calls"
#define PG_BOTH PG_NEW " UNION ALL " PG_OLD
/* each key's net count (ROWS: key columns and n, +1 or -1 per call) */
#define PG_DELTA(ROWS)                                                                             \
    "WITH d AS (SELECT " KEY_COLS ", sum(n) AS n FROM (" ROWS ") x GROUP BY 1, 2, 3, 4"            \
    " HAVING sum(n) <> 0) "
#define PG_MATCH                                                                                   \
    " h.site = d.site AND h.verdict = d.verdict AND h.end_hour = d.end_hour"                       \
    " AND h.start_hour = d.start_hour"
/* the keys that gained calls */
#define PG_ADD(ROWS)                                                                               \
    PG_DELTA(ROWS)                                                                                 \
    "INSERT INTO verdict_site_hours(" KEY_COLS ", calls) SELECT " KEY_COLS ", n FROM d"            \
    " WHERE n > 0 ON CONFLICT(" KEY_COLS ")"                                                       \
    " DO UPDATE SET calls = verdict_site_hours.calls + excluded.calls;"
/* the keys that lost calls, and their rows left empty */
#define PG_SUB(ROWS)                                                                               \
    PG_DELTA(ROWS)                                                                                 \
    "UPDATE verdict_site_hours h SET calls = h.calls + d.n FROM d"                                 \
    " WHERE d.n < 0 AND" PG_MATCH ";"                                                              \
    PG_DELTA(ROWS)                                                                                 \
    "DELETE FROM verdict_site_hours h USING d WHERE d.n < 0 AND" PG_MATCH " AND h.calls <= 0;"
#define PG_TRIGGER(NAME, EVENT, TABLES)                                                            \
    "CREATE TRIGGER " NAME " AFTER " EVENT " ON verdict_calls REFERENCING " TABLES                 \
    " FOR EACH STATEMENT EXECUTE FUNCTION verdict_site_hours_keep();"
static const char schema_v2_pg[] =
    "DROP TRIGGER verdict_site_hours_keep ON verdict_calls;"
    "DROP FUNCTION verdict_site_hours_keep();"
    "CREATE FUNCTION verdict_site_hours_keep() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    "  IF TG_OP = 'INSERT' THEN " PG_ADD(PG_NEW)
    "  ELSIF TG_OP = 'DELETE' THEN " PG_SUB(PG_OLD)
    "  ELSE " PG_SUB(PG_BOTH) PG_ADD(PG_BOTH)
    "  END IF;"
    "  RETURN NULL;"
    " END $$;"
    PG_TRIGGER("verdict_site_hours_keep", "INSERT", "NEW TABLE AS new_calls")
    PG_TRIGGER("verdict_site_hours_keep_del", "DELETE", "OLD TABLE AS old_calls")
    PG_TRIGGER("verdict_site_hours_keep_upd", "UPDATE",
               "OLD TABLE AS old_calls NEW TABLE AS new_calls");
// clang-format on

static const db_step_t steps[] = {{1, {schema_v1, schema_v1_pg}, NULL},
                                  {2, {NULL, schema_v2_pg}, NULL}};

bool rollup_migrate(db_t *db, char *err, size_t errlen)
{
    return db_migrate(db, "verdict rollup", "verdict_rollup", steps, sizeof steps / sizeof steps[0],
                      err, errlen);
}
