/* Unit tests of the NOC's query parameters (collector/noc/noc_query.c)
 * and of the filters the API applies with them (noc_api_calls), in
 * process: verdicts are written by the real correlation from probe
 * streams and call records (store_fixture.h), then listed through the
 * handlers the HTTP server calls. */
#define FX_GRAPH
#include "correlate.h"
#include "noc_api.h"
#include "noc_query.h"

#include "check.h"
#include "calls_fixture.h"

#define ALL_LIST                                                                                   \
    (NOC_P_SINCE | NOC_P_UNTIL | NOC_P_SITE | NOC_P_VERDICT | NOC_P_CLIENT | NOC_P_LIMIT |         \
     NOC_P_OFFSET)

static fx_t F;

#define KV(k, v)                                                                                   \
    {                                                                                              \
        k, v, sizeof(k) - 1, sizeof(v) - 1                                                         \
    }

static bool parse(const noc_kv_t *kv, size_t n, noc_params_t *p, char *err, size_t errlen)
{
    return noc_query_parse(kv, n, ALL_LIST, 500, F.pii, p, err, errlen);
}

static void test_parse_values(void)
{
    noc_params_t p;
    char err[160];
    const noc_kv_t none[] = {KV("site", "hq")};
    CHECK(parse(none, 0, &p, err, sizeof err));
    CHECK_EQ_UINT(p.limit, 100);
    CHECK_EQ_UINT(p.seen, 0);

    /* ISO with any fraction and epoch seconds end in the same store form */
    const noc_kv_t t[] = {KV("since", "2026-01-15T10:00:00Z"), KV("until", "1768471260")};
    CHECK(parse(t, 2, &p, err, sizeof err));
    CHECK_STR(p.since, "2026-01-15T10:00:00.000000Z");
    CHECK_STR(p.until, "2026-01-15T10:01:00.000000Z");
    CHECK_EQ_UINT(p.seen, NOC_P_SINCE | NOC_P_UNTIL);

    /* a client address becomes its lookup hash, in any text form */
    const noc_kv_t c[] = {KV("client", "10.1.0.5"), KV("verdict", "lan"), KV("limit", "500")};
    uint8_t h[PII_HASH_LEN];
    CHECK(parse(c, 3, &p, err, sizeof err));
    CHECK(pii_lookup_ip(F.pii, "10.1.0.5", h) && memcmp(h, p.client_hmac, sizeof h) == 0);
    CHECK_STR(p.verdict, "lan");
    CHECK_EQ_UINT(p.limit, 500);
}

static void refused(const noc_kv_t *kv, size_t n, const char *why)
{
    noc_params_t p;
    char err[160] = "";
    CHECK(!parse(kv, n, &p, err, sizeof err));
    if (!strstr(err, why))
        fprintf(stderr, "  error \"%s\" does not say \"%s\"\n", err, why);
    CHECK(strstr(err, why) != NULL);
}

static void test_parse_refusals(void)
{
    const noc_kv_t unknown[] = {KV("sort", "start")};
    refused(unknown, 1, "unknown parameter 'sort'");
    const noc_kv_t twice[] = {KV("site", "hq"), KV("site", "branch")};
    refused(twice, 2, "site: given twice");
    const noc_kv_t empty[] = {KV("site", "")};
    refused(empty, 1, "site: empty");
    const noc_kv_t nul[] = {{"site", "h\0q", 4, 3}};
    refused(nul, 1, "has a NUL byte");
    const noc_kv_t bad_time[] = {KV("since", "yesterday")};
    refused(bad_time, 1, "since: not an ISO 8601");
    const noc_kv_t order[] = {KV("since", "2026-01-15T11:00:00Z"),
                              KV("until", "2026-01-15T10:00:00Z")};
    refused(order, 2, "since is after until");
    const noc_kv_t verdict[] = {KV("verdict", "bad")};
    refused(verdict, 1, "verdict: one of");
    const noc_kv_t client[] = {KV("client", "laptop-1")};
    refused(client, 1, "client: not an IPv4");
    const noc_kv_t limit[] = {KV("limit", "501")};
    refused(limit, 1, "limit: a whole number from 1 to 500");
    const noc_kv_t slash[] = {KV("site", "a/b")};
    refused(slash, 1, "site: 1-256 printable");
    /* a parameter another endpoint takes is not this one's */
    noc_params_t p;
    char err[160];
    const noc_kv_t bucket[] = {KV("bucket", "3600")};
    CHECK(!parse(bucket, 1, &p, err, sizeof err));
    CHECK(noc_query_parse(bucket, 1, NOC_P_BUCKET, 500, F.pii, &p, err, sizeof err));
    CHECK_EQ_UINT(p.bucket_s, 3600);
}

