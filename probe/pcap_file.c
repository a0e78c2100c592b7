#include "pcap_file.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cursor.h"
#include "decode.h"

#define FILE_HDR_LEN 24
#define REC_HDR_LEN 16
#define MAGIC_USEC 0xA1B2C3D4u
#define MAGIC_NSEC 0xA1B23C4Du
#define LINKTYPE_RAW 101
#define DLT_RAW_LINUX 12
/* libpcap's MAXIMUM_SNAPLEN, the most it takes for the link types the
 * decoder knows (max_snaplen_for_dlt() is larger only for D-Bus, USB...). */
#define MAX_SNAPLEN 262144u
/* Pages behind the reader are dropped from the mapping in steps this big. */
#define DROP_STEP ((uint64_t)1 << 20)
/* Cache lines this far ahead of the reader are prefetched: the probe does
 * enough per packet that the hardware prefetcher alone leaves each record
 * header a cache miss. */
#define PREFETCH_AHEAD 4096u
#define CACHE_LINE 64u

struct pcap_file {
    const uint8_t *map;
    uint64_t size;
    uint64_t pos;     /* next record header */
    uint64_t dropped; /* mapping released below this offset (page multiple) */
    uint64_t fetched; /* prefetched up to here */
    uint64_t page;
    bool big_endian;
    bool nsec;
    int dlt;
    uint32_t snapshot;
};

static bool read_u32(cur_t *c, bool big_endian, uint32_t *v)
{
    return big_endian ? cur_u32be(c, v) : cur_u32le(c, v);
}

static bool read_u16(cur_t *c, bool big_endian, uint16_t *v)
{
    return big_endian ? cur_u16be(c, v) : cur_u16le(c, v);
}

static bool magic_known(uint32_t m)
{
    return m == MAGIC_USEC || m == MAGIC_NSEC;
}

/* The header as libpcap's pcap_check_header() reads it; false for anything
 * this reader leaves to libpcap. */
static bool parse_header(pcap_file_t *f)
{
    cur_t c;
    uint32_t magic, zone, sigfigs, snaplen, linktype;
    uint16_t major, minor;
    cur_init(&c, f->map, (size_t)f->size);
    if (!cur_u32le(&c, &magic))
        return false;
    f->big_endian = !magic_known(magic);
    if (f->big_endian) {
        cur_init(&c, f->map, (size_t)f->size);
        if (!cur_u32be(&c, &magic) || !magic_known(magic))
            return false;
    }
    f->nsec = magic == MAGIC_NSEC;
    if (!read_u16(&c, f->big_endian, &major) || !read_u16(&c, f->big_endian, &minor) ||
        !read_u32(&c, f->big_endian, &zone) || !read_u32(&c, f->big_endian, &sigfigs) ||
        !read_u32(&c, f->big_endian, &snaplen) || !read_u32(&c, f->big_endian, &linktype))
        return false;
    /* 2.4 only: earlier versions may have caplen and len swapped. The
     * reserved bits must be clear (libpcap: "bogus savefile header"). */
    if (major != 2 || minor != 4 || (linktype & 0x03FF0000u) != 0)
        return false;
    uint32_t lt = linktype & 0xFFFFu;
    f->dlt = lt == LINKTYPE_RAW ? DLT_RAW_LINUX : (int)lt;
    if (!decode_linktype_supported(f->dlt))
        return false;
    f->snapshot = snaplen == 0 || snaplen > MAX_SNAPLEN ? MAX_SNAPLEN : snaplen;
    f->pos = FILE_HDR_LEN;
    return true;
}

static const uint8_t *map_file(const char *path, uint64_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    void *m = MAP_FAILED;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= FILE_HDR_LEN &&
        (uint64_t)st.st_size <= SIZE_MAX) {
        *size = (uint64_t)st.st_size;
        m = mmap(NULL, (size_t)*size, PROT_READ, MAP_PRIVATE, fd, 0);
    }
    close(fd); /* the mapping keeps the file */
    if (m == MAP_FAILED)
        return NULL;
    (void)madvise(m, (size_t)*size, MADV_SEQUENTIAL);
    return m;
}

pcap_file_open_t pcap_file_open(const char *path, pcap_file_t **out)
{
    *out = NULL;
    pcap_file_t *f = calloc(1, sizeof *f);
    if (!f)
        return PCAP_FILE_DECLINED;
    f->map = map_file(path, &f->size);
    if (!f->map || !parse_header(f)) {
        pcap_file_close(&f);
        return PCAP_FILE_DECLINED;
    }
    long page = sysconf(_SC_PAGESIZE);
    f->page = page > 0 ? (uint64_t)page : 4096;
    *out = f;
    return PCAP_FILE_OPENED;
}

