/* Unit tests of the store of probe records (collector/ingest/store.c) on a
 * temporary SQLite file: batches stored once, duplicates and refusals,
 * records checked one by one, group commit, sealing labels, retention. */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "store_fixture.h"

static const fx_stream_t S1 = {"10.1.0.5", 50010, 1111, false, 0, 60, 3000, 30};
static const fx_stream_t S2 = {"10.1.0.5", 50010, 2222, true, 0, 60, 3000, 0};

static void test_batch_stored_once(void)
{
    fx_t f;
    CHECK(fx_open(&f));
    fx_stream_t v[] = {S1, S2};
    CHECK(fx_streams(&f, "p1", 1, v, 2));
    CHECK_EQ_INT(fx_count(&f, "SELECT count(*) FROM streams"), 2);
    CHECK_EQ_INT(fx_count(&f, "SELECT count(*) FROM batches WHERE probe_id='p1' AND seq=1"), 1);
    CHECK_EQ_INT(fx_count(&f, "SELECT count(*) FROM streams WHERE site='hq' AND probe_id='p1'"
                              " AND client_port=50010 AND direction='outbound' AND lost=30"),
                 1);

    /* the same (probe, epoch, seq) again: a duplicate, nothing added */
    char body[2048];
    fx_stream_line(body, sizeof body, &S1);
    wire_status_t st;
    store_result_t r;
    CHECK(fx_batch_raw(&f, "p1", 1, 1, body, &st, &r));
    CHECK_EQ_INT(st, WIRE_DUPLICATE);
    CHECK_EQ_INT(r.stored, 0);
    CHECK_EQ_INT(fx_count(&f, "SELECT count(*) FROM streams"), 2);
    /* the same sequence number from another probe is another batch */
    CHECK(fx_batch_raw(&f, "p2", 1, 1, body, &st, &r));
    CHECK_EQ_INT(st, WIRE_STORED);
    CHECK_EQ_INT(fx_count(&f, "SELECT count(*) FROM streams"), 3);
    fx_close(&f);
}

static void test_refused_and_rejected(void)
{
    fx_t f;
    CHECK(fx_open(&f));
    char body[4096];
    int n = fx_stream_line(body, sizeof body, &S1);
    wire_status_t st;
    store_result_t r;
    /* the header promises two lines, the body has one: refused whole */
    CHECK(fx_batch_raw(&f, "p1", 1, 2, body, &st, &r));
    CHECK_EQ_INT(st, WIRE_REJECTED);
    CHECK(r.first_error[0] != '\0');
    CHECK_EQ_INT(fx_count(&f, "SELECT count(*) FROM streams"), 0);
    CHECK_EQ_INT(fx_count(&f, "SELECT count(*) FROM batches"), 0);

    /* one good record and two bad ones: the good one is stored, the bad
     * ones counted (an unknown type, a stream without its ssrc) */
    snprintf(body + n, sizeof body - (size_t)n,
             "{\"type\":\"bogus\",\"x\":1}\n"
             "{\"type\":\"stream\",\"src_ip\":\"10.1.0.5\",\"dst_ip\":\"52.112.0.10\"}\n");
    CHECK(fx_batch_raw(&f, "p1", 2, 3, body, &st, &r));
    CHECK_EQ_INT(st, WIRE_STORED);
    CHECK_EQ_INT(r.stored, 1);
    CHECK_EQ_INT(r.rejected, 2);
    CHECK(r.first_error[0] != '\0');
    CHECK_EQ_INT(fx_count(&f, "SELECT count(*) FROM streams"), 1);
    fx_close(&f);
}

static void test_group_rollback(void)
{
    fx_t f;
    char err[256];
    CHECK(fx_open(&f));
    CHECK(store_begin(f.st, err, sizeof err));
    CHECK(fx_streams(&f, "p1", 1, &S1, 1));
    store_rollback(f.st);
    CHECK_EQ_INT(fx_count(&f, "SELECT count(*) FROM streams"), 0);
    CHECK_EQ_INT(fx_count(&f, "SELECT count(*) FROM batches"), 0);
    /* after a rollback the batch is not a duplicate: the resend is stored */
    CHECK(store_begin(f.st, err, sizeof err));
    CHECK(fx_streams(&f, "p1", 1, &S1, 1));
    CHECK(store_commit(f.st, err, sizeof err));
    CHECK_EQ_INT(fx_count(&f, "SELECT count(*) FROM streams"), 1);
    fx_close(&f);
}

/* Addresses are sealed under the label every reader uses (common/pii.h),
 * hashed for lookups, and absent from the stored JSON. */
