#include "cliutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