void pcap_file_close(pcap_file_t **pf)
{
    if (!pf || !*pf)
        return;
    if ((*pf)->map)
        munmap((void *)(*pf)->map, (size_t)(*pf)->size);
    free(*pf);
    *pf = NULL;
}

int pcap_file_dlt(const pcap_file_t *f)
{
    return f->dlt;
}

/* Pages before the current record will not be read again: unmapping them
 * keeps them out of the resident set (the page cache keeps the file). */
static void drop_behind(pcap_file_t *f)
{
    uint64_t upto = f->pos / f->page * f->page;
    if (upto - f->dropped < DROP_STEP)
        return;
    (void)madvise((void *)(f->map + f->dropped), (size_t)(upto - f->dropped), MADV_DONTNEED);
    f->dropped = upto;
}

/* The file ends inside a record: libpcap's words for it. */
static pcap_file_result_t truncated(pcap_file_t *f, char *err, size_t errlen, bool header,
                                    uint32_t want, uint64_t got)
{
    if (header)
        snprintf(err, errlen, "truncated dump file; tried to read %u header bytes, only got %zu",
                 want, (size_t)got);
    else
        snprintf(err, errlen,
                 "truncated dump file; tried to read %u captured bytes, only got %zu", want,
                 (size_t)got);
    f->pos = f->size;
    return PCAP_FILE_ERROR;
}

/* libpcap's checks of one record's length (sf-pcap.c pcap_next_packet):
 * above the maximum is damage; above the file's snapshot length the record
 * is cut to it; either way the bytes must be in the file. */
static pcap_file_result_t check_caplen(pcap_file_t *f, uint32_t *caplen, uint64_t *skip,
                                       char *err, size_t errlen)
{
    uint64_t avail = f->size - f->pos - REC_HDR_LEN;
    if (*caplen > MAX_SNAPLEN) { /* the snapshot is never above it */
        snprintf(err, errlen, "invalid packet capture length %u, bigger than snaplen of %d",
                 *caplen, (int)f->snapshot);
        f->pos = f->size;
        return PCAP_FILE_ERROR;
    }
    if (*caplen > f->snapshot) {
        if (avail < f->snapshot)
            return truncated(f, err, errlen, false, f->snapshot, avail);
        if (avail < *caplen)
            return truncated(f, err, errlen, false, *caplen, avail);
        *skip = *caplen;
        *caplen = f->snapshot;
        return PCAP_FILE_PACKET;
    }
    if (avail < *caplen)
        return truncated(f, err, errlen, false, *caplen, avail);
    *skip = *caplen;
    return PCAP_FILE_PACKET;
}

static void prefetch_ahead(pcap_file_t *f)
{
    uint64_t end = f->pos + PREFETCH_AHEAD < f->size ? f->pos + PREFETCH_AHEAD : f->size;
    if (f->fetched < f->pos)
        f->fetched = f->pos;
    for (; f->fetched < end; f->fetched += CACHE_LINE)
        __builtin_prefetch(f->map + f->fetched);
}

pcap_file_result_t pcap_file_next(pcap_file_t *f, pcap_file_pkt_t *pkt, char *err,
                                  size_t errlen)
{
    drop_behind(f);
    prefetch_ahead(f);
    uint64_t left = f->size - f->pos;
    if (left == 0)
        return PCAP_FILE_END;
    if (left < REC_HDR_LEN)
        return truncated(f, err, errlen, true, REC_HDR_LEN, left);
    cur_t c;
    uint32_t sec, frac, caplen, wirelen;
    cur_init(&c, f->map + f->pos, REC_HDR_LEN);
    (void)read_u32(&c, f->big_endian, &sec);
    (void)read_u32(&c, f->big_endian, &frac);
    (void)read_u32(&c, f->big_endian, &caplen);
    (void)read_u32(&c, f->big_endian, &wirelen);
    uint64_t skip = 0;
    pcap_file_result_t r = check_caplen(f, &caplen, &skip, err, errlen);
    if (r != PCAP_FILE_PACKET)
        return r;
    /* struct pcap_timeval holds signed 32-bit fields */
    int32_t usec = f->nsec ? (int32_t)frac / 1000 : (int32_t)frac;
    pkt->data = f->map + f->pos + REC_HDR_LEN;
    pkt->caplen = caplen;
    pkt->wirelen = wirelen;
    pkt->ts = (usec_t)(int32_t)sec * USEC_PER_SEC + usec;
    f->pos += REC_HDR_LEN + skip;
    return PCAP_FILE_PACKET;
}
