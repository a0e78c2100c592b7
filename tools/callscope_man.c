/* callscope-man PAGE PROGRAM DATE OUT: writes the manual page (man(7)) of
 * callscope-probe or callscope-collector, built at build time from the
 * program's own --help (and, for the collector, every command's --help):
 * the options, their defaults, the commands, the synopses and the exit
 * statuses all come from the option tables through --help, so the page
 * cannot drift from them. What --help does not say (files, signals,
 * environment) is written here, once per page.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "manpage.h"

#define OUTPUT_MAX (1 << 20)

/* A section written here: its name and roff body. */
typedef struct {
    const char *name;
    const char *roff;
} extra_t;

typedef struct {
    const char *page;    /* "probe" */
    const char *program; /* "callscope-probe" */
    const char *what;    /* NAME's description */
    const char *description_more;
    const char *options;   /* roff of the options --help prints outside its table, or NULL */
    const extra_t *extras; /* after EXIT STATUS, in order; NULL-terminated */
} page_t;

static const extra_t probe_extras[] = {
    {"ENVIRONMENT", ".TP\n.B CALLSCOPE_RANGES\n"
                    "The Teams media ranges file when \\fB\\-\\-ranges\\fR is not given.\n"
                    ".TP\n.B STATE_DIRECTORY\n"
                    "Set by systemd (\\fBStateDirectory=\\fR): the spool goes under it.\n"
                    ".TP\n.B CREDENTIALS_DIRECTORY\n"
                    "Set by systemd (\\fBLoadCredential=\\fR): the probe's key is read from its "
                    "\\fIprobe.key\\fR when \\fB\\-\\-key\\fR is not given.\n"},
    {"FILES",
     ".TP\n.I /etc/callscope/probe.conf\n"
     "Settings of every probe: one \\fIname\\fR = \\fIvalue\\fR per line, the names being "
     "the long options above (\\fB\\-\\-config\\fR).\n"
     ".TP\n.I /etc/callscope/probe\\-IFACE.conf\n"
     "Settings of the probe on interface IFACE only (the unit "
     "\\fBcallscope\\-probe@IFACE.service\\fR reads it after \\fIprobe.conf\\fR).\n"
     ".TP\n.I /etc/callscope/probe.key\n"
     "The probe's secret CURVE key (mode 0600), given to the service as a credential.\n"
     ".TP\n.I /etc/callscope/teams\\-media.protos\n"
     "Microsoft's Teams media ranges, kept current by \\fBcallscope\\-collector teams\\-ranges "
     "update\\fR; \\fI/usr/share/callscope/teams\\-media.protos\\fR is the packaged "
     "fallback.\n"
     ".TP\n.I /var/lib/callscope/spool\n"
     "Batches not yet acknowledged by the collector (\\fB\\-\\-spool\\-dir\\fR).\n"},
    {"SIGNALS",
     ".TP\n.B SIGHUP\n"
     "Read the settings and the Teams ranges file again without losing a flow or a record "
     "(\\fBsystemctl reload callscope\\-probe@eth1\\fR): the ranges, \\fB\\-\\-interval\\fR, "
     "\\fB\\-\\-progress\\fR, \\fB\\-\\-min\\-stream\\-packets\\fR and the log level change at "
     "once; any other changed setting is named in the log as needing a restart; a bad file "
     "keeps the old settings.\n"
     ".TP\n.BR SIGINT \", \" SIGTERM\n"
     "End the capture: every flow and stream is reported, the stats record written, and "
     "the spool drained for \\fB\\-\\-drain\\fR seconds (what is left stays for the next "
     "start).\n"},
    {NULL, NULL}};

