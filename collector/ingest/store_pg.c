/* store_pg.c - the store in PostgreSQL (--db postgresql://...): its
 * schema, its statements, its day partitions. All of its SQL is here.
 *
 * The tables are SQLite's (docs/store.md) with PostgreSQL's types: integers
 * as bigint (an SSRC passes 2^31), sealed values and hashes as bytea, times as the probe's ISO text
 * in the "C" collation (text order is time order). streams, intervals and flows are partitioned by
 * day of `received` (declarative range partitions <table>_pYYYYMMDD, made from yesterday to two
 * days ahead at start and whenever the day changes, plus a default partition for a clock far off),
 * so retention drops whole days. batches' key (probe_id, epoch, seq)
 * makes a batch stored once whichever collector receives it: the claim is
 * INSERT ... ON CONFLICT DO NOTHING in the batch's own transaction (a
 * second collector's claim waits for the first's commit, then finds it).
 * The rows of a group's batches go in with one binary COPY per table at
 * its commit (sooner past COPY_FLUSH bytes).
 */
#include <endian.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dynbuf.h"
#include "log.h"
#include "pgdb.h"
#include "store_backend.h"
#include "timefmt.h"

#define PARTITION_DAYS_AHEAD 2

/* ---- schema ------------------------------------------------------------- */

/* Times are text in the "C" collation: byte order is time order whatever
 * the database's locale (the partition bounds compare them). */
