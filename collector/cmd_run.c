/* callscope-collector run: the daemon. Receives batches and heartbeats,
 * stores them, enforces retention, logs its counters. */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "cliutil.h"
#include "commands.h"
#include "correlate.h"
#include "duty.h"
#include "pii.h"
#include "keyfile.h"
#include "noc.h"
#include "graph_cmd.h"
#include "graph_poller.h"
#include "graph_worker.h"
#include "graph_token.h"
#include "ingest.h"
#include "building_store.h"
#include "db.h"
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
    const char *org_keys[PII_MAX_KEYS];
    size_t norg_keys;
    bool check_only;
    int argc; /* kept to read the settings again on SIGHUP */
    char **argv;
    noc_cfg_t noc; /* noc.bind NULL: no HTTP server */
    unsigned correlate_s, correlate_lookback_s;
    correlate_cfg_t cc;
    graph_opts_t g;        /* Graph polling, in a thread: off without a tenant */
    const char *buildings; /* the CQD building file, NULL: the store's map as it is */
    const char *name;      /* this collector's name for its duties (duty.h) */
} run_cfg_t;

#define RUN(f) offsetof(run_cfg_t, f)

static const opttab_opt_t head[] = {
    {{"bind", 'b', OPTTAB_STR, RUN(in.bind), 0, 0, "ENDPOINT", "Where probes connect."},
     "tcp://0.0.0.0:7600",
     0,
     0},
    {{"key", 'k', OPTTAB_STR, RUN(in.key_file), 0, 0, "FILE",
      "The collector's secret key, NAME.key from 'keygen' (mode 0600; default: the systemd "
      "credential collector.key, else /etc/callscope/collector.key). Probes get its NAME.pub."},
     NULL,
     0,
     0},
    {{"authorized-keys", 'a', OPTTAB_STR, RUN(in.keys_dir), 0, 0, "DIR",
      "Directory of the probes' public keys (NAME.pub); only these probes are let in, each "
      "known by its NAME. Re-read when it changes or on SIGHUP."},
     "/etc/callscope/probes.d",
     0,
     0},
    {{"db", 'd', OPTTAB_STR, RUN(db_path), 0, 0, "FILE|URI",
      "The SQLite store (default $STATE_DIRECTORY/collector.db under systemd, else "
      "/var/lib/callscope/collector.db), or a PostgreSQL database as a postgresql:// URI "
      "(everything 'run' does, the NOC HTTP server of --http-bind included; docs/store.md). "
      "Created and migrated on start."},
     NULL,
     0,
     0},
    {{"org-key", 'o', OPTTAB_SPECIAL, 0, 0, 0, "FILE",
      "The organisation's master key (from 'org-keygen'; mode 0600; default: the systemd "
      "credential org.key, else /etc/callscope/org.key). Addresses and MACs in probe records are "
      "stored sealed with it "
      "and hashed for lookups. Repeat to add older keys after key rotation: the first seals, "
      "all open."},
     NULL,
     0,
     0},
    {{"db-sync-full", 0, OPTTAB_FLAG, RUN(db_sync_full), 0, 0, NULL,
      "Sync the store on every commit (survives power loss; slower). By default a commit "
      "survives a crash of the collector, not of the machine."},
     NULL,
     0,
     0},
    {{"collector-name", 0, OPTTAB_STR, RUN(name), 0, 0, "NAME",
      "This collector's name in its duty log lines and, with several collectors on one "
      "PostgreSQL store, the application_name of its duty connection ('callscope-duty NAME'; "
      "docs/failover.md). Default: host name:pid."},
     NULL,
     0,
     0},
    {{"retention-days", 0, OPTTAB_UINT, RUN(retention_days), 1, 3650, "DAYS",
      "Delete records stored more than DAYS ago."},
     "30",
     0,
     0},
    {{"retention-check", 0, OPTTAB_UINT, RUN(retention_check_s), 10, 86400, "SECONDS",
      "How often retention runs. Also once at start."},
     "3600",
     0,
     0},
    {{"max-frame-mb", 0, OPTTAB_UINT, RUN(in.max_frame_mb), 1, 1024, "MB",
      "Largest message accepted from a probe; larger ones are refused and counted."},
     "16",
     0,
     0},
    {{"stats", 0, OPTTAB_UINT, RUN(stats_s), 0, 86400, "SECONDS",
      "Log the counters every SECONDS; 0: only at exit."},
     "60",
     0,
     0},
    {{"config", 0, OPTTAB_SPECIAL, 0, 0, 0, "FILE",
      "Read settings from FILE: one 'name = value' per line, names as the long options here, "
      "'#' comments (e.g. /etc/callscope/collector.conf). Later options override it."},
     NULL,
     0,
     0},
    {{"check-config", 0, OPTTAB_FLAG, RUN(check_only), 0, 0, NULL,
      "Check the settings, key files (and their permissions), authorised keys and the "
      "organisation keys, then exit: 0 when valid, 1 or 2 with a message naming the problem."},
     NULL,
     0,
     0},
    {{"http-bind", 0, OPTTAB_STR, RUN(noc.bind), 0, 0, "ADDR:PORT",
      "Serve the NOC outputs here (JSON API, /metrics, dashboard; docs/noc.md), e.g. "
      "127.0.0.1:8443 (default: off). The same as 'callscope-collector serve', in this process."},
     NULL,
     0,
     0},
};

