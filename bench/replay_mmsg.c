/* replay_mmsg - a capture replayer faster than tcpreplay, for bench_live_mmsg.sh.
 *
 *   replay_mmsg IFACE FILE.pcap PPS SECONDS
 *
 * Loads a classic Ethernet pcap into memory, then sends it in a loop on
 * IFACE through one AF_PACKET socket with sendmmsg() (batches of 256,
 * PACKET_QDISC_BYPASS) at PPS packets per second (0: as fast as it can)
 * for SECONDS. Each loop shifts every RTP stream's sequence numbers and
 * timestamps by the stream's span in the file, so the probe sees one long
 * clean stream per SSRC, not duplicates (UDP checksums are zeroed, as IPv4
 * allows). Prints what it sent. Bench tool: trusts its own input file.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 256
#define MAX_STREAMS 65536

typedef struct {
    uint8_t *data;
    uint32_t len;
    int32_t stream; /* index into streams, -1: not RTP */
    uint16_t seq0;
    uint32_t ts0;
} frame_t;

typedef struct {
    uint32_t ssrc;
    uint16_t seq_first, seq_last;
    uint32_t ts_first, ts_last, ts_prev;
    int used;
} stream_t;

static stream_t streams[MAX_STREAMS];

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The RTP header inside an Ethernet/IPv4/UDP frame, or NULL. */
static uint8_t *rtp_of(uint8_t *f, uint32_t len)
{
    if (len < 14 + 20 + 8 + 12 || be16(f + 12) != 0x0800 || f[14 + 9] != 17)
        return NULL;
    uint32_t ihl = (uint32_t)(f[14] & 0x0f) * 4;
    if (ihl < 20 || len < 14 + ihl + 8 + 12)
        return NULL;
    uint8_t *udp = f + 14 + ihl, *rtp = udp + 8;
    if ((rtp[0] >> 6) != 2 || (rtp[1] & 0x7f) >= 72) /* not RTP, or RTCP */
        return NULL;
    udp[6] = udp[7] = 0; /* checksum: none */
    return rtp;
}

static int32_t stream_of(uint32_t ssrc)
{
    uint32_t h = (ssrc * 2654435761u) % MAX_STREAMS;
    for (uint32_t i = 0; i < MAX_STREAMS; i++, h = (h + 1) % MAX_STREAMS) {
        if (!streams[h].used) {
            streams[h].used = 1;
            streams[h].ssrc = ssrc;
            return (int32_t)h;
        }
        if (streams[h].ssrc == ssrc)
            return (int32_t)h;
    }
    return -1;
}

static frame_t *load(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    uint8_t gh[24], rh[16];
    if (!fp || fread(gh, 1, 24, fp) != 24 || be32(gh) != 0xd4c3b2a1 || gh[20] != 1) {
        fprintf(stderr, "replay_mmsg: %s: not a little-endian Ethernet pcap\n", path);
        exit(1);
    }
    size_t cap = 1 << 16;
    frame_t *fr = malloc(cap * sizeof *fr);
    *n = 0;
    while (fr && fread(rh, 1, 16, fp) == 16) {
        uint32_t incl = (uint32_t)rh[8] | (uint32_t)rh[9] << 8 | (uint32_t)rh[10] << 16 |
                        (uint32_t)rh[11] << 24;
        if (incl > 65535)
            break;
        if (*n == cap)
            fr = realloc(fr, (cap *= 2) * sizeof *fr);
        frame_t *f = &fr[*n];
        f->data = malloc(incl);
        f->len = incl;
        if (!f->data || fread(f->data, 1, incl, fp) != incl)
            break;
        uint8_t *rtp = rtp_of(f->data, incl);
        f->stream = rtp ? stream_of(be32(rtp + 8)) : -1;
        if (f->stream >= 0) {
            stream_t *s = &streams[f->stream];
            f->seq0 = be16(rtp + 2);
            f->ts0 = be32(rtp + 4);
            if (s->used == 1) {
                s->seq_first = f->seq0;
                s->ts_first = s->ts_prev = s->ts_last = f->ts0;
                s->used = 2;
            }
            s->seq_last = f->seq0;
            if (f->ts0 != s->ts_last) {
                s->ts_prev = s->ts_last;
                s->ts_last = f->ts0;
            }
        }
        (*n)++;
    }
    fclose(fp);
    return fr;
}

/* Loop k of frame f: its RTP header moved on by k spans of its stream. */
static void shift(frame_t *f, uint32_t k)
{
    if (f->stream < 0)
        return;
    const stream_t *s = &streams[f->stream];
    uint16_t seq_span = (uint16_t)(s->seq_last - s->seq_first + 1);
    uint32_t ts_span = s->ts_last - s->ts_first + (s->ts_last - s->ts_prev);
    uint8_t *rtp = rtp_of(f->data, f->len);
    uint16_t seq = (uint16_t)(f->seq0 + k * seq_span);
    uint32_t ts = f->ts0 + k * ts_span;
    rtp[2] = (uint8_t)(seq >> 8);
    rtp[3] = (uint8_t)seq;
    rtp[4] = (uint8_t)(ts >> 24);
    rtp[5] = (uint8_t)(ts >> 16);
    rtp[6] = (uint8_t)(ts >> 8);
    rtp[7] = (uint8_t)ts;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: replay_mmsg IFACE FILE.pcap PPS SECONDS\n");
        return 2;
    }
    size_t n;
    frame_t *fr = load(argv[2], &n);
    double pps = atof(argv[3]), secs = atof(argv[4]);
    int fd = socket(AF_PACKET, SOCK_RAW, 0);
    struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = (int)if_nametoindex(argv[1])};
    int one = 1;
    if (fd < 0 || sll.sll_ifindex == 0 || bind(fd, (struct sockaddr *)&sll, sizeof sll) != 0) {
        perror("replay_mmsg: AF_PACKET socket on the interface");
        return 1;
    }
    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
    struct mmsghdr msg[BATCH];
    struct iovec iov[BATCH];
    memset(msg, 0, sizeof msg);
    uint64_t sent = 0, failed = 0;
    double t0 = now_s(), end = t0 + secs;
    size_t i = 0;
    uint32_t loop = 0;
    while (n && now_s() < end) {
        int b = 0;
        for (; b < BATCH; b++, i++) {
            if (i == n) {
                i = 0;
                loop++;
            }
            shift(&fr[i], loop);
            iov[b] = (struct iovec){fr[i].data, fr[i].len};
            msg[b].msg_hdr.msg_iov = &iov[b];
            msg[b].msg_hdr.msg_iovlen = 1;
        }
        int r = sendmmsg(fd, msg, (unsigned)b, 0);
        if (r < 0)
            failed += (uint64_t)b;
        else {
            sent += (uint64_t)r;
            failed += (uint64_t)(b - r);
        }
        if (pps > 0) { /* pace: the next batch is due at sent/pps */
            double due = t0 + (double)(sent + failed) / pps;
            while (now_s() < due)
                ;
        }
    }
    double t = now_s() - t0;
    printf("sent %llu packets in %.2f s: %.0f pps (%llu not sent, %u loops of %zu)\n",
           (unsigned long long)sent, t, (double)sent / t, (unsigned long long)failed, loop, n);
    return 0;
}
