/* callscope-collector run: the daemon. Receives batches and heartbeats,
 * stores them, enforces retention, logs its counters. */
#include <inttypes.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "graph_pii.h"
#include "keyfile.h"
#include "ingest.h"
#include "log.h"
#include "opttab.h"
#include "store.h"
#include "timefmt.h"

typedef struct {
    ingest_cfg_t in;
    const char *db_path;
    unsigned retention_days, retention_check_s, stats_s;
    bool db_sync_full;
    int verbosity;
    char db_buf[4096], key_buf[4096], org_buf[4096];
    const char *org_keys[GRAPH_PII_MAX_KEYS];
    size_t norg_keys;
    bool check_only;
} run_cfg_t;

#define RUN(f) offsetof(run_cfg_t, f)

static const opttab_def_t opts[] = {
    {"bind", 'b', OPTTAB_STR, RUN(in.bind), 0, 0, "ENDPOINT",
     "Where probes connect (default tcp://0.0.0.0:7600)."},
    {"key", 'k', OPTTAB_STR, RUN(in.key_file), 0, 0, "FILE",
     "The collector's secret key, NAME.key from 'keygen' (mode 0600; default: the systemd "
     "credential collector.key, else /etc/callscope/collector.key). Probes get its NAME.pub."},
    {"authorized-keys", 'a', OPTTAB_STR, RUN(in.keys_dir), 0, 0, "DIR",
     "Directory of the probes' public keys (NAME.pub); only these probes are let in, each "
     "known by its NAME. Re-read when it changes or on SIGHUP (default "
     "/etc/callscope/probes.d)."},
    {"db", 'd', OPTTAB_STR, RUN(db_path), 0, 0, "FILE",
     "The SQLite store (default $STATE_DIRECTORY/collector.db under systemd, else "
     "/var/lib/callscope/collector.db). Created and migrated on start."},
    {"org-key", 'o', OPTTAB_SPECIAL, 0, 0, 0, "FILE",
     "The organisation's master key (from 'org-keygen'; mode 0600; default: the systemd "
     "credential org.key, else /etc/callscope/org.key). Addresses and MACs in probe records are stored sealed with it "
     "and hashed for lookups. Repeat to add older keys after key rotation: the first seals, "
     "all open."},
    {"db-sync-full", 0, OPTTAB_FLAG, RUN(db_sync_full), 0, 0, NULL,
     "Sync the store on every commit (survives power loss; slower). By default a commit "
     "survives a crash of the collector, not of the machine."},
    {"retention-days", 0, OPTTAB_UINT, RUN(retention_days), 1, 3650, "DAYS",
     "Delete records stored more than DAYS ago (default 30)."},
    {"retention-check", 0, OPTTAB_UINT, RUN(retention_check_s), 10, 86400, "SECONDS",
     "How often retention runs (default 3600; also once at start)."},
    {"max-frame-mb", 0, OPTTAB_UINT, RUN(in.max_frame_mb), 1, 1024, "MB",
     "Largest message accepted from a probe; larger ones are refused and counted (default "
     "16)."},
    {"stats", 0, OPTTAB_UINT, RUN(stats_s), 0, 86400, "SECONDS",
     "Log the counters every SECONDS (default 60; 0: only at exit)."},
    {"config", 0, OPTTAB_SPECIAL, 0, 0, 0, "FILE",
     "Read settings from FILE: one 'name = value' per line, names as the long options here, "
     "'#' comments (e.g. /etc/callscope/collector.conf). Later options override it."},
    {"check-config", 0, OPTTAB_FLAG, RUN(check_only), 0, 0, NULL,
     "Check the settings, key files (and their permissions), authorised keys and the "
     "organisation keys, then exit: 0 when valid, 1 or 2 with a message naming the problem."},
    {"verbose", 'v', OPTTAB_SPECIAL, 0, 0, 0, NULL, "More log detail (repeat for debug)."},
    {"quiet", 'q', OPTTAB_SPECIAL, 0, 0, 0, NULL, "Errors only."},
    {"help", 'h', OPTTAB_SPECIAL, 0, 0, 0, NULL, "This help."},
};

