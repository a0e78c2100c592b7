/* bench_correlate - the correlation's time per call, printed.
 *
 *   bench_correlate [CALLS] [URI]  (build: cmake --build B --target bench_correlate)
 *
 * A store in /tmp filled by the real writers (tests/unit/store_fixture.h):
 * CALLS normal calls (default 2000: one client behind the probe, two probe
 * streams, a one-session meeting record each, every call joined), then one
 * correlate_step() over all of them; then, in a fresh store, one
 * 1,000-participant meeting with 40 participants behind the probe. Prints
 * the best of 5 runs of each, in microseconds per call. Storing is not
 * timed, only correlate_step().
 *
 * With a postgresql:// URI (an empty database, e.g. the one
 * `python3 tests/pg/pgserver.py` prints) the normal calls are stored in
 * PostgreSQL by the same writers (store_open, graph_store on db_open) and
 * correlated there, through a connection of correlation's own as in 'run';
 * the meeting is not run (it wants a fresh store).
 */
#define FX_GRAPH
#include <stdarg.h>

#include "correlate.h"
#include "log.h"
#include "store_fixture.h"

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool fill_normal(fx_t *f, int calls)
{
    for (int i = 0; i < calls; i++) {
        char ip[32], id[32];
        snprintf(ip, sizeof ip, "10.%d.%d.%d", 30 + i / 62500, i / 250 % 250, i % 250 + 1);
        snprintf(id, sizeof id, "rec-%d", i);
        fx_stream_t v[] = {{ip, 50010, 1000u + 2u * (unsigned)i, false, 0, 60, 3000, i % 7},
                           {ip, 50010, 1001u + 2u * (unsigned)i, true, 0, 60, 3000, 0}};
        if (!fx_streams(f, "p1", i + 1, v, 2) ||
            !fx_record(f, id, 1, ip, 50010, 0, 62, 0.002 * (i % 5), 0.001))
            return false;
    }
    return true;
}

/* The meeting of tests/unit/correlate/test_correlate_large.c, shorter. */
static bool fill_meeting(fx_t *f, int parts, int probed)
{
    size_t cap = (size_t)parts * 1200 + 1024, len = 0;
    char *j = malloc(cap), err[256];
    if (!j)
        return false;
    len += (size_t)snprintf(j + len, cap - len,
                            "{\"id\":\"big\",\"version\":1,\"type\":\"groupCall\","
                            "\"startDateTime\":\"2026-01-15T10:00:00Z\","
                            "\"endDateTime\":\"2026-01-15T10:01:02Z\",\"sessions\":[");
    for (int i = 0; i < parts; i++)
        len += (size_t)snprintf(
            j + len, cap - len,
            "%s{\"id\":\"s%d\",\"segments\":[{\"id\":\"g%d\",\"startDateTime\":"
            "\"2026-01-15T10:00:00Z\",\"endDateTime\":\"2026-01-15T10:01:02Z\",\"caller\":"
            "{\"@odata.type\":\"#microsoft.graph.callRecords.participantEndpoint\"},\"callee\":"
            "{\"@odata.type\":\"#microsoft.graph.callRecords.serviceEndpoint\"},\"media\":[{"
            "\"label\":\"main-audio\",\"callerNetwork\":{\"ipAddress\":\"10.20.%d.%d\",\"port\":"
            "50010},\"calleeNetwork\":{},\"streams\":[{\"streamDirection\":\"callerToCallee\","
            "\"averagePacketLossRate\":0.001},{\"streamDirection\":\"calleeToCaller\","
            "\"averagePacketLossRate\":0.001}]}]}]}",
            i ? "," : "", i, i, i / 250, i % 250 + 1);
    len += (size_t)snprintf(j + len, cap - len, "]}");
    graph_record_t *r = len < cap ? graph_parse_text(j, len, err, sizeof err) : NULL;
    bool ok = r && graph_store_put(f->gs, r, "bench", true, err, sizeof err) != GRAPH_PUT_ERROR;
    graph_record_free(&r);
    free(j);
    for (int i = 0; ok && i < probed; i++) {
        char ip[32];
        snprintf(ip, sizeof ip, "10.20.%d.%d", i / 250, i % 250 + 1);
        fx_stream_t v[] = {{ip, 50010, 1000u + 2u * (unsigned)i, false, 0, 60, 3000, 0},
                           {ip, 50010, 1001u + 2u * (unsigned)i, true, 0, 60, 3000, 0}};
        ok = fx_streams(f, "p1", i + 1, v, 2);
    }
    return ok;
}

/* The fixture's stores moved to PostgreSQL: ingest's and Graph's, the
 * same writers (the SQLite file stays empty). */
