/* Unit tests: the parser over every published example payload in
 * ../shared/graph/examples (skipped, 77, when absent), plus exact values
 * from the two fullest examples. */
#include <dirent.h>
#include <stdlib.h>

#include <jansson.h>

#include "check.h"
#include "graph_parse.h"

static graph_record_t *load(const char *name)
{
    char path[1024], err[256];
    snprintf(path, sizeof path, "%s/%s", GRAPH_EXAMPLES, name);
    json_t *j = json_load_file(path, 0, NULL);
    graph_record_t *r = j ? graph_parse_record(j, err, sizeof err) : NULL;
    json_decref(j);
    if (!r)
        fprintf(stderr, "%s: %s\n", name, j ? err : "unreadable");
    return r;
}

/* Every file parses as JSON; every call record in it parses. */
static void every_file(void)
{
    DIR *d = opendir(GRAPH_EXAMPLES);
    CHECK(d != NULL);
    if (!d)
        return;
    int records = 0;
    for (struct dirent *e = readdir(d); e; e = readdir(d)) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0)
            continue;
        char path[1024], err[256];
        snprintf(path, sizeof path, "%s/%s", GRAPH_EXAMPLES, e->d_name);
        json_t *j = json_load_file(path, 0, NULL);
        CHECK(j != NULL);
        const json_t *list = json_is_array(j) ? j : json_object_get(j, "value");
        size_t i;
        const json_t *o;
        if (json_is_object(j) && json_object_get(j, "version")) {
            graph_record_t *r = graph_parse_record(j, err, sizeof err);
            CHECK(r != NULL);
            records += r != NULL;
            graph_record_free(&r);
        }
        json_array_foreach(list, i, o)
        {
            /* list entries and sessions both go through the parser: an
             * element without an id is refused, one with an id parses */
            graph_record_t *r = graph_parse_record(o, err, sizeof err);
            CHECK((r != NULL) == (json_string_value(json_object_get(o, "id")) != NULL));
            graph_record_free(&r);
        }
        json_decref(j);
    }
    closedir(d);
    CHECK(records >= 5);
}

static void full_doc_example(void)
{
    graph_record_t *r = load("callrecord-get-expand-sessions.json");
    CHECK(r != NULL);
    if (!r)
        return;
    size_t n[GRAPH_NKINDS];
    graph_record_count(r, n);
    CHECK_EQ_INT(n[GRAPH_SESSION], 1);
    CHECK_EQ_INT(n[GRAPH_SEGMENT], 1);
    CHECK_EQ_INT(n[GRAPH_MEDIA], 1);
    CHECK_EQ_INT(n[GRAPH_STREAM], 2);
    int64_t i;
    double d;
    const char *s;
    CHECK(graph_node_int(r, REC_VERSION, &i) && i == 1);
    CHECK(graph_node_str(r, REC_ORG_NAME, &s)); /* deprecated organizer shape */
    const graph_node_t *seg = &r->kids[0].kids[0], *med = &seg->kids[0];
    CHECK(graph_node_str(seg, SEG_CALLER_USER_ID, &s));
    CHECK_STR(s, "821809f5-0000-0000-0000-3b5136c0e777");
    CHECK(graph_node_str(seg, SEG_CALLER_UA_PLATFORM, &s));
    CHECK_STR(s, "android");
    CHECK(graph_node_str(med, MED_CALLER_IP, &s));
    CHECK_STR(s, "10.150.0.2");
    CHECK(graph_node_int(med, MED_CALLER_PORT, &i) && i == 27288);
    CHECK(graph_node_str(med, MED_CALLER_RELAY_IP, &s));
    CHECK_STR(s, "52.114.188.32");
    CHECK(graph_node_int(med, MED_CALLER_RELAY_PORT, &i) && i == 53889);
    CHECK(graph_node_int(med, MED_CALLER_LINK_SPEED, &i) && i == 54000000);
    CHECK(!graph_node_int(med, MED_CALLEE_LINK_SPEED, &i)); /* 4294967295 = unknown */
    CHECK(!graph_node_str(med, MED_CALLER_MAC, &s));        /* all-zero MAC = unknown */
    CHECK(!graph_node_str(med, MED_CALLER_DNS_SUFFIX, &s)); /* null */
    CHECK(graph_node_real(med, MED_CALLER_SENT_QUALITY_RATIO, &d) && d == 0.0); /* a real 0 */
    CHECK(!graph_node_real(med, MED_CALLER_DEV_CPU_INSUFFICIENT, &d));          /* missing */
    CHECK(graph_node_real(med, MED_CALLER_DEV_SPEAKER_GLITCH_RATE, &d) && d == 3830);
    const graph_node_t *up = &med->kids[0], *down = &med->kids[1];
    CHECK(graph_node_str(up, STR_DIRECTION, &s));
    CHECK_STR(s, "callerToCallee");
    CHECK(graph_node_real(up, STR_AVG_JITTER, &d));
    CHECK_NEAR(d, 16.0, 1e-9);
    CHECK(graph_node_real(up, STR_AVG_RTT, &d));
    CHECK_NEAR(d, 61.0, 1e-9);
    CHECK(!graph_node_real(up, STR_DEGRADATION, &d)); /* null */
    CHECK(graph_node_real(down, STR_DEGRADATION, &d));
    CHECK_NEAR(d, 1.160898, 1e-9);
    CHECK(graph_node_real(down, STR_AVG_LOSS, &d));
    CHECK_NEAR(d, 0.01381693, 1e-12);
    CHECK(graph_node_real(down, STR_MAX_NET_JITTER, &d));
    CHECK_NEAR(d, 474.0, 1e-9);
    const graph_node_t *ses = &r->kids[0];
    CHECK(graph_node_str(ses, SES_CALLEE_RATING, &s));
    CHECK_STR(s, "poor");
    CHECK(graph_node_str(ses, SES_CALLEE_FEEDBACK_TOKENS, &s));
    CHECK(strstr(s, "\"Noisy\":true") != NULL);
    graph_record_free(&r);
}