static void test_sealed_labels(void)
{
    fx_t f;
    char ip[64];
    CHECK(fx_open(&f));
    CHECK(fx_streams(&f, "p1", 1, &S1, 1));
    CHECK_STR(fx_open_blob(&f, "SELECT client_ip_enc FROM streams", PII_AAD_STREAMS_CLIENT_IP, ip,
                           sizeof ip),
              "10.1.0.5");
    CHECK_STR(fx_open_blob(&f, "SELECT client_ip_enc FROM streams", "client_ip", ip, sizeof ip),
              "");
    CHECK_STR(fx_open_blob(&f, "SELECT src_ip_enc FROM streams",
                           PII_AAD_RECORD("streams", "src_ip"), ip, sizeof ip),
              "10.1.0.5");
    uint8_t h[PII_HASH_LEN];
    CHECK(pii_lookup_ip(f.pii, "10.1.0.5", h));
    sqlite3_stmt *s = NULL;
    CHECK(sqlite3_prepare_v2(store_db(f.st), "SELECT count(*) FROM streams WHERE client_ip_hmac=?",
                             -1, &s, NULL) == SQLITE_OK);
    sqlite3_bind_blob(s, 1, h, sizeof h, SQLITE_STATIC);
    CHECK(sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int(s, 0) == 1);
    sqlite3_finalize(s);
    CHECK_EQ_INT(fx_count(&f, "SELECT count(*) FROM streams WHERE record LIKE '%10.1.0.5%'"
                              " OR record LIKE '%02:00:00:00:00:01%'"),
                 0);
    /* sealing is C's work before the write: the store's connection has no
     * SQL function that could seal or hash (issue 16; the test fixture
     * tests/noc/noc_fixture.c registers its own) */
    const char *fns[] = {"SELECT pii_seal('streams.client_ip', '10.1.0.5')",
                         "SELECT pii_hash('ip', '10.1.0.5')"};
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        s = NULL;
        CHECK(sqlite3_prepare_v2(store_db(f.st), fns[i], -1, &s, NULL) == SQLITE_ERROR);
        CHECK(strstr(sqlite3_errmsg(store_db(f.st)), "no such function") != NULL);
        sqlite3_finalize(s);
    }
    fx_close(&f);
}

/* Retention counts from when a row was stored: rows made old by hand go,
 * fresh rows stay, and the duplicate check forgets old batches with them. */
static void test_retention(void)
{
    fx_t f;
    char err[256];
    CHECK(fx_open(&f));
    CHECK(fx_streams(&f, "p1", 1, &S1, 1));
    CHECK(fx_streams(&f, "p1", 2, &S2, 1));
    CHECK(sqlite3_exec(store_db(f.st),
                       "UPDATE streams SET received='2020-01-01T00:00:00.000000Z' WHERE ssrc=1111;"
                       "UPDATE batches SET received='2020-01-01T00:00:00.000000Z' WHERE seq=1;",
                       NULL, NULL, NULL) == SQLITE_OK);
    int64_t n = store_retention(f.st, 30, err, sizeof err);
    CHECK(n >= 2);
    CHECK_EQ_INT(fx_count(&f, "SELECT count(*) FROM streams WHERE ssrc=1111"), 0);
    CHECK_EQ_INT(fx_count(&f, "SELECT count(*) FROM streams WHERE ssrc=2222"), 1);
    CHECK_EQ_INT(fx_count(&f, "SELECT count(*) FROM batches"), 1);
    CHECK_EQ_INT(store_retention(f.st, 30, err, sizeof err), 0);
    fx_close(&f);
}

/* A stream line with the given texts for its four REAL columns, client
 * address ip and MAC mac. */
static int num_line(char *buf, size_t cap, unsigned ssrc, const char *ip, const char *mac,
                    const char *const x[4])
{
    return snprintf(buf, cap,
                    "{\"type\":\"stream\",\"src_ip\":\"%s\",\"dst_ip\":\"52.112.0.10\","
                    "\"ssrc\":%u,\"direction\":\"outbound\","
                    "\"first_seen\":\"2026-01-15T10:00:00.000000Z\","
                    "\"last_seen\":\"2026-01-15T10:00:10.000000Z\",\"packets\":10,"
                    "\"loss_pct\":%s,\"jitter_ms_max\":%s,\"network_jitter_ms_max\":%s,"
                    "\"mos\":%s,\"client_ip\":\"%s\",\"client_mac\":\"%s\"}\n",
                    ip, ssrc, x[0], x[1], x[2], x[3], ip, mac);
}

