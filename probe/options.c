#include "options.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keyfile.h"
#include "opttab.h"

#define CFG(field) offsetof(probe_cfg_t, field)

enum { SP_READ = 'r', SP_VERBOSE = 'v', SP_QUIET = 'q', SP_HELP = 'h', SP_VERSION = 'V' };

static const opttab_opt_t opts[] = {
    {{"interface", 'i', OPTTAB_STR, CFG(cap.iface), 0, 0, "IFACE",
      "Capture live on IFACE (a mirror/span port). Needs root or CAP_NET_RAW."},
     NULL,
     0,
     0},
    {{"read", 'r', OPTTAB_SPECIAL, 0, 0, 0, "FILE",
      "Replay a pcap or pcapng file; repeat for several (read in order); '-' reads stdin. "
      "Extra arguments after the options are read as files too."},
     NULL,
     0,
     0},
    {{"json", 'j', OPTTAB_STR, CFG(json_path), 0, 0, "FILE",
      "Write one JSON record per line to FILE ('-' for stdout): stream, interval, flow, "
      "client and a final stats record (docs/output.md)."},
     NULL,
     0,
     0},
    {{"table", 't', OPTTAB_FLAG, CFG(table), 0, 0, NULL,
      "Print a table for people at the end: each client's streams, the apps seen without RTP and "
      "why, the clients (default when --json is "
      "not given; on stderr when --json is '-')."},
     NULL,
     0,
     0},
    {{"filter", 'f', OPTTAB_STR, CFG(cap.bpf), 0, 0, "BPF",
      "Capture filter in pcap-filter(7) syntax."},
     NULL,
     0,
     0},
    {{"snaplen", 's', OPTTAB_INT, CFG(cap.snaplen), 64, 262144, "BYTES",
      "Bytes kept per packet in live capture. 128 is enough for RTP headers."},
     "262144",
     0,
     0},
    {{"buffer-mb", 'B', OPTTAB_INT, CFG(cap.buffer_mb), 1, 4096, "MB",
      "Kernel capture ring size in MiB. Raise it if kernel drops appear."},
     "64",
     0,
     0},
    {{"no-promisc", 0, OPTTAB_NOFLAG, CFG(cap.promisc), 0, 0, NULL,
      "Do not put the interface in promiscuous mode."},
     NULL,
     0,
     0},
    {{"no-immediate", 0, OPTTAB_NOFLAG, CFG(cap.immediate), 0, 0, NULL,
      "Let the kernel batch packets (less CPU, later delivery)."},
     NULL,
     0,
     0},
    {{"workers", 'w', OPTTAB_UINT, CFG(workers), 1, 64, "N",
      "Live capture with N threads on the interface. PACKET_FANOUT keeps a client's flows on "
      "one worker, each with its own nDPI module; --json FILE then writes FILE.wK per worker."},
     "1",
     0,
     0},
    {{"ranges", 0, OPTTAB_STR, CFG(ranges_file), 0, 0, "FILE",
      "Teams media ranges in nDPI protocol-file syntax (default: the installed "
      "teams-media.protos)."},
     NULL,
     0,
     0},
    {{"max-flows", 0, OPTTAB_UINT, CFG(max_flows), 1024, 16777216, "N",
      "Flow table size; beyond it the least recently active flow is reported early and "
      "counted as evicted. 336 bytes each, plus 824 bytes per RTP stream."},
     "262144",
     0,
     0},
    {{"max-streams", 0, OPTTAB_UINT, CFG(max_streams), 16, 16777216, "N",
      "RTP stream budget: when full, the oldest unconfirmed stream (no two sequential "
      "packets yet) is evicted, else the new one is refused; both counted in the stats "
      "record's stream_budget."},
     "100000",
     0,
     0},
    {{"stream-memory-mb", 0, OPTTAB_UINT, CFG(stream_memory_mb), 1, 1048576, "MB",
      "Memory budget of the RTP streams (824 bytes each plus up to 2.5 KB while the first 64 "
      "packets are buffered), kept the same way."},
     "256",
     0,
     0},
    {{"udp-timeout", 0, OPTTAB_UINT, CFG(udp_timeout_s), 1, 3600, "SECONDS",
      "A UDP flow idle this long is reported and forgotten."},
     "30",
     0,
     0},
    {{"tcp-timeout", 0, OPTTAB_UINT, CFG(tcp_timeout_s), 1, 86400, "SECONDS",
      "The same for TCP. 10 s after FIN or RST."},
     "300",
     0,
     0},
    {{"ndpi-packets", 0, OPTTAB_UINT, CFG(ndpi_max_packets), 1, 255, "N",
      "Packets per flow given to nDPI before its state is freed."},
     "24",
     0,
     0},
    {{"interval", 'I', OPTTAB_UINT, CFG(interval_s), 0, 3600, "SECONDS",
      "Also write an interval record per active stream every SECONDS; 0: off."},
     "0",
     0,
     0},
    {{"min-stream-packets", 0, OPTTAB_UINT, CFG(min_stream_packets), 1, 1000, "N",
      "Report RTP streams of at least N packets. 1 reports every RTP-looking packet, as "
      "Wireshark does."},
     "2",
     0,
     0},
    {{"progress", 0, OPTTAB_UINT, CFG(progress_s), 0, 3600, "SECONDS",
      "Log a progress line every SECONDS of wall time: packets and rates (zero on an idle "
      "port), and on files the percent of bytes read over all -r files and the time left; "
      "0: off."},
     "0",
     0,
     0},
    {{"collector", 'c', OPTTAB_SPECIAL, 0, 0, 0, "ENDPOINT",
      "Also send every record to a callscope-collector at ENDPOINT (tcp://host:7600), over "
      "CURVE-encrypted ZeroMQ with acknowledged delivery (docs/transport.md). Repeat for "
      "several collectors of one store (up to 8): the probe sends to the first and fails over "
      "to the next in order when it is lost, resending what it had not acknowledged."},
     NULL,
     0,
     0},
    {{"key", 0, OPTTAB_STR, CFG(exp.key_file), 0, 0, "FILE",
      "This probe's secret key (NAME.key from 'callscope-collector keygen NAME'); must be "
      "mode 0600. The collector knows the probe by NAME. Default under systemd: the "
      "credential probe.key (LoadCredential=)."},
     NULL,
     0,
     0},
    {{"collector-key", 0, OPTTAB_SPECIAL, 0, 0, 0, "FILE",
      "The collector's public key (its NAME.pub). With several --collector: once (one key "
      "shared by the collectors of one store), or once per --collector in the same order."},
     NULL,
     0,
     0},
    {{"failover-ms", 0, OPTTAB_UINT, CFG(exp.failover_ms), 100, 3600000, "MS",
      "With several --collector: move to the next when the one in use has not been connected "
      "for MS, or has let two ack timeouts in a row pass (--ack-timeout-ms)."},
     "3000",
     0,
     0},
    {{"probe-id", 0, OPTTAB_STR, CFG(exp.probe_id), 0, 0, "NAME",
      "This probe's name (default: the name in --key; must match it)."},
     NULL,
     0,
     0},
    {{"site", 0, OPTTAB_STR, CFG(exp.site), 0, 0, "NAME",
      "The site this probe watches, kept with every record."},
     "default",
     0,
     0},
    {{"spool-dir", 0, OPTTAB_STR, CFG(exp.spool_dir), 0, 0, "DIR",
      "Where unacknowledged batches wait (created 0700; survives restarts). Default "
      "$STATE_DIRECTORY/spool under systemd, else /var/lib/callscope/spool."},
     NULL,
     0,
     0},
    {{"spool-max-mb", 0, OPTTAB_UINT, CFG(exp.spool_max_mb), 1, 1048576, "MB",
      "Spool bound. When full, the oldest interval records go first, then the oldest of any "
      "kind; every record lost is counted in the stats and heartbeat."},
     "256",
     0,
     0},
    {{"no-spool-fsync", 0, OPTTAB_NOFLAG, CFG(exp.spool_fsync), 0, 0, NULL,
      "Do not fdatasync each spooled batch (faster; a power cut may lose the newest ones)."},
     NULL,
     0,
     0},
    {{"batch-records", 0, OPTTAB_UINT, CFG(exp.batch_records), 1, 100000, "N",
      "Records per batch."},
     "1000",
     0,
     0},
    {{"batch-ms", 0, OPTTAB_UINT, CFG(exp.batch_ms), 10, 600000, "MS",
      "Longest a record waits for its batch to fill."},
     "1000",
     0,
     0},
    {{"send-window", 0, OPTTAB_UINT, CFG(exp.window), 1, 1024, "N",
      "Batches sent ahead of their acknowledgement."},
     "16",
     0,
     0},
    {{"ack-timeout-ms", 0, OPTTAB_UINT, CFG(exp.ack_timeout_ms), 100, 3600000, "MS",
      "Resend unacknowledged batches after MS. The wait doubles per timeout in a row, up to "
      "8 times."},
     "10000",
     0,
     0},
    {{"reconnect-ms", 0, OPTTAB_UINT, CFG(exp.reconnect_ms), 10, 600000, "MS",
      "First reconnect delay after the link drops."},
     "100",
     0,
     0},
    {{"reconnect-max-ms", 0, OPTTAB_UINT, CFG(exp.reconnect_max_ms), 10, 3600000, "MS",
      "Reconnect back-off limit."},
     "10000",
     0,
     0},
    {{"heartbeat", 0, OPTTAB_UINT, CFG(exp.heartbeat_s), 1, 3600, "SECONDS",
      "Send the probe's health (drops, flows, spool depth, version) every SECONDS."},
     "10",
     0,
     0},
    {{"drain", 0, OPTTAB_UINT, CFG(exp.drain_s), 0, 3600, "SECONDS",
      "At exit, wait up to SECONDS for the last acknowledgements. What is still "
      "unacknowledged stays in the spool for the next start."},
     "30",
     0,
     0},
    {{"from-jsonl", 0, OPTTAB_STR, CFG(from_jsonl), 0, 0, "FILE",
      "Instead of capturing, send the records of a saved --json file to --collector ('-': "
      "stdin)."},
     NULL,
     0,
     0},
    {{"from-jsonl-rate", 0, OPTTAB_UINT, CFG(from_jsonl_rate), 0, 10000000, "N",
      "With --from-jsonl: at most N records per second; 0: as fast as accepted."},
     "0",
     0,
     0},
    {{"config", 0, OPTTAB_SPECIAL, 0, 0, 0, "FILE",
      "Read settings from FILE: one 'name = value' per line, names as the long options here "
      "('name' alone for a switch), '#' comments; e.g. /etc/callscope/probe-eth1.conf. Read "
      "where it stands: later options override it."},
     NULL,
     0,
     0},
    {{"check-config", 0, OPTTAB_SPECIAL, 0, 0, 0, NULL,
      "Check the settings (values, ranges, key files and their permissions) and exit: 0 "
      "when valid, 2 with a message naming the setting otherwise."},
     NULL,
     0,
     0},
    {{"verbose", 'v', OPTTAB_SPECIAL, 0, 0, 0, NULL, "More log detail (repeat for debug)."},
     NULL,
     0,
     0},
    {{"quiet", 'q', OPTTAB_SPECIAL, 0, 0, 0, NULL, "Errors only."}, NULL, 0, 0},
    {{"version", 'V', OPTTAB_SPECIAL, 0, 0, 0, NULL, "Print the version and exit."}, NULL, 0, 0},
    {{"help", 'h', OPTTAB_SPECIAL, 0, 0, 0, NULL, "This help."}, NULL, 0, 0},
};

