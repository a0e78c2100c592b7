#include "capture.h"

#include "capture_fanout.h"

#include <errno.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "capture_file.h"

struct capture {
    capture_cfg_t cfg;
    pcap_t *pcap;
    capture_file_t *file; /* a classic pcap file read without libpcap, or NULL */
    size_t file_index;
    const char *name;
    char *filebuf; /* stdio buffer of the open file; freed after pcap_close */
    int dlt;
    capture_stats_t st;
    const char **order; /* files in the time order of their first packet (owned array) */
    usec_t latest;      /* the latest packet time read so far */
    uint64_t file_backwards;
    usec_t file_worst_back;
    uint64_t *sizes; /* files: their sizes, in reading order (NULL: unknown) */
    uint64_t total;  /* their sum */
    int live_fd;     /* live: the socket polled for the read timeout */
    volatile sig_atomic_t broken;
    usec_t joined_at; /* worker > 0: when it joined the fanout group */
    uint64_t before_join;
    /* packets skipped: captured before that */ /* capture_break() was called */
};

static bool set_filter(capture_t *c, char *err, size_t errlen);

/* The link type, the filter, and for a capture worker its fanout group. */
static bool after_open(capture_t *c, char *err, size_t errlen)
{
    c->dlt = pcap_datalink(c->pcap);
    if (!set_filter(c, err, errlen))
        return false;
    if (c->cfg.fanout_group == 0)
        return true;
    if (!capture_fanout_join(pcap_fileno(c->pcap), c->cfg.fanout_group, err, errlen))
        return false;
    /* Until it joins, a later worker's socket gets every packet, and the
     * group (worker 0 on) gets them too: those would be counted twice
     * (seen live on a veth: 60-70 packets of each stream when traffic
     * flowed while the workers started). Kernel time stamps before the
     * join mark them. */
    if (c->cfg.worker > 0)
        c->joined_at = timefmt_now();
    return true;
}

static bool set_filter(capture_t *c, char *err, size_t errlen)
{
    if (!c->cfg.bpf || !*c->cfg.bpf)
        return true;
    struct bpf_program prog;
    if (pcap_compile(c->pcap, &prog, c->cfg.bpf, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        snprintf(err, errlen, "bad BPF filter '%s': %s", c->cfg.bpf, pcap_geterr(c->pcap));
        return false;
    }
    int rc = pcap_setfilter(c->pcap, &prog);
    pcap_freecode(&prog);
    if (rc != 0) {
        snprintf(err, errlen, "cannot set BPF filter: %s", pcap_geterr(c->pcap));
        return false;
    }
    return true;
}

#define FILE_BUFFER (1u << 20) /* stdio's default 4 KiB costs a read() per 4 KiB */

/* Classic pcap files go through pcap_file (no copies); with a BPF filter,
 * and for anything that reader declines, libpcap reads the file. */
static bool open_own(capture_t *c, const char *path)
{
    if ((c->cfg.bpf && *c->cfg.bpf) || capture_file_open(path, &c->file) != CAPTURE_FILE_OPENED)
        return false;
    c->st.files_opened++;
    c->dlt = capture_file_dlt(c->file);
    return true;
}

static bool open_file(capture_t *c, const char *path, char *err, size_t errlen)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    bool is_stdin = strcmp(path, "-") == 0;
    c->name = is_stdin ? "<stdin>" : path;
    if (!is_stdin && open_own(c, path))
        return true;
    FILE *fp = is_stdin ? stdin : fopen(path, "rb");
    if (!fp) {
        c->st.files_failed++;
        snprintf(err, errlen, "cannot read capture file %s: %s", c->name, strerror(errno));
        return false;
    }
    /* glibc ignores the size unless we pass the buffer; it must outlive fp */
    if (!c->filebuf)
        c->filebuf = malloc(FILE_BUFFER);
    if (c->filebuf)
        setvbuf(fp, c->filebuf, _IOFBF, FILE_BUFFER);
    /* On success libpcap owns fp (pcap_close() closes it); on failure we
     * still do, as pcap_open_offline() itself does. */
    c->pcap = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
    if (!c->pcap) {
        if (!is_stdin)
            fclose(fp);
        c->st.files_failed++;
        snprintf(err, errlen, "cannot read capture file %s: %s", c->name, ebuf);
        return false;
    }
    c->st.files_opened++;
    return after_open(c, err, errlen);
}