// clang-format off
static const pgdb_step_t migrations[] = {
    {1,
     "CREATE TABLE probes(probe_id TEXT PRIMARY KEY, site TEXT NOT NULL, version TEXT,"
     " first_seen TEXT COLLATE \"C\" NOT NULL, last_seen TEXT COLLATE \"C\" NOT NULL,"
     " last_heartbeat TEXT COLLATE \"C\", health TEXT);"
     "CREATE TABLE batches(probe_id TEXT NOT NULL, epoch BIGINT NOT NULL, seq BIGINT NOT"
     " NULL, received TEXT COLLATE \"C\" NOT NULL, records BIGINT NOT NULL, PRIMARY"
     " KEY(probe_id, epoch, seq));"
     "CREATE INDEX batches_received ON batches(received);"
     "CREATE SEQUENCE streams_id_seq;"
     "CREATE TABLE streams(id BIGINT NOT NULL DEFAULT nextval('streams_id_seq'), probe_id"
     " TEXT NOT NULL, site TEXT NOT NULL, received TEXT COLLATE \"C\" NOT NULL, first_seen"
     " TEXT COLLATE \"C\" NOT NULL, last_seen TEXT COLLATE \"C\" NOT NULL, client_port BIGINT,"
     " src_port BIGINT, dst_port BIGINT, proto TEXT, ssrc BIGINT NOT NULL, direction TEXT,"
     " media TEXT, app TEXT, encap TEXT, packets BIGINT, lost BIGINT, loss_pct DOUBLE"
     " PRECISION, jitter_ms_max DOUBLE PRECISION, network_jitter_ms_max DOUBLE PRECISION,"
     " mos DOUBLE PRECISION, client_ip_enc BYTEA, client_ip_hmac BYTEA, client_mac_enc"
     " BYTEA, client_mac_hmac BYTEA, src_ip_enc BYTEA, src_ip_hmac BYTEA, dst_ip_enc"
     " BYTEA, dst_ip_hmac BYTEA, record TEXT NOT NULL, PRIMARY KEY(id, received))"
     " PARTITION BY RANGE(received);"
     "CREATE INDEX streams_client ON streams(client_ip_hmac, first_seen);"
     "CREATE SEQUENCE intervals_id_seq;"
     "CREATE TABLE intervals(id BIGINT NOT NULL DEFAULT nextval('intervals_id_seq'),"
     " probe_id TEXT NOT NULL, site TEXT NOT NULL, received TEXT COLLATE \"C\" NOT NULL,"
     " start TEXT COLLATE \"C\" NOT NULL, \"end\" TEXT COLLATE \"C\" NOT NULL, src_port BIGINT,"
     " dst_port BIGINT, ssrc BIGINT NOT NULL, direction TEXT, packets BIGINT, lost BIGINT,"
     " loss_pct DOUBLE PRECISION, jitter_ms_max DOUBLE PRECISION, src_ip_enc BYTEA,"
     " src_ip_hmac BYTEA, dst_ip_enc BYTEA, dst_ip_hmac BYTEA, record TEXT NOT NULL,"
     " PRIMARY KEY(id, received)) PARTITION BY RANGE(received);"
     "CREATE INDEX intervals_time ON intervals(start);"
     "CREATE INDEX intervals_site ON intervals(site, start);"
     "CREATE INDEX intervals_stream ON intervals(ssrc, start);"
     "CREATE INDEX intervals_received ON intervals(received);"
     "CREATE SEQUENCE flows_id_seq;"
     "CREATE TABLE flows(id BIGINT NOT NULL DEFAULT nextval('flows_id_seq'), probe_id TEXT"
     " NOT NULL, site TEXT NOT NULL, received TEXT COLLATE \"C\" NOT NULL, first_seen TEXT"
     " COLLATE \"C\" NOT NULL, last_seen TEXT COLLATE \"C\" NOT NULL, client_port BIGINT,"
     " remote_port BIGINT, proto TEXT, app TEXT, media TEXT, client_ip_enc BYTEA,"
     " client_ip_hmac BYTEA, client_mac_enc BYTEA, client_mac_hmac BYTEA, remote_ip_enc"
     " BYTEA, remote_ip_hmac BYTEA, src_ip_enc BYTEA, src_ip_hmac BYTEA, dst_ip_enc BYTEA,"
     " dst_ip_hmac BYTEA, record TEXT NOT NULL, PRIMARY KEY(id, received)) PARTITION BY"
     " RANGE(received);"
     "CREATE INDEX flows_time ON flows(first_seen);"
     "CREATE INDEX flows_client ON flows(client_ip_hmac, first_seen);"
     "CREATE INDEX flows_site ON flows(site, first_seen);"
     "CREATE TABLE clients(id BIGSERIAL PRIMARY KEY, probe_id TEXT NOT NULL, site TEXT NOT"
     " NULL, received TEXT COLLATE \"C\" NOT NULL, first_seen TEXT COLLATE \"C\" NOT NULL,"
     " last_seen TEXT COLLATE \"C\" NOT NULL, client_ip_enc BYTEA, client_ip_hmac BYTEA,"
     " client_mac_enc BYTEA, client_mac_hmac BYTEA, record TEXT NOT NULL);"
     "CREATE INDEX clients_time ON clients(first_seen);"
     "CREATE INDEX clients_client ON clients(client_ip_hmac, first_seen);"
     "CREATE INDEX clients_received ON clients(received);"
     "CREATE TABLE probe_stats(id BIGSERIAL PRIMARY KEY, probe_id TEXT NOT NULL, site TEXT"
     " NOT NULL, received TEXT COLLATE \"C\" NOT NULL, record TEXT NOT NULL);"
     "CREATE INDEX probe_stats_time ON probe_stats(received);"
     "CREATE TABLE streams_pdefault PARTITION OF streams DEFAULT;"
     "CREATE TABLE intervals_pdefault PARTITION OF intervals DEFAULT;"
     "CREATE TABLE flows_pdefault PARTITION OF flows DEFAULT;"},
};
// clang-format on

#define MIGRATIONS (sizeof migrations / sizeof migrations[0])

/* Tables whose old rows are deleted, not dropped with their partition. */
static const char *const aged[] = {"clients",          "probe_stats",        "batches",
                                   "streams_pdefault", "intervals_pdefault", "flows_pdefault"};

typedef struct {
    store_backend_t base;
    PGconn *c;
    char where[256]; /* user@host:port/db, for messages */
    bool in_txn;
    bool broken;        /* the connection was lost: re-established at the next begin */
    char day_ready[16]; /* partitions exist for this day and the next ones */
    dynbuf_t copy[8];   /* the group's rows per table, COPY binary format */
    size_t rows[8];
    char cols[8][1024];               /* each table's COPY column list */
    char kinds[8][STORE_ROW_MAX + 1]; /* each column's KIND_*, in the same order */
} pg_t;