#define NOPTS (sizeof opts / sizeof opts[0])

static const opttab_part_t parts[] = {{opts, NOPTS, 0, NULL, 0}};

/* Capture read timeout: not an option (immediate mode makes it matter only
 * without it). */
#define CAPTURE_TIMEOUT_MS 250

void options_defaults(probe_cfg_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    opttab_t t = {.prog = "callscope-probe", .parts = parts, .nparts = 1, .cfg = cfg};
    opttab_defaults(&t);
    cfg->cap.timeout_ms = CAPTURE_TIMEOUT_MS;
}

const char *options_default_ranges(char *buf, size_t len)
{
    const char *env = getenv("CALLSCOPE_RANGES");
    if (env && *env)
        return env;
    /* installed beside the binary: BIN/../share/callscope (any prefix, .deb) */
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(buf, len, "%s/../share/callscope/teams-media.protos", exe);
            /* installed: the copy `teams-ranges update` keeps current wins */
            if (access(buf, R_OK) == 0)
                return access(CALLSCOPE_RANGES_ETC, R_OK) == 0 ? CALLSCOPE_RANGES_ETC : buf;
        }
    }
    if (access(CALLSCOPE_RANGES_INSTALL, R_OK) == 0)
        return CALLSCOPE_RANGES_INSTALL;
    return CALLSCOPE_RANGES_BUILD;
}

