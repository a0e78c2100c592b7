/* The embedding API as 'run' uses it: noc_new with a counters callback,
 * /metrics shows the callback's leaves, a store without verdict tables
 * answers 503 "no verdicts yet", noc_tick and noc_free are clean. */
#include <curl/curl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dynbuf.h"
#include "pii.h"
#include "noc.h"
#include "store.h"
#include "timefmt.h"

static int failures;

#define CHECK(c, what)                                                                             \
    do {                                                                                           \
        if (c)                                                                                     \
            printf("ok: %s\n", what);                                                              \
        else {                                                                                     \
            printf("FAIL: %s\n", what);                                                            \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static json_t *counters(void *ctx)
{
    atomic_int *calls = ctx;
    atomic_fetch_add(calls, 1);
    return json_pack("{s:{s:i, s:i}, s:{s:i, s:b, s:s}, s:i}", "ingest", "frames", 7, "db_errors",
                     0, "graph", "cycles", 2, "ok", 1, "name", "not a number", "odd key-name", 5);
}

static size_t collect(char *p, size_t size, size_t n, void *ctx)
{
    return dynbuf_add(ctx, p, size * n) ? size * n : 0;
}

static long fetch(unsigned port, const char *path, const char *token, dynbuf_t *out)
{
    char url[256], auth[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    dynbuf_reset(out);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, auth);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    long code = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return code;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    char dir[512], db[600], key[600], tok[600], err[512];
    snprintf(dir, sizeof dir, "%s/embed-%d", argv[1], (int)getpid());
    mkdir(argv[1], 0700);
    mkdir(dir, 0700);
    snprintf(db, sizeof db, "%s/c.db", dir);
    snprintf(key, sizeof key, "%s/org.key", dir);
    snprintf(tok, sizeof tok, "%s/token", dir);
    const char *token = "embed-test-token-0123456789";
    FILE *f = fopen(tok, "w");
    fprintf(f, "%s\n", token);
    fclose(f);
    chmod(tok, 0600);
    CHECK(pii_keygen(key, "contoso.example", err, sizeof err) == 0, "org key");
    const char *keys[] = {key};
    pii_t *pii = pii_new(keys, 1, NULL, err, sizeof err);
    store_t *st = pii ? store_open(db, false, pii, err, sizeof err) : NULL;
    CHECK(st != NULL, "store made");

    noc_cfg_t cfg;
    noc_cfg_defaults(&cfg);
    cfg.db_path = db;
    cfg.bind = "127.0.0.1:0";
    cfg.token_file = tok;
    cfg.alert_syslog = false;
    atomic_int calls = 0;
    noc_t *n = noc_new(&cfg, pii, counters, &calls, err, sizeof err);
    CHECK(n != NULL, "noc_new");
    if (!n) {
        printf("%s\n", err);
        return 1;
    }
    unsigned port = noc_port(n);
    CHECK(port > 0, "port bound");
    dynbuf_t b;
    dynbuf_init(&b, 1 << 24);
    CHECK(fetch(port, "/metrics", token, &b) == 200, "/metrics 200");
    CHECK(b.p && strstr(b.p, "\ncallscope_ingest_frames 7\n"), "callback leaf as gauge");
    CHECK(b.p && strstr(b.p, "\ncallscope_graph_ok 1\n"), "boolean leaf as 0/1");
    CHECK(b.p && strstr(b.p, "\ncallscope_odd_key_name 5\n"), "key sanitised");
    CHECK(b.p && !strstr(b.p, "not a number"), "string leaves skipped");
    CHECK(b.p && strstr(b.p, "\ncallscope_verdict_tables 0\n"), "no verdict tables yet");
    CHECK(atomic_load(&calls) == 1, "callback called once per scrape");
    CHECK(fetch(port, "/api/calls", token, &b) == 503, "API before verdict tables: 503");
    CHECK(b.p && strstr(b.p, "no verdicts yet"), "says why");
    CHECK(fetch(port, "/metrics", "wrong-token-0123456789", &b) == 401, "wrong token 401");
    noc_tick(n, timefmt_now());
    noc_tick(n, timefmt_now());
    noc_free(&n);
    CHECK(n == NULL, "noc_free NULLs the handle");
    noc_free(&n);
    dynbuf_free(&b);
    store_free(&st);
    pii_free(&pii);
    return failures ? 1 : 0;
}