static bool fx_to_pg(fx_t *f, const char *uri)
{
    char err[256];
    graph_store_free(&f->gs);
    db_close(&f->gdb);
    store_free(&f->st);
    bool ok = (f->st = store_open(uri, false, f->pii, err, sizeof err)) &&
              (f->gdb = db_open(uri, 0, "bench_correlate", err, sizeof err)) &&
              graph_store_migrate(f->gdb, err, sizeof err) &&
              (f->gs = graph_store_new(f->gdb, f->pii, err, sizeof err));
    if (!ok) {
        fprintf(stderr, "bench: %s\n", err);
        fx_close(f);
    }
    return ok;
}

/* Statements the correlation ran: on SQLite counted by a trace callback
 * on its connection, on PostgreSQL read from pg_stat_statements when the
 * server loads it (bench/bench_correlate_pg.py starts one that does); -1
 * when unknown. Each PostgreSQL statement is a round trip. */
static int64_t nstatements;

static int count_stmt(unsigned type, void *ctx, void *p, void *x)
{
    (void)type, (void)ctx, (void)p, (void)x;
    nstatements++;
    return 0;
}

static int64_t pg_statements(db_t *db, bool reset)
{
    char err[256];
    db_stmt_t *st = db_prepare(db,
                               reset ? "SELECT 0 FROM pg_stat_statements_reset()"
                                     : "SELECT sum(calls)::bigint FROM pg_stat_statements WHERE"
                                       " query NOT LIKE '%pg_stat_statements%'",
                               err, sizeof err);
    int64_t n = st && db_step(st, err, sizeof err) == DB_ROW ? db_col_int(st, 0) : -1;
    db_finalize(&st);
    return n;
}

/* Best of runs: each run a fresh correlation over the same store (the
 * verdict rows are replaced in place). Wall time, and the process's CPU
 * time (on a shared machine the steadier of the two). */
static double best_step(fx_t *f, const char *uri, int runs, int *written, double *cpu)
{
    double best = 1e9;
    *cpu = 1e9;
    nstatements = 0;
    for (int r = 0; r < runs; r++) {
        char err[256];
        correlate_cfg_t cfg;
        correlate_cfg_defaults(&cfg);
        db_t *db = uri ? db_open(uri, 0, "bench_correlate", err, sizeof err)
                       : db_from_sqlite(store_db(f->st));
        correlate_t *c = db ? correlate_new(&cfg, db, f->pii, err, sizeof err) : NULL;
        if (!c) {
            db_close(&db);
            fprintf(stderr, "bench: %s\n", err);
            return -1;
        }
        bool counted =
            uri ? pg_statements(db, true) == 0
                : sqlite3_trace_v2(db_sqlite(db), SQLITE_TRACE_STMT, count_stmt, NULL) == SQLITE_OK;
        double t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        *written = correlate_step(c, fx_now_us(), 3600, err, sizeof err);
        double t = clock_s(CLOCK_MONOTONIC) - t0, ct = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
        if (uri) {
            int64_t n = counted ? pg_statements(db, false) : -1;
            nstatements = n >= 0 && nstatements >= 0 ? nstatements + n : -1;
        } else {
            sqlite3_trace_v2(db_sqlite(db), 0, NULL, NULL);
            nstatements = counted && nstatements >= 0 ? nstatements : -1;
        }
        correlate_free(&c);
        db_close(&db);
        if (*written < 0) {
            fprintf(stderr, "bench: %s\n", err);
            return -1;
        }
        best = t < best ? t : best;
        *cpu = ct < *cpu ? ct : *cpu;
    }
    if (nstatements >= 0)
        nstatements /= runs; /* per run */
    return best;
}

int main(int argc, char **argv)
{
    int calls = argc > 1 ? atoi(argv[1]) : 2000, n;
    const char *uri = argc > 2 ? argv[2] : NULL;
    double cpu;
    fx_t f;
    log_set_level(LOG_LVL_ERROR);
    if (calls < 1 || !fx_open(&f) || (uri && !fx_to_pg(&f, uri)))
        return 1;
    bool ok = fill_normal(&f, calls);
    double t = ok ? best_step(&f, uri, 5, &n, &cpu) : -1;
    fx_close(&f);
    if (t < 0)
        return 1;
    printf("normal calls%s: %d joined calls in %.3f s = %.1f us per call = %.0f calls/s; CPU "
           "%.1f us per call (best of 5)",
           uri ? " (PostgreSQL)" : "", n, t, t * 1e6 / n, n / t, cpu * 1e6 / n);
    if (nstatements >= 0) /* PostgreSQL runs a step's calls by chunks: a few per step */
        printf("; %.2f statements per call (%lld per step)", (double)nstatements / n,
               (long long)nstatements);
    printf("\n");
    if (uri)
        return 0;
    if (!fx_open(&f))
        return 1;
    ok = fill_meeting(&f, 1000, 40);
    t = ok ? best_step(&f, NULL, 5, &n, &cpu) : -1;
    fx_close(&f);
    if (t < 0)
        return 1;
    printf("1,000-participant meeting, 40 probed: %.1f ms; CPU %.1f ms (best of 5)\n", t * 1e3,
           cpu * 1e3);
    return 0;
}
