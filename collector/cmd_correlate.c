/* callscope-collector correlate: one evaluation of the verdicts over what
 * the store received within --since, on a SQLite file or a postgresql://
 * URI. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cliutil.h"
#include "commands.h"
#include "correlate.h"
#include "db.h"
#include "pii.h"
#include "log.h"
#include "opttab.h"
#include "store.h"
#include "textwrap.h"
#include "timefmt.h"

#define PROG "callscope-collector correlate"

typedef struct {
    const char *db_path;
    const char *org_keys[PII_MAX_KEYS];
    size_t norg_keys;
    int64_t since_s;
    unsigned slack_s, gap_s;
    int verbosity;
    correlate_cfg_t cc;
} corr_opts_t;

#define CO(f) offsetof(corr_opts_t, f)

#define STR_(x) #x
#define STR(x) STR_(x)

static const opttab_opt_t opts[] = {
    {{"db", 'd', OPTTAB_STR, CO(db_path), 0, 0, "PATH|URI",
      "The collector's store: a SQLite file or a postgresql:// URI (required)."},
     NULL,
     0,
     0},
    {{"org-key", 'o', OPTTAB_SPECIAL, 0, 0, 0, "FILE",
      "The organisation's master key (required; repeat after key rotation: the first seals, "
      "all open). Participants' addresses are kept sealed with it in the verdict tables."},
     NULL,
     0,
     0},
    {{"since", 's', OPTTAB_SPECIAL, 0, 0, 0, "DURATION",
      "Evaluate the calls touched by probe streams and call records stored within DURATION "
      "(90s, 30m, 24h, 7d; default 24h). Every call touched is evaluated again from all its "
      "inputs and its rows replaced."},
     NULL,
     0,
     0},
    {{"threshold", 't', OPTTAB_SPECIAL, 0, 0, 0, "NAME=VALUE",
      "Change one threshold of the decision table (see THRESHOLDS below)."},
     NULL,
     0,
     0},
    {{"slack", 0, OPTTAB_UINT, CO(slack_s), 0, 3600, "SECONDS",
      "Clock difference allowed between the probe's and Graph's times."},
     STR(CORRELATE_SLACK_S),
     0,
     0},
    {{"wire-gap", 0, OPTTAB_UINT, CO(gap_s), 1, 3600, "SECONDS",
      "A client's probe streams further apart than this are separate wire-only calls."},
     STR(CORRELATE_WIRE_GAP_S),
     0,
     0},
    {{"verbose", 'v', OPTTAB_SPECIAL, 0, 0, 0, NULL, "More log detail."}, NULL, 0, 0},
    {{"quiet", 'q', OPTTAB_SPECIAL, 0, 0, 0, NULL, "Errors only."}, NULL, 0, 0},
    {{"help", 'h', OPTTAB_SPECIAL, 0, 0, 0, NULL, "This manual."}, NULL, 0, 0},
};

static void help(const opttab_t *t)
{
    printf("SYNOPSIS\n    " PROG " --db PATH|URI --org-key FILE [--since DURATION] [options]\n\n"
           "DESCRIPTION\n");
    textwrap(stdout,
             "Joins the probes' media streams with Microsoft Graph's call records in the "
             "store and writes, per call, participant and stream, where a bad call's fault "
             "lies: lan (between client and probe), wan (between probe and Microsoft), "
             "endpoint (the device), cloud (service or a far participant), healthy or unknown, "
             "with a confidence and the evidence (tables verdict_calls, verdict_participants, "
             "verdict_streams). Calls with probe data but no call record get a wire-only "
             "verdict, records without probe data a cloud-only one. 'run' does the same "
             "periodically; this command evaluates once and exits.",
             4, 78);
    printf("\nOPTIONS\n");
    opttab_help(t, stdout);
    cliutil_threshold_help(stdout);
    printf("\nEXIT STATUS\n    0 done; 1 store, key or database error; 2 usage.\n"
           "\nEXAMPLE\n    " PROG " --db /var/lib/callscope/collector.db \\\n"
           "        --org-key /etc/callscope/org.key --since 2h\n"
           "\nSEE ALSO\n    callscope-collector report --help, docs/verdicts.md\n");
}

static opttab_result_t special(opttab_t *t, const opttab_def_t *d, const char *val)
{
    corr_opts_t *o = t->cfg;
    switch (d->short_name) {
    case 'v':
        o->verbosity++;
        return OPTTAB_RUN;
    case 'q':
        o->verbosity = -1;
        return OPTTAB_RUN;
    case 'o':
        return cliutil_org_key(PROG, o->org_keys, &o->norg_keys, val) ? OPTTAB_RUN
                                                                      : OPTTAB_EXIT_USAGE;
    case 's':
        return cliutil_since(PROG, val, &o->since_s) ? OPTTAB_RUN : OPTTAB_EXIT_USAGE;
    case 't':
        return cliutil_threshold(PROG, &o->cc.thr, val) ? OPTTAB_RUN : OPTTAB_EXIT_USAGE;
    default:
        help(t);
        return OPTTAB_EXIT_OK;
    }
}

static int evaluate(const corr_opts_t *o)
{
    char err[512];
    int rc = 1;
    pii_t *pii = pii_new(o->org_keys, o->norg_keys, NULL, err, sizeof err);
    /* the store's own schema first (ingest's tables), then a connection of
     * correlation's own on PostgreSQL (the store's belongs to ingest) */
    store_t *st = pii ? store_open(o->db_path, false, pii, err, sizeof err) : NULL;
    db_t *db = !st            ? NULL
               : store_db(st) ? db_from_sqlite(store_db(st))
                              : db_open(o->db_path, 0, PROG, err, sizeof err);
    if (st && !db && store_db(st))
        snprintf(err, sizeof err, "out of memory");
    correlate_t *c = db ? correlate_new(&o->cc, db, pii, err, sizeof err) : NULL;
    int n = c ? correlate_step(c, timefmt_now(), o->since_s, err, sizeof err) : -1;
    if (n < 0) {
        LOG_ERROR("%s", err);
    } else {
        correlate_stats_t s;
        correlate_stats(c, &s);
        printf("correlate: %d calls evaluated (%llu joined, %llu wire-only, %llu cloud-only) "
               "from %llu probe streams and %llu call records\n",
               n, (unsigned long long)s.joined, (unsigned long long)s.wire_only,
               (unsigned long long)s.cloud_only, (unsigned long long)s.streams,
               (unsigned long long)s.records);
        rc = 0;
    }
    correlate_free(&c);
    db_close(&db);
    store_free(&st);
    pii_free(&pii);
    return rc;
}

int cmd_correlate(int argc, char **argv)
{
    corr_opts_t o;
    memset(&o, 0, sizeof o);
    correlate_cfg_defaults(&o.cc);
    o.since_s = 86400;
    opttab_part_t part = {opts, sizeof opts / sizeof opts[0], 0, NULL, 0};
    opttab_t t = {.prog = PROG, .parts = &part, .nparts = 1, .cfg = &o, .special = special};
    int rc = opttab_defaults(&t) == OPTTAB_RUN
                 ? cliutil_parse_db_key(&t, argc, argv, &o.db_path, &o.norg_keys)
                 : 2;
    if (rc >= 0)
        return rc;
    o.cc.slack_s = o.slack_s;
    o.cc.wire_gap_s = o.gap_s;
    log_set_level(o.verbosity < 0    ? LOG_LVL_ERROR
                  : o.verbosity == 0 ? LOG_LVL_WARN
                                     : LOG_LVL_DEBUG);
    return evaluate(&o);
}
