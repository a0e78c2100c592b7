#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum { OPT_INT, OPT_UINT, OPT_STR, OPT_FLAG, OPT_NOFLAG, OPT_SPECIAL } opt_type_t;

typedef struct {
    const char *name;
    int short_name;
    opt_type_t type;
    size_t offset; /* into probe_cfg_t */
    long min, max;
    const char *arg;
    const char *help;
} opt_def_t;

#define CFG(field) offsetof(probe_cfg_t, field)

enum { SP_READ = 'r', SP_VERBOSE = 'v', SP_QUIET = 'q', SP_HELP = 'h', SP_VERSION = 'V' };

static const opt_def_t opts[] = {
    {"interface", 'i', OPT_STR, CFG(cap.iface), 0, 0, "IFACE",
     "Capture live on IFACE (a mirror/span port). Needs root or CAP_NET_RAW."},
    {"read", 'r', OPT_SPECIAL, 0, 0, 0, "FILE",
     "Replay a pcap or pcapng file; repeat for several (read in order); '-' reads stdin. "
     "Extra arguments after the options are read as files too."},
    {"json", 'j', OPT_STR, CFG(json_path), 0, 0, "FILE",
     "Write one JSON record per line to FILE ('-' for stdout): stream, interval, flow, "
     "client and a final stats record (docs/output.md)."},
    {"table", 't', OPT_FLAG, CFG(table), 0, 0, NULL,
     "Print a table of the calls, streams and clients at the end (default when --json is "
     "not given)."},
    {"filter", 'f', OPT_STR, CFG(cap.bpf), 0, 0, "BPF", "Capture filter in pcap-filter(7) syntax."},
    {"snaplen", 's', OPT_INT, CFG(cap.snaplen), 64, 262144, "BYTES",
     "Bytes kept per packet in live capture (default 262144; 128 is enough for RTP headers)."},
    {"buffer-mb", 'B', OPT_INT, CFG(cap.buffer_mb), 1, 4096, "MB",
     "Kernel capture ring size in MiB (default 64). Raise it if kernel drops appear."},
    {"no-promisc", 0, OPT_NOFLAG, CFG(cap.promisc), 0, 0, NULL,
     "Do not put the interface in promiscuous mode."},
    {"no-immediate", 0, OPT_NOFLAG, CFG(cap.immediate), 0, 0, NULL,
     "Let the kernel batch packets (less CPU, later delivery)."},
    {"ranges", 0, OPT_STR, CFG(ranges_file), 0, 0, "FILE",
     "Teams media ranges in nDPI protocol-file syntax (default: the installed "
     "teams-media.protos)."},
    {"max-flows", 0, OPT_UINT, CFG(max_flows), 1024, 16777216, "N",
     "Flow table size; beyond it the least recently active flow is reported early and "
     "counted as evicted (default 262144; 328 bytes each, plus 720 bytes per RTP stream)."},
    {"udp-timeout", 0, OPT_UINT, CFG(udp_timeout_s), 1, 3600, "SECONDS",
     "A UDP flow idle this long is reported and forgotten (default 30)."},
    {"tcp-timeout", 0, OPT_UINT, CFG(tcp_timeout_s), 1, 86400, "SECONDS",
     "The same for TCP (default 300; 10 s after FIN or RST)."},
    {"ndpi-packets", 0, OPT_UINT, CFG(ndpi_max_packets), 1, 255, "N",
     "Packets per flow given to nDPI before its state is freed (default 24)."},
    {"interval", 'I', OPT_UINT, CFG(interval_s), 0, 3600, "SECONDS",
     "Also write an interval record per active stream every SECONDS (default 0: off)."},
    {"min-stream-packets", 0, OPT_UINT, CFG(min_stream_packets), 1, 1000, "N",
     "Report RTP streams of at least N packets (default 2; 1 reports every RTP-looking "
     "packet, as Wireshark does)."},
    {"progress", 0, OPT_UINT, CFG(progress_s), 0, 3600, "SECONDS",
     "Log a progress line every SECONDS of wall time (default 0: off)."},
    {"verbose", 'v', OPT_SPECIAL, 0, 0, 0, NULL, "More log detail (repeat for debug)."},
    {"quiet", 'q', OPT_SPECIAL, 0, 0, 0, NULL, "Errors only."},
    {"version", 'V', OPT_SPECIAL, 0, 0, 0, NULL, "Print the version and exit."},
    {"help", 'h', OPT_SPECIAL, 0, 0, 0, NULL, "This help."},
};

#define NOPTS (sizeof opts / sizeof opts[0])

const char *options_default_ranges(void)
{
    const char *env = getenv("CALLSCOPE_RANGES");
    if (env && *env)
        return env;
    if (access(CALLSCOPE_RANGES_INSTALL, R_OK) == 0)
        return CALLSCOPE_RANGES_INSTALL;
    return CALLSCOPE_RANGES_BUILD;
}

static void wrap(FILE *to, const char *text, int indent, int width)
{
    int col = indent;
    const char *p = text;
    fprintf(to, "%*s", indent, "");
    while (*p) {
        size_t w = strcspn(p, " ");
        if (col + (int)w > width && col > indent) {
            fprintf(to, "\n%*s", indent, "");
            col = indent;
        }
        fprintf(to, "%.*s", (int)w, p);
        col += (int)w;
        p += w;
        if (*p == ' ') {
            fputc(' ', to);
            col++;
            p++;
        }
    }
    fputc('\n', to);
}