bool options_reloadable(const char *name)
{
    static const char *const live[] = {"ranges", "interval", "progress", "min-stream-packets",
                                       "verbose"};
    for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
        if (strcmp(name, live[i]) == 0)
            return true;
    return false;
}

static bool same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static bool same_field(const opttab_def_t *d, const probe_cfg_t *a, const probe_cfg_t *b)
{
    const char *x = (const char *)a + d->offset, *y = (const char *)b + d->offset;
    switch (d->type) {
    case OPTTAB_INT:
        return *(const int *)x == *(const int *)y;
    case OPTTAB_UINT:
        return *(const unsigned *)x == *(const unsigned *)y;
    case OPTTAB_STR:
        return same_str(*(const char *const *)x, *(const char *const *)y);
    case OPTTAB_FLAG:
    case OPTTAB_NOFLAG:
        return *(const bool *)x == *(const bool *)y;
    case OPTTAB_SPECIAL:
        break;
    }
    return true;
}

void options_diff(const options_t *a, const options_t *b, void (*fn)(const char *name, void *ctx),
                  void *ctx)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (!same_field(&opts[i].o, &a->cfg, &b->cfg))
            fn(opts[i].o.name, ctx);
    bool files = a->nfiles == b->nfiles;
    for (int i = 0; files && i < a->nfiles; i++)
        files = same_str(a->files[i], b->files[i]);
    if (!files)
        fn("read", ctx);
    const export_cfg_t *x = &a->cfg.exp, *y = &b->cfg.exp;
    bool eps = x->nendpoints == y->nendpoints, keys = x->ncollector_keys == y->ncollector_keys;
    for (unsigned i = 0; eps && i < x->nendpoints; i++)
        eps = same_str(x->endpoints[i], y->endpoints[i]);
    for (unsigned i = 0; keys && i < x->ncollector_keys; i++)
        keys = same_str(x->collector_keys[i], y->collector_keys[i]);
    if (!eps)
        fn("collector", ctx);
    if (!keys)
        fn("collector-key", ctx);
    if (a->verbosity != b->verbosity)
        fn("verbose", ctx);
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
    opttab_t t = {.prog = prog, .parts = parts, .nparts = 1};
    opttab_help(&t, to);
    fprintf(to,
            "\nExamples:\n"
            "  %s -r call.pcap                 table for people\n"
            "  %s -r a.pcap -r b.pcap --json out.jsonl\n"
            "  %s -i eth1 -f 'udp or tcp port 443' --json - --interval 10\n"
            "  %s -i eth1 --interval 10 --collector tcp://noc:7600 --key p1.key \\\n"
            "      --collector-key collector.pub --site hq --spool-dir /var/lib/callscope/spool\n"
            "\nExit status: 0 success; 1 some input could not be read (the rest was\n"
            "processed); 2 bad usage or a source that cannot be opened.\n",
            prog, prog, prog, prog);
}