/* Three calls: joined at site hq (lan, 10.1.0.5), cloud-only (healthy,
 * 10.1.0.9, no site), wire-only at hq (lan, 10.1.0.7). */
static bool seed(void)
{
    return fx_seed_three_calls(&F);
}

/* The call ids /api/calls lists for these parameters, in order, joined by ','. */
static const char *calls(const noc_kv_t *kv, size_t n)
{
    static char ids[512];
    noc_params_t p;
    char err[160];
    json_t *out = NULL;
    ids[0] = '\0';
    if (!parse(kv, n, &p, err, sizeof err)) {
        snprintf(ids, sizeof ids, "refused: %s", err);
        return ids;
    }
    db_t *w = db_from_sqlite(store_db(F.st));
    noc_api_req_t r = {.store = w, .pii = F.pii, .p = &p};
    int code = noc_api_calls(&r, &out, err, sizeof err);
    db_close(&w);
    if (code != 200) {
        snprintf(ids, sizeof ids, "error: %s", err);
        return ids;
    }
    size_t i, off = 0;
    json_t *call;
    json_array_foreach(json_object_get(out, "calls"), i, call)
    {
        const char *id = json_string_value(json_object_get(call, "call_id"));
        off += (size_t)snprintf(ids + off, sizeof ids - off, "%s%.12s", i ? "," : "",
                                strncmp(id, "wire:", 5) == 0 ? "wire" : id);
    }
    json_decref(out);
    return ids;
}

static void test_filters(void)
{
    CHECK_STR(calls(NULL, 0), "r2,wire,r1"); /* newest first */
    const noc_kv_t site[] = {KV("site", "hq")};
    CHECK_STR(calls(site, 1), "wire,r1");
    const noc_kv_t verdict[] = {KV("verdict", "healthy")};
    CHECK_STR(calls(verdict, 1), "r2");
    const noc_kv_t lan_hq[] = {KV("verdict", "lan"), KV("site", "hq")};
    CHECK_STR(calls(lan_hq, 2), "wire,r1");
    const noc_kv_t client[] = {KV("client", "10.1.0.9")};
    CHECK_STR(calls(client, 1), "r2");
    const noc_kv_t nobody[] = {KV("client", "10.9.9.9")};
    CHECK_STR(calls(nobody, 1), "");
    /* the window: calls overlapping [since, until) */
    const noc_kv_t early[] = {KV("since", "2026-01-15T09:00:00Z"),
                              KV("until", "2026-01-15T10:05:00Z")};
    CHECK_STR(calls(early, 2), "r1");
    const noc_kv_t later[] = {KV("since", "2026-01-15T10:15:00Z")};
    CHECK_STR(calls(later, 1), "r2");
    const noc_kv_t page[] = {KV("limit", "1"), KV("offset", "1")};
    CHECK_STR(calls(page, 2), "wire");
}

/* The API opens the probe stream's address with the label ingest sealed it under. */
static void test_call_addresses(void)
{
    noc_params_t p;
    char err[160];
    json_t *out = NULL;
    CHECK(parse(NULL, 0, &p, err, sizeof err));
    db_t *w = db_from_sqlite(store_db(F.st));
    noc_api_req_t r = {.store = w, .pii = F.pii, .p = &p, .arg = "r1"};
    CHECK_EQ_INT(noc_api_call(&r, &out, err, sizeof err), 200);
    db_close(&w);
    size_t i, probed = 0;
    json_t *s;
    json_array_foreach(json_object_get(out, "streams"), i, s)
    {
        json_t *probe = json_object_get(s, "probe");
        if (!json_is_object(probe))
            continue;
        probed++;
        CHECK_STR(json_string_value(json_object_get(probe, "client_ip")), "10.1.0.5");
    }
    CHECK_EQ_UINT(probed, 2);
    json_t *part = json_array_get(json_object_get(out, "participants"), 0);
    CHECK_STR(json_string_value(json_object_get(part, "client_ip")), "10.1.0.5");
    json_decref(out);
}

int main(void)
{
    if (!fx_open(&F))
        return 1;
    RUN(test_parse_values);
    RUN(test_parse_refusals);
    CHECK(seed());
    RUN(test_filters);
    RUN(test_call_addresses);
    fx_close(&F);
    return check_finish("unit_noc_query");
}
