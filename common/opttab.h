/* opttab.h - command-line options as one typed table: name, type, range,
 * help. Parsing validates every value once and names the option on error;
 * the help text is generated from the same table, so the two never drift.
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
    size_t offset;   /* into the caller's config struct */
    long min, max;   /* for INT and UINT */
    const char *arg; /* NULL: takes no value */
    const char *help;
} opttab_def_t;

typedef struct opttab opttab_t;
struct opttab {
    const char *prog;
    const opttab_def_t *defs;
    size_t ndefs;
    void *cfg;
    /* Called for OPTTAB_SPECIAL entries (val NULL when it takes none). */
    opttab_result_t (*special)(opttab_t *t, const opttab_def_t *d, const char *val);
    void *ctx;
    /* Values read from configuration files live here (opttab_free_strings). */
    char **strings;
    size_t nstrings;
    int depth; /* files being read (a file may name another, not itself forever) */
};

/* Parses argv[1..]; *first_arg is the index of the first non-option. */
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
/* The option list, wrapped at 78 columns. */
void opttab_help(const opttab_t *t, FILE *to);

#endif
