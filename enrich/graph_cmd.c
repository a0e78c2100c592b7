#include "graph_cmd.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "pii.h"
#include "graph_poller.h"
#include "graph_source.h"
#include "graph_store.h"
#include "graph_token.h"
#include "log.h"
#include "textwrap.h"
#include "timefmt.h"

#define SECRET_CREDENTIAL_DEFAULT "graph-client-secret"

enum { C_POLL = 1, C_IMPORT = 2, C_ORGKEY = 4 };
typedef enum { O_STR, O_LONG, O_FLAG, O_KEY, O_VERBOSE, O_QUIET, O_HELP } otype_t;

typedef struct {
    const char *db, *tenant, *client_id, *secret_file, *secret_cred, *authority, *graph, *ca,
        *scope, *out;
    const char *keys[PII_MAX_KEYS];
    size_t nkeys;
    long lookback_s, interval_s, timeout_s, attempts, retry_s, max_age_s, gap_ms;
    int once, verbosity, help;
} opts_t;

typedef struct {
    const char *name;
    otype_t type;
    size_t off;
    long min, max;
    int cmds;
    const char *arg, *help;
} odef_t;

#define OFF(f) offsetof(opts_t, f)
#define ALL (C_POLL | C_IMPORT | C_ORGKEY)
static const odef_t defs[] = {
    {"db", O_STR, OFF(db), 0, 0, C_POLL | C_IMPORT, "PATH",
     "The collector's SQLite store (created if missing; WAL mode)."},
    {"tenant", O_STR, OFF(tenant), 0, 0, ALL, "TENANT",
     "Directory (tenant) id of the organisation: a GUID or a verified domain."},
    {"client-id", O_STR, OFF(client_id), 0, 0, C_POLL, "GUID",
     "Application (client) id of the app registration."},
    {"secret-file", O_STR, OFF(secret_file), 0, 0, C_POLL, "PATH",
     "File holding the client secret value (first line). Never pass a secret on the command "
     "line."},
    {"secret-credential", O_STR, OFF(secret_cred), 0, 0, C_POLL, "NAME",
     "Read the secret from $CREDENTIALS_DIRECTORY/NAME (systemd LoadCredential=). Default when "
     "neither is given and $CREDENTIALS_DIRECTORY is set: " SECRET_CREDENTIAL_DEFAULT "."},
    {"authority-url", O_STR, OFF(authority), 0, 0, C_POLL, "URL",
     "Identity platform (default https://login.microsoftonline.com; US Government "
     "https://login.microsoftonline.us; China https://login.chinacloudapi.cn)."},
    {"graph-url", O_STR, OFF(graph), 0, 0, C_POLL, "URL",
     "Graph base with version (default https://graph.microsoft.com/v1.0; US Government "
     "https://graph.microsoft.us/v1.0 or https://dod-graph.microsoft.us/v1.0; China "
     "https://microsoftgraph.chinacloudapi.cn/v1.0). The token scope is its origin + /.default."},
    {"scope", O_STR, OFF(scope), 0, 0, C_POLL, "SCOPE", "Override the token scope."},
    {"ca-bundle", O_STR, OFF(ca), 0, 0, C_POLL, "PATH",
     "CA certificates (PEM) to trust instead of the system's (TLS-inspecting proxies, tests)."},
    {"org-key", O_KEY, OFF(keys), 0, 0, C_POLL | C_IMPORT, "FILE",
     "Organisation master key file (mode 0600, see orgkey). Repeat for rotation: the first "
     "seals new data, the others still open old data."},
    {"out", O_STR, OFF(out), 0, 0, C_ORGKEY, "FILE", "Key file to create (refuses to overwrite)."},
    {"once", O_FLAG, OFF(once), 0, 0, C_POLL, NULL, "Run one poll cycle and exit."},
    {"interval", O_LONG, OFF(interval_s), 10, 86400, C_POLL, "SECONDS",
     "Time between poll cycles (default 300)."},
    {"lookback", O_LONG, OFF(lookback_s), 60, 30 * 86400, C_POLL, "SECONDS",
     "List records that started this far back, and fetch again those whose version or "
     "lastModifiedDateTime moved (default 86400; Graph keeps 30 days)."},
    {"timeout", O_LONG, OFF(timeout_s), 1, 600, C_POLL, "SECONDS",
     "Per-request timeout (default 30)."},
    {"max-attempts", O_LONG, OFF(attempts), 1, 20, C_POLL, "N",
     "Tries per request on 429, 5xx, timeouts and unreadable replies (default 6)."},
    {"pending-retry", O_LONG, OFF(retry_s), 1, 86400, C_POLL, "SECONDS",
     "When to try again an id that was 404 (not yet available) or failed (default 600)."},
    {"pending-max-age", O_LONG, OFF(max_age_s), 60, 30 * 86400, C_POLL, "SECONDS",
     "Give up on an id still 404 after this long (default 7200)."},
    {"min-gap", O_LONG, OFF(gap_ms), 0, 60000, C_POLL, "MS",
     "Least time between two requests (default 100)."},
    {"verbose", O_VERBOSE, OFF(verbosity), 0, 0, ALL, NULL, "Debug logging (also -v)."},
    {"quiet", O_QUIET, OFF(verbosity), 0, 0, ALL, NULL, "Errors only (also -q)."},
    {"help", O_HELP, OFF(help), 0, 0, ALL, NULL, "This manual (also -h)."},
};
#define NDEFS (sizeof defs / sizeof defs[0])