static const opttab_opt_t mid[] = {
    {{"buildings", 0, OPTTAB_STR, RUN(buildings), 0, 0, "FILE",
      "The tenant's CQD building file (docs/buildings.md), loaded into the store at start and "
      "on SIGHUP as 'buildings-import' does; a refused file leaves the map in force."},
     NULL,
     0,
     0},
    {{"correlate-interval", 0, OPTTAB_UINT, RUN(correlate_s), 0, 86400, "SECONDS",
      "Join new probe streams and call records and (re)judge the calls they touch every "
      "SECONDS; 0: never; also right after each Graph poll cycle. docs/verdicts.md."},
     "60",
     0,
     0},
    {{"correlate-lookback", 0, OPTTAB_UINT, RUN(correlate_lookback_s), 60, 30 * 86400, "SECONDS",
      "At start, judge again what was stored this far back. Graph records arrive up to an "
      "hour after a call."},
     "7200",
     0,
     0},
    {{"threshold", 0, OPTTAB_SPECIAL, 0, 0, 0, "NAME=VALUE",
      "Change a threshold of the verdict decision table (callscope-collector correlate "
      "--help lists them)."},
     NULL,
     0,
     0},
};

static const opttab_opt_t tail[] = {
    {{"verbose", 'v', OPTTAB_SPECIAL, 0, 0, 0, NULL, "More log detail (repeat for debug)."},
     NULL,
     0,
     0},
    {{"quiet", 'q', OPTTAB_SPECIAL, 0, 0, 0, NULL, "Errors only."}, NULL, 0, 0},
    {{"help", 'h', OPTTAB_SPECIAL, 0, 0, 0, NULL, "This help."}, NULL, 0, 0},
};

#define N(a) (sizeof(a) / sizeof(a)[0])

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
        if (cfg->norg_keys == PII_MAX_KEYS) {
            fprintf(stderr, "callscope-collector run: at most %d --org-key\n", PII_MAX_KEYS);
            return OPTTAB_EXIT_USAGE;
        }
        cfg->org_keys[cfg->norg_keys++] = val;
        return OPTTAB_RUN;
    }
    if (strcmp(d->name, "threshold") == 0)
        return cliutil_threshold("callscope-collector run", &cfg->cc.thr, val) ? OPTTAB_RUN
                                                                               : OPTTAB_EXIT_USAGE;
    printf("Usage: callscope-collector run [options]\n\n"
           "Receives batches of records from authorised probes over CURVE-encrypted\n"
           "ZeroMQ, stores each batch once in SQLite, then acknowledges it; a probe keeps\n"
           "a batch in its spool until then (docs/transport.md). SIGHUP re-reads the\n"
           "authorised keys; SIGTERM stops after the batch at hand. With --graph-tenant\n"
           "(and --graph-client-id, --graph-secret-file) it also polls Microsoft Graph,\n"
           "in a thread of its own; the graph- options are those of graph-poll, the\n"
           "http- ones (with --http-bind) those of serve.\n\nOptions:\n");
    opttab_help(t, stdout);
    printf("\nExample:\n"
           "  callscope-collector org-keygen --tenant contoso.com --out /etc/callscope/org.key\n"
           "  callscope-collector keygen collector --dir /etc/callscope\n"
           "  callscope-collector keygen probe-hq1 --dir /tmp   # copy .key to the probe,\n"
           "  mv /tmp/probe-hq1.pub /etc/callscope/probes.d/     # .pub stays here\n"
           "  callscope-collector run\n");
    return OPTTAB_EXIT_OK;
}

