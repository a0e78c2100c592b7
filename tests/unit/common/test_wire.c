/* test_wire.c - common/wire.h: lz4 batches (schema 2) and their
 * negotiation through the ack: a batch header made lz4 keeps its identity,
 * a block decodes to exactly body_bytes or is refused, a schema 2 frame
 * without the encoding is refused as before, acks say "lz4". */
#include <stdlib.h>

#include "check.h"
#include "wire.h"

static void lz4_round_trip(void)
{
    /* 1000 record-like lines: compresses; random bytes: not smaller */
    size_t cap = 1 << 20, n = 0;
    char *body = malloc(cap);
    for (int i = 0; i < 1000; i++)
        n += (size_t)snprintf(body + n, cap - n,
                              "%s{\"type\":\"stream\",\"ssrc\":%d,\"packets\":%d}", i ? "\n" : "",
                              i * 7919, i % 977);
    char *z = NULL;
    size_t zl = 0;
    CHECK(wire_lz4_encode(body, n, &z, &zl));
    CHECK(zl > 0 && zl < n / 2);
    char *back = malloc(n);
    CHECK(wire_lz4_decode(z, zl, back, n));
    CHECK(memcmp(back, body, n) == 0);
    /* wrong lengths, truncation, garbage: refused, never past the buffer */
    CHECK(!wire_lz4_decode(z, zl, back, n - 1));
    char *big = malloc(n + 10);
    CHECK(!wire_lz4_decode(z, zl, big, n + 10));
    CHECK(!wire_lz4_decode(z, zl / 2, back, n));
    char junk[64];
    memset(junk, 0xff, sizeof junk);
    CHECK(!wire_lz4_decode(junk, sizeof junk, back, n));
    free(z);
    unsigned x = 12345;
    for (size_t i = 0; i < 4096; i++)
        body[i] = (char)((x = x * 1103515245u + 12345u) >> 16);
    CHECK(!wire_lz4_encode(body, 4096, &z, &zl));
    CHECK(z == NULL);
    CHECK(!wire_lz4_encode(body, 0, &z, &zl));
    free(big);
    free(back);
    free(body);
}

static void headers(void)
{
    char err[256];
    char *head = wire_batch_header("p1", "site-a", 1700000000000000LL, 42, 1000);
    char *lz = wire_batch_header_lz4(head, strlen(head), 947000);
    CHECK(lz != NULL);
    wire_msg_t m;
    CHECK(wire_parse(lz, strlen(lz), &m, err, sizeof err));
    CHECK(m.kind == WIRE_BATCH);
    CHECK_STR(m.encoding, "lz4");
    CHECK_EQ_INT(m.body_bytes, 947000);
    CHECK_EQ_INT(m.seq, 42);
    CHECK_EQ_INT(m.epoch, 1700000000000000LL);
    CHECK_EQ_INT(m.records, 1000);
    CHECK_STR(m.probe_id, "p1");
    wire_msg_clear(&m);
    /* a plain header has no encoding */
    CHECK(wire_parse(head, strlen(head), &m, err, sizeof err));
    CHECK(m.encoding == NULL);
    wire_msg_clear(&m);
    free(lz);
    free(head);
    /* schema 2 without the encoding, with another one, or not a batch */
    static const char *bad[] = {
        "{\"schema\":2,\"kind\":\"batch\"}",
        "{\"schema\":2,\"kind\":\"batch\",\"encoding\":\"zstd\",\"body_bytes\":10,"
        "\"probe_id\":\"p\",\"site\":\"s\",\"epoch\":1,\"seq\":1,\"records\":1}",
        "{\"schema\":2,\"kind\":\"batch\",\"encoding\":\"lz4\",\"body_bytes\":-1,"
        "\"probe_id\":\"p\",\"site\":\"s\",\"epoch\":1,\"seq\":1,\"records\":1}",
        "{\"schema\":2,\"kind\":\"heartbeat\",\"encoding\":\"lz4\",\"body_bytes\":1}",
        "{\"schema\":3,\"kind\":\"batch\",\"encoding\":\"lz4\",\"body_bytes\":1,"
        "\"probe_id\":\"p\",\"site\":\"s\",\"epoch\":1,\"seq\":1,\"records\":1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(!wire_parse(bad[i], strlen(bad[i]), &m, err, sizeof err));
        CHECK(m.root == NULL);
    }
    /* not a batch header: no lz4 header made from it */
    char *hb = wire_error("x");
    CHECK(wire_batch_header_lz4(hb, strlen(hb), 10) == NULL);
    free(hb);
    /* acks say lz4; an ack without "encodings" (an older collector) does not */
    char *ack = wire_ack(1, 2, WIRE_STORED, 3, 0, NULL);
    CHECK(wire_parse(ack, strlen(ack), &m, err, sizeof err));
    CHECK(m.kind == WIRE_ACK && m.peer_lz4);
    wire_msg_clear(&m);
    free(ack);
    const char *old = "{\"schema\":1,\"kind\":\"ack\",\"epoch\":1,\"seq\":2,\"status\":\"stored\","
                      "\"stored\":3,\"rejected\":0}";
    CHECK(wire_parse(old, strlen(old), &m, err, sizeof err));
    CHECK(m.kind == WIRE_ACK && !m.peer_lz4);
    wire_msg_clear(&m);
}

int main(void)
{
    lz4_round_trip();
    headers();
    return check_finish("wire");
}
