/* callscope-collector teams-ranges update: keeps the Teams media ranges
 * file current from Microsoft 365's IP address and URL web service
 * (https://learn.microsoft.com/microsoft-365/enterprise/microsoft-365-ip-web-service).
 *
 *   GET BASE/version/INSTANCE?ClientRequestId=GUID  -> {"instance":..,"latest":"2024103100"}
 *   GET BASE/endpoints/INSTANCE?ClientRequestId=GUID -> [{"id":11,"serviceArea":"Skype",
 *        "category":"Optimize","ips":[..],"udpPorts":"3478,3479,3480,3481"}, ...]
 *
 * The list is fetched only when the version differs from the one written
 * in the current file's header. Teams media = service area "Skype",
 * category "Optimize", UDP ports among 3478-3481. The new file is written
 * beside the old one and renamed over it, so a reader sees the old file or
 * the new one, never half; on any failure the old file stays as it was.
 * The file format is probe/teams-media.protos's (nDPI protocol-file lines
 * "ip:PREFIX@Teams", IPv6 as "#ipv6:PREFIX@Teams" comments that nDPI 4.2
 * skips and the probe reads).
 *
 * HTTP goes through enrich/graph_http (libcurl, https only, bounded body,
 * Retry-After parsed); libcurl takes a proxy from https_proxy/HTTPS_PROXY
 * and no_proxy, as curl(1) does.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "graph_http.h"
#include "log.h"
#include "opttab.h"

#define PROG "callscope-collector teams-ranges"
#define DEFAULT_OUT "/etc/callscope/teams-media.protos"
#define MAX_BODY (8u << 20) /* the worldwide list is about 100 KB (2024) */
#define MAX_PREFIXES 4096
#define GUID_LEN 36

typedef struct {
    const char *out;
    const char *base_url;
    const char *instance;
    const char *ca_bundle;
    const char *request_id;
    unsigned timeout_s;
    unsigned max_attempts;
    unsigned max_wait_s;
    bool force;
} tr_cfg_t;

/* What the current file's header says. */
typedef struct {
    char version[64];
    char request_id[GUID_LEN + 1];
} tr_head_t;

typedef struct {
    char *v4[MAX_PREFIXES];
    char *v6[MAX_PREFIXES];
    size_t n4, n6;
} tr_set_t;

enum { TR_OK = 0, TR_FAILED = 1, TR_USAGE = 2 };

#define CFG(f) offsetof(tr_cfg_t, f)
static const opttab_opt_t opts[] = {
    {{"out", 'o', OPTTAB_STR, CFG(out), 0, 0, "FILE",
      "The ranges file to keep current; the probe prefers it to the packaged copy in "
      "/usr/share/callscope."},
     DEFAULT_OUT,
     0,
     0},
    {{"ca-bundle", 0, OPTTAB_STR, CFG(ca_bundle), 0, 0, "FILE",
      "PEM file of certificates to trust (a TLS-inspecting proxy; default: the system's)."},
     NULL,
     0,
     0},
    {{"base-url", 0, OPTTAB_STR, CFG(base_url), 0, 0, "URL", "The web service."},
     "https://endpoints.office.com",
     0,
     0},
    {{"instance", 0, OPTTAB_STR, CFG(instance), 0, 0, "NAME",
      "Worldwide, USGovDoD, USGovGCCHigh or China."},
     "Worldwide",
     0,
     0},
    {{"client-request-id", 0, OPTTAB_STR, CFG(request_id), 0, 0, "GUID",
      "The GUID Microsoft asks each machine to send (default: the one in FILE's header, "
      "else a new random one)."},
     NULL,
     0,
     0},
    {{"timeout", 0, OPTTAB_UINT, CFG(timeout_s), 1, 600, "SECONDS", "Per request."}, "30", 0, 0},
    {{"max-attempts", 0, OPTTAB_UINT, CFG(max_attempts), 1, 20, "N",
      "Tries per request on 429, 5xx or network errors."},
     "4",
     0,
     0},
    {{"max-wait", 0, OPTTAB_UINT, CFG(max_wait_s), 0, 3600, "SECONDS",
      "Longest Retry-After honoured; longer ones fail the run."},
     "300",
     0,
     0},
    {{"force", 0, OPTTAB_FLAG, CFG(force), 0, 0, NULL,
      "Fetch the list even when the version has not changed."},
     NULL,
     0,
     0},
    {{"help", 'h', OPTTAB_SPECIAL, 0, 0, 0, NULL, "This help."}, NULL, 0, 0},
};

