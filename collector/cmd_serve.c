/* callscope-collector serve: the NOC outputs on their own, reading a store
 * that 'run' (and the verdict engine) write. docs/noc.md. */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "pii.h"
#include "log.h"
#include "noc.h"
#include "opttab.h"
#include "textwrap.h"
#include "timefmt.h"

typedef struct {
    noc_cfg_t noc;
    const char *org_keys[PII_MAX_KEYS];
    size_t norg_keys;
    int verbosity;
} serve_cfg_t;

#define SRV(f) offsetof(serve_cfg_t, f)

static const opttab_opt_t head[] = {
    {{"db", 'd', OPTTAB_STR, SRV(noc.db_path), 0, 0, "FILE|URI",
      "The collector's store (required; opened read-only, never changed): a SQLite file or "
      "a postgresql:// URI (docs/store.md)."},
     NULL,
     0,
     0},
    {{"org-key", 'o', OPTTAB_SPECIAL, 0, 0, 0, "FILE",
      "The organisation's master key (from 'org-keygen'; mode 0600; default "
      "/etc/callscope/org.key): turns a client address in a query into its lookup hash and "
      "opens the sealed addresses shown to authenticated users. Repeat for older keys after "
      "rotation."},
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

static void help(const opttab_t *t)
{
    printf("Usage: callscope-collector serve --db FILE|URI [options]\n\n");
    textwrap(stdout,
             "Serves the verdicts in the store (a SQLite file or a PostgreSQL database, read only) "
             "to a NOC: a JSON API (/api/calls, "
             "/api/calls/ID, /api/sites, /api/sites/SITE, /api/clients), Prometheus metrics "
             "(/metrics) and a dashboard (/). Every API request needs the bearer token; client "
             "addresses are shown opened only to such requests, and a client address given in a "
             "query is matched by its keyed hash, never stored or logged. Alerts: when a site's "
             "share of 'lan' or 'wan' verdicts crosses --alert-threshold, a line goes to syslog "
             "and stderr and a JSON POST to --alert-webhook, at most once per --alert-interval "
             "per site and kind. SIGINT/SIGTERM stop it.",
             0, 78);
    printf("\nOptions:\n");
    opttab_help(t, stdout);
    printf(
        "\nExamples:\n"
        "  head -c 32 /dev/urandom | base64 > /etc/callscope/noc.token\n"
        "  chmod 600 /etc/callscope/noc.token\n"
        "  callscope-collector serve --db /var/lib/callscope/collector.db \\\n"
        "      --bind 0.0.0.0:8443 --tls-cert noc.pem --tls-key noc.key \\\n"
        "      --alert-webhook https://hooks.example.net/callscope\n"
        "  callscope-collector serve --db postgresql://noc@db.example.net/callscope ...\n"
        "  curl -H \"Authorization: Bearer $(cat /etc/callscope/noc.token)\" \\\n"
        "      "
        "'https://noc.example.net:8443/api/calls?site=hq&verdict=lan&since=2026-01-15T00:00:00Z'\n"
        "  Dashboard: https://noc.example.net:8443/#token=TOKEN (the token stays in the tab)\n"
        "\nExit status: 0 stopped by a signal; 1 could not start; 2 bad usage.\n"
        "See docs/noc.md for every endpoint, parameter, metric and the alert payload.\n");
}

static opttab_result_t special(opttab_t *t, const opttab_def_t *d, const char *val)
{
    serve_cfg_t *cfg = t->cfg;
    switch (d->short_name) {
    case 'v':
        cfg->verbosity++;
        return OPTTAB_RUN;
    case 'q':
        cfg->verbosity = -1;
        return OPTTAB_RUN;
    case 'o':
        if (cfg->norg_keys == PII_MAX_KEYS) {
            fprintf(stderr, "%s: at most %d --org-key\n", t->prog, PII_MAX_KEYS);
            return OPTTAB_EXIT_USAGE;
        }
        cfg->org_keys[cfg->norg_keys++] = val;
        return OPTTAB_RUN;
    default:
        help(t);
        return OPTTAB_EXIT_OK;
    }
}

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    stop_flag = 1;
}

static void wait_for_signal(noc_t *n)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    struct timespec nap = {0, 200 * 1000 * 1000};
    while (!stop_flag) {
        noc_tick(n, timefmt_now());
        nanosleep(&nap, NULL);
    }
}

int cmd_serve(int argc, char **argv)
{
    serve_cfg_t cfg = {.verbosity = 0};
    size_t nnoc;
    const opttab_opt_t *noc = noc_options(&nnoc);
    const opttab_part_t parts[] = {{head, sizeof head / sizeof head[0], 0, NULL, 0},
                                   {noc, nnoc, SRV(noc), NULL, NOC_OPT_SERVE},
                                   {tail, sizeof tail / sizeof tail[0], 0, NULL, 0}};
    opttab_t t = {.prog = "callscope-collector serve",
                  .parts = parts,
                  .nparts = sizeof parts / sizeof parts[0],
                  .cfg = &cfg,
                  .special = special};
    int first = 1;
    opttab_result_t r = opttab_defaults(&t);
    if (r == OPTTAB_RUN)
        r = opttab_parse(&t, argc, argv, &first);
    if (r != OPTTAB_RUN)
        return r == OPTTAB_EXIT_OK ? 0 : 2;
    if (first < argc || !cfg.noc.db_path) {
        fprintf(stderr, "%s: %s (see --help)\n", t.prog,
                first < argc ? "unexpected argument" : "--db FILE|URI is required");
        return 2;
    }
    log_set_level(cfg.verbosity < 0    ? LOG_LVL_ERROR
                  : cfg.verbosity == 0 ? LOG_LVL_INFO
                                       : LOG_LVL_DEBUG);
    if (cfg.norg_keys == 0)
        cfg.org_keys[cfg.norg_keys++] = "/etc/callscope/org.key";
    char err[512];
    pii_t *pii = pii_new(cfg.org_keys, cfg.norg_keys, NULL, err, sizeof err);
    noc_t *n = pii ? noc_new(&cfg.noc, pii, NULL, NULL, err, sizeof err) : NULL;
    if (!n) {
        LOG_ERROR("serve: %s", err);
        pii_free(&pii);
        return 1;
    }
    LOG_INFO("serve: listening on port %u", noc_port(n));
    wait_for_signal(n);
    noc_free(&n);
    pii_free(&pii);
    return 0;
}
