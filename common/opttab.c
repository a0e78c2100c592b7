#include "opttab.h"

#include "textwrap.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define OPTTAB_MAX 160
#define OPTTAB_NAME_MAX 64

/* One row as a command sees it: its full name and where its field is. */
typedef struct {
    const opttab_def_t *d;
    const opttab_opt_t *opt; /* NULL for a table without defaults */
    int short_name;          /* none in a part with a prefix: its names are another command's */
    char *base;
    char name[OPTTAB_NAME_MAX];
} entry_t;

static bool row_in(const opttab_part_t *p, const opttab_opt_t *o)
{
    return p->groups == 0 || o->groups == 0 || (p->groups & o->groups) != 0;
}

/* The rows of t in order; returns how many (at most max). */
static size_t entries(const opttab_t *t, entry_t *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; !t->parts && i < t->ndefs && n < max; i++, n++) {
        snprintf(out[n].name, sizeof out[n].name, "%s", t->defs[i].name);
        out[n].d = &t->defs[i];
        out[n].opt = NULL;
        out[n].short_name = t->defs[i].short_name;
        out[n].base = t->cfg;
    }
    for (size_t k = 0; t->parts && k < t->nparts; k++)
        for (size_t i = 0; i < t->parts[k].nopts && n < max; i++) {
            const opttab_part_t *p = &t->parts[k];
            const opttab_opt_t *o = &p->opts[i];
            if (!row_in(p, o))
                continue;
            bool pre = (o->flags & OPTTAB_PREFIXED) && p->prefix;
            snprintf(out[n].name, sizeof out[n].name, "%s%s", pre ? p->prefix : "", o->o.name);
            out[n].d = &o->o;
            out[n].opt = o;
            out[n].short_name = p->prefix ? 0 : o->o.short_name;
            out[n].base = (char *)t->cfg + p->base;
            n++;
        }
    return n;
}

/* "(default X)": a word alone is quoted ('default'), paths and numbers not. */
static void default_note(const opttab_opt_t *d, char *out, size_t len)
{
    bool word =
        strspn(d->def, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") == strlen(d->def);
    snprintf(out, len, " (default %s%s%s)", word ? "'" : "", d->def, word ? "'" : "");
}

char *opttab_help_text(const opttab_opt_t *o)
{
    const opttab_def_t *d = &o->o;
    if (!o->def || d->type == OPTTAB_SPECIAL || !d->arg)
        return strdup(d->help);
    char note[300];
    default_note(o, note, sizeof note);
    /* the end of the first sentence: ". " outside parentheses, or the final '.' */
    size_t n = strlen(d->help), at = n && d->help[n - 1] == '.' ? n - 1 : n;
    int depth = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        depth += d->help[i] == '(' ? 1 : d->help[i] == ')' ? -1 : 0;
        if (depth == 0 && d->help[i] == '.' && d->help[i + 1] == ' ') {
            at = i;
            break;
        }
    }
    size_t len = n + strlen(note) + 1;
    char *s = malloc(len);
    if (s)
        snprintf(s, len, "%.*s%s%s", (int)at, d->help, note, d->help + at);
    return s;
}

static void help_rows(const opttab_t *t, FILE *to, bool manual)
{
    entry_t e[OPTTAB_MAX];
    size_t n = entries(t, e, OPTTAB_MAX);
    for (size_t i = 0; i < n; i++) {
        const opttab_def_t *d = e[i].d;
        char head[128];
        const char *sp = d->arg ? " " : "", *arg = d->arg ? d->arg : "";
        if (manual)
            snprintf(head, sizeof head, "    --%s%s%s", e[i].name, sp, arg);
        else if (e[i].short_name)
            snprintf(head, sizeof head, "  -%c, --%s%s%s", e[i].short_name, e[i].name, sp, arg);
        else
            snprintf(head, sizeof head, "      --%s%s%s", e[i].name, sp, arg);
        fprintf(to, "%s\n", head);
        char *text = e[i].opt ? opttab_help_text(e[i].opt) : NULL;
        textwrap(to, text ? text : d->help, 8, 78);
        free(text);
    }
}

