/* graph_cmd.h - the Graph subcommands. Each parses its own options (--help
 * prints a manual page) and returns a process exit code (GRAPH_EXIT_*).
 * The collector registers them as graph-poll, graph-import and org-keygen;
 * callscope-graph (enrich/graph_main.c) as poll, import and orgkey.
 * Logging must be initialised (log_init) by the caller.
 */
#ifndef CALLSCOPE_GRAPH_CMD_H
#define CALLSCOPE_GRAPH_CMD_H

/* Polls Graph once (--once) or forever (every --interval seconds). */
int graph_cmd_poll(int argc, char **argv);
/* Imports call-record JSON files or directories into the store. */
int graph_cmd_import(int argc, char **argv);
/* Creates an organisation master key file (0600). */
int graph_cmd_orgkey(int argc, char **argv);

#endif