static bool fail(pg_t *p, const PGresult *r, char *err, size_t errlen)
{
    pgdb_error(p->c, r, "PostgreSQL", err, errlen);
    if (PQstatus(p->c) == CONNECTION_BAD) {
        /* the server went away (restart, network): the group at hand is
         * lost (none of it acknowledged, the probes resend); the next
         * begin connects again */
        size_t l = strlen(err);
        snprintf(err + l, errlen - l, " (connection lost; reconnecting for the next batches)");
        p->broken = true;
        p->in_txn = false;
    }
    return false;
}

static bool exec(pg_t *p, const char *sql, char *err, size_t errlen)
{
    PGresult *r = PQexec(p->c, sql);
    ExecStatusType st = PQresultStatus(r);
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        fail(p, r, err, errlen);
    PQclear(r);
    return ok;
}

static bool prepare(pg_t *p, const char *name, const char *sql, char *err, size_t errlen)
{
    PGresult *r = PQprepare(p->c, name, sql, 0, NULL);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fail(p, r, err, errlen);
    PQclear(r);
    return ok;
}

static bool prepare_all(pg_t *p, char *err, size_t errlen)
{
    return prepare(p, "claim",
                   "INSERT INTO batches(probe_id, epoch, seq, received, records)"
                   " VALUES($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                   err, errlen) &&
           prepare(p, "probe",
                   "INSERT INTO probes(probe_id, site, version, first_seen, last_seen)"
                   " VALUES($1, $2, $3, $4, $4) ON CONFLICT(probe_id) DO UPDATE SET"
                   " site = $2, version = COALESCE($3, probes.version), last_seen = $4",
                   err, errlen) &&
           prepare(p, "heartbeat",
                   "UPDATE probes SET last_heartbeat = $2, health = $3 WHERE probe_id = $1", err,
                   errlen);
}

/* ---- partitions --------------------------------------------------------- */

static void day_of(usec_t t, char out[16])
{
    char iso[40];
    timefmt_iso(t, iso, sizeof iso);
    snprintf(out, 16, "%.10s", iso);
}

/* Partitions of streams, intervals and flows for today - 1 to today +
 * PARTITION_DAYS_AHEAD, outside any transaction of ingest. A partition
 * another collector made meanwhile, or one whose rows sit in the default
 * partition (a clock far off), is logged and skipped: rows still go in. */
static void partitions_ensure(pg_t *p)
{
    char today[16];
    usec_t now = timefmt_now();
    day_of(now, today);
    if (strcmp(today, p->day_ready) == 0 || p->in_txn)
        return;
    for (int d = -1; d <= PARTITION_DAYS_AHEAD; d++) {
        char from[16], to[16], sql[512], err[512];
        day_of(now + (usec_t)d * 86400 * USEC_PER_SEC, from);
        day_of(now + (usec_t)(d + 1) * 86400 * USEC_PER_SEC, to);
        for (size_t i = 0; i < store_nmaps; i++) {
            if (!store_maps[i].partitioned)
                continue;
            const char *t = store_maps[i].table;
            snprintf(sql, sizeof sql,
                     "CREATE TABLE IF NOT EXISTS %s_p%.4s%.2s%.2s PARTITION OF %s"
                     " FOR VALUES FROM ('%s') TO ('%s')",
                     t, from, from + 5, from + 8, t, from, to);
            if (!exec(p, sql, err, sizeof err))
                LOG_WARN("collector: partition of %s for %s not made: %s", t, from, err);
        }
    }
    snprintf(p->day_ready, sizeof p->day_ready, "%s", today);
}

/* ---- writing ------------------------------------------------------------ */

static bool pg_begin(store_backend_t *b, char *err, size_t errlen)
{
    pg_t *p = (pg_t *)b;
    if (p->broken || PQstatus(p->c) != CONNECTION_OK) {
        PQreset(p->c); /* a new session: statements prepared again */
        if (PQstatus(p->c) != CONNECTION_OK) {
            /* the server is away: one attempt (and one log line) a second,
             * not a busy loop; the probes keep their batches meanwhile */
            fail(p, NULL, err, errlen);
            struct timespec pause = {1, 0};
            nanosleep(&pause, NULL);
            return false;
        }
        p->broken = false;
        p->day_ready[0] = '\0';
        if (!prepare_all(p, err, errlen))
            return false;
        LOG_INFO("collector: store: reconnected to PostgreSQL %s", p->where);
    }
    partitions_ensure(p);
    p->in_txn = exec(p, "BEGIN", err, errlen);
    return p->in_txn;
}

static bool flush_copies(pg_t *p, char *err, size_t errlen);

static bool pg_commit(store_backend_t *b, char *err, size_t errlen)
{
    pg_t *p = (pg_t *)b;
    if (!flush_copies(p, err, errlen))
        return false; /* store.c rolls the group back */
    bool ok = exec(p, "COMMIT", err, errlen);
    p->in_txn = false;
    return ok;
}

static void pg_rollback(store_backend_t *b)
{
    pg_t *p = (pg_t *)b;
    char ignored[256];
    for (size_t i = 0; i < store_nmaps; i++) {
        dynbuf_reset(&p->copy[i]);
        p->rows[i] = 0;
    }
    if (p->in_txn && PQstatus(p->c) == CONNECTION_OK)
        exec(p, "ROLLBACK", ignored, sizeof ignored);
    p->in_txn = false;
}

static bool run_prepared(pg_t *p, const char *name, int n, const char *const *vals, PGresult **out,
                         char *err, size_t errlen)
{
    PGresult *r = PQexecPrepared(p->c, name, n, vals, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fail(p, r, err, errlen);
        PQclear(r);
        return false;
    }
    if (out)
        *out = r;
    else
        PQclear(r);
    return true;
}

static int pg_claim(store_backend_t *b, const char *probe, int64_t epoch, int64_t seq,
                    const char *now, int64_t records, char *err, size_t errlen)
{
    pg_t *p = (pg_t *)b;
    char e[24], s[24], n[24];
    snprintf(e, sizeof e, "%lld", (long long)epoch);
    snprintf(s, sizeof s, "%lld", (long long)seq);
    snprintf(n, sizeof n, "%lld", (long long)records);
    const char *v[5] = {probe, e, s, now, n};
    PGresult *r = NULL;
    if (!run_prepared(p, "claim", 5, v, &r, err, errlen))
        return -1;
    int claimed = strcmp(PQcmdTuples(r), "1") == 0;
    PQclear(r);
    return claimed;
}

/* COPY's binary format (PostgreSQL's protocol docs, "COPY": a header,
 * per row a 16-bit field count and per field a 32-bit length (-1 = NULL)
 * and the type's binary form, a -1 trailer). The server then neither
 * splits lines, undoes escapes, decodes hex bytea nor parses numbers (perf
 * on the server, text format: NextCopyFrom 30 % of the backend's cycles,
 * its line and field splitting 22 %; docs/store.md "PostgreSQL"). */
static const char copy_header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";

static bool put_field(dynbuf_t *d, const void *p, size_t len)
{
    if (len > 0x7fffffff)
        return false;
    uint32_t n = htobe32((uint32_t)len);
    return dynbuf_add(d, &n, 4) && dynbuf_add(d, p, len);
}

static bool put_null(dynbuf_t *d)
{
    uint32_t n = htobe32(0xffffffffu);
    return dynbuf_add(d, &n, 4);
}

static bool put_int8(dynbuf_t *d, int64_t v)
{
    uint64_t n = htobe64((uint64_t)v);
    return put_field(d, &n, 8);
}

static bool put_float8(dynbuf_t *d, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    u = htobe64(u);
    return put_field(d, &u, 8);
}

/* A blob in a text column: bytea's text form, as the text format wrote it. */
static bool put_hex(dynbuf_t *d, const uint8_t *b, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    char buf[2 + 2 * 1100];
    if (len > 1100)
        return false;
    size_t o = 0;
    buf[o++] = '\\';
    buf[o++] = 'x';
    for (size_t i = 0; i < len; i++) {
        buf[o++] = hex[b[i] >> 4];
        buf[o++] = hex[b[i] & 15];
    }
    return put_field(d, buf, o);
}

/* Column kinds of a row, in store_row_t's order. */
#define KIND_TEXT 'T'
#define KIND_INT 'I'
#define KIND_REAL 'R'
#define KIND_BYTEA 'B'

/* One value as its column's type: a value that is not of that type (a
 * string for a number, a fraction for an integer) is NULL here (SQLite
 * keeps it as it is); the record beside it keeps it either way. Numbers in
 * a text column are their decimal text, as in the text format before. */
static bool put_value(dynbuf_t *d, const store_val_t *v, char kind)
{
    char num[40];
    int n = -1;
    switch (v->t) {
    case SV_TEXT:
        return kind == KIND_TEXT || kind == KIND_BYTEA ? put_field(d, v->p, v->len) : put_null(d);
    case SV_BLOB:
        return kind == KIND_TEXT    ? put_hex(d, v->p, v->len)
               : kind == KIND_BYTEA ? put_field(d, v->p, v->len)
                                    : put_null(d);
    case SV_INT:
        if (kind == KIND_INT)
            return put_int8(d, v->i);
        if (kind == KIND_REAL)
            return put_float8(d, (double)v->i);
        n = snprintf(num, sizeof num, "%lld", (long long)v->i);
        break;
    case SV_REAL:
        if (!isfinite(v->d))
            break;
        if (kind == KIND_REAL)
            return put_float8(d, v->d);
        if (kind == KIND_INT)
            return v->d == trunc(v->d) && fabs(v->d) < 9e18 ? put_int8(d, (int64_t)v->d)
                                                            : put_null(d);
        n = snprintf(num, sizeof num, "%.17g", v->d);
        break;
    default:
        break;
    }
    return n > 0 ? put_field(d, num, (size_t)n) : put_null(d);
}

static bool pg_row(store_backend_t *b, const store_row_t *r, char *err, size_t errlen)
{
    pg_t *p = (pg_t *)b;
    const store_map_t *m = &store_maps[r->map];
    dynbuf_t *d = &p->copy[r->map];
    const char *kinds = p->kinds[r->map];
    if (r->n != strlen(kinds)) {
        snprintf(err, errlen, "a row for %s has %zu values, not %zu", m->table, r->n,
                 strlen(kinds));
        return false;
    }
    bool ok = p->rows[r->map] || dynbuf_add(d, copy_header, 19);
    uint16_t nf = htobe16((uint16_t)r->n);
    ok = ok && dynbuf_add(d, &nf, 2);
    for (size_t k = 0; ok && k < r->n; k++)
        ok = put_value(d, &r->v[k], kinds[k]);
    if (!ok) {
        snprintf(err, errlen, "a batch's rows for %s do not fit in memory", m->table);
        return false;
    }
    p->rows[r->map]++;
    return true;
}

#define COPY_CHUNK (64u << 10)

static bool copy_table(pg_t *p, size_t i, char *err, size_t errlen)
{
    char sql[1200];
    snprintf(sql, sizeof sql, "COPY %s(%s) FROM STDIN (FORMAT binary)", store_maps[i].table,
             p->cols[i]);
    static const char trailer[2] = {'\xff', '\xff'};
    if (!dynbuf_add(&p->copy[i], trailer, 2)) {
        snprintf(err, errlen, "a batch's rows for %s do not fit in memory", store_maps[i].table);
        return false;
    }
    PGresult *r = PQexec(p->c, sql);
    bool ok = PQresultStatus(r) == PGRES_COPY_IN;
    if (!ok)
        fail(p, r, err, errlen);
    PQclear(r);
    if (!ok)
        return false;
    /* In CopyData messages of COPY_CHUNK bytes: the server reads each
     * message whole into a buffer of its size, which for a group's
     * megabytes in one message is a fresh mmap (page faults) per COPY. */
    for (size_t o = 0; ok && o < p->copy[i].len; o += COPY_CHUNK) {
        size_t n = p->copy[i].len - o < COPY_CHUNK ? p->copy[i].len - o : COPY_CHUNK;
        ok = PQputCopyData(p->c, p->copy[i].p + o, (int)n) == 1;
    }
    ok = ok && PQputCopyEnd(p->c, NULL) == 1;
    while ((r = PQgetResult(p->c)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && ok)
            ok = fail(p, r, err, errlen);
        PQclear(r);
    }
    if (!ok && !*err)
        fail(p, NULL, err, errlen);
    return ok;
}

/* The group's rows go in with one COPY per table at its commit, not one
 * per batch (fewer statements: the server sets up a COPY's partition
 * routing and its 1,000 buffered-row slots once per COPY), unless they pass
 * COPY_FLUSH bytes first (the collector's memory stays bounded). */
#define COPY_FLUSH (8u << 20)

static bool flush_copies(pg_t *p, char *err, size_t errlen)
{
    bool ok = true;
    err[0] = '\0';
    for (size_t i = 0; i < store_nmaps; i++) {
        if (ok && p->rows[i])
            ok = copy_table(p, i, err, errlen);
        dynbuf_reset(&p->copy[i]);
        p->rows[i] = 0;
    }
    return ok;
}

static bool pg_end_batch(store_backend_t *b, char *err, size_t errlen)
{
    pg_t *p = (pg_t *)b;
    size_t held = 0;
    for (size_t i = 0; i < store_nmaps; i++)
        held += p->copy[i].len;
    return held < COPY_FLUSH || flush_copies(p, err, errlen);
}

static bool pg_probe_seen(store_backend_t *b, const char *probe, const char *site,
                          const char *version, const char *now, char *err, size_t errlen)
{
    const char *v[4] = {probe, site, version, now};
    return run_prepared((pg_t *)b, "probe", 4, v, NULL, err, errlen);
}

static bool pg_heartbeat(store_backend_t *b, const char *probe, const char *now, const char *health,
                         char *err, size_t errlen)
{
    pg_t *p = (pg_t *)b;
    /* a heartbeat outside a group is its own transaction (autocommit) */
    const char *v[3] = {probe, now, health};
    return run_prepared(p, "heartbeat", 3, v, NULL, err, errlen);
}

/* ---- retention ---------------------------------------------------------- */

static int64_t count_of(pg_t *p, const char *sql)
{
    PGresult *r = PQexec(p->c, sql);
    int64_t n =
        PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) ? atoll(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return n;
}

/* Drops the day partitions whose whole day is before cutoff. */
static int64_t drop_days(pg_t *p, const char *table, const char *cutoff, char *err, size_t errlen)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
             " WHERE i.inhparent = '%s'::regclass AND c.relname ~ '^%s_p[0-9]{8}$'"
             " ORDER BY c.relname",
             table, table);
    PGresult *r = PQexec(p->c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fail(p, r, err, errlen);
        PQclear(r);
        return -1;
    }
    int64_t total = 0;
    size_t tl = strlen(table);
    for (int i = 0; i < PQntuples(r) && total >= 0; i++) {
        const char *name = PQgetvalue(r, i, 0), *d = name + tl + 2;
        char day[40], next[16];
        snprintf(day, sizeof day, "%.4s-%.2s-%.2sT00:00:00.000000Z", d, d + 4, d + 6);
        usec_t t;
        if (!timefmt_parse_iso(day, &t))
            continue;
        day_of(t + (usec_t)86400 * USEC_PER_SEC, next);
        if (strncmp(next, cutoff, 10) > 0) /* some of its day is not old yet */
            continue;
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", name);
        int64_t n = count_of(p, sql);
        snprintf(sql, sizeof sql, "DROP TABLE %s", name);
        if (n < 0 || !exec(p, sql, err, errlen))
            total = -1;
        else
            total += n;
    }
    PQclear(r);
    return total;
}