static const char *const synopsis[] = {
    [C_POLL] = "--tenant TENANT --client-id GUID --secret-file PATH --org-key FILE "
               "--db PATH [--once] [options]",
    [C_IMPORT] = "--org-key FILE --db PATH [--tenant TENANT] FILE|DIR ...",
    [C_ORGKEY] = "--tenant TENANT --out FILE",
};

static const char *const description[] = {
    [C_POLL] = "Fetches Microsoft Teams call records from Microsoft Graph with the OAuth 2.0 "
               "client-credentials flow (application permission CallRecords.Read.All, admin "
               "consent) and stores them, personal data encrypted with the organisation key. "
               "Lists records by startDateTime within the look-back window, follows every "
               "nextLink, fetches each record with its sessions and segments, and fetches again "
               "records whose version changed. Honours 429 Retry-After, backs off with jitter "
               "on 5xx and timeouts, keeps Graph's per-record limits. Works behind NAT: no "
               "inbound connection is needed.",
    [C_IMPORT] = "Reads call-record JSON as exported from Graph (one record per file, or a "
                 "list page {\"value\": [...]}) and stores it like the poller does. A "
                 "directory is read in name order (*.json).",
    [C_ORGKEY] = "Creates an organisation master key file: 32 random bytes, a random key id and "
                 "the tenant id, mode 0600. Keep it secret and backed up: without it the "
                 "personal data in the store cannot be read.",
};

/* name: the subcommand as invoked (argv[0]: "graph-poll", "poll", ...). */
static void help(FILE *to, int cmd, const char *name)
{
    fprintf(to, "SYNOPSIS\n    %s %s\n\nDESCRIPTION\n", name, synopsis[cmd]);
    textwrap(to, description[cmd], 4, 78);
    fprintf(to, "\nOPTIONS\n");
    for (size_t i = 0; i < NDEFS; i++) {
        if (!(defs[i].cmds & cmd))
            continue;
        fprintf(to, "    --%s%s%s\n", defs[i].name, defs[i].arg ? " " : "",
                defs[i].arg ? defs[i].arg : "");
        textwrap(to, defs[i].help, 8, 78);
    }
    fprintf(to, "\nEXIT STATUS\n"
                "    0 done; 1 some records failed (kept pending for the next run); 2 usage or\n"
                "    configuration; 3 token refused (invalid_client, wrong tenant or client id);\n"
                "    4 Graph refused (CallRecords.Read.All missing or not consented); 5 store or\n"
                "    key file problem; 6 TLS certificate not trusted.\n"
                "\nSEE ALSO\n    README.md (Azure app registration), docs/graph.md\n");
}

static bool set_long(const odef_t *d, const char *arg, opts_t *o)
{
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno || end == arg || *end || v < d->min || v > d->max) {
        LOG_ERROR("--%s: '%s' is not a number from %ld to %ld", d->name, arg, d->min, d->max);
        return false;
    }
    *(long *)((char *)o + d->off) = v;
    return true;
}

static bool apply(const odef_t *d, const char *arg, opts_t *o)
{
    char *base = (char *)o;
    switch (d->type) {
    case O_STR:
        *(const char **)(base + d->off) = arg;
        return true;
    case O_LONG:
        return set_long(d, arg, o);
    case O_FLAG:
    case O_HELP:
        *(int *)(base + d->off) = 1;
        return true;
    case O_VERBOSE:
        o->verbosity = 1;
        return true;
    case O_QUIET:
        o->verbosity = -1;
        return true;
    case O_KEY:
        if (o->nkeys >= PII_MAX_KEYS) {
            LOG_ERROR("--org-key: at most %d key files", PII_MAX_KEYS);
            return false;
        }
        o->keys[o->nkeys++] = arg;
        return true;
    }
    return false;
}

/* Parses argv (argv[0] = the subcommand); *first_arg = first operand.
 * Returns -1 to run, else an exit code. */