static bool set_live_options(capture_t *c, char *err, size_t errlen)
{
    pcap_t *p = c->pcap;
    if (pcap_set_snaplen(p, c->cfg.snaplen) != 0 || pcap_set_promisc(p, c->cfg.promisc) != 0 ||
        pcap_set_timeout(p, c->cfg.timeout_ms) != 0 ||
        pcap_set_buffer_size(p, c->cfg.buffer_mb * 1024 * 1024) != 0 ||
        pcap_set_immediate_mode(p, c->cfg.immediate) != 0 ||
        pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_MICRO) != 0) {
        snprintf(err, errlen, "cannot set capture options on %s", c->cfg.iface);
        return false;
    }
    return true;
}

/* "listening on eth1, link-type EN10MB (Ethernet), snapshot length 262144
 * bytes, filter 'udp', 2 workers" (tcpdump's first line, and more). */
static void log_listening(const capture_t *c)
{
    if (c->cfg.worker != 0)
        return;
    const char *name = pcap_datalink_val_to_name(c->dlt);
    const char *desc = pcap_datalink_val_to_description(c->dlt);
    unsigned workers = c->cfg.workers > 1 ? c->cfg.workers : 1;
    LOG_INFO("listening on %s, link-type %s (%s), snapshot length %d bytes, filter %s%s%s, "
             "%s, buffer %d MiB, %u worker%s",
             c->cfg.iface, name ? name : "?", desc ? desc : "unknown", pcap_snapshot(c->pcap),
             c->cfg.bpf && *c->cfg.bpf ? "'" : "", c->cfg.bpf && *c->cfg.bpf ? c->cfg.bpf : "none",
             c->cfg.bpf && *c->cfg.bpf ? "'" : "",
             c->cfg.promisc ? "promiscuous" : "not promiscuous", c->cfg.buffer_mb, workers,
             workers > 1 ? "s" : "");
}

void capture_log_summary(capture_t *c, uint64_t captured, uint64_t decode_drops)
{
    if (!c || !c->cfg.iface)
        return;
    capture_stats_t st;
    capture_stats(c, &st);
    char who[96] = "";
    if (c->cfg.workers > 1)
        snprintf(who, sizeof who, " worker %u/%u", c->cfg.worker + 1, c->cfg.workers);
    if (!st.stats_available) {
        LOG_INFO("%s%s: %" PRIu64 " packets captured, %" PRIu64
                 " decode drops (libpcap has no counters here)",
                 c->cfg.iface, who, captured, decode_drops);
        return;
    }
    LOG_INFO("%s%s: %" PRIu64 " packets captured, %" PRIu64 " received by filter, %" PRIu64
             " dropped by kernel, %" PRIu64 " dropped by interface, %" PRIu64 " decode drops",
             c->cfg.iface, who, captured, st.kernel_received, st.kernel_dropped, st.iface_dropped,
             decode_drops);
}