/* The command's table: its own rows, with the NOC rows of 'serve' after
 * --http-bind and the Graph rows of 'graph-poll' ("graph-" names). */
static const opttab_part_t *run_parts(size_t *n)
{
    static opttab_part_t parts[5];
    size_t nnoc, ngraph;
    const opttab_opt_t *noc = noc_options(&nnoc), *graph = graph_cmd_options(&ngraph);
    parts[0] = (opttab_part_t){head, N(head), 0, NULL, 0};
    parts[1] = (opttab_part_t){noc, nnoc, RUN(noc), "http-", NOC_OPT_RUN};
    parts[2] = (opttab_part_t){mid, N(mid), 0, NULL, 0};
    parts[3] = (opttab_part_t){graph, ngraph, RUN(g), "graph-", GRAPH_OPT_RUN};
    parts[4] = (opttab_part_t){tail, N(tail), 0, NULL, 0};
    *n = N(parts);
    return parts;
}

/* The table's defaults, then those computed at start. */
static opttab_result_t defaults(run_cfg_t *c, opttab_t *t)
{
    memset(c, 0, sizeof *c);
    correlate_cfg_defaults(&c->cc);
    opttab_result_t r = opttab_defaults(t);
    c->in.key_file = keyfile_credential("collector.key", c->key_buf, sizeof c->key_buf);
    if (!c->in.key_file)
        c->in.key_file = "/etc/callscope/collector.key";
    c->db_path = keyfile_state_path("collector.db", c->db_buf, sizeof c->db_buf);
    return r;
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

/* The jobs the loop runs besides ingest. */
typedef struct {
    correlate_t *corr;
    db_t *corr_db;         /* correlation's connection (the store's own on SQLite) */
    graph_worker_t *graph; /* Graph polling, in a thread of its own */
    uint64_t graph_cycles; /* poll cycles seen finished */
    noc_t *noc;
    duty_t *duty;     /* which of the work below this collector runs (duty.h) */
    bool had[DUTY_N]; /* the duties held at the previous turn */
    usec_t next_corr, next_snap;
    bool first_corr;
    /* PostgreSQL: correlation in a thread of its own on its own connection,
     * so that a step (seconds over thousands of new streams there) never
     * holds up ingest or the ZAP handshake of a probe failing over to this
     * collector (tests/pg/failover_test.py found that); SQLite: in the loop,
     * on the store's connection. */
    const run_cfg_t *cfg;
    pthread_t corr_th;
    bool corr_threaded;
    pthread_mutex_t corr_mu;
    pthread_cond_t corr_cv;
    bool corr_stop, corr_kick; /* under corr_mu */
    /* the counters /metrics shows: a copy the HTTP thread may read */
    pthread_mutex_t mu;
    json_t *snap;
} jobs_t;

/* The loop's counters as JSON (new reference): ingest, Graph polling. */
static json_t *counters_now(ingest_t *in, const jobs_t *j)
{
    json_t *o = json_object();
    json_object_set_new(o, "ingest", ingest_stats_json(in));
    /* an array: /metrics makes it callscope_collector_duty{duty=...} (noc_metrics_json) */
    json_object_set_new(o, "collector_duty", duty_json(j->duty));
    graph_poller_stats_t g;
    if (j->graph && graph_worker_stats(j->graph, &g)) {
        json_object_set_new(
            o, "graph",
            json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "cycles", (json_int_t)g.cycles,
                      "requests", (json_int_t)g.requests, "throttled", (json_int_t)g.throttled,
                      "retries", (json_int_t)g.retries, "timeouts", (json_int_t)g.timeouts,
                      "server_errors", (json_int_t)g.server_errors, "records_inserted",
                      (json_int_t)g.records_inserted, "errors", (json_int_t)g.errors));
    }
    return o;
}