#define NOPTS (sizeof opts / sizeof opts[0])

static volatile sig_atomic_t g_stop, g_reload;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        g_reload = 1;
    else
        g_stop = 1;
}

static opttab_result_t special(opttab_t *t, const opttab_def_t *d, const char *val)
{
    run_cfg_t *cfg = t->cfg;
    if (strcmp(d->name, "config") == 0)
        return opttab_load_file(t, val);
    if (d->short_name == 'v') {
        cfg->verbosity++;
        return OPTTAB_RUN;
    }
    if (d->short_name == 'q') {
        cfg->verbosity = -1;
        return OPTTAB_RUN;
    }
    if (d->short_name == 'o') {
        if (cfg->norg_keys == GRAPH_PII_MAX_KEYS) {
            fprintf(stderr, "callscope-collector run: at most %d --org-key\n", GRAPH_PII_MAX_KEYS);
            return OPTTAB_EXIT_USAGE;
        }
        cfg->org_keys[cfg->norg_keys++] = val;
        return OPTTAB_RUN;
    }
    printf("Usage: callscope-collector run [options]\n\n"
           "Receives batches of records from authorised probes over CURVE-encrypted\n"
           "ZeroMQ, stores each batch once in SQLite, then acknowledges it; a probe keeps\n"
           "a batch in its spool until then (docs/transport.md). SIGHUP re-reads the\n"
           "authorised keys; SIGTERM stops after the batch at hand.\n\nOptions:\n");
    opttab_help(t, stdout);
    printf("\nExample:\n"
           "  callscope-collector org-keygen --tenant contoso.com --out /etc/callscope/org.key\n"
           "  callscope-collector keygen collector --dir /etc/callscope\n"
           "  callscope-collector keygen probe-hq1 --dir /tmp   # copy .key to the probe,\n"
           "  mv /tmp/probe-hq1.pub /etc/callscope/probes.d/     # .pub stays here\n"
           "  callscope-collector run\n");
    return OPTTAB_EXIT_OK;
}

static void defaults(run_cfg_t *c)
{
    memset(c, 0, sizeof *c);
    c->in.bind = "tcp://0.0.0.0:7600";
    c->in.key_file = keyfile_credential("collector.key", c->key_buf, sizeof c->key_buf);
    if (!c->in.key_file)
        c->in.key_file = "/etc/callscope/collector.key";
    c->in.keys_dir = "/etc/callscope/probes.d";
    c->in.max_frame_mb = 16;
    c->retention_days = 30;
    c->retention_check_s = 3600;
    c->stats_s = 60;
    const char *sd = getenv("STATE_DIRECTORY");
    if (sd && *sd)
        snprintf(c->db_buf, sizeof c->db_buf, "%.*s/collector.db", (int)strcspn(sd, ":"), sd);
    else
        snprintf(c->db_buf, sizeof c->db_buf, "/var/lib/callscope/collector.db");
    c->db_path = c->db_buf;
}

static void log_counters(ingest_t *in, const char *when)
{
    json_t *j = ingest_stats_json(in);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    LOG_INFO("collector: %s counters %s", when, s ? s : "?");
    free(s);
    json_decref(j);
}

static void retention(store_t *st, unsigned days)
{
    char err[512];
    int64_t n = store_retention(st, days, err, sizeof err);
    if (n < 0)
        LOG_ERROR("collector: %s", err);
    else if (n > 0)
        LOG_INFO("collector: retention: %" PRId64 " rows older than %u days deleted", n, days);
}