static bool open_live(capture_t *c, char *err, size_t errlen)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    c->name = c->cfg.iface;
    c->pcap = pcap_create(c->cfg.iface, ebuf);
    if (!c->pcap) {
        snprintf(err, errlen, "cannot open interface %s: %s", c->cfg.iface, ebuf);
        return false;
    }
    if (!set_live_options(c, err, errlen))
        return false;
    int rc = pcap_activate(c->pcap);
    if (rc < 0) {
        snprintf(err, errlen, "cannot capture on %s: %s%s", c->cfg.iface, pcap_statustostr(rc),
                 rc == PCAP_ERROR_PERM_DENIED ? " (needs root or CAP_NET_RAW)" : "");
        return false;
    }
    if (rc > 0)
        LOG_WARN("capture on %s: %s", c->cfg.iface, pcap_statustostr(rc));
    /* libpcap's TPACKET_V3 read blocks until a block fills or its timer
     * retires a non-empty one: on an idle port it never returns, and the
     * probe's idle chores (flow expiry, interval windows, progress, SIGHUP)
     * would wait for the next packet. Non-blocking reads and our own poll()
     * with the read timeout give a CAPTURE_TIMEOUT every timeout_ms. */
    c->live_fd = pcap_get_selectable_fd(c->pcap);
    if (c->live_fd >= 0 && pcap_setnonblock(c->pcap, 1, ebuf) != 0) {
        LOG_WARN("capture on %s: cannot read without blocking (%s): idle chores wait for "
                 "packets",
                 c->cfg.iface, ebuf);
        c->live_fd = -1;
    }
    if (!after_open(c, err, errlen))
        return false;
    log_listening(c);
    return true;
}

/* ---- several files: read in time order ---------------------------------- */

/* The time of a file's first packet; INT64_MAX when it has none or cannot
 * be read (it then comes last, and its error is reported when opened). */
