/* pg_pcap: classic pcap writer (magic 0xa1b2c3d4, microsecond stamps). */
#ifndef PG_PCAP_H
#define PG_PCAP_H

#include <stdint.h>
#include <stdio.h>

typedef struct {
    FILE *f;
    char *buf; /* owned stdio buffer */
} pg_pcap;

/* Returns 0 on success, -1 on error (errno set). */
int pg_pcap_open(pg_pcap *w, const char *path, uint32_t linktype);
int pg_pcap_write(pg_pcap *w, uint64_t t_us, const uint8_t *p, uint32_t caplen, uint32_t origlen);
int pg_pcap_close(pg_pcap *w);

#endif
