/* calls_fixture.h - three judged calls in a fixture store (store_fixture.h),
 * for the tests that read verdicts back (noc_query, report's buildings):
 *   a joined call from 10.1.0.5 at site hq (lan: outbound loss at the probe),
 *   a cloud-only call from 10.1.0.9 (no site; healthy),
 *   a wire-only call from 10.1.0.7 at site hq (lan).
 * Correlation runs once through the real correlate_step(). */
#ifndef CALLSCOPE_UNIT_CALLS_FIXTURE_H
#define CALLSCOPE_UNIT_CALLS_FIXTURE_H

#include <stdio.h>

#include "correlate.h"
#include "store_fixture.h"

static inline bool fx_seed_three_calls(fx_t *f)
{
    char err[256];
    correlate_cfg_t cfg;
    correlate_cfg_defaults(&cfg);
    db_t *db = db_from_sqlite(store_db(f->st));
    correlate_t *c = db ? correlate_new(&cfg, db, f->pii, err, sizeof err) : NULL;
    fx_stream_t v[] = {{"10.1.0.5", 50010, 1111, false, 0, 60, 3000, 200},
                       {"10.1.0.5", 50010, 2222, true, 0, 60, 3000, 0},
                       {"10.1.0.7", 50030, 3333, false, 600, 660, 3000, 200}};
    bool ok = c && fx_streams(f, "p1", 1, v, 3) &&
              fx_record(f, "r1", 1, "10.1.0.5", 50010, 0, 62, 0.05, 0.002) &&
              fx_record(f, "r2", 1, "10.1.0.9", 50020, 1200, 1262, 0.002, 0.002) &&
              correlate_step(c, fx_now_us(), 3600, err, sizeof err) == 3;
    if (!ok)
        fprintf(stderr, "seed: %s\n", c ? err : "correlate_new failed");
    correlate_free(&c);
    db_close(&db);
    return ok;
}

#endif
