/* callscope-graph: a thin driver over the Graph subcommands, for tests and
 * operators (the collector offers the same as graph-poll, graph-import and
 * org-keygen). */
#include <stdio.h>
#include <string.h>

#include "graph_cmd.h"
#include "log.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *what;
} cmds[] = {
    {"poll", graph_cmd_poll, "fetch call records from Microsoft Graph"},
    {"import", graph_cmd_import, "store call-record JSON files"},
    {"orgkey", graph_cmd_orgkey, "create an organisation master key file"},
};

int main(int argc, char **argv)
{
    log_init("callscope-graph", LOG_LVL_INFO);
    for (size_t i = 0; argc > 1 && i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(argv[1], cmds[i].name) == 0)
            return cmds[i].run(argc - 1, argv + 1);
    FILE *to = argc > 1 && strcmp(argv[1], "--help") == 0 ? stdout : stderr;
    fprintf(to, "Usage: callscope-graph COMMAND [options]   (COMMAND --help for its manual)\n\n");
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        fprintf(to, "  %-8s %s\n", cmds[i].name, cmds[i].what);
    return to == stdout ? 0 : 2;
}
