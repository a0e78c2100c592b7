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

static bool set_int(opttab_t *t, const opttab_def_t *d, const char *val)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(val, &end, 10);
    if (errno != 0 || end == val || *end != '\0' || v < d->min || v > d->max) {
        fprintf(stderr, "%s: --%s: '%s' is not a whole number from %ld to %ld\n", t->prog, d->name,
                val, d->min, d->max);
        return false;
    }
    char *base = (char *)t->cfg + d->offset;
    if (d->type == OPTTAB_INT)
        *(int *)base = (int)v;
    else
        *(unsigned *)base = (unsigned)v;
    return true;
}

static opttab_result_t apply(opttab_t *t, const opttab_def_t *d, const char *val)
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

opttab_result_t opttab_parse(opttab_t *t, int argc, char **argv, int *first_arg)
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

/* ---- configuration files ------------------------------------------------ */

#define CONF_LINE_MAX 4096
#define CONF_STRINGS_MAX 256
#define CONF_FILE_MAX (1 << 20)

static char *trim(char *s)
{
    s += strspn(s, " \t");
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

static const opttab_def_t *find_def(const opttab_t *t, const char *name)
{
    for (size_t i = 0; i < t->ndefs; i++)
        if (strcmp(t->defs[i].name, name) == 0)
            return &t->defs[i];
    return NULL;
}

static char *keep(opttab_t *t, const char *v)
{
    if (t->nstrings >= CONF_STRINGS_MAX)
        return NULL;
    char **grown = realloc(t->strings, (t->nstrings + 1) * sizeof *grown);
    char *copy = grown ? strdup(v) : NULL;
    if (grown)
        t->strings = grown;
    if (!copy)
        return NULL;
    t->strings[t->nstrings++] = copy;
    return copy;
}

static opttab_result_t conf_line(opttab_t *t, char *line, const char *path, int lineno)
{
    char *p = trim(line);
    if (*p == '#' || *p == '\0')
        return OPTTAB_RUN;
    char *eq = strchr(p, '=');
    char *val = NULL;
    if (eq) {
        *eq = '\0';
        val = trim(eq + 1);
    }
    char *key = trim(p);
    const opttab_def_t *d = find_def(t, key);
    const char *why = NULL;
    if (!d || strcmp(key, "help") == 0 || strcmp(key, "version") == 0 ||
        strcmp(key, "config") == 0 || strcmp(key, "check-config") == 0)
        why = "is not a setting (see --help)";
    else if (d->arg && !val)
        why = "needs a value: name = value";
    else if (!d->arg && val)
        why = "takes no value";
    if (why) {
        fprintf(stderr, "%s: %s:%d: '%s' %s\n", t->prog, path, lineno, key, why);
        return OPTTAB_EXIT_USAGE;
    }
    char *v = val ? keep(t, val) : NULL;
    if (val && !v) {
        fprintf(stderr, "%s: %s:%d: too many settings\n", t->prog, path, lineno);
        return OPTTAB_EXIT_USAGE;
    }
    opttab_result_t r = apply(t, d, v);
    if (r != OPTTAB_RUN)
        fprintf(stderr, "%s: (in %s:%d)\n", t->prog, path, lineno);
    return r;
}

opttab_result_t opttab_load_text(opttab_t *t, const char *name, const char *text, size_t len)
{
    char line[CONF_LINE_MAX];
    int lineno = 0;
    size_t pos = 0;
    opttab_result_t r = OPTTAB_RUN;
    while (r == OPTTAB_RUN && pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        lineno++;
        if (n >= sizeof line || memchr(text + pos, '\0', n)) {
            fprintf(stderr, "%s: %s:%d: %s\n", t->prog, name, lineno,
                    n >= sizeof line ? "line too long" : "NUL byte in line");
            return OPTTAB_EXIT_USAGE;
        }
        memcpy(line, text + pos, n);
        line[n] = '\0';
        pos += n + (nl ? 1 : 0);
        r = conf_line(t, line, name, lineno);
    }
    return r;
}

#define CONF_DEPTH_MAX 8

opttab_result_t opttab_load_file(opttab_t *t, const char *path)
{
    if (t->depth >= CONF_DEPTH_MAX) {
        fprintf(stderr, "%s: %s: configuration files nested more than %d deep\n", t->prog, path,
                CONF_DEPTH_MAX);
        return OPTTAB_EXIT_USAGE;
    }
    FILE *fp = fopen(path, "r");
    if (!fp) {
        fprintf(stderr, "%s: cannot read configuration %s: %s\n", t->prog, path, strerror(errno));
        return OPTTAB_EXIT_USAGE;
    }
    char *buf = malloc(CONF_FILE_MAX + 1);
    size_t len = buf ? fread(buf, 1, CONF_FILE_MAX + 1, fp) : 0;
    bool err = ferror(fp) != 0;
    fclose(fp);
    opttab_result_t r = OPTTAB_EXIT_USAGE;
    if (!buf || err)
        fprintf(stderr, "%s: cannot read configuration %s\n", t->prog, path);
    else if (len > CONF_FILE_MAX)
        fprintf(stderr, "%s: %s: larger than %d bytes\n", t->prog, path, CONF_FILE_MAX);
    else {
        t->depth++;
        r = opttab_load_text(t, path, buf, len);
        t->depth--;
    }
    free(buf);
    return r;
}

void opttab_free_strings(opttab_t *t)
{
    for (size_t i = 0; i < t->nstrings; i++)
        free(t->strings[i]);
    free(t->strings);
    t->strings = NULL;
    t->nstrings = 0;
}
