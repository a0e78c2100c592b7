/* graph_cmd.h - the Graph subcommands. Each parses its own options (--help
 * prints a manual page) and returns a process exit code (GRAPH_EXIT_*).
 * The collector registers them as graph-poll, graph-import and org-keygen;
 * callscope-graph (enrich/graph_main.c) as poll, import and orgkey.
 * Logging must be initialised (log_init) by the caller.
 */
#ifndef CALLSCOPE_GRAPH_CMD_H
#define CALLSCOPE_GRAPH_CMD_H

#include <stdbool.h>
#include <stddef.h>

#include "graph_poller.h"
#include "opttab.h"

/* The Graph client's settings, as options. */
typedef struct {
    const char *tenant, *client_id, *secret_file, *secret_cred, *authority, *graph, *scope, *ca;
    unsigned interval_s, lookback_s, timeout_s, attempts, retry_s, max_age_s, gap_ms,
        max_participants;
} graph_opts_t;

/* Groups of the option table: the commands that take a row. */
enum { GRAPH_OPT_POLL = 1, GRAPH_OPT_IMPORT = 2, GRAPH_OPT_ORGKEY = 4, GRAPH_OPT_RUN = 8 };

/* Every option of the Graph commands once, with its default (static,
 * borrowed). The rows of GRAPH_OPT_RUN fill only a graph_opts_t, and are
 * offset as if it began the command's struct: a command that takes them
 * (the collector's 'run', with the prefix "graph-" on OPTTAB_PREFIXED
 * names) gives its graph_opts_t's offset as the part's base. */
const opttab_opt_t *graph_cmd_options(size_t *n);
/* The poller's settings from the options (org keys left to the caller;
 * secret borrowed). */
void graph_cmd_cfg(const graph_opts_t *o, const char *secret, graph_cfg_t *c);

/* Polls Graph once (--once) or forever (every --interval seconds). */
int graph_cmd_poll(int argc, char **argv);
/* Imports call-record JSON files or directories into the store. */
int graph_cmd_import(int argc, char **argv);
/* Creates an organisation master key file (0600). */
int graph_cmd_orgkey(int argc, char **argv);

#endif