/* Called by the HTTP thread for /metrics. */
static json_t *counters_cb(void *ctx)
{
    jobs_t *j = ctx;
    pthread_mutex_lock(&j->mu);
    json_t *copy = j->snap ? json_deep_copy(j->snap) : NULL;
    pthread_mutex_unlock(&j->mu);
    return copy;
}

static void snapshot(ingest_t *in, jobs_t *j, usec_t now)
{
    if (!j->noc || now < j->next_snap)
        return;
    json_t *c = counters_now(in, j);
    pthread_mutex_lock(&j->mu);
    json_decref(j->snap);
    j->snap = c;
    pthread_mutex_unlock(&j->mu);
    j->next_snap = now + USEC_PER_SEC;
}

static void correlate_now(const run_cfg_t *cfg, jobs_t *j, usec_t now)
{
    char err[512];
    /* the first step looks back; later ones take what arrived since */
    int64_t back = j->first_corr ? cfg->correlate_lookback_s : 30 * 86400;
    LOG_DEBUG("collector: correlation: step begins (looking back %" PRId64 " s)", back);
    int n = correlate_step(j->corr, now, back, err, sizeof err);
    j->first_corr = false;
    if (n < 0)
        LOG_ERROR("collector: %s", err);
    else if (n > 0)
        LOG_INFO("collector: correlation: %d calls judged", n);
    else /* -v: every step (tests/pg/failover_test.py sees where correlation runs) */
        LOG_DEBUG("collector: correlation: %d calls judged", n);
    j->next_corr = now + (usec_t)cfg->correlate_s * USEC_PER_SEC;
}

/* After each Graph poll cycle, judge the records just fetched. */
static void graph_check(jobs_t *j, usec_t now)
{
    uint64_t cycles = graph_worker_cycles(j->graph);
    if (cycles != j->graph_cycles && j->corr && j->corr_threaded) {
        pthread_mutex_lock(&j->corr_mu);
        j->corr_kick = true;
        pthread_cond_signal(&j->corr_cv);
        pthread_mutex_unlock(&j->corr_mu);
    } else if (cycles != j->graph_cycles && j->corr) {
        j->next_corr = now;
    }
    j->graph_cycles = cycles;
}

static opttab_result_t parse(run_cfg_t *cfg, opttab_t *t, int argc, char **argv);

/* --buildings FILE into the store; a refused file is logged, the map stays.
 * On PostgreSQL through a connection of its own for the import. */
static void buildings_load(const char *file, store_t *st, const char *db_path)
{
    char err[512];
    building_map_stats_t bs;
    if (!file)
        return;
    db_t *db = store_db(st) ? db_from_sqlite(store_db(st))
                            : db_open(db_path, 0, "callscope-collector", err, sizeof err);
    if (!db)
        LOG_ERROR("collector: buildings: %s; the map in force stays",
                  store_db(st) ? "out of memory" : err);
    else if (building_store_import(db, file, stderr, &bs, err, sizeof err))
        LOG_INFO("collector: buildings: %s: %zu networks, %zu lines skipped", file, bs.loaded,
                 bs.skipped);
    else
        LOG_ERROR("collector: buildings: %s; the map in force stays", err);
    db_close(&db);
}

/* SIGHUP: the settings are read again (files and command line); what can
 * change while running does, the rest is named as needing a restart. */