static bool add_file(options_t *o, const char *f)
{
    if (o->nfiles + 1 >= o->files_cap) {
        int cap = o->files_cap ? o->files_cap * 2 : 16;
        const char **grown = realloc(o->files, (size_t)cap * sizeof *grown);
        if (!grown)
            return false;
        o->files = grown;
        o->files_cap = cap;
    }
    o->files[o->nfiles++] = f;
    o->files[o->nfiles] = NULL;
    return true;
}

static opttab_result_t special(opttab_t *t, const opttab_def_t *d, const char *val)
{
    options_t *o = t->ctx;
    if (strcmp(d->name, "config") == 0)
        return opttab_load_file(t, val);
    if (strcmp(d->name, "collector") == 0 || strcmp(d->name, "collector-key") == 0) {
        bool ep = d->name[9] == '\0';
        export_cfg_t *x = &o->cfg.exp;
        unsigned *n = ep ? &x->nendpoints : &x->ncollector_keys;
        if (*n == EXPORT_MAX_COLLECTORS) {
            fprintf(stderr, "callscope-probe: at most %d --%s\n", EXPORT_MAX_COLLECTORS, d->name);
            return OPTTAB_EXIT_USAGE;
        }
        (ep ? x->endpoints : x->collector_keys)[(*n)++] = val;
        x->endpoint = x->endpoints[0];
        x->collector_key = x->collector_keys[0];
        return OPTTAB_RUN;
    }
    if (strcmp(d->name, "check-config") == 0) {
        o->check_only = true;
        return OPTTAB_RUN;
    }
    switch (d->short_name) {
    case SP_READ:
        return add_file(o, val) ? OPTTAB_RUN : OPTTAB_EXIT_USAGE;
    case SP_VERBOSE:
        o->verbosity++;
        return OPTTAB_RUN;
    case SP_QUIET:
        o->verbosity = -1;
        return OPTTAB_RUN;
    case SP_VERSION:
        printf("callscope-probe %s\n", CALLSCOPE_VERSION);
        return OPTTAB_EXIT_OK;
    default:
        options_help(stdout, "callscope-probe");
        return OPTTAB_EXIT_OK;
    }
}