static int64_t pg_retention(store_backend_t *b, const char *cutoff, char *err, size_t errlen)
{
    pg_t *p = (pg_t *)b;
    int64_t total = 0;
    err[0] = '\0';
    partitions_ensure(p);
    for (size_t i = 0; i < store_nmaps && total >= 0; i++) {
        if (store_maps[i].partitioned) {
            int64_t n = drop_days(p, store_maps[i].table, cutoff, err, errlen);
            total = n < 0 ? -1 : total + n;
        }
    }
    for (size_t i = 0; i < sizeof aged / sizeof aged[0] && total >= 0; i++) {
        char sql[256];
        snprintf(sql, sizeof sql, "DELETE FROM %s WHERE received < $1", aged[i]);
        const char *v[1] = {cutoff};
        PGresult *r = PQexecParams(p->c, sql, 1, NULL, v, NULL, NULL, 0);
        if (PQresultStatus(r) == PGRES_COMMAND_OK)
            total += atoll(PQcmdTuples(r));
        else
            total = fail(p, r, err, errlen) ? 0 : -1;
        PQclear(r);
    }
    if (total < 0) {
        char why[400];
        snprintf(why, sizeof why, "%s", err);
        snprintf(err, errlen, "retention: %s", why);
    }
    return total;
}

static void pg_free(store_backend_t *b)
{
    pg_t *p = (pg_t *)b;
    PQfinish(p->c);
    for (size_t i = 0; i < 8; i++)
        dynbuf_free(&p->copy[i]);
    free(p);
}

