#include "opttab.h"

#include "textwrap.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define OPTTAB_MAX 128

void opttab_help(const opttab_t *t, FILE *to)
{
    for (size_t i = 0; i < t->ndefs; i++) {
        const opttab_def_t *d = &t->defs[i];
        char head[96];
        if (d->short_name)
            snprintf(head, sizeof head, "  -%c, --%s%s%s", d->short_name, d->name,
                     d->arg ? " " : "", d->arg ? d->arg : "");
        else
            snprintf(head, sizeof head, "      --%s%s%s", d->name, d->arg ? " " : "",
                     d->arg ? d->arg : "");
        fprintf(to, "%s\n", head);
        textwrap(to, d->help, 8, 78);
    }
}

static bool set_int(const opttab_t *t, const opttab_def_t *d, const char *val)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(val, &end, 10);
    if (errno != 0 || end == val || *end != '\0' || v < d->min || v > d->max) {
        fprintf(stderr, "%s: --%s: '%s' is not a whole number from %ld to %ld\n", t->prog,
                d->name, val, d->min, d->max);
        return false;
    }
    char *base = (char *)t->cfg + d->offset;
    if (d->type == OPTTAB_INT)
        *(int *)base = (int)v;
    else
        *(unsigned *)base = (unsigned)v;
    return true;
}

static opttab_result_t apply(const opttab_t *t, const opttab_def_t *d, const char *val)
{
    char *base = (char *)t->cfg + d->offset;
    switch (d->type) {
    case OPTTAB_INT:
    case OPTTAB_UINT:
        return set_int(t, d, val) ? OPTTAB_RUN : OPTTAB_EXIT_USAGE;
    case OPTTAB_STR:
        *(const char **)base = val;
        return OPTTAB_RUN;
    case OPTTAB_FLAG:
        *(bool *)base = true;
        return OPTTAB_RUN;
    case OPTTAB_NOFLAG:
        *(bool *)base = false;
        return OPTTAB_RUN;
    case OPTTAB_SPECIAL:
        break;
    }
    return t->special ? t->special(t, d, val) : OPTTAB_EXIT_USAGE;
}

opttab_result_t opttab_parse(const opttab_t *t, int argc, char **argv, int *first_arg)
{
    struct option lo[OPTTAB_MAX + 1];
    char shorts[3 * OPTTAB_MAX + 2];
    size_t ns = 0, n = t->ndefs < OPTTAB_MAX ? t->ndefs : OPTTAB_MAX;
    shorts[ns++] = ':';
    for (size_t i = 0; i < n; i++) {
        const opttab_def_t *d = &t->defs[i];
        lo[i] = (struct option){d->name, d->arg ? required_argument : no_argument, NULL,
                                d->short_name ? d->short_name : 256 + (int)i};
        if (d->short_name) {
            shorts[ns++] = (char)d->short_name;
            if (d->arg)
                shorts[ns++] = ':';
        }
    }
    lo[n] = (struct option){0};
    shorts[ns] = '\0';
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
        if (ch == '?' || ch == ':') {
            fprintf(stderr, "%s: %s option '%s' (see --help)\n", t->prog,
                    ch == ':' ? "missing value for" : "unknown", argv[optind - 1]);
            return OPTTAB_EXIT_USAGE;
        }
        const opttab_def_t *d = NULL;
        for (size_t i = 0; i < n && !d; i++)
            if (t->defs[i].short_name ? t->defs[i].short_name == ch : 256 + (int)i == ch)
                d = &t->defs[i];
        opttab_result_t r = d ? apply(t, d, optarg) : OPTTAB_EXIT_USAGE;
        if (r != OPTTAB_RUN)
            return r;
    }
    *first_arg = optind;
    return OPTTAB_RUN;
}
