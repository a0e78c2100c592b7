#include "graph_cmd.h"

#include <errno.h>
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
#include "opttab.h"
#include "textwrap.h"
#include "timefmt.h"

#define SECRET_CREDENTIAL_DEFAULT "graph-client-secret"

enum { C_POLL = GRAPH_OPT_POLL, C_IMPORT = GRAPH_OPT_IMPORT, C_ORGKEY = GRAPH_OPT_ORGKEY };

/* The command's settings; the Graph client's come first, so that 'run'
 * can take the GRAPH_OPT_RUN rows into a graph_opts_t of its own. */
typedef struct {
    graph_opts_t g;
    const char *db, *out;
    const char *keys[PII_MAX_KEYS];
    size_t nkeys;
    bool once;
    int verbosity, help;
} opts_t;

#define OFF(f) offsetof(opts_t, f)
#define G(f) offsetof(opts_t, g.f)
#define ALL (C_POLL | C_IMPORT | C_ORGKEY)
#define PR OPTTAB_PREFIXED /* "graph-" before the name in 'run' */
#define RUN GRAPH_OPT_RUN
static const opttab_opt_t defs[] = {
    {{"db", 0, OPTTAB_STR, OFF(db), 0, 0, "PATH",
      "The collector's store: a SQLite file (created if missing; WAL mode) or a "
      "postgresql:// URI."},
     NULL,
     C_POLL | C_IMPORT,
     0},
    {{"tenant", 0, OPTTAB_STR, G(tenant), 0, 0, "TENANT",
      "Directory (tenant) id of the organisation: a GUID or a verified domain."},
     NULL,
     ALL | RUN,
     PR},
    {{"client-id", 0, OPTTAB_STR, G(client_id), 0, 0, "GUID",
      "Application (client) id of the app registration."},
     NULL,
     C_POLL | RUN,
     PR},
    {{"secret-file", 0, OPTTAB_STR, G(secret_file), 0, 0, "PATH",
      "File holding the client secret value (first line). Never pass a secret on the command "
      "line."},
     NULL,
     C_POLL | RUN,
     PR},
    {{"secret-credential", 0, OPTTAB_STR, G(secret_cred), 0, 0, "NAME",
      "Read the secret from $CREDENTIALS_DIRECTORY/NAME (systemd LoadCredential=). Default "
      "when neither is given and $CREDENTIALS_DIRECTORY is set: " SECRET_CREDENTIAL_DEFAULT "."},
     NULL,
     C_POLL,
     0},
    {{"authority-url", 0, OPTTAB_STR, G(authority), 0, 0, "URL",
      "Identity platform. US Government: https://login.microsoftonline.us; China: "
      "https://login.chinacloudapi.cn."},
     "https://login.microsoftonline.com",
     C_POLL | RUN,
     PR},
    {{"graph-url", 0, OPTTAB_STR, G(graph), 0, 0, "URL",
      "Graph base with version. US Government: https://graph.microsoft.us/v1.0 or "
      "https://dod-graph.microsoft.us/v1.0; China: "
      "https://microsoftgraph.chinacloudapi.cn/v1.0. The token scope is its origin + /.default."},
     "https://graph.microsoft.com/v1.0",
     C_POLL | RUN,
     0},
    {{"scope", 0, OPTTAB_STR, G(scope), 0, 0, "SCOPE", "Override the token scope."},
     NULL,
     C_POLL | RUN,
     PR},
    {{"ca-bundle", 0, OPTTAB_STR, G(ca), 0, 0, "PATH",
      "CA certificates (PEM) to trust instead of the system's (TLS-inspecting proxies, tests)."},
     NULL,
     C_POLL | RUN,
     PR},
    {{"org-key", 0, OPTTAB_SPECIAL, 0, 0, 0, "FILE",
      "Organisation master key file (mode 0600, see orgkey). Repeat for rotation: the first "
      "seals new data, the others still open old data."},
     NULL,
     C_POLL | C_IMPORT,
     0},
    {{"out", 0, OPTTAB_STR, OFF(out), 0, 0, "FILE", "Key file to create (refuses to overwrite)."},
     NULL,
     C_ORGKEY,
     0},
    {{"once", 0, OPTTAB_FLAG, OFF(once), 0, 0, NULL, "Run one poll cycle and exit."},
     NULL,
     C_POLL,
     0},
    {{"interval", 0, OPTTAB_UINT, G(interval_s), 10, 86400, "SECONDS", "Time between poll cycles."},
     "300",
     C_POLL | RUN,
     PR},
    {{"lookback", 0, OPTTAB_UINT, G(lookback_s), 60, 30 * 86400, "SECONDS",
      "List records that started this far back, and fetch again those whose version or "
      "lastModifiedDateTime moved. Graph keeps 30 days."},
     "86400",
     C_POLL | RUN,
     PR},
    {{"timeout", 0, OPTTAB_UINT, G(timeout_s), 1, 600, "SECONDS",
      "Per-request timeout. In 'run', Graph is polled in a thread of its own: probes are "
      "acknowledged meanwhile."},
     "30",
     C_POLL | RUN,
     PR},
    {{"max-attempts", 0, OPTTAB_UINT, G(attempts), 1, 20, "N",
      "Tries per request on 429, 5xx, timeouts and unreadable replies."},
     "6",
     C_POLL | RUN,
     PR},
    {{"pending-retry", 0, OPTTAB_UINT, G(retry_s), 1, 86400, "SECONDS",
      "When to try again an id that was 404 (not yet available) or failed."},
     "600",
     C_POLL | RUN,
     PR},
    {{"pending-max-age", 0, OPTTAB_UINT, G(max_age_s), 60, 30 * 86400, "SECONDS",
      "Give up on an id still 404 after this long."},
     "7200",
     C_POLL | RUN,
     PR},
    {{"min-gap", 0, OPTTAB_UINT, G(gap_ms), 0, 60000, "MS", "Least time between two requests."},
     "100",
     C_POLL | RUN,
     PR},
    {{"max-participants", 0, OPTTAB_UINT, G(max_participants), 1, 10000, "N",
      "Participants kept per record (participants_v2, 130 a page); beyond it the pages are not "
      "fetched, and the record's log line and the counters say so. Town halls reach 10,000."},
     "10000",
     C_POLL | RUN,
     PR},
    {{"verbose", 'v', OPTTAB_SPECIAL, 0, 0, 0, NULL, "Debug logging (also -v)."}, NULL, ALL, 0},
    {{"quiet", 'q', OPTTAB_SPECIAL, 0, 0, 0, NULL, "Errors only (also -q)."}, NULL, ALL, 0},
    {{"help", 'h', OPTTAB_SPECIAL, 0, 0, 0, NULL, "This manual (also -h)."}, NULL, ALL, 0},
};
#define NDEFS (sizeof defs / sizeof defs[0])