static const store_ops_t pg_ops = {pg_begin,     pg_commit,    pg_rollback,   pg_claim,
                                   pg_row,       pg_end_batch, pg_probe_seen, pg_heartbeat,
                                   pg_retention, pg_free};

/* Each table's COPY column list, in the order of store_row_t. */
static void column_lists(pg_t *p)
{
    for (size_t i = 0; i < store_nmaps; i++) {
        const store_map_t *m = &store_maps[i];
        char *c = p->cols[i];
        size_t n = (size_t)snprintf(c, sizeof p->cols[i], "probe_id,site,received");
        for (int k = 0; m->cols[k]; k++)
            n += (size_t)snprintf(c + n, sizeof p->cols[i] - n, ",\"%s\"", m->cols[k]);
        for (int k = 0; m->pii[k]; k++)
            n += (size_t)snprintf(c + n, sizeof p->cols[i] - n, ",%s_enc,%s_hmac", m->pii[k],
                                  m->pii[k]);
        snprintf(c + n, sizeof p->cols[i] - n, ",record");
        /* probe_id, site, received: text; the typed columns; the sealed
         * values and hashes: bytea; record: text */
        char *t = p->kinds[i];
        size_t nk = 0, nt = strlen(m->col_types);
        for (int k = 0; k < 3; k++)
            t[nk++] = KIND_TEXT;
        for (size_t k = 0; k < nt; k++)
            t[nk++] = m->col_types[k] == STORE_COL_INT    ? KIND_INT
                      : m->col_types[k] == STORE_COL_REAL ? KIND_REAL
                                                          : KIND_TEXT;
        for (int k = 0; m->pii[k]; k++, nk += 2)
            t[nk] = t[nk + 1] = KIND_BYTEA;
        t[nk++] = KIND_TEXT;
        t[nk] = '\0';
    }
}

