/* opttab.h - command-line options as one typed table: name, type, range,
 * default, help. Defaults are set, and every value validated, by the same
 * parser (an error names the option); the help text, with its "(default
 * X)", is generated from the same table, so the three never drift.
 *
 * A command may put together several tables ("parts"): its own and
 * tables shared with other commands (the NOC options of 'serve' and 'run',
 * the Graph options of 'graph-poll' and 'run'), each filling its own
 * struct, optionally with a prefix on the names and a subset of the rows.
 */
#ifndef CALLSCOPE_OPTTAB_H
#define CALLSCOPE_OPTTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum {
    OPTTAB_INT,
    OPTTAB_UINT,
    OPTTAB_STR,
    OPTTAB_FLAG,
    OPTTAB_NOFLAG,
    OPTTAB_SPECIAL
} opttab_type_t;

typedef enum { OPTTAB_RUN, OPTTAB_EXIT_OK, OPTTAB_EXIT_USAGE } opttab_result_t;

typedef struct {
    const char *name;
    int short_name; /* 0: long only */
    opttab_type_t type;
    size_t offset;   /* into the part's config struct */
    long min, max;   /* for INT and UINT */
    const char *arg; /* NULL: takes no value */
    const char *help;
} opttab_def_t;

/* opt.flags */
enum {
    OPTTAB_PREFIXED = 1 /* the part's prefix goes before the name */
};

/* A row with its default: what new tables are made of. */
typedef struct {
    opttab_def_t o;
    /* The default, set through the parser before any option (INT, UINT,
     * STR) by opttab_defaults(); shown as "(default X)" at the end of the
     * help's first sentence. NULL: none (the field stays as it is, or the
     * caller computes one and says how in the help). An OPTTAB_NOFLAG
     * field defaults to true. */
    const char *def;
    unsigned groups; /* which commands have it (a part's mask); 0: all */
    unsigned flags;  /* OPTTAB_PREFIXED */
} opttab_opt_t;

typedef struct {
    const opttab_opt_t *opts;
    size_t nopts;
    size_t base;        /* offset of the part's struct in the command's cfg */
    const char *prefix; /* for OPTTAB_PREFIXED rows; NULL: none */
    unsigned groups;    /* rows whose groups meet this mask (0: every row) */
} opttab_part_t;

typedef struct opttab opttab_t;
struct opttab {
    const char *prog;
    const opttab_def_t *defs; /* a table without defaults, or parts (then defs NULL) */
    size_t ndefs;
    const opttab_part_t *parts;
    size_t nparts;
    void *cfg;
    /* Called for OPTTAB_SPECIAL entries (val NULL when it takes none). */
    opttab_result_t (*special)(opttab_t *t, const opttab_def_t *d, const char *val);
    void *ctx;
    /* Values read from configuration files live here (opttab_free_strings). */
    char **strings;
    size_t nstrings;
    int depth; /* files being read (a file may name another, not itself forever) */
};

/* Sets every default of the table(s) into t->cfg; the fields of rows
 * without one are left as they are. OPTTAB_EXIT_USAGE only for a default
 * the table itself refuses (a programming error, printed). */
opttab_result_t opttab_defaults(opttab_t *t);
/* Parses argv[1..]; *first_arg is the index of the first non-option.
 * Defaults are not set: call opttab_defaults() first. */
opttab_result_t opttab_parse(opttab_t *t, int argc, char **argv, int *first_arg);
/* Reads a configuration file: one "name = value" per line (an option's
 * long name; "name" alone for an option without a value), '#' comments.
 * Each value is checked exactly as on the command line. Returns
 * OPTTAB_RUN, or OPTTAB_EXIT_USAGE with an error on stderr naming the file,
 * the line and the key. Command-line options parsed afterwards override. */
opttab_result_t opttab_load_file(opttab_t *t, const char *path);
/* The same on text in memory; name is used in messages. */
opttab_result_t opttab_load_text(opttab_t *t, const char *name, const char *text, size_t len);
/* Frees the strings that configuration files left in t. */
void opttab_free_strings(opttab_t *t);
/* The option list, wrapped at 78 columns: "  -x, --name ARG" lines with
 * the help indented by 8. */
void opttab_help(const opttab_t *t, FILE *to);
/* The same in a manual page's style: "    --name ARG". */
void opttab_help_manual(const opttab_t *t, FILE *to);
/* The help of o with its "(default X)" (new string, free()). */
char *opttab_help_text(const opttab_opt_t *o);

#endif