static void loop(const run_cfg_t *cfg, ingest_t *in, store_t *st)
{
    usec_t next_ret = timefmt_now() + (usec_t)cfg->retention_check_s * USEC_PER_SEC;
    usec_t next_stats = timefmt_now() + (usec_t)cfg->stats_s * USEC_PER_SEC;
    while (!g_stop) {
        ingest_poll(in, 250);
        usec_t now = timefmt_now();
        if (g_reload) {
            g_reload = 0;
            ingest_reload_keys(in);
        }
        if (now >= next_ret) {
            retention(st, cfg->retention_days);
            next_ret = now + (usec_t)cfg->retention_check_s * USEC_PER_SEC;
        }
        if (cfg->stats_s && now >= next_stats) {
            log_counters(in, "periodic");
            next_stats = now + (usec_t)cfg->stats_s * USEC_PER_SEC;
        }
    }
}

/* --check-config: the files the daemon would open, checked. */
static int check_config(const run_cfg_t *cfg)
{
    char err[512];
    keyfile_t k;
    keyring_t *ring = NULL;
    bool ok = keyfile_load(cfg->in.key_file, true, &k, err, sizeof err) &&
              (ring = keyring_load(cfg->in.keys_dir, err, sizeof err)) != NULL;
    explicit_bzero(&k, sizeof k);
    graph_pii_t *pii = ok ? graph_pii_new(cfg->org_keys, cfg->norg_keys, NULL, err, sizeof err)
                          : NULL;
    ok = ok && pii;
    if (ok)
        printf("callscope-collector: configuration OK (%zu authorised probe keys)\n",
               keyring_count(ring));
    else
        fprintf(stderr, "callscope-collector: %s\n", err);
    keyring_free(&ring);
    graph_pii_free(&pii);
    return ok ? 0 : 1;
}

static int run(run_cfg_t *cfg)
{
    log_set_level(cfg->verbosity < 0    ? LOG_LVL_ERROR
                  : cfg->verbosity == 0 ? LOG_LVL_INFO
                                       : LOG_LVL_DEBUG);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    char err[512];
    if (cfg->norg_keys == 0) {
        const char *cred = keyfile_credential("org.key", cfg->org_buf, sizeof cfg->org_buf);
        cfg->org_keys[cfg->norg_keys++] = cred ? cred : "/etc/callscope/org.key";
    }
    if (cfg->check_only)
        return check_config(cfg);
    graph_pii_t *pii = graph_pii_new(cfg->org_keys, cfg->norg_keys, NULL, err, sizeof err);
    if (!pii) {
        LOG_ERROR("%s", err);
        return 1;
    }
    store_t *st = store_open(cfg->db_path, cfg->db_sync_full, pii, err, sizeof err);
    if (!st) {
        LOG_ERROR("%s", err);
        graph_pii_free(&pii);
        return 1;
    }
    retention(st, cfg->retention_days);
    ingest_t *in = ingest_new(&cfg->in, st, err, sizeof err);
    if (!in) {
        LOG_ERROR("%s", err);
        store_free(&st);
        graph_pii_free(&pii);
        return 1;
    }
    loop(cfg, in, st);
    log_counters(in, "final");
    ingest_free(&in);
    store_free(&st);
    graph_pii_free(&pii);
    return 0;
}

int cmd_run(int argc, char **argv)
{
    run_cfg_t cfg;
    defaults(&cfg);
    opttab_t t = {.prog = "callscope-collector run", .defs = opts, .ndefs = NOPTS, .cfg = &cfg,
                  .special = special};
    int first = 1;
    opttab_result_t r = opttab_parse(&t, argc, argv, &first);
    if (r == OPTTAB_RUN && first < argc) {
        fprintf(stderr, "callscope-collector run: unexpected argument '%s'\n", argv[first]);
        r = OPTTAB_EXIT_USAGE;
    }
    int rc = r == OPTTAB_RUN ? run(&cfg) : r == OPTTAB_EXIT_OK ? 0 : 2;
    opttab_free_strings(&t);
    return rc;
}