static void reload_settings(run_cfg_t *cfg, store_t *st)
{
    run_cfg_t n;
    opttab_t t;
    if (parse(&n, &t, cfg->argc, cfg->argv) != OPTTAB_RUN) {
        LOG_ERROR("collector: settings not reloaded (the old ones stay): see the message above");
        opttab_free_strings(&t);
        return;
    }
    cfg->retention_days = n.retention_days;
    cfg->retention_check_s = n.retention_check_s;
    cfg->stats_s = n.stats_s;
    cfg->correlate_s = n.correlate_s;
    const char *restart[][2] = {{"bind", cfg->in.bind}, {"db", cfg->db_path}};
    const char *now[] = {n.in.bind, n.db_path};
    for (size_t i = 0; i < 2; i++)
        if (restart[i][1] && now[i] && strcmp(restart[i][1], now[i]) != 0)
            LOG_WARN("collector: '%s' changed: takes effect at the next start", restart[i][0]);
    LOG_INFO("collector: settings reloaded (retention %u days, correlation every %u s)",
             cfg->retention_days, cfg->correlate_s);
    buildings_load(n.buildings, st, cfg->db_path); /* n's strings are freed below */
    opttab_free_strings(&t);
}

static bool graph_start(const run_cfg_t *cfg, jobs_t *j);

/* A duty taken starts its work at once (retention, a correlation that looks
 * back over what the previous holder may have left half done, Graph
 * polling); a duty lost stops before its next step (Graph: the worker is
 * stopped, a request in progress ends within about a second). */
static void duty_changes(const run_cfg_t *cfg, jobs_t *j, usec_t now, usec_t *next_ret)
{
    for (int k = 0; k < DUTY_N; k++) {
        bool h = duty_held(j->duty, (duty_kind_t)k);
        if (h == j->had[k])
            continue;
        j->had[k] = h;
        if (k == DUTY_RETENTION && h)
            *next_ret = now;
        if (k == DUTY_CORRELATION && h && !j->corr_threaded) {
            j->first_corr = true;
            j->next_corr = now;
        }
        if (k == DUTY_GRAPH && h && !j->graph && !graph_start(cfg, j))
            duty_give_up(j->duty, DUTY_GRAPH, "Graph polling cannot start (above)");
        if (k == DUTY_GRAPH && !h && j->graph) {
            graph_worker_free(&j->graph);
            LOG_INFO("collector: Graph polling stopped (duty lost)");
        }
    }
}

static void loop(run_cfg_t *cfg, ingest_t *in, store_t *st, jobs_t *j)
{
    usec_t next_ret = timefmt_now() + (usec_t)cfg->retention_check_s * USEC_PER_SEC;
    usec_t next_stats = timefmt_now() + (usec_t)cfg->stats_s * USEC_PER_SEC;
    while (!g_stop) {
        ingest_poll(in, 250);
        usec_t now = timefmt_now();
        if (g_reload) {
            g_reload = 0;
            ingest_reload_keys(in);
            reload_settings(cfg, st);
        }
        duty_changes(cfg, j, now, &next_ret);
        if (now >= next_ret && duty_held(j->duty, DUTY_RETENTION)) {
            retention(st, cfg->retention_days);
            next_ret = now + (usec_t)cfg->retention_check_s * USEC_PER_SEC;
        }
        if (cfg->stats_s && now >= next_stats) {
            log_counters(in, "periodic");
            next_stats = now + (usec_t)cfg->stats_s * USEC_PER_SEC;
        }
        if (j->graph)
            graph_check(j, now);
        if (j->corr && !j->corr_threaded && now >= j->next_corr &&
            duty_held(j->duty, DUTY_CORRELATION))
            correlate_now(cfg, j, now);
        snapshot(in, j, now);
        if (j->noc && duty_held(j->duty, DUTY_ALERTS))
            noc_tick(j->noc, now); /* alert evaluation, the only work noc_tick does */
    }
}

/* Graph polling, when a tenant is configured; false on a configuration error. */
static bool graph_start(const run_cfg_t *cfg, jobs_t *j)
{
    char err[600];
    if (!cfg->g.tenant)
        return true;
    if (!cfg->g.client_id || !cfg->g.secret_file) {
        LOG_ERROR("--graph-tenant needs --graph-client-id and --graph-secret-file");
        return false;
    }
    char *secret = graph_token_read_secret(cfg->g.secret_file, err, sizeof err);
    if (!secret) {
        LOG_ERROR("%s", err);
        return false;
    }
    graph_cfg_t g;
    graph_cmd_cfg(&cfg->g, secret, &g);
    for (size_t i = 0; i < cfg->norg_keys; i++)
        g.org_keys[i] = cfg->org_keys[i];
    g.norg_keys = cfg->norg_keys;
    j->graph = graph_worker_new(&g, cfg->db_path, err, sizeof err);
    OPENSSL_cleanse(secret, strlen(secret));
    free(secret);
    if (!j->graph)
        LOG_ERROR("%s", err);
    else
        LOG_INFO("collector: polling Microsoft Graph every %u s", cfg->g.interval_s);
    return j->graph != NULL;
}