static void pnp_live_like(void)
{
    graph_record_t *r = load("pnp-cli-m365-callrecord-get-expand-sessions.json");
    CHECK(r != NULL);
    if (!r)
        return;
    const char *s;
    int64_t i;
    CHECK(graph_node_str(r, REC_ORG_UPN, &s));
    CHECK_STR(s, "john.doe@contoso.com");
    const graph_node_t *ses = &r->kids[0];
    CHECK(graph_node_str(ses, SES_CALLER_HOST, &s));
    CHECK_STR(s, "JOHNDOE-PC");
    CHECK(graph_node_int(ses, SES_CALLER_CPU_CORES, &i) && i == 14);
    CHECK(graph_node_int(ses, SES_IS_TEST, &i) && i == 0);
    CHECK(!graph_node_str(ses, SES_CALLEE_UA_HEADER, &s)); /* null */
    CHECK(!graph_node_str(ses, SES_FAIL_REASON, &s));      /* failureInfo null */
    int relay3479 = 0, empty_ip = 0;
    for (size_t m = 0; m < ses->kids[0].nkids; m++) {
        const graph_node_t *med = &ses->kids[0].kids[m];
        relay3479 += graph_node_int(med, MED_CALLER_RELAY_PORT, &i) && i == 3479;
        empty_ip += !graph_node_str(med, MED_CALLEE_IP, &s); /* "" = unknown */
    }
    CHECK(relay3479 >= 1);
    CHECK(empty_ip >= 1);
    graph_record_free(&r);
}

static void bad_input(void)
{
    char err[256];
    CHECK(graph_parse_text("{\"id\": \"x\", \"sessions\": [", 26, err, sizeof err) == NULL);
    CHECK(strstr(err, "malformed or truncated") != NULL);
    CHECK(graph_parse_text("[]", 2, err, sizeof err) == NULL);
    CHECK(graph_parse_text("{\"version\": 1}", 14, err, sizeof err) == NULL);
    const char *odd = "{\"id\":\"a\",\"version\":\"x\",\"sessions\":[1,null,{\"segments\":{}},"
                      "{\"id\":7,\"segments\":[{\"media\":[{\"streams\":[{\"averageJitter\":5,"
                      "\"averagePacketLossRate\":\"0.1\"}]}]}]}]}";
    graph_record_t *r = graph_parse_text(odd, strlen(odd), err, sizeof err);
    CHECK(r != NULL); /* wrong types are unknown values, not failures */
    if (r) {
        int64_t i;
        double d;
        CHECK(!graph_node_int(r, REC_VERSION, &i));
        CHECK_EQ_INT(r->nkids, 2);
        const graph_node_t *st = &r->kids[1].kids[0].kids[0].kids[0];
        CHECK(!graph_node_real(st, STR_AVG_JITTER, &d));
        CHECK(!graph_node_real(st, STR_AVG_LOSS, &d));
    }
    graph_record_free(&r);
}

int main(void)
{
    RUN(bad_input);
    DIR *d = opendir(GRAPH_EXAMPLES);
    if (!d) {
        printf("graph_unit_parse: %s not found: example payload tests skipped\n", GRAPH_EXAMPLES);
        check_finish("graph_unit_parse");
        return check_failures ? 1 : 77;
    }
    closedir(d);
    RUN(every_file);
    RUN(full_doc_example);
    RUN(pnp_live_like);
    return check_finish("graph_unit_parse");
}
