/* Unit tests of the store of probe records (collector/ingest/store.c) on a
 * temporary SQLite file: batches stored once, duplicates and refusals,
 * records checked one by one, group commit, sealing labels, retention. */
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

int main(void)
{
    RUN(test_batch_stored_once);
    RUN(test_refused_and_rejected);
    RUN(test_group_rollback);
    RUN(test_sealed_labels);
    RUN(test_retention);
    return check_finish("unit_store");
}