static usec_t first_packet_ts(const char *path)
{
    char ebuf[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
    if (!p)
        return INT64_MAX;
    struct pcap_pkthdr *h;
    const u_char *data;
    usec_t ts = INT64_MAX;
    if (pcap_next_ex(p, &h, &data) == 1)
        ts = (usec_t)h->ts.tv_sec * USEC_PER_SEC + h->ts.tv_usec;
    pcap_close(p);
    return ts;
}

/* Files given out of time order (a shell glob in name order) would have
 * their packets timed against a clock already past them: flows' first and
 * last seen clamped, Graph joins lost. They are read in the order of their
 * first packet instead (a stable sort: equal times keep the given order),
 * and the log says so. Standard input cannot be looked ahead in: with "-"
 * among them the given order stands. */
static bool order_files(capture_t *c)
{
    size_t n = 0;
    bool has_stdin = false;
    for (; c->cfg.files[n]; n++)
        has_stdin |= strcmp(c->cfg.files[n], "-") == 0;
    c->order = calloc(n + 1, sizeof *c->order);
    usec_t *ts = calloc(n + 1, sizeof *ts);
    if (!c->order || !ts) {
        free(ts);
        return false;
    }
    bool moved = false;
    for (size_t i = 0; i < n; i++) {
        usec_t t = n > 1 && !has_stdin ? first_packet_ts(c->cfg.files[i]) : 0;
        size_t j = i; /* insertion sort: a handful of files */
        for (; j > 0 && ts[j - 1] > t; j--)
            ;
        memmove(&c->order[j + 1], &c->order[j], (i - j) * sizeof *c->order);
        memmove(&ts[j + 1], &ts[j], (i - j) * sizeof *ts);
        c->order[j] = c->cfg.files[i];
        ts[j] = t;
        moved |= j != i;
    }
    free(ts);
    if (moved)
        LOG_WARN("capture files given out of time order are read in the order of their first "
                 "packet: %s first",
                 c->order[0]);
    c->cfg.files = c->order;
    return true;
}

/* A packet earlier than one already read: counted, and said per file. */
static void note_time(capture_t *c, usec_t ts)
{
    if (ts >= c->latest) {
        c->latest = ts;
        return;
    }
    c->st.ts_backwards++;
    c->file_backwards++;
    if (c->latest - ts > c->file_worst_back)
        c->file_worst_back = c->latest - ts;
}

static void file_done(capture_t *c)
{
    if (c->file_backwards)
        LOG_WARN("%s: %" PRIu64 " packets earlier than a packet already read (up to %.6f s "
                 "back); they are measured at their own time, but flow first/last seen and "
                 "idle timeouts do not go back",
                 c->name, c->file_backwards, (double)c->file_worst_back / USEC_PER_SEC);
    c->file_backwards = 0;
    c->file_worst_back = 0;
}

/* The files' sizes for --progress; none when one is stdin or not a
 * regular file (a pipe has no size). */
static void measure_files(capture_t *c)
{
    size_t n = 0;
    while (c->cfg.files[n])
        n++;
    c->sizes = calloc(n, sizeof *c->sizes);
    for (size_t i = 0; c->sizes && i < n; i++) {
        struct stat st;
        if (strcmp(c->cfg.files[i], "-") == 0 || stat(c->cfg.files[i], &st) != 0 ||
            !S_ISREG(st.st_mode)) {
            free(c->sizes);
            c->sizes = NULL;
            return;
        }
        c->sizes[i] = (uint64_t)st.st_size;
        c->total += c->sizes[i];
    }
}

bool capture_progress(capture_t *c, uint64_t *done, uint64_t *total)
{
    if (c->cfg.iface || !c->sizes)
        return false;
    uint64_t d = 0;
    for (size_t i = 0; i < c->file_index; i++)
        d += c->sizes[i];
    if (c->file)
        d += capture_file_offset(c->file);
    else if (c->pcap) {
        long pos = ftell(pcap_file(c->pcap));
        d += pos > 0 ? (uint64_t)pos : 0;
    } else {
        d = c->total; /* all read */
    }
    *done = d < c->total ? d : c->total;
    *total = c->total;
    return true;
}

capture_t *capture_open(const capture_cfg_t *cfg, char *err, size_t errlen)
{
    capture_t *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->cfg = *cfg;
    bool ok;
    if (cfg->iface)
        ok = open_live(c, err, errlen);
    else if (cfg->files && cfg->files[0]) {
        ok = order_files(c);
        if (!ok)
            snprintf(err, errlen, "out of memory");
        else
            ok = open_file(c, c->cfg.files[0], err, errlen);
        if (ok)
            measure_files(c);
    } else {
        snprintf(err, errlen, "no interface (-i) and no capture file (-r) given");
        ok = false;
    }
    if (!ok)
        capture_close(&c);
    return c;
}

/* Closes the open file or interface, whichever reader has it. */
static void close_current(capture_t *c)
{
    if (c->pcap) {
        pcap_close(c->pcap);
        c->pcap = NULL;
    }
    capture_file_close(&c->file);
}

void capture_close(capture_t **pc)
{
    if (!pc || !*pc)
        return;
    if ((*pc)->before_join)
        LOG_INFO("%s worker %u: %" PRIu64 " packets captured before joining the fanout group "
                 "left out (the group had them)",
                 (*pc)->cfg.iface, (*pc)->cfg.worker, (*pc)->before_join);
    close_current(*pc);
    free((*pc)->order);
    free((*pc)->sizes);
    free((*pc)->filebuf);
    free(*pc);
    *pc = NULL;
}

static bool next_file(capture_t *c, char *err, size_t errlen)
{
    if (c->cfg.iface || !c->cfg.files)
        return false;
    file_done(c);
    close_current(c);
    while (c->cfg.files[c->file_index + 1]) {
        c->file_index++;
        if (open_file(c, c->cfg.files[c->file_index], err, errlen))
            return true;
        LOG_ERROR("%s", err);
        close_current(c);
    }
    return false;
}

/* A damaged file: what was read stands, the next file is opened. */
static void file_damaged(capture_t *c, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s", c->name, what);
    c->st.files_failed++;
    LOG_ERROR("%s (packets before the damage were processed)", err);
}

/* One record from pcap_file; false at the end of the file or damage. */
static bool next_own(capture_t *c, capture_pkt_t *pkt, char *err, size_t errlen)
{
    capture_file_pkt_t fp;
    char why[PCAP_ERRBUF_SIZE];
    capture_file_result_t r = capture_file_next(c->file, &fp, why, sizeof why);
    if (r == CAPTURE_FILE_PACKET) {
        pkt->data = fp.data;
        pkt->caplen = fp.caplen;
        pkt->wirelen = fp.wirelen;
        pkt->ts = fp.ts;
        pkt->dlt = c->dlt;
        return true;
    }
    if (r == CAPTURE_FILE_ERROR)
        file_damaged(c, why, err, errlen);
    return false;
}

/* One record from libpcap. CAPTURE_END: the file ended or is damaged, or
 * a live capture was broken off. */
static capture_result_t next_pcap(capture_t *c, capture_pkt_t *pkt, char *err, size_t errlen)
{
    struct pcap_pkthdr *h;
    const u_char *data;
    if (c->broken)
        return CAPTURE_END;
    int rc = pcap_next_ex(c->pcap, &h, &data);
    if (rc == 0 && c->cfg.iface && c->live_fd >= 0) {
        /* nothing queued: wait up to the read timeout (a signal ends it) */
        struct pollfd pfd = {.fd = c->live_fd, .events = POLLIN};
        (void)poll(&pfd, 1, c->cfg.timeout_ms);
        if (c->broken)
            return CAPTURE_END;
        rc = pcap_next_ex(c->pcap, &h, &data);
    }
    while (rc == 1 && c->joined_at &&
           (usec_t)h->ts.tv_sec * USEC_PER_SEC + h->ts.tv_usec < c->joined_at) {
        c->before_join++;
        rc = pcap_next_ex(c->pcap, &h, &data);
    }
    if (rc == 1) {
        pkt->data = data;
        pkt->caplen = h->caplen;
        pkt->wirelen = h->len;
        pkt->ts = (usec_t)h->ts.tv_sec * USEC_PER_SEC + h->ts.tv_usec;
        pkt->dlt = c->dlt;
        return CAPTURE_PACKET;
    }
    if (rc == 0)
        return CAPTURE_TIMEOUT;
    if (rc == PCAP_ERROR && c->cfg.iface) {
        snprintf(err, errlen, "%s: %s", c->name, pcap_geterr(c->pcap));
        return CAPTURE_ERROR;
    }
    if (rc == PCAP_ERROR)
        file_damaged(c, pcap_geterr(c->pcap), err, errlen);
    return CAPTURE_END;
}

capture_result_t capture_next(capture_t *c, capture_pkt_t *pkt, char *err, size_t errlen)
{
    for (;;) {
        capture_result_t r;
        if (c->file)
            r = next_own(c, pkt, err, errlen) ? CAPTURE_PACKET : CAPTURE_END;
        else if (c->pcap)
            r = next_pcap(c, pkt, err, errlen);
        else
            return CAPTURE_END;
        if (r == CAPTURE_PACKET && !c->cfg.iface)
            note_time(c, pkt->ts);
        if (r != CAPTURE_END || c->cfg.iface)
            return r;
        /* end of this file (or a damaged one): on to the next */
        if (!next_file(c, err, errlen)) {
            close_current(c);
            return CAPTURE_END;
        }
    }
}

void capture_break(capture_t *c)
{
    if (c)
        c->broken = 1;
    if (c && c->pcap)
        pcap_breakloop(c->pcap);
}

void capture_stats(capture_t *c, capture_stats_t *out)
{
    *out = c->st;
    struct pcap_stat ps;
    if (c->cfg.iface && c->pcap && pcap_stats(c->pcap, &ps) == 0) {
        out->stats_available = true;
        out->kernel_received = ps.ps_recv;
        out->kernel_dropped = ps.ps_drop;
        out->iface_dropped = ps.ps_ifdrop;
    }
}