void opttab_help(const opttab_t *t, FILE *to)
{
    help_rows(t, to, false);
}

void opttab_help_manual(const opttab_t *t, FILE *to)
{
    help_rows(t, to, true);
}

static bool set_int(opttab_t *t, const entry_t *e, const char *val)
{
    const opttab_def_t *d = e->d;
    char *end = NULL;
    errno = 0;
    long v = strtol(val, &end, 10);
    if (errno != 0 || end == val || *end != '\0' || v < d->min || v > d->max) {
        fprintf(stderr, "%s: --%s: '%s' is not a whole number from %ld to %ld\n", t->prog, e->name,
                val, d->min, d->max);
        return false;
    }
    if (d->type == OPTTAB_INT)
        *(int *)(e->base + d->offset) = (int)v;
    else
        *(unsigned *)(e->base + d->offset) = (unsigned)v;
    return true;
}

static opttab_result_t apply(opttab_t *t, const entry_t *e, const char *val)
{
    char *field = e->base + e->d->offset;
    switch (e->d->type) {
    case OPTTAB_INT:
    case OPTTAB_UINT:
        return set_int(t, e, val) ? OPTTAB_RUN : OPTTAB_EXIT_USAGE;
    case OPTTAB_STR:
        *(const char **)field = val;
        return OPTTAB_RUN;
    case OPTTAB_FLAG:
        *(bool *)field = true;
        return OPTTAB_RUN;
    case OPTTAB_NOFLAG:
        *(bool *)field = false;
        return OPTTAB_RUN;
    case OPTTAB_SPECIAL:
        break;
    }
    return t->special ? t->special(t, e->d, val) : OPTTAB_EXIT_USAGE;
}

opttab_result_t opttab_defaults(opttab_t *t)
{
    entry_t e[OPTTAB_MAX];
    size_t n = entries(t, e, OPTTAB_MAX);
    for (size_t i = 0; i < n; i++) {
        const opttab_def_t *d = e[i].d;
        const char *def = e[i].opt ? e[i].opt->def : NULL;
        if (d->type == OPTTAB_NOFLAG)
            *(bool *)(e[i].base + d->offset) = true;
        else if (def && d->type != OPTTAB_SPECIAL && apply(t, &e[i], def) != OPTTAB_RUN)
            return OPTTAB_EXIT_USAGE;
    }
    return OPTTAB_RUN;
}

opttab_result_t opttab_parse(opttab_t *t, int argc, char **argv, int *first_arg)
{
    entry_t e[OPTTAB_MAX];
    struct option lo[OPTTAB_MAX + 1];
    char shorts[3 * OPTTAB_MAX + 2];
    size_t ns = 0, n = entries(t, e, OPTTAB_MAX);
    shorts[ns++] = ':';
    for (size_t i = 0; i < n; i++) {
        const opttab_def_t *d = e[i].d;
        lo[i] = (struct option){e[i].name, d->arg ? required_argument : no_argument, NULL,
                                e[i].short_name ? e[i].short_name : 256 + (int)i};
        if (e[i].short_name) {
            shorts[ns++] = (char)e[i].short_name;
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
        const entry_t *hit = NULL;
        for (size_t i = 0; i < n && !hit; i++)
            if (e[i].short_name ? e[i].short_name == ch : 256 + (int)i == ch)
                hit = &e[i];
        opttab_result_t r = hit ? apply(t, hit, optarg) : OPTTAB_EXIT_USAGE;
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

static bool find_entry(const opttab_t *t, const char *name, entry_t *out)
{
    entry_t e[OPTTAB_MAX];
    size_t n = entries(t, e, OPTTAB_MAX);
    for (size_t i = 0; i < n; i++)
        if (strcmp(e[i].name, name) == 0) {
            *out = e[i];
            return true;
        }
    return false;
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
    entry_t e;
    const opttab_def_t *d = find_entry(t, key, &e) ? e.d : NULL;
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
    opttab_result_t r = apply(t, &e, v);
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
