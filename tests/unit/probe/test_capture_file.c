/* test_capture_file.c - probe/capture_file.h: both byte orders, nanosecond
 * magic, records cut to the snapshot length, libpcap's error texts for
 * damaged files, and the files it leaves to libpcap. */
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "capture_file.h"

typedef struct {
    uint8_t b[512];
    size_t len;
    int big_endian;
} buf_t;

static void put32(buf_t *w, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        w->b[w->len++] = (uint8_t)(w->big_endian ? v >> (24 - 8 * i) : v >> (8 * i));
}

static void put16(buf_t *w, uint16_t v)
{
    for (int i = 0; i < 2; i++)
        w->b[w->len++] = (uint8_t)(w->big_endian ? v >> (8 - 8 * i) : v >> (8 * i));
}

/* File header: magic, version 2.4, zone, sigfigs, snaplen, linktype. */
static void file_header(buf_t *w, uint32_t magic, uint16_t minor, uint32_t snaplen, uint32_t lt)
{
    put32(w, magic);
    put16(w, 2);
    put16(w, minor);
    put32(w, 0);
    put32(w, 0);
    put32(w, snaplen);
    put32(w, lt);
}

/* Record: seconds, fraction, caplen, wire length, then n bytes of data. */
static void record(buf_t *w, uint32_t sec, uint32_t frac, uint32_t caplen, uint32_t wirelen,
                   size_t n)
{
    put32(w, sec);
    put32(w, frac);
    put32(w, caplen);
    put32(w, wirelen);
    for (size_t i = 0; i < n; i++)
        w->b[w->len++] = (uint8_t)i;
}

static char path[64];

static capture_file_open_t open_bytes(const buf_t *w, capture_file_t **f)
{
    snprintf(path, sizeof path, "/tmp/unit_pcap_file_XXXXXX");
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK_EQ_INT(write(fd, w->b, w->len), (long long)w->len);
    close(fd);
    capture_file_open_t r = capture_file_open(path, f);
    unlink(path); /* the mapping keeps it */
    return r;
}

/* The next record must be a packet with these figures. */
static void expect_packet(capture_file_t *f, long long ts, uint32_t caplen, uint32_t wirelen)
{
    capture_file_pkt_t p;
    char err[256];
    CHECK_EQ_INT(capture_file_next(f, &p, err, sizeof err), CAPTURE_FILE_PACKET);
    CHECK_EQ_INT(p.ts, ts);
    CHECK_EQ_UINT(p.caplen, caplen);
    CHECK_EQ_UINT(p.wirelen, wirelen);
    for (uint32_t i = 0; i < caplen; i++)
        CHECK_EQ_UINT(p.data[i], i);
}

static void expect_end(capture_file_t **f)
{
    capture_file_pkt_t p;
    char err[256];
    CHECK_EQ_INT(capture_file_next(*f, &p, err, sizeof err), CAPTURE_FILE_END);
    capture_file_close(f);
    CHECK(*f == NULL);
}

static void test_big_endian_nanoseconds(void)
{
    buf_t w = {.big_endian = 1};
    file_header(&w, 0xA1B23C4D, 4, 65535, 1);
    record(&w, 1700000000, 123456789, 20, 60, 20);
    record(&w, 0xFFFFFFFF, 999, 0, 0, 0); /* -1 s and 0.999 us: signed, truncated */
    capture_file_t *f;
    CHECK_EQ_INT(open_bytes(&w, &f), CAPTURE_FILE_OPENED);
    CHECK_EQ_INT(capture_file_dlt(f), 1);
    expect_packet(f, 1700000000LL * 1000000 + 123456, 20, 60);
    expect_packet(f, -1000000, 0, 0);
    expect_end(&f);
}

static void test_cut_to_snapshot(void)
{
    buf_t w = {0};
    file_header(&w, 0xA1B2C3D4, 4, 8, 101); /* LINKTYPE_RAW reads as DLT_RAW */
    record(&w, 1, 2, 12, 12, 12);           /* 4 bytes above the snapshot */
    record(&w, 3, 4, 5, 5, 5);
    capture_file_t *f;
    CHECK_EQ_INT(open_bytes(&w, &f), CAPTURE_FILE_OPENED);
    CHECK_EQ_INT(capture_file_dlt(f), 12);
    expect_packet(f, 1000002, 8, 12);
    expect_packet(f, 3000004, 5, 5);
    expect_end(&f);
}