/* --check-config: what only opening would otherwise find. */
static options_result_t check_files(const probe_cfg_t *cfg)
{
    char err[512];
    keyfile_t k;
    if (access(cfg->ranges_file, R_OK) != 0) {
        fprintf(stderr, "callscope-probe: ranges: cannot read %s\n", cfg->ranges_file);
        return OPTIONS_EXIT_USAGE;
    }
    bool keys_ok = true;
    for (unsigned i = 0; i < cfg->exp.ncollector_keys && keys_ok; i++)
        keys_ok = keyfile_load(cfg->exp.collector_keys[i], false, &k, err, sizeof err);
    if (cfg->exp.endpoint &&
        (!cfg->exp.key_file || !cfg->exp.collector_key ||
         !keyfile_load(cfg->exp.key_file, true, &k, err, sizeof err) || !keys_ok)) {
        if (!cfg->exp.key_file || !cfg->exp.collector_key)
            snprintf(err, sizeof err,
                     "collector needs key and collector-key (under systemd the key is the "
                     "credential probe.key; by hand add --key /etc/callscope/probe.key)");
        fprintf(stderr, "callscope-probe: %s\n", err);
        explicit_bzero(&k, sizeof k);
        return OPTIONS_EXIT_USAGE;
    }
    explicit_bzero(&k, sizeof k);
    printf("callscope-probe: configuration OK\n");
    return OPTIONS_EXIT_OK;
}

