/* capture_file.h - a reader for classic pcap files without libpcap's copies.
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

typedef struct pcap_file capture_file_t;

typedef enum {
    CAPTURE_FILE_OPENED,   /* ours: read it with capture_file_next() */
    CAPTURE_FILE_DECLINED, /* not a file this reader takes: use libpcap */
} capture_file_open_t;

typedef enum { CAPTURE_FILE_PACKET, CAPTURE_FILE_END, CAPTURE_FILE_ERROR } capture_file_result_t;

typedef struct {
    const uint8_t *data; /* borrowed until the next capture_file_next() */
    uint32_t caplen, wirelen;
    usec_t ts;
} capture_file_pkt_t;

/* *out is NULL unless CAPTURE_FILE_OPENED. Never fails otherwise: whatever
 * goes wrong (cannot open, cannot read) is declined, and libpcap's own
 * open then says what is wrong with the file. */
capture_file_open_t capture_file_open(const char *path, capture_file_t **out);
void capture_file_close(capture_file_t **f);
/* DLT of the file (LINKTYPE_RAW mapped to DLT_RAW, as pcap_datalink()). */
int capture_file_dlt(const capture_file_t *f);
/* On CAPTURE_FILE_ERROR err holds libpcap's text for the same damage; the
 * reader then stays at the end. */
capture_file_result_t capture_file_next(capture_file_t *f, capture_file_pkt_t *pkt, char *err,
                                        size_t errlen);

/* Bytes of the file consumed so far: its header and the records handed out
 * (what --progress counts). */
uint64_t capture_file_offset(const capture_file_t *f);

#endif