/* One damaged file: the error text libpcap 1.10 gives, then the end. */
static void expect_damage(const buf_t *w, const char *want)
{
    capture_file_t *f;
    CHECK_EQ_INT(open_bytes(w, &f), CAPTURE_FILE_OPENED);
    capture_file_pkt_t p;
    char err[256] = "";
    CHECK_EQ_INT(capture_file_next(f, &p, err, sizeof err), CAPTURE_FILE_PACKET);
    CHECK_EQ_INT(capture_file_next(f, &p, err, sizeof err), CAPTURE_FILE_ERROR);
    if (strcmp(err, want) != 0)
        fprintf(stderr, "got '%s', want '%s'\n", err, want);
    CHECK(strcmp(err, want) == 0);
    expect_end(&f);
}

static void test_damage(void)
{
    buf_t w = {0};
    file_header(&w, 0xA1B2C3D4, 4, 0, 1); /* snaplen 0 means the maximum */
    record(&w, 1, 0, 4, 4, 4);
    buf_t cut_header = w;
    cut_header.len += 5;
    expect_damage(&cut_header, "truncated dump file; tried to read 16 header bytes, only got 5");
    buf_t cut_data = w;
    record(&cut_data, 2, 0, 10, 10, 3);
    expect_damage(&cut_data, "truncated dump file; tried to read 10 captured bytes, only got 3");
    buf_t huge = w;
    record(&huge, 2, 0, 0x7FFFFFF0, 10, 3);
    expect_damage(&huge, "invalid packet capture length 2147483632, bigger than snaplen of "
                         "262144");
    buf_t above_snap = {0};
    file_header(&above_snap, 0xA1B2C3D4, 4, 8, 1);
    record(&above_snap, 1, 0, 4, 4, 4);
    buf_t short_of_snap = above_snap;
    record(&short_of_snap, 2, 0, 100, 100, 6); /* cut to 8, but 6 are there */
    expect_damage(&short_of_snap,
                  "truncated dump file; tried to read 8 captured bytes, only got 6");
    record(&above_snap, 2, 0, 100, 100, 20); /* the 8 are there, the rest not */
    expect_damage(&above_snap,
                  "truncated dump file; tried to read 100 captured bytes, only got 20");
}

/* Opens a file that is only a header (len bytes of it). */
static capture_file_open_t open_header(uint32_t magic, uint16_t minor, uint32_t lt, size_t len)
{
    buf_t w = {0};
    capture_file_t *f;
    file_header(&w, magic, minor, 65535, lt);
    w.len = len;
    capture_file_open_t r = open_bytes(&w, &f);
    capture_file_close(&f);
    return r;
}

static void test_declined(void)
{
    capture_file_t *f = (capture_file_t *)&f;
    CHECK_EQ_INT(capture_file_open("/nonexistent/x.pcap", &f), CAPTURE_FILE_DECLINED);
    CHECK(f == NULL);
    CHECK_EQ_INT(open_header(0xA1B2C3D4, 4, 1, 24), CAPTURE_FILE_OPENED);
    /* 2.3: caplen and len may be swapped; libpcap sorts that out */
    CHECK_EQ_INT(open_header(0xA1B2C3D4, 3, 1, 24), CAPTURE_FILE_DECLINED);
    CHECK_EQ_INT(open_header(0xA1B2C3D4, 4, 147, 24), CAPTURE_FILE_DECLINED);        /* link type */
    CHECK_EQ_INT(open_header(0xA1B2C3D4, 4, 0x00010001, 24), CAPTURE_FILE_DECLINED); /* reserved */
    CHECK_EQ_INT(open_header(0x0A0D0D0A, 4, 1, 24), CAPTURE_FILE_DECLINED);          /* pcapng */
    CHECK_EQ_INT(open_header(0xA1B2C3D4, 4, 1, 20), CAPTURE_FILE_DECLINED);          /* short */
}

int main(void)
{
    test_big_endian_nanoseconds();
    test_cut_to_snapshot();
    test_damage();
    test_declined();
    return check_finish("pcap_file");
}