const opttab_opt_t *graph_cmd_options(size_t *n)
{
    *n = NDEFS;
    return defs;
}

void graph_cmd_cfg(const graph_opts_t *o, const char *secret, graph_cfg_t *c)
{
    graph_cfg_defaults(c);
    c->tenant = o->tenant;
    c->client_id = o->client_id;
    c->secret = secret;
    c->authority_url = o->authority;
    c->graph_url = o->graph;
    c->scope = o->scope;
    c->ca_bundle = o->ca;
    c->lookback_s = o->lookback_s;
    c->interval_s = o->interval_s;
    c->timeout_ms = (long)o->timeout_s * 1000;
    c->max_attempts = (int)o->attempts;
    c->pending_retry_s = o->retry_s;
    c->pending_max_age_s = o->max_age_s;
    c->min_gap_ms = o->gap_ms;
    if (o->max_participants)
        c->max_participants = o->max_participants;
}

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
static void help(const opttab_t *t, int cmd, const char *name)
{
    printf("SYNOPSIS\n    %s %s\n\nDESCRIPTION\n", name, synopsis[cmd]);
    textwrap(stdout, description[cmd], 4, 78);
    printf("\nOPTIONS\n");
    opttab_help_manual(t, stdout);
    char text[1024];
    size_t n, len = 0;
    const graph_exit_t *x = graph_exit_statuses(&n);
    for (size_t i = 0; i < n && len < sizeof text; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "%s%d %s%s", i ? "; " : "",
                                x[i].code, x[i].what, i + 1 == n ? "." : "");
    printf("\nEXIT STATUS\n");
    textwrap(stdout, text, 4, 78);
    printf("\nSEE ALSO\n    README.md (Azure app registration), docs/graph.md\n");
}

static opttab_result_t special(opttab_t *t, const opttab_def_t *d, const char *val)
{
    opts_t *o = t->cfg;
    switch (d->short_name) {
    case 'v':
        o->verbosity = 1;
        return OPTTAB_RUN;
    case 'q':
        o->verbosity = -1;
        return OPTTAB_RUN;
    case 'h':
        o->help = 1;
        return OPTTAB_RUN;
    default: /* --org-key */
        if (o->nkeys >= PII_MAX_KEYS) {
            LOG_ERROR("--org-key: at most %d key files", PII_MAX_KEYS);
            return OPTTAB_EXIT_USAGE;
        }
        o->keys[o->nkeys++] = val;
        return OPTTAB_RUN;
    }
}