/* The HTTP server, when --http-bind is given. */
static bool noc_start(const run_cfg_t *cfg, const pii_t *pii, jobs_t *j)
{
    char err[512];
    if (!cfg->noc.bind)
        return true;
    noc_cfg_t n = cfg->noc;
    n.db_path = cfg->db_path;
    j->noc = noc_new(&n, pii, counters_cb, j, err, sizeof err);
    if (!j->noc)
        LOG_ERROR("%s", err);
    return j->noc != NULL;
}

/* The correlation thread (PostgreSQL): the loop's schedule, checked every
 * 250 ms or when Graph polling brings records; a step runs only while the
 * duty is held, and the first after taking it looks back. */
static void *corr_thread(void *arg)
{
    jobs_t *j = arg;
    bool had = false;
    pthread_mutex_lock(&j->corr_mu);
    while (!j->corr_stop) {
        usec_t now = timefmt_now();
        bool held = duty_held(j->duty, DUTY_CORRELATION);
        if (held && !had) {
            j->first_corr = true;
            j->next_corr = now;
        }
        had = held;
        if (held && (now >= j->next_corr || j->corr_kick)) {
            j->corr_kick = false;
            pthread_mutex_unlock(&j->corr_mu);
            correlate_now(j->cfg, j, now);
            pthread_mutex_lock(&j->corr_mu);
            continue;
        }
        struct timespec until = timefmt_deadline(CLOCK_REALTIME, 250);
        pthread_cond_timedwait(&j->corr_cv, &j->corr_mu, &until);
    }
    pthread_mutex_unlock(&j->corr_mu);
    return NULL;
}

static bool jobs_start(const run_cfg_t *cfg, store_t *st, const pii_t *pii, duty_t *duty, jobs_t *j)
{
    char err[512];
    memset(j, 0, sizeof *j);
    pthread_mutex_init(&j->mu, NULL);
    pthread_mutex_init(&j->corr_mu, NULL);
    pthread_cond_init(&j->corr_cv, NULL);
    j->cfg = cfg;
    j->duty = duty;
    for (int k = 0; k < DUTY_N; k++)
        j->had[k] = duty_held(duty, (duty_kind_t)k);
    j->first_corr = true;
    j->next_corr = timefmt_now();
    if (cfg->correlate_s) {
        /* SQLite: the store's connection (same thread); PostgreSQL: one of its own */
        j->corr_db = store_db(st) ? db_from_sqlite(store_db(st))
                                  : db_open(cfg->db_path, 0, "callscope-collector correlate", err,
                                            sizeof err);
        if (j->corr_db)
            j->corr = correlate_new(&cfg->cc, j->corr_db, pii, err, sizeof err);
        else if (store_db(st))
            snprintf(err, sizeof err, "out of memory");
        if (!j->corr) {
            LOG_ERROR("%s", err);
            return false;
        }
        if (!store_db(st)) {
            j->corr_threaded = pthread_create(&j->corr_th, NULL, corr_thread, j) == 0;
            if (!j->corr_threaded) {
                LOG_ERROR("cannot start the correlation thread");
                return false;
            }
        }
    }
    if (cfg->g.tenant && (!cfg->g.client_id || !cfg->g.secret_file)) {
        LOG_ERROR("--graph-tenant needs --graph-client-id and --graph-secret-file");
        return false;
    }
    /* Graph polling starts here when this collector holds the duty, else
     * when it takes it (duty_changes) */
    return (!j->had[DUTY_GRAPH] || graph_start(cfg, j)) && noc_start(cfg, pii, j);
}

