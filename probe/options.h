/* options.h - callscope-probe's command line, as one typed table: each
 * option has a type, a range and a help line; values are checked once, and
 * an error names the option and the allowed range.
 */
#ifndef CALLSCOPE_OPTIONS_H
#define CALLSCOPE_OPTIONS_H

#include <stdio.h>

#include "opttab.h"
#include "probe.h"

typedef enum { OPTIONS_RUN, OPTIONS_EXIT_OK, OPTIONS_EXIT_USAGE } options_result_t;

typedef struct {
    probe_cfg_t cfg;
    int verbosity;   /* -1 quiet, 0 normal, 1+ verbose */
    bool check_only; /* --check-config: validate and exit */
    /* owned: the capture file list, strings read from --config files */
    const char **files;
    int nfiles, files_cap;
    char **strings;
    size_t nstrings;
    char key_buf[4096];    /* --key from systemd's credentials */
    char ranges_buf[4096]; /* the ranges file found beside the binary */
} options_t;

/* The defaults of every setting, from the option table. */
void options_defaults(probe_cfg_t *cfg);
/* Parses argv (and any --config FILE, in order: later settings win) into
 * o->cfg, defaults first. options_free() releases what it allocated. */
options_result_t options_parse(int argc, char **argv, options_t *o);
void options_free(options_t *o);
/* The option table bound to o (for reading more settings, and fuzzing). */
void options_table(opttab_t *t, options_t *o);
void options_help(FILE *to, const char *prog);
/* SIGHUP: settings a running probe takes (ranges, interval, progress,
 * min-stream-packets, and the log level from verbose/quiet); every other
 * one needs a restart. */
bool options_reloadable(const char *name);
/* Calls fn with the long name of every setting whose value differs
 * between a and b (capture files as "read", the log level as "verbose"). */
void options_diff(const options_t *a, const options_t *b, void (*fn)(const char *name, void *ctx),
                  void *ctx);

/* The Teams ranges file to use when --ranges is not given. */
const char *options_default_ranges(char *buf, size_t len);

#endif
