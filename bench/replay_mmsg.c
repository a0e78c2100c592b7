/* replay_mmsg - a capture replayer faster than tcpreplay, for bench_live_mmsg.sh.
 *
 *   replay_mmsg IFACE FILE.pcap PPS SECONDS
 *
 * Loads a classic Ethernet pcap into one buffer, then sends it in a loop on
 * IFACE through one AF_PACKET socket with sendmmsg() (batches of 256,
 * PACKET_QDISC_BYPASS) at PPS packets per second (0: as fast as it can)
 * for SECONDS. Each loop shifts every RTP stream's sequence numbers and
 * timestamps by the stream's span in the file, so the probe sees one long
 * clean stream per SSRC, not duplicates (UDP checksums are zeroed, as IPv4
 * allows). Prints what it sent and its own CPU time per packet (the send
 * phase only). Bench tool: trusts its own input file.
 *
 * Tried and left out, measured on a veth with nobody capturing (2-core VM):
 * - 1024 frames per sendmmsg(): 0.66 us of sender CPU per packet, as 256;
 *   the time is the kernel's per-packet path (socket buffer, copy, veth,
 *   the receive side run in the sender's own softirq), not the calls.
 * - a PACKET_MMAP TX ring (TPACKET_V2): 1.18 us/packet against 0.55. The
 *   kernel hangs the ring's pages on the socket buffer instead of copying,
 *   and the veth must then copy them anyway (skb_copy_ubufs, into freshly
 *   cleared pages): a ring pays on NICs, not on a veth. (A second run of
 *   that version stalled after one pass of the ring; not pursued.)
 * - two sending threads, each its own socket and half the streams: 1.10
 *   us/packet (both queue on the veth's one transmit queue).
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MMSG_BATCH 256
#define MAX_FRAME 2048
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

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
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

/* The whole file in one buffer (one read, no allocation per frame). */
static frame_t *load(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    if (!fp || fseek(fp, 0, SEEK_END) != 0) {
        perror(path);
        exit(1);
    }
    long size = ftell(fp);
    rewind(fp);
    uint8_t *buf = size > 24 ? malloc((size_t)size) : NULL;
    if (!buf || fread(buf, 1, (size_t)size, fp) != (size_t)size || be32(buf) != 0xd4c3b2a1 ||
        buf[20] != 1) {
        fprintf(stderr, "replay_mmsg: %s: not a little-endian Ethernet pcap\n", path);
        exit(1);
    }
    fclose(fp);
    size_t cap = 1 << 16, off = 24;
    frame_t *fr = malloc(cap * sizeof *fr);
    *n = 0;
    while (fr && off + 16 <= (size_t)size) {
        uint32_t incl = le32(buf + off + 8);
        if (incl > MAX_FRAME || off + 16 + incl > (size_t)size)
            break;
        if (*n == cap)
            fr = realloc(fr, (cap *= 2) * sizeof *fr);
        frame_t *f = &fr[*n];
        f->data = buf + off + 16;
        f->len = incl;
        off += 16 + incl;
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

typedef struct {
    frame_t *fr;
    size_t n, i;
    uint32_t loop;
} cursor_t;

static frame_t *next_frame(cursor_t *c)
{
    if (c->i == c->n) {
        c->i = 0;
        c->loop++;
    }
    frame_t *f = &c->fr[c->i++];
    shift(f, c->loop);
    return f;
}

static void pace(double t0, double pps, uint64_t done)
{
    if (pps <= 0)
        return;
    double due = t0 + (double)done / pps; /* the next batch is due at done/pps */
    while (now_s() < due)
        ;
}

static void send_mmsg(int fd, cursor_t *c, double pps, double t0, double end, uint64_t *sent,
                      uint64_t *failed)
{
    struct mmsghdr msg[MMSG_BATCH];
    struct iovec iov[MMSG_BATCH];
    memset(msg, 0, sizeof msg);
    while (now_s() < end) {
        for (int b = 0; b < MMSG_BATCH; b++) {
            frame_t *f = next_frame(c);
            iov[b] = (struct iovec){f->data, f->len};
            msg[b].msg_hdr.msg_iov = &iov[b];
            msg[b].msg_hdr.msg_iovlen = 1;
        }
        int r = sendmmsg(fd, msg, MMSG_BATCH, 0);
        *sent += r < 0 ? 0 : (uint64_t)r;
        *failed += r < 0 ? MMSG_BATCH : (uint64_t)(MMSG_BATCH - r);
        pace(t0, pps, *sent + *failed);
    }
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: replay_mmsg IFACE FILE.pcap PPS SECONDS\n");
        return 2;
    }
    cursor_t c = {0};
    c.fr = load(argv[2], &c.n);
    double pps = atof(argv[3]), secs = atof(argv[4]);
    int fd = socket(AF_PACKET, SOCK_RAW, 0);
    struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = (int)if_nametoindex(argv[1])};
    int one = 1;
    if (fd < 0 || sll.sll_ifindex == 0 || bind(fd, (struct sockaddr *)&sll, sizeof sll) != 0) {
        perror("replay_mmsg: AF_PACKET socket on the interface");
        return 1;
    }
    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
    if (!c.n)
        return 1;
    uint64_t sent = 0, failed = 0;
    double cpu0 = cpu_s(), t0 = now_s();
    send_mmsg(fd, &c, pps, t0, t0 + secs, &sent, &failed);
    double t = now_s() - t0, cpu = cpu_s() - cpu0;
    printf("sent %llu packets in %.2f s: %.0f pps (%llu not sent, %u loops of %zu; sender cpu "
           "%.2f s, %.2f us/packet)\n",
           (unsigned long long)sent, t, (double)sent / t, (unsigned long long)failed, c.loop, c.n,
           cpu, sent ? cpu * 1e6 / (double)sent : 0.0);
    return 0;
}
