/* noc_privacy: the viewer's view of an answer, in process, over every
 * personal key of the table (the API of this branch shows only addresses;
 * names, UPNs, devices and the rest come from the people fields). */
#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "noc_privacy.h"
#include "pii.h"

static char dir[] = "/tmp/noc-privacy-XXXXXX";

static pii_t *org(const char *name)
{
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (pii_keygen(path, "contoso.example", err, sizeof err) != 0)
        return NULL;
    const char *files[] = {path};
    return pii_new(files, 1, NULL, err, sizeof err);
}

/* An answer as the people fields will make it: every personal key, nested
 * in objects and arrays, next to keys that are not personal. */
static const char answer[] =
    "{\"call\": {\"call_id\": \"c1\", \"site\": \"hq\", \"organizer_name\": \"Alice Example\","
    "  \"organizer_upn\": \"alice@contoso.example\", \"organizer_id\": \"oid-1\","
    "  \"join_url\": \"https://teams.microsoft.com/l/meetup-join/19%3ameeting\"},"
    " \"participants\": [{\"display_name\": \"Alice Example\", \"upn\": \"ALICE@contoso.example\","
    "  \"user_id\": \"oid-1\", \"client_ip\": \"10.9.0.11\", \"client_mac\": \"aa-bb-cc-00-11-22\","
    "  \"host\": \"LT-ALICE\", \"capture_device\": \"Jabra Evolve2\", \"render_device\": \"Jabra "
    "Evolve2\", \"feedback_text\": \"Bob could not hear me\", \"rating\": 2, \"client_id\": "
    "\"526f86aa\"},"
    "  {\"guest_name\": \"Bob\", \"phone\": 33612345678, \"client_ip\": null, \"src_ip\": \"\","
    "   \"dst_ip\": \"52.112.0.1\", \"remote_ip\": [\"52.112.0.2\", {\"x\": \"52.112.0.3\"}],"
    "   \"client_mac\": \"AA:BB:CC:00:11:22\", \"on_wifi\": true}],"
    " \"history\": [{\"call_id\": \"c2\"}, {\"call_id\": \"c1\"}]}";

static const char *const clear[] = {
    "Alice Example", "alice@",   "ALICE@", "oid-1",   "meetup-join", "10.9.0.11",   "aa-bb",
    "AA:BB",         "LT-ALICE", "Jabra",  "hear me", "Bob",         "33612345678", "52.112.0"};

static json_t *load(void)
{
    json_error_t e;
    json_t *j = json_loads(answer, 0, &e);
    if (!j)
        fprintf(stderr, "fixture: %s at %d\n", e.text, e.position);
    return j;
}

/* The string at "participants.0.upn" ("null" for null, "?" otherwise). */
static const char *at(json_t *j, const char *path)
{
    json_t *v = j;
    for (const char *p = path; v && *p;) {
        size_t n = strcspn(p, ".");
        char part[64];
        snprintf(part, sizeof part, "%.*s", (int)n, p);
        v = json_is_array(v) ? json_array_get(v, (size_t)strtoul(part, NULL, 10))
                             : json_object_get(v, part);
        p += n + (p[n] == '.');
    }
    return json_is_string(v) ? json_string_value(v) : json_is_null(v) ? "null" : "?";
}

