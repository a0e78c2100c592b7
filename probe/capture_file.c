#include "capture_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
/* Holds the largest record; small enough to stay in a core's L2 cache. */
#define BUF_SIZE ((size_t)512 << 10)

struct pcap_file {
    int fd;
    uint8_t *buf;     /* BUF_SIZE bytes */
    size_t head, len; /* next record at buf[head]; buf[0, len) is read */
    bool eof;         /* read() found the end, or failed */
    int read_errno;   /* why it failed, 0 if it did not */
    bool done;        /* a damaged record was reported */
    bool big_endian;
    bool nsec;
    int dlt;
    uint32_t snapshot;
    uint64_t read_bytes; /* read() so far (the file header included) */
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
static bool parse_header(capture_file_t *f)
{
    cur_t c;
    uint32_t magic, zone, sigfigs, snaplen, linktype;
    uint16_t major, minor;
    cur_init(&c, f->buf, f->len);
    if (!cur_u32le(&c, &magic))
        return false;
    f->big_endian = !magic_known(magic);
    if (f->big_endian) {
        cur_init(&c, f->buf, f->len);
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
    f->head = FILE_HDR_LEN;
    return true;
}

/* Makes at least need bytes from buf[head] on readable, unless the file
 * ends first; returns how many there are. Reads as much as fits, so a
 * read() moves about BUF_SIZE bytes. */
static size_t fill(capture_file_t *f, size_t need)
{
    if (f->len - f->head >= need || f->eof)
        return f->len - f->head;
    memmove(f->buf, f->buf + f->head, f->len - f->head);
    f->len -= f->head;
    f->head = 0;
    while (f->len < need && !f->eof) {
        ssize_t r = read(f->fd, f->buf + f->len, BUF_SIZE - f->len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            f->eof = true;
            f->read_errno = r < 0 ? errno : 0;
            break;
        }
        f->len += (size_t)r;
        f->read_bytes += (uint64_t)r;
    }
    return f->len - f->head;
}

/* Only regular files: a pipe could not be handed to libpcap afterwards. */
static bool open_regular(capture_file_t *f, const char *path)
{
    struct stat st;
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0 || fstat(f->fd, &st) != 0 || !S_ISREG(st.st_mode))
        return false;
    (void)posix_fadvise(f->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    f->buf = malloc(BUF_SIZE);
    return f->buf != NULL;
}

capture_file_open_t capture_file_open(const char *path, capture_file_t **out)
{
    *out = NULL;
    capture_file_t *f = calloc(1, sizeof *f);
    if (!f)
        return CAPTURE_FILE_DECLINED;
    f->fd = -1;
    if (!open_regular(f, path) || fill(f, FILE_HDR_LEN) < FILE_HDR_LEN || !parse_header(f)) {
        capture_file_close(&f);
        return CAPTURE_FILE_DECLINED;
    }
    *out = f;
    return CAPTURE_FILE_OPENED;
}

void capture_file_close(capture_file_t **pf)
{
    if (!pf || !*pf)
        return;
    if ((*pf)->fd >= 0)
        close((*pf)->fd);
    free((*pf)->buf);
    free(*pf);
    *pf = NULL;
}

int capture_file_dlt(const capture_file_t *f)
{
    return f->dlt;
}

/* The file ends inside a record, or cannot be read: libpcap's words. */
static capture_file_result_t short_read(capture_file_t *f, char *err, size_t errlen, bool header,
                                        uint32_t want, size_t got)
{
    if (f->read_errno)
        snprintf(err, errlen, "error reading dump file: %s", strerror(f->read_errno));
    else if (header)
        snprintf(err, errlen, "truncated dump file; tried to read %u header bytes, only got %zu",
                 want, got);
    else
        snprintf(err, errlen, "truncated dump file; tried to read %u captured bytes, only got %zu",
                 want, got);
    f->done = true;
    return CAPTURE_FILE_ERROR;
}

/* libpcap's checks of one record's length (sf-pcap.c pcap_next_packet):
 * above the maximum is damage; above the file's snapshot length the record
 * is cut to it; either way the bytes must be in the file. */
static capture_file_result_t check_caplen(capture_file_t *f, uint32_t *caplen, char *err,
                                          size_t errlen)
{
    if (*caplen > MAX_SNAPLEN) { /* the snapshot is never above it */
        snprintf(err, errlen, "invalid packet capture length %u, bigger than snaplen of %d",
                 *caplen, (int)f->snapshot);
        f->done = true;
        return CAPTURE_FILE_ERROR;
    }
    size_t avail = fill(f, REC_HDR_LEN + (size_t)*caplen) - REC_HDR_LEN;
    if (*caplen > f->snapshot && avail < f->snapshot)
        return short_read(f, err, errlen, false, f->snapshot, avail);
    if (avail < *caplen)
        return short_read(f, err, errlen, false, *caplen, avail);
    return CAPTURE_FILE_PACKET;
}

capture_file_result_t capture_file_next(capture_file_t *f, capture_file_pkt_t *pkt, char *err,
                                        size_t errlen)
{
    if (f->done)
        return CAPTURE_FILE_END;
    size_t left = fill(f, REC_HDR_LEN);
    if (left == 0 && !f->read_errno)
        return CAPTURE_FILE_END;
    if (left < REC_HDR_LEN)
        return short_read(f, err, errlen, true, REC_HDR_LEN, left);
    cur_t c;
    uint32_t sec, frac, caplen, wirelen;
    cur_init(&c, f->buf + f->head, REC_HDR_LEN);
    (void)read_u32(&c, f->big_endian, &sec);
    (void)read_u32(&c, f->big_endian, &frac);
    (void)read_u32(&c, f->big_endian, &caplen);
    (void)read_u32(&c, f->big_endian, &wirelen);
    capture_file_result_t r = check_caplen(f, &caplen, err, errlen);
    if (r != CAPTURE_FILE_PACKET)
        return r;
    /* struct pcap_timeval holds signed 32-bit fields */
    int32_t usec = f->nsec ? (int32_t)frac / 1000 : (int32_t)frac;
    pkt->data = f->buf + f->head + REC_HDR_LEN;
    pkt->caplen = caplen < f->snapshot ? caplen : f->snapshot; /* the rest is skipped */
    pkt->wirelen = wirelen;
    pkt->ts = (usec_t)(int32_t)sec * USEC_PER_SEC + usec;
    f->head += REC_HDR_LEN + caplen;
    return CAPTURE_FILE_PACKET;
}

uint64_t capture_file_offset(const capture_file_t *f)
{
    return f->read_bytes - (f->len - f->head);
}
