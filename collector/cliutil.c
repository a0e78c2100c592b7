#include "cliutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "building_store.h"
#include "log.h"
#include "textwrap.h"
#include "timefmt.h"

bool cliutil_duration(const char *s, int64_t *seconds)
{
    return timefmt_parse_span(s, seconds);
}

int cliutil_parse_db_key(opttab_t *t, int argc, char **argv, const char *const *db_path,
                         const size_t *norg_keys)
{
    int first = 1;
    opttab_result_t r = opttab_parse(t, argc, argv, &first);
    if (r != OPTTAB_RUN)
        return r == OPTTAB_EXIT_OK ? 0 : 2;
    if (first < argc || !*db_path || *norg_keys == 0) {
        fprintf(stderr, "%s: %s (see --help)\n", t->prog,
                first < argc ? "unexpected argument" : "--db PATH and --org-key FILE are required");
        return 2;
    }
    return -1;
}

bool cliutil_store_open(cliutil_store_t *s, const char *prog, const char *db_path,
                        const char *const *org_keys, size_t norg_keys)
{
    char err[512];
    memset(s, 0, sizeof *s);
    if (!(s->pii = pii_new(org_keys, norg_keys, NULL, err, sizeof err)))
        LOG_ERROR("%s", err);
    else if (!(s->db = db_open(db_path, DB_READONLY, prog, err, sizeof err)))
        LOG_ERROR("%s", err);
    else if (!(s->map = building_store_load(s->db, err, sizeof err)))
        LOG_ERROR("%s: building map: %s", db_is_uri(db_path) ? "store" : db_path, err);
    else
        return true;
    cliutil_store_close(s);
    return false;
}

void cliutil_store_close(cliutil_store_t *s)
{
    building_map_free(&s->map);
    db_close(&s->db);
    pii_free(&s->pii);
}

bool cliutil_org_key(const char *prog, const char **keys, size_t *n, const char *file)
{
    if (*n == PII_MAX_KEYS) {
        fprintf(stderr, "%s: at most %d --org-key\n", prog, PII_MAX_KEYS);
        return false;
    }
    keys[(*n)++] = file;
    return true;
}

bool cliutil_since(const char *prog, const char *val, int64_t *seconds)
{
    if (cliutil_duration(val, seconds))
        return true;
    fprintf(stderr, "%s: --since: '%s' is not a duration (90s, 30m, 24h, 7d)\n", prog, val);
    return false;
}

bool cliutil_threshold(const char *prog, verdict_thresholds_t *t, const char *assignment)
{
    char err[256];
    if (verdict_thresholds_set(t, assignment, err, sizeof err))
        return true;
    fprintf(stderr, "%s: --threshold: %s\n", prog, err);
    return false;
}

void cliutil_threshold_help(FILE *to)
{
    size_t n;
    const verdict_param_t *p = verdict_params(&n);
    fprintf(to, "\nTHRESHOLDS (--threshold NAME=VALUE, repeatable; docs/verdicts.md)\n");
    for (size_t i = 0; i < n; i++) {
        fprintf(to, "    %s (default %g)\n", p[i].name, p[i].def);
        textwrap(to, p[i].help, 8, 78);
    }
}
