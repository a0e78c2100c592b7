/* pg_pcap: classic pcap file writer, native byte order (the magic says which). */
#include "pg_pcap.h"

#include <stdlib.h>
#include <string.h>

#define PG_PCAP_SNAPLEN 262144u
#define PG_PCAP_BUFSZ (1u << 20)

int pg_pcap_open(pg_pcap *w, const char *path, uint32_t linktype)
{
    uint32_t hdr32[6];
    uint16_t ver[2] = {2, 4};

    memset(w, 0, sizeof(*w));
    w->f = fopen(path, "wb");
    if (w->f == NULL) {
        return -1;
    }
    w->buf = malloc(PG_PCAP_BUFSZ);
    if (w->buf != NULL) {
        setvbuf(w->f, w->buf, _IOFBF, PG_PCAP_BUFSZ);
    }
    hdr32[0] = 0xa1b2c3d4u;
    hdr32[1] = 0; /* version, filled below */
    hdr32[2] = 0; /* thiszone */
    hdr32[3] = 0; /* sigfigs */
    hdr32[4] = PG_PCAP_SNAPLEN;
    hdr32[5] = linktype;
    memcpy(&hdr32[1], ver, sizeof(ver));
    if (fwrite(hdr32, sizeof(hdr32), 1, w->f) != 1) {
        return -1;
    }
    return 0;
}

int pg_pcap_write(pg_pcap *w, uint64_t t_us, const uint8_t *p, uint32_t caplen, uint32_t origlen)
{
    uint32_t rec[4];

    rec[0] = (uint32_t)(t_us / 1000000u);
    rec[1] = (uint32_t)(t_us % 1000000u);
    rec[2] = caplen;
    rec[3] = origlen;
    if (fwrite(rec, sizeof(rec), 1, w->f) != 1) {
        return -1;
    }
    if (caplen > 0 && fwrite(p, caplen, 1, w->f) != 1) {
        return -1;
    }
    return 0;
}

int pg_pcap_close(pg_pcap *w)
{
    int rc = 0;

    if (w->f != NULL && fclose(w->f) != 0) {
        rc = -1;
    }
    w->f = NULL;
    free(w->buf);
    w->buf = NULL;
    return rc;
}