static opttab_result_t help(opttab_t *t, const opttab_def_t *d, const char *val)
{
    (void)d;
    (void)val;
    printf("Usage: " PROG " update [options]\n\n"
           "Keeps the Teams media ranges file current from Microsoft 365's IP address\n"
           "and URL web service: asks /version first and fetches /endpoints only when\n"
           "the version changed; takes service area Skype, category Optimize, UDP\n"
           "3478-3481 (Teams media); writes the file atomically. On any failure (network,\n"
           "throttling, a malformed answer, no prefixes) the old file is kept as it was.\n"
           "A proxy is taken from https_proxy / HTTPS_PROXY (no_proxy honoured).\n"
           "Running probes read the new file when restarted.\n\nOptions:\n");
    opttab_help(t, stdout);
    printf("\nExit status: 0 updated or already current; 1 failed (file kept); 2 usage.\n");
    return OPTTAB_EXIT_OK;
}

/* ---- the current file's header ------------------------------------------ */

static void read_head(const char *path, tr_head_t *h)
{
    memset(h, 0, sizeof *h);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[512];
    for (int n = 0; n < 64 && fgets(line, sizeof line, f); n++) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strncmp(line, "# version: ", 11) == 0)
            snprintf(h->version, sizeof h->version, "%.63s", line + 11);
        else if (strncmp(line, "# client-request-id: ", 21) == 0)
            snprintf(h->request_id, sizeof h->request_id, "%.36s", line + 21);
    }
    fclose(f);
}

static bool guid_ok(const char *s)
{
    if (strlen(s) != GUID_LEN)
        return false;
    for (int i = 0; i < GUID_LEN; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i]))
            return false;
    }
    return true;
}

