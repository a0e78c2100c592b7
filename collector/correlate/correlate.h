/* correlate.h - joins the probe's streams with Graph's call records and
 * writes a verdict per call, participant and stream (verdict_store.h).
 *
 * A step looks at what arrived since the previous one: probe streams not
 * handled yet (above a watermark of streams.id that, on PostgreSQL, waits
 * for the writers that may still commit a lower id; docs/verdicts.md
 * "Several writers") and call records stored later (a new version of a
 * record counts as new), both limited to what was stored within the
 * look-back. Every call those touch is evaluated again
 * from all its inputs and its rows replaced:
 *   joined      a Graph record with probe streams matched to it: client
 *               address + media port (probe on the LAN side), or reflexive
 *               address + relay address and port (probe on the public side,
 *               after NAT), segment time overlapping (± slack); several
 *               probes reporting the same SSRC count once (the one with the
 *               most packets).
 *   cloud-only  a Graph record no probe stream matched.
 *   wire-only   a client's probe streams that no record claims, grouped into
 *               calls by time (gap); replaced by the joined call when the
 *               record arrives later.
 * Addresses are compared as lookup hashes only. docs/verdicts.md.
 */
#ifndef CALLSCOPE_CORRELATE_H
#define CALLSCOPE_CORRELATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "pii.h"
#include "verdict.h"

/* Defaults of correlate_cfg_t (correlate_cfg_defaults), also shown by
 * 'correlate --help'. */
#define CORRELATE_SLACK_S 120
#define CORRELATE_WIRE_GAP_S 60

/* Bounds of one call, so a hostile or absurd record cannot take unbounded
 * memory. Teams meetings reach 1,000 interactive participants and town
 * halls 10,000 (20,000 with Premium); the Graph parser keeps at most 10,000
 * sessions per record. A participant costs about 0.8 KiB of scratch and a
 * stream row (one direction of one media of one participant) about
 * 0.6 KiB (0.3 KiB more when a probe saw it), so a call at both bounds
 * takes about 90 MiB (125 MiB if probes saw every row). Participants or
 * rows beyond them are not judged: they are counted, logged once per call
 * and shown on the call's evidence ("bound"), docs/verdicts.md. */
#define CORRELATE_MAX_PARTS 20000
#define CORRELATE_MAX_ROWS (6 * CORRELATE_MAX_PARTS) /* audio, video, sharing; both ways */
#define CORRELATE_MAX_SAMPLES 8 /* probe streams (SSRCs) combined into one row */

typedef struct {
    verdict_thresholds_t thr;
    int64_t slack_s;    /* clock difference allowed between probe and Graph times */
    int64_t wire_gap_s; /* a client's streams further apart are separate wire-only calls */
    size_t batch;       /* probe streams read per step at most */
    size_t max_parts;   /* participants judged per call (CORRELATE_MAX_PARTS, at most that) */
    size_t max_rows;    /* stream rows per call (CORRELATE_MAX_ROWS, at most that) */
} correlate_cfg_t;

void correlate_cfg_defaults(correlate_cfg_t *cfg);

typedef struct {
    uint64_t steps, streams, records, joined, cloud_only, wire_only, errors;
    uint64_t bounded; /* calls that hit a bound: some participants/rows/samples not judged */
} correlate_stats_t;

typedef struct correlate correlate_t;

/* db (a SQLite store or PostgreSQL, common/db.h) and pii are borrowed; db
 * is used by this thread only. Creates the verdict tables (and the Graph
 * tables, for stores that never saw Graph) when missing. */
correlate_t *correlate_new(const correlate_cfg_t *cfg, db_t *db, const pii_t *pii, char *err,
                           size_t errlen);
void correlate_free(correlate_t **c);

/* Evaluates the calls touched by what was stored since the last step and
 * within lookback_s of now_us. Returns the number of calls written, -1 on
 * a database error (err set; nothing of this step kept). */
int correlate_step(correlate_t *c, int64_t now_us, int64_t lookback_s, char *err, size_t errlen);

void correlate_stats(const correlate_t *c, correlate_stats_t *out);

#endif
