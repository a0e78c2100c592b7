/* callscope-collector: one executable, a subcommand per job. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "graph_cmd.h"
#include "graph_poller.h"
#include "log.h"
#include "textwrap.h"

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} command_t;

static const command_t commands[] = {
    {"run", cmd_run, "the daemon: probe records in, Graph polling, verdicts, HTTP (optional)"},
    {"keygen", cmd_keygen, "make a CURVE key pair for a probe or for the collector"},
    {"serve", cmd_serve, "serve verdicts to a NOC: JSON API, /metrics, dashboard, alerts"},
    {"audit", cmd_audit, "who saw which personal data through the NOC API (the audit log)"},
    {"graph-poll", graph_cmd_poll, "pull Teams call records from Microsoft Graph into the store"},
    {"graph-import", graph_cmd_import, "read exported call-record JSON files into the store"},
    {"correlate", cmd_correlate, "join probe streams with call records and judge each call once"},
    {"report", cmd_report, "list calls with their verdict, participants and streams"},
    {"org-keygen", graph_cmd_orgkey, "make an organisation's master key for personal data"},
    {"teams-ranges", cmd_teams_ranges, "keep the Teams media ranges file current (update)"},
    {"buildings-import", cmd_buildings_import,
     "load the tenant's CQD building file into the store"},
    {"buildings-unmapped", cmd_buildings_unmapped,
     "client subnets with streams that no building holds"},
    {"store-migrate", cmd_store_migrate, "copy a SQLite store into PostgreSQL (resumable)"},
};

static void usage(FILE *to)
{
    fprintf(to, "Usage: callscope-collector COMMAND [options]   (COMMAND --help for its own)\n\n"
                "Receives the probes' call-quality records and Microsoft Graph's call\n"
                "records, keeps both in one store (SQLite, personal data sealed), joins\n"
                "them and names each bad call's faulty segment: lan, wan, endpoint or\n"
                "cloud, with the evidence.\n\nCommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(to, "  %-18s %s\n", commands[i].name, commands[i].summary);
    /* every status a command can return: the common ones, then the Graph
     * commands' own (graph_exit_statuses, also in graph-poll --help) */
    static const struct {
        int code;
        const char *what;
    } common[] = {{0, "success"}, {1, "the command failed"}, {2, "bad usage"}};
    char text[1024];
    size_t n, len = (size_t)snprintf(text, sizeof text, "Exit status:");
    for (size_t i = 0; i < sizeof common / sizeof common[0]; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "%s %d %s", i ? ";" : "",
                                common[i].code, common[i].what);
    len += (size_t)snprintf(text + len, sizeof text - len,
                            "; graph-poll, graph-import and org-keygen also:");
    const graph_exit_t *g = graph_exit_statuses(&n);
    bool first = true;
    for (size_t i = 0; i < n && len < sizeof text; i++) {
        if (g[i].code <= 2)
            continue;
        len += (size_t)snprintf(text + len, sizeof text - len, "%s %d %s", first ? "" : ";",
                                g[i].code, g[i].what);
        first = false;
    }
    snprintf(text + len, sizeof text - len, ".");
    fputc('\n', to);
    textwrap(to, text, 0, 78);
}

int main(int argc, char **argv)
{
    log_init("callscope-collector", LOG_LVL_INFO);
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("callscope-collector %s\n", CALLSCOPE_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "callscope-collector: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