static bool guid_new(char out[GUID_LEN + 1])
{
    unsigned char b[16];
    FILE *f = fopen("/dev/urandom", "rb");
    bool ok = f && fread(b, 1, sizeof b, f) == sizeof b;
    if (f)
        fclose(f);
    if (!ok)
        return false;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(out, GUID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
    return true;
}

/* ---- HTTP with Retry-After ---------------------------------------------- */

/* GETs url into resp (clear it after); false with the reason printed. */
static bool fetch(graph_http_t *h, const tr_cfg_t *cfg, const char *what, const char *url,
                  graph_http_resp_t *resp)
{
    double backoff = 1;
    for (unsigned attempt = 1;; attempt++) {
        graph_http_get(h, url, NULL, resp);
        if (resp->net == GRAPH_NET_OK && resp->status == 200)
            return true;
        bool retry = resp->net == GRAPH_NET_TIMEOUT || resp->net == GRAPH_NET_ERROR ||
                     (resp->net == GRAPH_NET_OK && (resp->status == 429 || resp->status >= 500));
        double wait = resp->retry_after_s >= 0 ? resp->retry_after_s : backoff;
        if (resp->net == GRAPH_NET_OK)
            LOG_WARN("%s: HTTP %ld (attempt %u of %u)", what, resp->status, attempt,
                     cfg->max_attempts);
        else
            LOG_WARN("%s: %s (attempt %u of %u)", what, resp->error, attempt, cfg->max_attempts);
        if (!retry || attempt >= cfg->max_attempts) {
            LOG_ERROR("%s failed: %s", what,
                      resp->net == GRAPH_NET_TLS ? "server certificate not trusted (--ca-bundle?)"
                      : resp->status == 429      ? "throttled by the service (429)"
                                                 : "giving up");
            return false;
        }
        if (wait > cfg->max_wait_s) {
            LOG_ERROR("%s: the service asks to wait %.0f s, more than --max-wait %u", what, wait,
                      cfg->max_wait_s);
            return false;
        }
        LOG_INFO("%s: retrying in %.1f s", what, wait);
        struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
        nanosleep(&ts, NULL);
        backoff = backoff * 2 > 60 ? 60 : backoff * 2;
        graph_http_resp_clear(resp);
    }
}

static json_t *parse_json(const char *what, const graph_http_resp_t *resp)
{
    json_error_t je;
    json_t *j = json_loadb(resp->body, resp->len, 0, &je);
    if (!j)
        LOG_ERROR("%s: the answer is not valid JSON (line %d: %s); file kept", what, je.line,
                  je.text);
    return j;
}

/* ---- the Teams media set --------------------------------------------------- */

/* "3478,3479,3480,3481" or "3478-3481" or "80,443,3478-3481": does the list
 * name any of Teams' media ports? */
static bool media_ports(const char *list)
{
    const char *p = list;
    while (p && *p) {
        char *end;
        long lo = strtol(p, &end, 10), hi = lo;
        if (end == p)
            return false;
        if (*end == '-')
            hi = strtol(end + 1, &end, 10);
        if (lo <= 3481 && hi >= 3478)
            return true;
        p = *end == ',' ? end + 1 : NULL;
    }
    return false;
}

/* A prefix "A/LEN" that inet_pton takes, or false. */
static bool prefix_ok(const char *s, bool *v6)
{
    char addr[INET6_ADDRSTRLEN + 8];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : 0;
    if (!slash || n == 0 || n >= INET6_ADDRSTRLEN)
        return false;
    memcpy(addr, s, n);
    addr[n] = '\0';
    unsigned char buf[16];
    *v6 = strchr(addr, ':') != NULL;
    if (inet_pton(*v6 ? AF_INET6 : AF_INET, addr, buf) != 1)
        return false;
    char *end;
    long len = strtol(slash + 1, &end, 10);
    return end != slash + 1 && *end == '\0' && len >= 0 && len <= (*v6 ? 128 : 32);
}

static bool set_add(tr_set_t *set, const char *prefix)
{
    bool v6 = false;
    if (!prefix_ok(prefix, &v6)) {
        LOG_ERROR("endpoints: '%.60s' is not an address prefix; file kept", prefix);
        return false;
    }
    char **list = v6 ? set->v6 : set->v4;
    size_t *n = v6 ? &set->n6 : &set->n4;
    for (size_t i = 0; i < *n; i++)
        if (strcmp(list[i], prefix) == 0)
            return true;
    if (*n >= MAX_PREFIXES) {
        LOG_ERROR("endpoints: more than %d prefixes; file kept", MAX_PREFIXES);
        return false;
    }
    list[*n] = strdup(prefix);
    if (!list[*n])
        return false;
    (*n)++;
    return true;
}

static void set_clear(tr_set_t *set)
{
    for (size_t i = 0; i < set->n4; i++)
        free(set->v4[i]);
    for (size_t i = 0; i < set->n6; i++)
        free(set->v6[i]);
    set->n4 = set->n6 = 0;
}

static bool is_teams_media(json_t *e)
{
    const char *area = json_string_value(json_object_get(e, "serviceArea"));
    const char *cat = json_string_value(json_object_get(e, "category"));
    const char *udp = json_string_value(json_object_get(e, "udpPorts"));
    return area && cat && udp && strcmp(area, "Skype") == 0 && strcmp(cat, "Optimize") == 0 &&
           media_ports(udp);
}

/* The Teams media prefixes of an /endpoints answer; false (printed) when
 * the answer is not the documented shape or names no IPv4 prefix. */
static bool extract(json_t *list, tr_set_t *set, char *ids, size_t idslen)
{
    if (!json_is_array(list)) {
        LOG_ERROR("endpoints: the answer is not a JSON array of endpoint sets; file kept");
        return false;
    }
    size_t i;
    json_t *e;
    ids[0] = '\0';
    json_array_foreach(list, i, e)
    {
        if (!json_is_object(e)) {
            LOG_ERROR("endpoints: element %zu is not an object; file kept", i);
            return false;
        }
        if (!is_teams_media(e))
            continue;
        json_t *ips = json_object_get(e, "ips");
        size_t k;
        json_t *ip;
        json_array_foreach(ips, k, ip)
        {
            if (!json_is_string(ip) || !set_add(set, json_string_value(ip)))
                return false;
        }
        size_t used = strlen(ids);
        snprintf(ids + used, idslen - used, "%s%lld", used ? "," : "",
                 (long long)json_integer_value(json_object_get(e, "id")));
    }
    if (set->n4 == 0) {
        LOG_ERROR("endpoints: no Skype/Optimize set with UDP 3478-3481 and IPv4 prefixes; "
                  "file kept");
        return false;
    }
    return true;
}

/* ---- the file, atomically --------------------------------------------------- */

static bool write_body(FILE *f, const tr_cfg_t *cfg, const char *version, const char *guid,
                       const char *ids, const tr_set_t *set)
{
    fprintf(f,
            "# callscope: Microsoft Teams media ranges, in nDPI's protocol-file syntax.\n"
            "# Written by `callscope-collector teams-ranges update` from %s\n"
            "# (Microsoft 365 IP address and URL web service, instance %s):\n"
            "# service area Skype, category Optimize, UDP 3478-3481; endpoint set ids %s.\n"
            "# nDPI 4.2 reads the \"ip:\" lines; it cannot take IPv6 rules, so IPv6\n"
            "# prefixes are comments \"#ipv6:\" that callscope-probe reads itself.\n"
            "# version: %s\n"
            "# client-request-id: %s\n",
            cfg->base_url, cfg->instance, ids, version, guid);
    for (size_t i = 0; i < set->n4; i++)
        fprintf(f, "ip:%s@Teams\n", set->v4[i]);
    for (size_t i = 0; i < set->n6; i++)
        fprintf(f, "#ipv6:%s@Teams\n", set->v6[i]);
    return fflush(f) == 0 && !ferror(f) && fsync(fileno(f)) == 0;
}

static bool write_atomic(const tr_cfg_t *cfg, const char *version, const char *guid,
                         const char *ids, const tr_set_t *set)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.XXXXXX", cfg->out) >= (int)sizeof tmp)
        return false;
    int fd = mkstemp(tmp);
    if (fd < 0) {
        LOG_ERROR("cannot create a file beside %s: %s; file kept", cfg->out, strerror(errno));
        return false;
    }
    FILE *f = fdopen(fd, "w");
    bool ok = f && fchmod(fd, 0644) == 0 && write_body(f, cfg, version, guid, ids, set);
    if (f ? fclose(f) != 0 : close(fd) != 0)
        ok = false;
    if (ok && rename(tmp, cfg->out) != 0)
        ok = false;
    if (!ok) {
        LOG_ERROR("cannot write %s: %s; file kept", cfg->out, strerror(errno));
        unlink(tmp);
        return false;
    }
    /* the rename itself survives a power cut once the directory is synced */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", cfg->out);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return true;
}