/* Numbers are read without strtod when that is exact (store.c,
 * number_real): every REAL column equals strtod() of the record's text,
 * for edge cases and 4,000 generated numbers of 1-20 digits, with and
 * without fractions and exponents. */
static void test_numbers_exact(void)
{
    static const char *const fixed[] = {"0",
                                        "-0",
                                        "0.0",
                                        "-0.0",
                                        "0.1",
                                        "0.2",
                                        "0.3",
                                        "4.125",
                                        "1.031",
                                        "-1.5",
                                        "88.2",
                                        "9007199254740992.0",
                                        "9007199254740993.0",
                                        "999999999999999.9",
                                        "123456789012345",
                                        "0.000000000000000000000001",
                                        "1e22",
                                        "1e23",
                                        "1.7976931348623157e308",
                                        "5e-324",
                                        "2.2250738585072011e-308",
                                        "0.30000000000000004",
                                        "1234567890123456789012",
                                        "1E5",
                                        "-3.14159e-2",
                                        "0.1e1",
                                        "100000000000000000000000.5"};
    enum { N = 4000 + sizeof fixed / sizeof fixed[0] };
    static char text[N][48];
    uint64_t r = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < N; i++) {
        if (i < sizeof fixed / sizeof fixed[0]) {
            snprintf(text[i], sizeof text[i], "%s", fixed[i]);
            continue;
        }
        char *t = text[i];
        size_t o = 0;
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        unsigned idig = 1 + (unsigned)(r >> 59) % 12, fdig = (unsigned)(r >> 40) % 13;
        if (r & 1)
            t[o++] = '-';
        for (unsigned k = 0; k < idig; k++) { /* no leading zero but "0" itself */
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            t[o++] = (char)('0' + (k == 0 && idig > 1 ? 1 + (r >> 60) % 9 : (r >> 60) % 10));
        }
        if (idig == 1 && (r & 2))
            t[o - 1] = '0';
        if (fdig)
            t[o++] = '.';
        for (unsigned k = 0; k < fdig; k++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            t[o++] = (char)('0' + (r >> 60) % 10);
        }
        if ((r & 0x1c) == 0) /* one in eight with an exponent */
            o += (size_t)snprintf(t + o, sizeof text[i] - o, "e%d", (int)((r >> 20) % 40) - 20);
        t[o] = '\0';
    }
    fx_t f;
    CHECK(fx_open(&f));
    static char body[N / 4 * 512];
    size_t off = 0;
    for (size_t i = 0; i < N / 4; i++) {
        const char *x[4] = {text[4 * i], text[4 * i + 1], text[4 * i + 2], text[4 * i + 3]};
        off += (size_t)num_line(body + off, sizeof body - off, (unsigned)i, "10.2.0.1",
                                "02:00:00:00:00:02", x);
        CHECK(off < sizeof body);
    }
    wire_status_t st;
    store_result_t res;
    CHECK(fx_batch_raw(&f, "p1", 1, N / 4, body, &st, &res));
    CHECK_EQ_INT(st, WIRE_STORED);
    CHECK_EQ_INT(res.stored, N / 4);
    sqlite3_stmt *q = NULL;
    CHECK(sqlite3_prepare_v2(store_db(f.st),
                             "SELECT ssrc, loss_pct, jitter_ms_max, network_jitter_ms_max, mos"
                             " FROM streams ORDER BY ssrc",
                             -1, &q, NULL) == SQLITE_OK);
    size_t rows = 0, wrong = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        size_t i = (size_t)sqlite3_column_int64(q, 0);
        for (int c = 0; c < 4; c++) {
            double want = strtod(text[4 * i + (size_t)c], NULL);
            double got = sqlite3_column_double(q, c + 1);
            if (got != want && wrong++ < 5)
                fprintf(stderr, "number %s stored as %.17g, strtod says %.17g\n",
                        text[4 * i + (size_t)c], got, want);
        }
        rows++;
    }
    sqlite3_finalize(q);
    CHECK_EQ_INT(rows, N / 4);
    CHECK_EQ_INT(wrong, 0);
    fx_close(&f);
}

/* The sealing cache (pii_cache.c, four ways per set) under eviction: 6,000
 * clients, twice each (12,000 addresses and as many MACs per pass, 36,000
 * values in all with src_ip, beyond what never collides), each row's
 * sealed address opens to its own address and its hash is the address's. */