static const extra_t collector_extras[] = {
    {"ENVIRONMENT",
     ".TP\n.B STATE_DIRECTORY\n"
     "Set by systemd (\\fBStateDirectory=\\fR): the store is \\fIcollector.db\\fR under "
     "it.\n"
     ".TP\n.B CREDENTIALS_DIRECTORY\n"
     "Set by systemd (\\fBLoadCredential=\\fR): \\fIcollector.key\\fR, \\fIorg.key\\fR and "
     "\\fIgraph\\-client\\-secret\\fR are read from it when not named.\n"
     ".TP\n.BR https_proxy \", \" HTTPS_PROXY \", \" no_proxy\n"
     "The proxy of \\fBteams\\-ranges update\\fR and of the Graph requests.\n"},
    {"FILES",
     ".TP\n.I /etc/callscope/collector.conf\n"
     "Settings of \\fBrun\\fR: one \\fIname\\fR = \\fIvalue\\fR per line, the names being "
     "its long options (\\fB\\-\\-config\\fR).\n"
     ".TP\n.I /etc/callscope/serve.env\n"
     "The options of \\fBcallscope\\-serve.service\\fR.\n"
     ".TP\n.I /etc/callscope/collector.key\n"
     "The collector's secret CURVE key (mode 0600); probes hold its \\fIcollector.pub\\fR.\n"
     ".TP\n.I /etc/callscope/probes.d/\n"
     "The public keys (\\fINAME\\fR.pub) of the probes let in.\n"
     ".TP\n.I /etc/callscope/org.key\n"
     "The organisation's master key: personal data in the store is sealed with it. Back it "
     "up.\n"
     ".TP\n.I /etc/callscope/graph\\-secret\n"
     "The Graph client secret (mode 0600), given to the service as a credential.\n"
     ".TP\n.I /etc/callscope/noc.token\n"
     "The bearer token of the NOC outputs (\\fBserve\\fR, \\fBrun \\-\\-http\\-bind\\fR).\n"
     ".TP\n.I /etc/callscope/teams\\-media.protos\n"
     "The Teams media ranges file \\fBteams\\-ranges update\\fR keeps current.\n"
     ".TP\n.I /var/lib/callscope/collector.db\n"
     "The store (SQLite, WAL mode): probe records, Graph call records, verdicts.\n"},
    {"SIGNALS",
     ".TP\n.B SIGHUP\n"
     "\\fBrun\\fR reads its settings, the authorised probe keys and the building file again "
     "(\\fBsystemctl reload callscope\\-collector\\fR): retention, statistics and "
     "correlation intervals change at once; a changed \\fBbind\\fR or \\fBdb\\fR is named "
     "in the log as needing a restart; a bad file keeps the old settings.\n"
     ".TP\n.BR SIGINT \", \" SIGTERM\n"
     "\\fBrun\\fR stops after the batch at hand; \\fBserve\\fR and \\fBgraph\\-poll\\fR "
     "stop.\n"},
    {NULL, NULL}};

static const page_t pages[] = {
    {"probe", "callscope-probe",
     "measure Microsoft Teams media on a mirror port or in capture files",
     "Without \\fB\\-\\-json\\fR or \\fB\\-\\-collector\\fR it prints, at the end, a table "
     "for people: each client's streams (grouped by client and app, overlapping in time), "
     "the applications seen without RTP and why (Zoom's own framing, DTLS, signalling), and "
     "the clients. With \\fB\\-\\-json\\fR it writes the records described in "
     "\\fIdocs/output.md\\fR; with \\fB\\-\\-collector\\fR it sends them to "
     "\\fBcallscope\\-collector\\fR(8) over CURVE\\-encrypted ZeroMQ with acknowledged "
     "delivery, keeping unacknowledged batches in a spool.",
     NULL, probe_extras},
    {"collector", "callscope-collector",
     "receive probe records and Microsoft Graph call records, and judge each Teams call",
     "Each command below takes \\fB\\-\\-help\\fR, which prints what its subsection says. "
     "Under systemd, \\fBcallscope\\-collector.service\\fR runs \\fBrun\\fR, "
     "\\fBcallscope\\-serve.service\\fR runs \\fBserve\\fR and "
     "\\fBcallscope\\-teams\\-ranges.timer\\fR runs \\fBteams\\-ranges update\\fR daily.",
     ".TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\n"
     "The commands and what each does.\n"
     ".TP\n\\fB\\-V\\fR, \\fB\\-\\-version\\fR\n"
     "Print the version and exit.\n",
     collector_extras},
};

/* PROGRAM ARG1 [ARG2]'s standard output (new string); NULL with a message
 * when it cannot be run or does not exit 0. */