static int parse(int cmd, int argc, char **argv, opts_t *o, int *first_arg)
{
    struct option lo[NDEFS + 1];
    size_t n = 0;
    for (size_t i = 0; i < NDEFS; i++) {
        if (defs[i].cmds & cmd) {
            lo[n] = (struct option){defs[i].name,
                                    defs[i].type == O_STR || defs[i].type == O_LONG ||
                                            defs[i].type == O_KEY
                                        ? required_argument
                                        : no_argument,
                                    NULL, (int)(i + 256)};
            n++;
        }
    }
    lo[n] = (struct option){NULL, 0, NULL, 0};
    optind = 1;
    opterr = 1;
    for (;;) {
        int c = getopt_long(argc, argv, "+vqh", lo, NULL);
        if (c == -1)
            break;
        if (c == 'v' || c == 'q' || c == 'h') {
            o->verbosity = c == 'v' ? 1 : c == 'q' ? -1 : o->verbosity;
            o->help = o->help || c == 'h';
        } else if (c < 256 || !apply(&defs[c - 256], optarg, o)) {
            fprintf(stderr, "Usage: %s %s\n(--help for the manual)\n", argv[0], synopsis[cmd]);
            return GRAPH_EXIT_USAGE;
        }
    }
    if (o->help) {
        help(stdout, cmd, argv[0]);
        return GRAPH_EXIT_OK;
    }
    log_set_level(o->verbosity < 0   ? LOG_LVL_ERROR
                  : o->verbosity > 0 ? LOG_LVL_DEBUG
                                     : LOG_LVL_INFO);
    *first_arg = optind;
    return -1;
}

/* Fresh options, parsed; -1 to run, else the exit code. */
static int start(int cmd, int argc, char **argv, opts_t *o, int *first)
{
    memset(o, 0, sizeof *o);
    return parse(cmd, argc, argv, o, first);
}

/* ---- poll ------------------------------------------------------------- */

static volatile sig_atomic_t stop_requested; /* set by SIGINT/SIGTERM only */

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static char *load_secret(const opts_t *o)
{
    char err[512], path[4096];
    const char *file = o->secret_file;
    const char *dir = getenv("CREDENTIALS_DIRECTORY");
    if (!file && dir) {
        snprintf(path, sizeof path, "%s/%s", dir,
                 o->secret_cred ? o->secret_cred : SECRET_CREDENTIAL_DEFAULT);
        file = path;
    } else if (!file && o->secret_cred) {
        LOG_ERROR("--secret-credential needs $CREDENTIALS_DIRECTORY (systemd LoadCredential=)");
        return NULL;
    }
    if (!file) {
        LOG_ERROR("the client secret is missing: give --secret-file PATH (or run under systemd "
                  "with LoadCredential=%s:PATH)",
                  SECRET_CREDENTIAL_DEFAULT);
        return NULL;
    }
    char *s = graph_token_read_secret(file, err, sizeof err);
    if (!s)
        LOG_ERROR("%s", err);
    return s;
}

static void cfg_from_opts(const opts_t *o, const char *secret, graph_cfg_t *c)
{
    graph_cfg_defaults(c);
    c->tenant = o->tenant;
    c->client_id = o->client_id;
    c->secret = secret;
    if (o->authority)
        c->authority_url = o->authority;
    if (o->graph)
        c->graph_url = o->graph;
    c->scope = o->scope;
    c->ca_bundle = o->ca;
    for (size_t i = 0; i < o->nkeys; i++)
        c->org_keys[i] = o->keys[i];
    c->norg_keys = o->nkeys;
    if (o->lookback_s)
        c->lookback_s = o->lookback_s;
    if (o->interval_s)
        c->interval_s = o->interval_s;
    if (o->timeout_s)
        c->timeout_ms = o->timeout_s * 1000;
    if (o->attempts)
        c->max_attempts = (int)o->attempts;
    if (o->retry_s)
        c->pending_retry_s = o->retry_s;
    if (o->max_age_s)
        c->pending_max_age_s = o->max_age_s;
    if (o->gap_ms)
        c->min_gap_ms = o->gap_ms;
}

/* Sleeps until wake (wall clock µs), in slices, so a signal ends it soon. */
static void sleep_until(int64_t wake)
{
    for (;;) {
        int64_t left = wake - timefmt_now();
        if (left <= 0 || stop_requested)
            return;
        if (left > 1000000)
            left = 1000000;
        struct timespec ts = {(time_t)(left / 1000000), (long)(left % 1000000) * 1000};
        nanosleep(&ts, NULL);
    }
}

static int run_poller(graph_poller_t *p, bool once)
{
    for (;;) {
        int64_t next;
        int s = graph_poller_step(p, timefmt_now(), &next);
        if (s == GRAPH_STEP_FATAL)
            return graph_poller_exit_code(p);
        if (s == GRAPH_STEP_IDLE && once)
            return graph_poller_exit_code(p);
        if (stop_requested) {
            LOG_INFO("graph: stopping on signal");
            return GRAPH_EXIT_OK;
        }
        sleep_until(next);
    }
}

