/* capture.h - packets from a live interface or capture files.
 *
 * Live: promiscuous, snap length, kernel buffer size, immediate mode and a
 * BPF filter, through libpcap. Files: pcap or pcapng, several read in the
 * time order of their first packet (as given when "-", stdin, is one);
 * packets earlier than one already read are counted and logged per file; classic pcap files without
 * a filter are read by pcap_file (no copies), everything else by libpcap. libpcap's own drop
 * counters (kernel, interface) are kept apart from the probe's decode drops so a lossy mirror port
 * shows as such.
 */
#ifndef CALLSCOPE_CAPTURE_H
#define CALLSCOPE_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "timefmt.h"

typedef struct {
    const char *iface;        /* live capture, or NULL */
    const char *const *files; /* NULL-terminated list, or NULL */
    int snaplen;
    int buffer_mb;
    bool promisc;
    bool immediate;
    int timeout_ms;
    const char *bpf;
    unsigned fanout_group; /* live: join this PACKET_FANOUT group (0: none) */
    unsigned workers;      /* live: capture workers in all (0 or 1: one), for the log */
    unsigned worker;       /* live: which one this is (0 .. workers-1) */
} capture_cfg_t;

typedef struct {
    uint64_t kernel_received, kernel_dropped, iface_dropped;
    uint64_t files_opened, files_failed;
    /* files: packets earlier than one already read (logged per file) */
    uint64_t ts_backwards;
    bool stats_available;
} capture_stats_t;

typedef struct {
    const uint8_t *data; /* borrowed until the next capture_next() */
    uint32_t caplen, wirelen;
    usec_t ts;
    int dlt;
} capture_pkt_t;

typedef enum { CAPTURE_PACKET, CAPTURE_TIMEOUT, CAPTURE_END, CAPTURE_ERROR } capture_result_t;

typedef struct capture capture_t;

/* Opens the interface or the first file. NULL with err set on failure. */
capture_t *capture_open(const capture_cfg_t *cfg, char *err, size_t errlen);
void capture_close(capture_t **c);
/* Next packet; moves to the next file at the end of one. On CAPTURE_ERROR
 * err says what went wrong (a corrupt file: the packets read so far stand). */
capture_result_t capture_next(capture_t *c, capture_pkt_t *pkt, char *err, size_t errlen);
/* Makes a blocked capture_next() return (signal handlers may call it). */
void capture_break(capture_t *c);
void capture_stats(capture_t *c, capture_stats_t *out);
/* Live capture says what it does, as tcpdump does: on opening, a line with
 * the interface, link type, snapshot length, filter and workers (worker 0
 * only); at the end (this call), each worker's packets captured, received
 * by the filter, dropped by the kernel and by the interface (libpcap's
 * counters), and the probe's decode drops. Nothing for files. */
void capture_log_summary(capture_t *c, uint64_t captured, uint64_t decode_drops);

/* Files: bytes read so far (whole files before the open one, and the open
 * one's position) and the sum of the -r files' sizes. False for live
 * capture and for input without a size (stdin, a pipe). */
bool capture_progress(capture_t *c, uint64_t *done, uint64_t *total);

#endif