static bool looks_pseudonym(const char *s, const char *kind)
{
    regex_t re;
    char pat[64];
    snprintf(pat, sizeof pat, "^%s-[0-9a-f]{8}$", kind);
    regcomp(&re, pat, REG_EXTENDED | REG_NOSUB);
    bool ok = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

static void viewer(void)
{
    char err[256];
    pii_t *pii = org("a.key");
    noc_privacy_t *p = pii ? noc_privacy_new(pii, err, sizeof err) : NULL;
    json_t *j = load();
    CHECK(p && j);
    if (!p || !j)
        return;
    CHECK(noc_privacy_apply(p, j, true, NULL));
    char *text = json_dumps(j, JSON_COMPACT);
    for (size_t i = 0; i < sizeof clear / sizeof clear[0]; i++)
        if (strstr(text, clear[i])) {
            fprintf(stderr, "clear value %s in %s\n", clear[i], text);
            CHECK(!"a clear personal value reached the viewer");
        }
    CHECK(looks_pseudonym(at(j, "participants.0.display_name"), "name"));
    CHECK(looks_pseudonym(at(j, "participants.0.upn"), "upn"));
    CHECK(looks_pseudonym(at(j, "participants.0.user_id"), "user"));
    CHECK(looks_pseudonym(at(j, "participants.0.client_ip"), "ip"));
    CHECK(looks_pseudonym(at(j, "participants.0.client_mac"), "mac"));
    CHECK(looks_pseudonym(at(j, "participants.0.host"), "host"));
    CHECK(looks_pseudonym(at(j, "participants.0.capture_device"), "dev"));
    CHECK(looks_pseudonym(at(j, "participants.1.guest_name"), "name"));
    CHECK(looks_pseudonym(at(j, "participants.1.phone"), "phone")); /* a number too */
    CHECK(looks_pseudonym(at(j, "participants.1.remote_ip.0"), "ip"));
    CHECK(looks_pseudonym(at(j, "participants.1.remote_ip.1.x"), "ip")); /* nested */
    /* the same person under another key of the same kind, and case */
    CHECK_STR(at(j, "call.organizer_name"), at(j, "participants.0.display_name"));
    CHECK_STR(at(j, "call.organizer_upn"), at(j, "participants.0.upn"));
    CHECK_STR(at(j, "call.organizer_id"), at(j, "participants.0.user_id"));
    CHECK_STR(at(j, "participants.0.capture_device"), at(j, "participants.0.render_device"));
    CHECK_STR(at(j, "participants.0.client_mac"), at(j, "participants.1.client_mac"));
    /* different values differ */
    CHECK(strcmp(at(j, "participants.0.display_name"), at(j, "participants.1.guest_name")) != 0);
    CHECK(strcmp(at(j, "participants.1.dst_ip"), at(j, "participants.1.remote_ip.0")) != 0);
    /* withheld, kept */
    CHECK_STR(at(j, "participants.0.feedback_text"), "null");
    CHECK_STR(at(j, "call.join_url"), "null");
    CHECK_STR(at(j, "participants.1.client_ip"), "null");
    CHECK_STR(at(j, "participants.1.src_ip"), "");
    CHECK_STR(at(j, "call.site"), "hq");
    CHECK_STR(at(j, "participants.0.client_id"), "526f86aa");
    CHECK_EQ_INT(json_integer_value(json_object_get(
                     json_array_get(json_object_get(j, "participants"), 0), "rating")),
                 2);
    CHECK(json_is_true(
        json_object_get(json_array_get(json_object_get(j, "participants"), 1), "on_wifi")));
    /* the same as noc_privacy_pseudonym says, and the same with a second
     * handle on the same key (a restart); another organisation differs */
    char ps[NOC_PRIVACY_PSEUDONYM_MAX];
    CHECK(noc_privacy_pseudonym(p, "client_ip", "10.9.0.11", ps, sizeof ps));
    CHECK_STR(ps, at(j, "participants.0.client_ip"));
    noc_privacy_t *again = noc_privacy_new(pii, err, sizeof err);
    CHECK(again && noc_privacy_pseudonym(again, "src_ip", "10.9.0.11", ps, sizeof ps));
    CHECK_STR(ps, at(j, "participants.0.client_ip"));
    CHECK(!noc_privacy_pseudonym(p, "join_url", "x", ps, sizeof ps)); /* withheld */
    CHECK(!noc_privacy_pseudonym(p, "site", "x", ps, sizeof ps));     /* not personal */
    pii_t *other = org("b.key");
    noc_privacy_t *po = other ? noc_privacy_new(other, err, sizeof err) : NULL;
    CHECK(po && noc_privacy_pseudonym(po, "client_ip", "10.9.0.11", ps, sizeof ps));
    CHECK(strcmp(ps, at(j, "participants.0.client_ip")) != 0);
    free(text);
    json_decref(j);
    noc_privacy_free(&po);
    noc_privacy_free(&again);
    noc_privacy_free(&p);
    CHECK(p == NULL);
    pii_free(&other);
    pii_free(&pii);
}

static void investigator(void)
{
    char err[256];
    pii_t *pii = org("c.key");
    noc_privacy_t *p = pii ? noc_privacy_new(pii, err, sizeof err) : NULL;
    json_t *j = load();
    CHECK(p && j);
    if (!p || !j)
        return;
    char *before = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    noc_privacy_seen_t seen = {0};
    CHECK(noc_privacy_apply(p, j, false, &seen));
    char *after = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    CHECK_STR(after, before); /* nothing changed */
    /* non-empty personal values: 4 in call, 9 in the first participant, 6
     * in the second (guest_name, phone, dst_ip, 2 remote_ip, client_mac) */
    CHECK_EQ_UINT(seen.values, 4 + 9 + 6);
    size_t want = 0;
    for (size_t i = 0; i < noc_privacy_nkeys(); i++)
        if (strcmp(noc_privacy_key(i), "src_ip") != 0) /* only "" */
            want |= 1u << i;
    CHECK_EQ_UINT(seen.keys, want);
    CHECK_EQ_UINT(json_object_size(seen.call_ids), 2); /* c1 twice, c2 */
    CHECK(json_object_get(seen.call_ids, "c1") && json_object_get(seen.call_ids, "c2"));
    noc_privacy_seen_free(&seen);
    CHECK(seen.call_ids == NULL);
    /* nothing personal: nothing seen */
    json_t *plain = json_pack("{s:[{s:s, s:n}]}", "calls", "call_id", "c9", "client_ip");
    CHECK(noc_privacy_apply(p, plain, false, &seen));
    CHECK_EQ_UINT(seen.values, 0);
    noc_privacy_seen_free(&seen);
    json_decref(plain);
    free(before);
    free(after);
    json_decref(j);
    noc_privacy_free(&p);
    pii_free(&pii);
}

static void limits(void)
{
    char err[256];
    pii_t *pii = org("d.key");
    noc_privacy_t *p = pii ? noc_privacy_new(pii, err, sizeof err) : NULL;
    CHECK(p != NULL);
    if (!p)
        return;
    /* nesting deeper than the limit is refused, not passed through */
    json_t *deep = json_string("10.9.0.11");
    for (int i = 0; i < NOC_PRIVACY_MAX_DEPTH + 10; i++)
        deep = json_pack("[o]", deep);
    json_t *top = json_pack("{s:o}", "client_ip", deep);
    CHECK(!noc_privacy_apply(p, top, true, NULL));
    json_decref(top);
    /* a long value is hashed whole (over the 256-byte chunk) */
    char long_a[1000], long_b[1000];
    memset(long_a, 'a', sizeof long_a - 1);
    long_a[sizeof long_a - 1] = '\0';
    memcpy(long_b, long_a, sizeof long_b);
    long_b[900] = 'b';
    char pa[NOC_PRIVACY_PSEUDONYM_MAX], pb[NOC_PRIVACY_PSEUDONYM_MAX];
    CHECK(noc_privacy_pseudonym(p, "host", long_a, pa, sizeof pa));
    CHECK(noc_privacy_pseudonym(p, "host", long_b, pb, sizeof pb));
    CHECK(strcmp(pa, pb) != 0);
    /* the search parameters refused to a viewer */
    CHECK_STR(noc_privacy_person_param("user", 4), "user");
    CHECK_STR(noc_privacy_person_param("client", 6), "client");
    CHECK(noc_privacy_person_param("users", 5) == NULL);
    CHECK(noc_privacy_person_param("use", 3) == NULL);
    CHECK(noc_privacy_person_param("site", 4) == NULL);
    noc_privacy_free(&p);
    pii_free(&pii);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    RUN(viewer);
    RUN(investigator);
    RUN(limits);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_finish("unit_noc_privacy");
}
