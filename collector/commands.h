/* commands.h - callscope-collector's subcommands. Each parses its own
 * options and returns the process exit status. */
#ifndef CALLSCOPE_COMMANDS_H
#define CALLSCOPE_COMMANDS_H

int cmd_run(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_correlate(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_teams_ranges(int argc, char **argv);
int cmd_buildings_import(int argc, char **argv);
int cmd_buildings_unmapped(int argc, char **argv);
int cmd_store_migrate(int argc, char **argv);

#endif