/* The server's notices ("already exists, skipping") are not for the log. */
static void quiet(void *arg, const char *message)
{
    (void)arg, (void)message;
}

store_backend_t *store_pg_open(const char *uri, bool sync_full, char *err, size_t errlen)
{
    pg_t *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->base.ops = &pg_ops;
    p->base.name = "PostgreSQL";
    for (size_t i = 0; i < 8; i++)
        dynbuf_init(&p->copy[i], 256u << 20);
    pgdb_describe(uri, p->where, sizeof p->where);
    column_lists(p);
    p->c = pgdb_connect(uri, "callscope-collector", err, errlen);
    bool ok = p->c != NULL;
    if (ok) {
        PQsetNoticeProcessor(p->c, quiet, NULL);
        PGresult *r = PQexec(p->c, "SHOW server_version_num");
        int v = PQresultStatus(r) == PGRES_TUPLES_OK ? atoi(PQgetvalue(r, 0, 0)) : 0;
        PQclear(r);
        if (v < 110000) {
            snprintf(err, errlen,
                     "PostgreSQL %s is version %d; the store needs 11 or later (Debian 12: 15)",
                     p->where, v / 10000);
            ok = false;
        }
    }
    /* sync_full: every commit waits for the server's WAL flush, which is
     * the server's default (synchronous_commit = on) anyway */
    ok = ok && (!sync_full || exec(p, "SET synchronous_commit = on", err, errlen)) &&
         pgdb_migrate(p->c, "store", "ingest", migrations, MIGRATIONS, err, errlen) &&
         prepare_all(p, err, errlen);
    if (ok) {
        partitions_ensure(p);
        LOG_INFO("collector: store is PostgreSQL %s", p->where);
        return &p->base;
    }
    if (p->c) {
        size_t l = strlen(err);
        snprintf(err + l, errlen - l, " (PostgreSQL %s)", p->where);
    }
    pg_free(&p->base);
    return NULL;
}