static options_result_t check(options_t *o, int nfiles)
{
    probe_cfg_t *cfg = &o->cfg;
    if (cfg->exp.endpoint && !cfg->exp.key_file) /* LoadCredential=probe.key:... */
        cfg->exp.key_file = keyfile_credential("probe.key", o->key_buf, sizeof o->key_buf);
    bool resend = cfg->from_jsonl != NULL;
    unsigned ne = cfg->exp.nendpoints, nk = cfg->exp.ncollector_keys;
    if (ne && nk > 1 && nk != ne) {
        fprintf(stderr,
                "callscope-probe: %u collector-key for %u collector: give one key (shared by the "
                "collectors of one store) or one per collector, in the same order\n",
                nk, ne);
        return OPTIONS_EXIT_USAGE;
    }
    if (resend && !cfg->exp.endpoint) {
        fprintf(stderr, "callscope-probe: --from-jsonl needs --collector\n");
        return OPTIONS_EXIT_USAGE;
    }
    if (!resend && !cfg->cap.iface && nfiles == 0) {
        fprintf(stderr, "callscope-probe: give -i IFACE or -r FILE (see --help)\n");
        return OPTIONS_EXIT_USAGE;
    }
    if ((cfg->cap.iface && nfiles) || (resend && (cfg->cap.iface || nfiles))) {
        fprintf(stderr, "callscope-probe: use one of -i, -r and --from-jsonl\n");
        return OPTIONS_EXIT_USAGE;
    }
    if (cfg->workers > 1 && !cfg->cap.iface) {
        fprintf(stderr, "callscope-probe: --workers needs -i\n");
        return OPTIONS_EXIT_USAGE;
    }
    if (cfg->workers > 1 && !cfg->json_path && !cfg->exp.endpoint) {
        fprintf(stderr, "callscope-probe: --workers needs --json or --collector\n");
        return OPTIONS_EXIT_USAGE;
    }
    if (!cfg->json_path && !resend && !cfg->exp.endpoint)
        cfg->table = true;
    if (!cfg->ranges_file)
        cfg->ranges_file = options_default_ranges(o->ranges_buf, sizeof o->ranges_buf);
    return OPTIONS_RUN;
}

void options_table(opttab_t *t, options_t *o)
{
    *t = (opttab_t){.prog = "callscope-probe",
                    .parts = parts,
                    .nparts = 1,
                    .cfg = &o->cfg,
                    .special = special,
                    .ctx = o};
}

options_result_t options_parse(int argc, char **argv, options_t *o)
{
    memset(o, 0, sizeof *o);
    options_defaults(&o->cfg);
    opttab_t t;
    options_table(&t, o);
    int first = 1;
    opttab_result_t r = opttab_parse(&t, argc, argv, &first);
    o->strings = t.strings;
    o->nstrings = t.nstrings;
    if (r != OPTTAB_RUN)
        return r == OPTTAB_EXIT_OK ? OPTIONS_EXIT_OK : OPTIONS_EXIT_USAGE;
    for (int i = first; i < argc; i++)
        if (!add_file(o, argv[i]))
            return OPTIONS_EXIT_USAGE;
    o->cfg.cap.files = o->nfiles ? o->files : NULL;
    options_result_t c = check(o, o->nfiles);
    if (c == OPTIONS_RUN && o->check_only)
        c = check_files(&o->cfg);
    return c;
}

void options_free(options_t *o)
{
    opttab_t t = {.strings = o->strings, .nstrings = o->nstrings};
    opttab_free_strings(&t);
    free(o->files);
    o->files = NULL;
    o->strings = NULL;
}