static void jobs_stop(jobs_t *j)
{
    noc_free(&j->noc); /* first: its thread reads the snapshot */
    json_decref(j->snap);
    pthread_mutex_destroy(&j->mu);
    graph_worker_free(&j->graph);
    if (j->corr_threaded) { /* a step in progress ends first */
        pthread_mutex_lock(&j->corr_mu);
        j->corr_stop = true;
        pthread_cond_signal(&j->corr_cv);
        pthread_mutex_unlock(&j->corr_mu);
        pthread_join(j->corr_th, NULL);
        j->corr_threaded = false;
    }
    pthread_mutex_destroy(&j->corr_mu);
    pthread_cond_destroy(&j->corr_cv);
    correlate_free(&j->corr);
    db_close(&j->corr_db);
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
    pii_t *pii = ok ? pii_new(cfg->org_keys, cfg->norg_keys, NULL, err, sizeof err) : NULL;
    ok = ok && pii;
    if (ok)
        printf("callscope-collector: configuration OK (%zu authorised probe keys)\n",
               keyring_count(ring));
    else
        fprintf(stderr, "callscope-collector: %s\n", err);
    keyring_free(&ring);
    pii_free(&pii);
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
    pii_t *pii = pii_new(cfg->org_keys, cfg->norg_keys, NULL, err, sizeof err);
    if (!pii) {
        LOG_ERROR("%s", err);
        return 1;
    }
    store_t *st = store_open(cfg->db_path, cfg->db_sync_full, pii, err, sizeof err);
    if (!st) {
        LOG_ERROR("%s", err);
        pii_free(&pii);
        return 1;
    }
    duty_cfg_t dc = {.db = cfg->db_path, .name = cfg->name, .tenant = cfg->g.tenant};
    dc.want[DUTY_CORRELATION] = cfg->correlate_s != 0;
    dc.want[DUTY_GRAPH] = cfg->g.tenant != NULL;
    dc.want[DUTY_RETENTION] = true;
    dc.want[DUTY_ALERTS] = cfg->noc.bind != NULL;
    duty_t *duty = duty_new(&dc, err, sizeof err);
    if (!duty) {
        LOG_ERROR("%s", err);
        store_free(&st);
        pii_free(&pii);
        return 1;
    }
    if (duty_held(duty, DUTY_RETENTION))
        retention(st, cfg->retention_days);
    buildings_load(cfg->buildings, st, cfg->db_path);
    ingest_t *in = ingest_new(&cfg->in, st, err, sizeof err);
    if (!in) {
        LOG_ERROR("%s", err);
        duty_free(&duty);
        store_free(&st);
        pii_free(&pii);
        return 1;
    }
    jobs_t jobs;
    int rc = 0;
    if (jobs_start(cfg, st, pii, duty, &jobs))
        loop(cfg, in, st, &jobs);
    else
        rc = 1;
    jobs_stop(&jobs);
    duty_free(&duty); /* after the work it guards has stopped */
    log_counters(in, "final");
    ingest_free(&in);
    store_free(&st);
    pii_free(&pii);
    return rc;
}

static opttab_result_t parse(run_cfg_t *cfg, opttab_t *t, int argc, char **argv)
{
    size_t nparts;
    const opttab_part_t *parts = run_parts(&nparts);
    *t = (opttab_t){.prog = "callscope-collector run",
                    .parts = parts,
                    .nparts = nparts,
                    .cfg = cfg,
                    .special = special};
    opttab_result_t r = defaults(cfg, t);
    cfg->argc = argc;
    cfg->argv = argv;
    int first = 1;
    if (r == OPTTAB_RUN)
        r = opttab_parse(t, argc, argv, &first);
    if (r == OPTTAB_RUN && first < argc) {
        fprintf(stderr, "callscope-collector run: unexpected argument '%s'\n", argv[first]);
        r = OPTTAB_EXIT_USAGE;
    }
    return r;
}

int cmd_run(int argc, char **argv)
{
    run_cfg_t cfg;
    opttab_t t;
    opttab_result_t r = parse(&cfg, &t, argc, argv);
    int rc = r == OPTTAB_RUN ? run(&cfg) : r == OPTTAB_EXIT_OK ? 0 : 2;
    opttab_free_strings(&t);
    return rc;
}