int graph_cmd_poll(int argc, char **argv)
{
    opts_t o;
    int first, rc = start(C_POLL, argc, argv, &o, &first);
    if (rc >= 0)
        return rc;
    if (first < argc || !o.db) {
        LOG_ERROR(first < argc ? "poll takes no operands" : "--db PATH is required");
        return GRAPH_EXIT_USAGE;
    }
    char *secret = load_secret(&o);
    if (!secret)
        return GRAPH_EXIT_USAGE;
    char err[600];
    graph_cfg_t cfg;
    cfg_from_opts(&o, secret, &cfg);
    sqlite3 *db = graph_store_open_db(o.db, err, sizeof err);
    graph_poller_t *p = db ? graph_poller_new(&cfg, db, err, sizeof err) : NULL;
    OPENSSL_cleanse(secret, strlen(secret));
    free(secret);
    if (!p) {
        LOG_ERROR("%s", err);
        sqlite3_close(db);
        return strstr(err, "is required") || strstr(err, "must be") ? GRAPH_EXIT_USAGE
                                                                    : GRAPH_EXIT_STORE;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    rc = run_poller(p, o.once != 0);
    graph_poller_stats_t st;
    graph_poller_stats(p, &st);
    LOG_INFO("graph: %llu requests (%llu token), %llu throttled, %llu retries, %llu timeouts, "
             "%llu stored, %llu updated, %llu unchanged, %llu errors; exit %d",
             (unsigned long long)st.requests, (unsigned long long)st.token_requests,
             (unsigned long long)st.throttled, (unsigned long long)st.retries,
             (unsigned long long)st.timeouts, (unsigned long long)st.records_inserted,
             (unsigned long long)st.records_updated, (unsigned long long)st.records_unchanged,
             (unsigned long long)st.errors, rc);
    graph_poller_free(&p);
    sqlite3_close(db);
    return rc;
}

/* ---- import ----------------------------------------------------------- */

int graph_cmd_import(int argc, char **argv)
{
    opts_t o;
    int first, rc = start(C_IMPORT, argc, argv, &o, &first);
    if (rc >= 0)
        return rc;
    if (!o.db || o.nkeys == 0 || first >= argc) {
        LOG_ERROR("import needs --db PATH, --org-key FILE and at least one FILE or DIR");
        return GRAPH_EXIT_USAGE;
    }
    char err[600];
    pii_t *pii = pii_new(o.keys, o.nkeys, o.tenant, err, sizeof err);
    sqlite3 *db = pii ? graph_store_open_db(o.db, err, sizeof err) : NULL;
    graph_store_t *st = db ? graph_store_new(db, pii, err, sizeof err) : NULL;
    if (!st) {
        LOG_ERROR("%s", err);
        sqlite3_close(db);
        pii_free(&pii);
        return GRAPH_EXIT_STORE;
    }
    graph_source_stats_t s;
    memset(&s, 0, sizeof s);
    rc = GRAPH_EXIT_OK;
    for (int i = first; i < argc; i++)
        if (graph_source_import(st, argv[i], &s) != 0)
            rc = GRAPH_EXIT_PARTIAL;
    LOG_INFO("graph import: %llu files, %llu records (%llu stored, %llu updated, %llu unchanged), "
             "%llu files without records, %llu bad files",
             (unsigned long long)s.files, (unsigned long long)s.records,
             (unsigned long long)s.inserted, (unsigned long long)s.updated,
             (unsigned long long)s.unchanged, (unsigned long long)s.not_records,
             (unsigned long long)s.bad_files);
    graph_store_free(&st);
    sqlite3_close(db);
    pii_free(&pii);
    return rc;
}

/* ---- orgkey ----------------------------------------------------------- */

int graph_cmd_orgkey(int argc, char **argv)
{
    opts_t o;
    int first, rc = start(C_ORGKEY, argc, argv, &o, &first);
    if (rc >= 0)
        return rc;
    const char *out = o.out ? o.out : first < argc ? argv[first] : NULL;
    if (!out || !o.tenant) {
        LOG_ERROR("orgkey needs --tenant TENANT and --out FILE");
        return GRAPH_EXIT_USAGE;
    }
    char err[600];
    if (pii_keygen(out, o.tenant, err, sizeof err) != 0) {
        LOG_ERROR("%s", err);
        return GRAPH_EXIT_STORE;
    }
    LOG_INFO("org key written to %s (mode 0600); back it up, it cannot be recreated", out);
    return GRAPH_EXIT_OK;
}