void options_help(FILE *to, const char *prog)
{
    fprintf(to,
            "Usage: %s -i IFACE [options]\n"
            "       %s -r FILE [-r FILE ...] [options]\n\n"
            "Finds Microsoft Teams (and other conferencing) media on a mirror port or in\n"
            "captures, and measures every RTP stream on the wire: loss, jitter, bursts,\n"
            "network jitter from Teams' send-time extension, MOS. Writes JSON records.\n\n"
            "Options:\n",
            prog, prog);
    for (size_t i = 0; i < NOPTS; i++) {
        char head[80];
        if (opts[i].short_name)
            snprintf(head, sizeof head, "  -%c, --%s%s%s", opts[i].short_name, opts[i].name,
                     opts[i].arg ? " " : "", opts[i].arg ? opts[i].arg : "");
        else
            snprintf(head, sizeof head, "      --%s%s%s", opts[i].name, opts[i].arg ? " " : "",
                     opts[i].arg ? opts[i].arg : "");
        fprintf(to, "%s\n", head);
        wrap(to, opts[i].help, 8, 78);
    }
    fprintf(to, "\nExamples:\n"
                "  %s -r call.pcap                 table of calls, streams, clients\n"
                "  %s -r a.pcap -r b.pcap --json out.jsonl\n"
                "  %s -i eth1 -f 'udp or tcp port 443' --json - --interval 10\n"
                "\nExit status: 0 success; 1 some input could not be read (the rest was\n"
                "processed); 2 bad usage or a source that cannot be opened.\n",
            prog, prog, prog);
}

static bool set_int(const opt_def_t *d, const char *val, probe_cfg_t *cfg)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(val, &end, 10);
    if (errno != 0 || end == val || *end != '\0' || v < d->min || v > d->max) {
        fprintf(stderr, "callscope-probe: --%s: '%s' is not a whole number from %ld to %ld\n",
                d->name, val, d->min, d->max);
        return false;
    }
    char *base = (char *)cfg + d->offset;
    if (d->type == OPT_INT)
        *(int *)base = (int)v;
    else
        *(unsigned *)base = (unsigned)v;
    return true;
}

static options_result_t apply(const opt_def_t *d, const char *val, probe_cfg_t *cfg,
                              const char **files, int *nfiles, int *verbosity)
{
    char *base = (char *)cfg + d->offset;
    switch (d->type) {
    case OPT_INT:
    case OPT_UINT:
        return set_int(d, val, cfg) ? OPTIONS_RUN : OPTIONS_EXIT_USAGE;
    case OPT_STR:
        *(const char **)base = val;
        return OPTIONS_RUN;
    case OPT_FLAG:
        *(bool *)base = true;
        return OPTIONS_RUN;
    case OPT_NOFLAG:
        *(bool *)base = false;
        return OPTIONS_RUN;
    case OPT_SPECIAL:
        break;
    }
    switch (d->short_name) {
    case SP_READ:
        files[(*nfiles)++] = val;
        return OPTIONS_RUN;
    case SP_VERBOSE:
        (*verbosity)++;
        return OPTIONS_RUN;
    case SP_QUIET:
        *verbosity = -1;
        return OPTIONS_RUN;
    case SP_VERSION:
        printf("callscope-probe %s\n", CALLSCOPE_VERSION);
        return OPTIONS_EXIT_OK;
    default:
        options_help(stdout, "callscope-probe");
        return OPTIONS_EXIT_OK;
    }
}

options_result_t options_parse(int argc, char **argv, probe_cfg_t *cfg, const char **files,
                               int *verbosity)
{
    struct option lo[NOPTS + 1];
    char shorts[3 * NOPTS + 2];
    size_t ns = 0;
    int nfiles = 0;
    probe_cfg_defaults(cfg);
    *verbosity = 0;
    shorts[ns++] = ':';
    for (size_t i = 0; i < NOPTS; i++) {
        bool arg = opts[i].arg != NULL;
        lo[i] = (struct option){opts[i].name, arg ? required_argument : no_argument, NULL,
                                opts[i].short_name ? opts[i].short_name : 256 + (int)i};
        if (opts[i].short_name) {
            shorts[ns++] = (char)opts[i].short_name;
            if (arg)
                shorts[ns++] = ':';
        }
    }
    lo[NOPTS] = (struct option){0};
    shorts[ns] = '\0';
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
        if (ch == '?' || ch == ':') {
            fprintf(stderr, "callscope-probe: %s option '%s' (see --help)\n",
                    ch == ':' ? "missing value for" : "unknown", argv[optind - 1]);
            return OPTIONS_EXIT_USAGE;
        }
        const opt_def_t *d = NULL;
        for (size_t i = 0; i < NOPTS && !d; i++)
            if (opts[i].short_name ? opts[i].short_name == ch : 256 + (int)i == ch)
                d = &opts[i];
        options_result_t r = d ? apply(d, optarg, cfg, files, &nfiles, verbosity)
                               : OPTIONS_EXIT_USAGE;
        if (r != OPTIONS_RUN)
            return r;
    }
    for (int i = optind; i < argc; i++)
        files[nfiles++] = argv[i];
    files[nfiles] = NULL;
    cfg->cap.files = nfiles ? files : NULL;
    if (!cfg->cap.iface && nfiles == 0) {
        fprintf(stderr, "callscope-probe: give -i IFACE or -r FILE (see --help)\n");
        return OPTIONS_EXIT_USAGE;
    }
    if (cfg->cap.iface && nfiles) {
        fprintf(stderr, "callscope-probe: -i and -r cannot be used together\n");
        return OPTIONS_EXIT_USAGE;
    }
    if (!cfg->json_path)
        cfg->table = true;
    if (!cfg->ranges_file)
        cfg->ranges_file = options_default_ranges();
    return OPTIONS_RUN;
}