/* ---- the update -------------------------------------------------------------- */

static int latest_version(graph_http_t *h, const tr_cfg_t *cfg, const char *guid, char *out,
                          size_t outlen)
{
    char url[2048];
    snprintf(url, sizeof url, "%s/version/%s?ClientRequestId=%s", cfg->base_url, cfg->instance,
             guid);
    graph_http_resp_t resp;
    if (!fetch(h, cfg, "version", url, &resp)) {
        graph_http_resp_clear(&resp);
        return TR_FAILED;
    }
    json_t *j = parse_json("version", &resp);
    graph_http_resp_clear(&resp);
    const char *v = json_string_value(json_object_get(j, "latest"));
    int rc = TR_FAILED;
    if (j && (!v || !*v || strlen(v) >= outlen || strchr(v, '\n')))
        LOG_ERROR("version: no \"latest\" string in the answer; file kept");
    else if (j) {
        snprintf(out, outlen, "%s", v);
        rc = TR_OK;
    }
    json_decref(j);
    return rc;
}

static int update(const tr_cfg_t *cfg)
{
    tr_head_t head;
    read_head(cfg->out, &head);
    char guid[GUID_LEN + 1];
    const char *g = cfg->request_id ? cfg->request_id : head.request_id;
    if (g[0] && !guid_ok(g)) {
        LOG_ERROR("--client-request-id: '%s' is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
                  g);
        return TR_USAGE;
    }
    if (g[0])
        snprintf(guid, sizeof guid, "%s", g);
    else if (!guid_new(guid)) {
        LOG_ERROR("cannot read /dev/urandom for a ClientRequestId");
        return TR_FAILED;
    }
    char err[256];
    graph_http_t *h =
        graph_http_new(cfg->ca_bundle, (long)cfg->timeout_s * 1000, MAX_BODY, err, sizeof err);
    if (!h) {
        LOG_ERROR("%s", err);
        return TR_FAILED;
    }
    char latest[64];
    int rc = latest_version(h, cfg, guid, latest, sizeof latest);
    if (rc == TR_OK && !cfg->force && strcmp(latest, head.version) == 0) {
        printf("%s: current (version %s)\n", cfg->out, latest);
        graph_http_free(&h);
        return TR_OK;
    }
    char url[2048];
    snprintf(url, sizeof url, "%s/endpoints/%s?ClientRequestId=%s", cfg->base_url, cfg->instance,
             guid);
    graph_http_resp_t resp;
    memset(&resp, 0, sizeof resp);
    json_t *list = NULL;
    if (rc == TR_OK && (rc = fetch(h, cfg, "endpoints", url, &resp) ? TR_OK : TR_FAILED) == TR_OK)
        list = parse_json("endpoints", &resp);
    graph_http_resp_clear(&resp);
    graph_http_free(&h);
    tr_set_t *set = calloc(1, sizeof *set);
    char ids[256];
    if (rc == TR_OK && (!list || !set || !extract(list, set, ids, sizeof ids) ||
                        !write_atomic(cfg, latest, guid, ids, set)))
        rc = TR_FAILED;
    if (rc == TR_OK)
        printf("%s: updated to version %s (was %s): %zu IPv4 and %zu IPv6 prefixes\n", cfg->out,
               latest, head.version[0] ? head.version : "none", set->n4, set->n6);
    json_decref(list);
    if (set)
        set_clear(set);
    free(set);
    return rc;
}

int cmd_teams_ranges(int argc, char **argv)
{
    tr_cfg_t cfg = {0};
    opttab_part_t part = {opts, sizeof opts / sizeof opts[0], 0, NULL, 0};
    opttab_t t = {.prog = PROG, .parts = &part, .nparts = 1, .cfg = &cfg, .special = help};
    if (opttab_defaults(&t) != OPTTAB_RUN)
        return TR_USAGE;
    int first = 1;
    opttab_result_t r = opttab_parse(&t, argc, argv, &first);
    if (r != OPTTAB_RUN)
        return r == OPTTAB_EXIT_OK ? 0 : 2;
    if (argc - first != 1 || strcmp(argv[first], "update") != 0) {
        fprintf(stderr, PROG ": give the action 'update' (see --help)\n");
        return TR_USAGE;
    }
    if (strchr(cfg.instance, '/') || strchr(cfg.instance, '?')) {
        fprintf(stderr, PROG ": --instance: '%s' is not an instance name\n", cfg.instance);
        return TR_USAGE;
    }
    return update(&cfg);
}
