/* pcap_file.h - a reader for classic pcap files without libpcap's copies.
 *
 * libpcap reads a file through stdio and copies every record twice (kernel
 * to the stdio buffer, stdio buffer to its own packet buffer). This reader
 * read()s 512 KiB at a time into one buffer, small enough to stay in
 * cache, and hands out pointers into it. (Mapping the file measured the
 * same and brings SIGBUS when the file is truncated under the mapping.)
 *
 * It takes only what it can read exactly as libpcap 1.10 would: a regular
 * file with the classic header (microsecond or nanosecond magic, either
 * byte order), version 2.4, a link type the decoder knows. Anything else
 * (pcapng, older versions, odd link types, pipes) is declined, and the
 * caller opens it with libpcap, which then reports any error itself.
 * Record checks, their error texts and the snapshot-length handling follow
 * libpcap's sf-pcap.c, so a damaged file ends the same way with either.
 * Time stamps come out in microseconds, as libpcap's MICRO precision.
 */
#ifndef CALLSCOPE_PCAP_FILE_H
#define CALLSCOPE_PCAP_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "timefmt.h"

typedef struct pcap_file pcap_file_t;

typedef enum {
    PCAP_FILE_OPENED,   /* ours: read it with pcap_file_next() */
    PCAP_FILE_DECLINED, /* not a file this reader takes: use libpcap */
} pcap_file_open_t;

typedef enum { PCAP_FILE_PACKET, PCAP_FILE_END, PCAP_FILE_ERROR } pcap_file_result_t;

typedef struct {
    const uint8_t *data; /* borrowed until the next pcap_file_next() */
    uint32_t caplen, wirelen;
    usec_t ts;
} pcap_file_pkt_t;

/* *out is NULL unless PCAP_FILE_OPENED. Never fails otherwise: whatever
 * goes wrong (cannot open, cannot read) is declined, and libpcap's own
 * open then says what is wrong with the file. */
pcap_file_open_t pcap_file_open(const char *path, pcap_file_t **out);
void pcap_file_close(pcap_file_t **f);
/* DLT of the file (LINKTYPE_RAW mapped to DLT_RAW, as pcap_datalink()). */
int pcap_file_dlt(const pcap_file_t *f);
/* On PCAP_FILE_ERROR err holds libpcap's text for the same damage; the
 * reader then stays at the end. */
pcap_file_result_t pcap_file_next(pcap_file_t *f, pcap_file_pkt_t *pkt, char *err, size_t errlen);

#endif