static void test_sealing_cache(void)
{
    enum { CLIENTS = 6000, PASSES = 2, PER_BATCH = 1000 };
    fx_t f;
    CHECK(fx_open(&f));
    static char body[PER_BATCH * 512];
    const char *const x[4] = {"0.5", "1.5", "2.5", "4.2"};
    int64_t seq = 1;
    for (unsigned n = 0; n < CLIENTS * PASSES; n += PER_BATCH) {
        size_t off = 0;
        for (unsigned k = n; k < n + PER_BATCH; k++) {
            unsigned c = k % CLIENTS;
            char ip[32], mac[32];
            snprintf(ip, sizeof ip, "10.%u.%u.%u", 3 + c / 62500, c / 250 % 250, 1 + c % 250);
            snprintf(mac, sizeof mac, "02:00:00:%02x:%02x:%02x", c >> 16, c >> 8 & 255, c & 255);
            off += (size_t)num_line(body + off, sizeof body - off, k, ip, mac, x);
        }
        wire_status_t st;
        store_result_t res;
        CHECK(fx_batch_raw(&f, "p1", seq++, PER_BATCH, body, &st, &res));
        CHECK_EQ_INT(res.stored, PER_BATCH);
    }
    sqlite3_stmt *q = NULL;
    CHECK(sqlite3_prepare_v2(store_db(f.st),
                             "SELECT ssrc, client_ip_enc, client_ip_hmac, src_ip_enc,"
                             " client_mac_enc FROM streams",
                             -1, &q, NULL) == SQLITE_OK);
    size_t rows = 0, wrong = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        unsigned c = (unsigned)sqlite3_column_int64(q, 0) % CLIENTS;
        char ip[32], mac[32], got[64], got_src[64], got_mac[64];
        uint8_t h[PII_HASH_LEN];
        snprintf(ip, sizeof ip, "10.%u.%u.%u", 3 + c / 62500, c / 250 % 250, 1 + c % 250);
        snprintf(mac, sizeof mac, "02:00:00:%02x:%02x:%02x", c >> 16, c >> 8 & 255, c & 255);
        bool ok =
            pii_open(f.pii, PII_AAD_STREAMS_CLIENT_IP, sqlite3_column_blob(q, 1),
                     (size_t)sqlite3_column_bytes(q, 1), got, sizeof got) &&
            strcmp(got, ip) == 0 &&
            pii_open(f.pii, PII_AAD_RECORD("streams", "src_ip"), sqlite3_column_blob(q, 3),
                     (size_t)sqlite3_column_bytes(q, 3), got_src, sizeof got_src) &&
            strcmp(got_src, ip) == 0 &&
            pii_open(f.pii, PII_AAD_RECORD("streams", "client_mac"), sqlite3_column_blob(q, 4),
                     (size_t)sqlite3_column_bytes(q, 4), got_mac, sizeof got_mac) &&
            strcmp(got_mac, mac) == 0 && pii_lookup_ip(f.pii, ip, h) &&
            sqlite3_column_bytes(q, 2) == PII_HASH_LEN &&
            memcmp(sqlite3_column_blob(q, 2), h, PII_HASH_LEN) == 0;
        if (!ok && wrong++ < 5)
            fprintf(stderr, "row of client %u: sealed values or hash not its own\n", c);
        rows++;
    }
    sqlite3_finalize(q);
    CHECK_EQ_INT(rows, CLIENTS * PASSES);
    CHECK_EQ_INT(wrong, 0);
    fx_close(&f);
}

/* The checkpoint thread copies the WAL into the database file while the
 * store is open (SQLite 3.40 ignored checkpoints on a connection that had
 * not read the database: the file stayed at one page until close). */
static void test_checkpoint_thread(void)
{
    fx_t f;
    CHECK(fx_open(&f));
    fx_stream_t v[20];
    for (int i = 0; i < 20; i++) {
        v[i] = S1;
        v[i].ssrc = 5000u + (unsigned)i;
    }
    CHECK(fx_streams(&f, "p1", 1, v, 20));
    struct stat sb;
    for (int i = 0; i < 100; i++) { /* checkpoints every second */
        CHECK(stat(f.db, &sb) == 0);
        if (sb.st_size > 4 * 8192)
            break;
        usleep(50000);
    }
    CHECK(sb.st_size > 4 * 8192);
    fx_close(&f);
}

int main(void)
{
    RUN(test_batch_stored_once);
    RUN(test_refused_and_rejected);
    RUN(test_group_rollback);
    RUN(test_sealed_labels);
    RUN(test_retention);
    RUN(test_numbers_exact);
    RUN(test_sealing_cache);
    RUN(test_checkpoint_thread);
    return check_finish("unit_store");
}
