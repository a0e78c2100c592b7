/* options.h - callscope-probe's command line, as one typed table: each
 * option has a type, a range and a help line; values are checked once, and
 * an error names the option and the allowed range.
 */
#ifndef CALLSCOPE_OPTIONS_H
#define CALLSCOPE_OPTIONS_H

#include <stdio.h>

#include "probe.h"

typedef enum { OPTIONS_RUN, OPTIONS_EXIT_OK, OPTIONS_EXIT_USAGE } options_result_t;

/* Parses argv into cfg (defaults first). files receives the capture file
 * list (argv-owned strings); it must hold argc + 1 pointers. */
options_result_t options_parse(int argc, char **argv, probe_cfg_t *cfg, const char **files,
                               int *verbosity);
void options_help(FILE *to, const char *prog);
/* The Teams ranges file to use when --ranges is not given. */
const char *options_default_ranges(void);

#endif