static char *run(const char *program, const char *a1, const char *a2)
{
    int fd[2];
    if (pipe(fd) != 0)
        return NULL;
    pid_t pid = fork();
    if (pid < 0)
        return NULL;
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execl(program, program, a1, a2, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    char *buf = malloc(OUTPUT_MAX + 1);
    size_t len = 0;
    ssize_t n = 1;
    while (buf && n > 0 && len < OUTPUT_MAX) {
        n = read(fd[0], buf + len, OUTPUT_MAX - len);
        if (n > 0)
            len += (size_t)n;
        else if (n < 0 && errno == EINTR)
            n = 1;
    }
    close(fd[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    if (!buf || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || len == OUTPUT_MAX) {
        fprintf(stderr, "callscope-man: %s %s %s: failed\n", program, a1, a2 ? a2 : "");
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

static bool parse_help(const char *program, const char *a1, const char *a2, manpage_doc_t *d)
{
    char *help = run(program, a1, a2);
    bool ok = help && manpage_parse(help, d);
    free(help);
    return ok;
}

/* A section of the --help, under the page's own heading. */
static void section(FILE *to, const manpage_doc_t *d, const char *from_help, const char *heading)
{
    size_t a, b;
    if (!manpage_section(d, from_help, &a, &b))
        return;
    fprintf(to, ".SH \"%s\"\n", heading);
    manpage_render(to, d, a, b, true, NULL, NULL);
}

/* COMMANDS: each command's whole --help in a subsection of its own. */
static bool commands(FILE *to, const page_t *p, const char *program, const manpage_doc_t *top)
{
    size_t a, b;
    if (!manpage_section(top, "COMMANDS", &a, &b))
        return true;
    fputs(".SH COMMANDS\n", to);
    for (size_t i = a; i < b; i++) {
        const manpage_item_t *c = &top->items[i];
        if (c->kind != MP_ROW)
            continue;
        manpage_doc_t d;
        if (!parse_help(program, c->term, "--help", &d)) {
            manpage_doc_free(&d);
            return false;
        }
        fputs(".SS ", to);
        manpage_escape(to, c->term);
        /* the summary as a sentence */
        fprintf(to, "\n.PP\n%c", toupper((unsigned char)c->text[0]));
        manpage_escape(to, c->text + 1);
        fputs(".\n", to);
        manpage_render(to, &d, 0, d.n, false, p->program, c->term);
        manpage_doc_free(&d);
    }
    return true;
}

static const char *version_of(const char *program, char *buf, size_t len)
{
    char *v = run(program, "--version", NULL);
    const char *sp = v ? strrchr(v, ' ') : NULL;
    snprintf(buf, len, "%s", sp ? sp + 1 : "?");
    buf[strcspn(buf, "\n")] = '\0';
    free(v);
    return buf;
}

static bool write_page(FILE *to, const page_t *p, const char *program, const char *date)
{
    manpage_doc_t d;
    if (!parse_help(program, "--help", NULL, &d)) {
        manpage_doc_free(&d);
        return false;
    }
    char version[64];
    fprintf(to,
            ".\\\" Generated by callscope-man from '%s --help'; do not edit.\n"
            ".TH %s 8 \"%s\" \"callscope %s\" \"System Manager's Manual\"\n"
            ".nh\n.ad l\n"
            ".SH NAME\n",
            p->program, p->page[0] == 'p' ? "CALLSCOPE\\-PROBE" : "CALLSCOPE\\-COLLECTOR", date,
            version_of(program, version, sizeof version));
    manpage_escape(to, p->program);
    fprintf(to, " \\- %s\n", p->what);
    section(to, &d, "SYNOPSIS", "SYNOPSIS");
    section(to, &d, "DESCRIPTION", "DESCRIPTION");
    fprintf(to, ".PP\n%s\n", p->description_more);
    section(to, &d, "OPTIONS", "OPTIONS");
    if (p->options)
        fprintf(to, ".SH OPTIONS\n%s", p->options);
    bool ok = commands(to, p, program, &d);
    section(to, &d, "EXIT STATUS", "EXIT STATUS");
    for (const extra_t *e = p->extras; e->name; e++)
        fprintf(to, ".SH %s\n%s", e->name, e->roff);
    section(to, &d, "EXAMPLES", "EXAMPLES");
    fprintf(to, ".SH \"SEE ALSO\"\n%s\n",
            p->page[0] == 'p' ? ".BR callscope\\-collector (8),\n.BR pcap\\-filter (7),\n"
                                ".BR tcpdump (8);\n"
                                "/usr/share/doc/callscope/README.md and docs/ (output.md, "
                                "metrics.md, transport.md)"
                              : ".BR callscope\\-probe (8),\n.BR systemd.exec (5);\n"
                                "/usr/share/doc/callscope/README.md and docs/ (verdicts.md, "
                                "graph.md, noc.md, store.md, buildings.md, teams\\-ranges.md)");
    manpage_doc_free(&d);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: callscope-man probe|collector PROGRAM DATE OUT\n");
        return 2;
    }
    const page_t *p = NULL;
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++)
        if (strcmp(argv[1], pages[i].page) == 0)
            p = &pages[i];
    if (!p) {
        fprintf(stderr, "callscope-man: no page '%s'\n", argv[1]);
        return 2;
    }
    FILE *to = fopen(argv[4], "w");
    if (!to) {
        fprintf(stderr, "callscope-man: %s: %s\n", argv[4], strerror(errno));
        return 1;
    }
    bool ok = write_page(to, p, argv[2], argv[3]);
    ok = fclose(to) == 0 && ok;
    if (!ok)
        remove(argv[4]);
    return ok ? 0 : 1;
}