/* Fresh options, parsed (argv[0] = the subcommand); *first = the first
 * operand. -1 to run, else the exit code. */
static int start(int cmd, int argc, char **argv, opts_t *o, int *first)
{
    memset(o, 0, sizeof *o);
    opttab_part_t part = {defs, NDEFS, 0, NULL, (unsigned)cmd};
    opttab_t t = {.prog = argv[0], .parts = &part, .nparts = 1, .cfg = o, .special = special};
    opttab_result_t r = opttab_defaults(&t);
    if (r == OPTTAB_RUN)
        r = opttab_parse(&t, argc, argv, first);
    if (r != OPTTAB_RUN) {
        fprintf(stderr, "Usage: %s %s\n(--help for the manual)\n", argv[0], synopsis[cmd]);
        return GRAPH_EXIT_USAGE;
    }
    if (o->help) {
        help(&t, cmd, argv[0]);
        return GRAPH_EXIT_OK;
    }
    log_set_level(o->verbosity < 0   ? LOG_LVL_ERROR
                  : o->verbosity > 0 ? LOG_LVL_DEBUG
                                     : LOG_LVL_INFO);
    return -1;
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
    const char *file = o->g.secret_file;
    const char *dir = getenv("CREDENTIALS_DIRECTORY");
    if (!file && dir) {
        snprintf(path, sizeof path, "%s/%s", dir,
                 o->g.secret_cred ? o->g.secret_cred : SECRET_CREDENTIAL_DEFAULT);
        file = path;
    } else if (!file && o->g.secret_cred) {
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
    graph_cmd_cfg(&o.g, secret, &cfg);
    for (size_t i = 0; i < o.nkeys; i++)
        cfg.org_keys[i] = o.keys[i];
    cfg.norg_keys = o.nkeys;
    db_t *db = graph_store_open_db(o.db, err, sizeof err);
    graph_poller_t *p = db ? graph_poller_new(&cfg, db, err, sizeof err) : NULL;
    OPENSSL_cleanse(secret, strlen(secret));
    free(secret);
    if (!p) {
        LOG_ERROR("%s", err);
        db_close(&db);
        return strstr(err, "is required") || strstr(err, "must be") ? GRAPH_EXIT_USAGE
                                                                    : GRAPH_EXIT_STORE;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    rc = run_poller(p, o.once);
    graph_poller_stats_t st;
    graph_poller_stats(p, &st);
    LOG_INFO("graph: %llu requests (%llu token), %llu throttled, %llu retries, %llu timeouts, "
             "%llu stored, %llu updated, %llu unchanged, %llu errors; exit %d",
             (unsigned long long)st.requests, (unsigned long long)st.token_requests,
             (unsigned long long)st.throttled, (unsigned long long)st.retries,
             (unsigned long long)st.timeouts, (unsigned long long)st.records_inserted,
             (unsigned long long)st.records_updated, (unsigned long long)st.records_unchanged,
             (unsigned long long)st.errors, rc);
    if (rc == GRAPH_EXIT_NETWORK) /* the reason again, as the last line */
        LOG_ERROR("graph: exit %d: %s", rc, graph_poller_error(p));
    graph_poller_free(&p);
    db_close(&db);
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
    pii_t *pii = pii_new(o.keys, o.nkeys, o.g.tenant, err, sizeof err);
    db_t *db = pii ? graph_store_open_db(o.db, err, sizeof err) : NULL;
    graph_store_t *st = db ? graph_store_new(db, pii, err, sizeof err) : NULL;
    if (!st) {
        LOG_ERROR("%s", err);
        db_close(&db);
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
    db_close(&db);
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
    if (!out || !o.g.tenant) {
        LOG_ERROR("orgkey needs --tenant TENANT and --out FILE");
        return GRAPH_EXIT_USAGE;
    }
    char err[600];
    if (pii_keygen(out, o.g.tenant, err, sizeof err) != 0) {
        LOG_ERROR("%s", err);
        return GRAPH_EXIT_STORE;
    }
    LOG_INFO("org key written to %s (mode 0600); back it up, it cannot be recreated", out);
    return GRAPH_EXIT_OK;
}
