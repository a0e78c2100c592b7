#include "capture.h"

#include "capture_fanout.h"

#include <errno.h>
#include <pcap/pcap.h>
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
};

static bool set_filter(capture_t *c, char *err, size_t errlen);

/* The link type, the filter, and for a capture worker its fanout group. */
static bool after_open(capture_t *c, char *err, size_t errlen)
{
    c->dlt = pcap_datalink(c->pcap);
    if (!set_filter(c, err, errlen))
        return false;
    return c->cfg.fanout_group == 0 ||
           capture_fanout_join(pcap_fileno(c->pcap), c->cfg.fanout_group, err, errlen);
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
    return after_open(c, err, errlen);
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
    else if (cfg->files && cfg->files[0])
        ok = open_file(c, cfg->files[0], err, errlen);
    else {
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
    close_current(*pc);
    free((*pc)->filebuf);
    free(*pc);
    *pc = NULL;
}

static bool next_file(capture_t *c, char *err, size_t errlen)
{
    if (c->cfg.iface || !c->cfg.files)
        return false;
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
    int rc = pcap_next_ex(c->pcap, &h, &data);
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
