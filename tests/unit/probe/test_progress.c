/* test_progress.c - probe/progress.h (the --progress line) and
 * capture_progress() (bytes read over the -r files, on real pcaps). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "capture.h"
#include "check.h"
#include "progress.h"

static void test_duration(void)
{
    char b[32];
    progress_duration(0.4, b, sizeof b);
    CHECK(strcmp(b, "0 s") == 0);
    progress_duration(59.6, b, sizeof b);
    CHECK(strcmp(b, "1 min 0 s") == 0);
    progress_duration(3725, b, sizeof b);
    CHECK(strcmp(b, "1 h 2 min") == 0);
}

static void test_files_line(void)
{
    /* a quarter read in 10 s: 30 s left at the same rate */
    progress_t p = {.elapsed_s = 10,
                    .since_s = 2,
                    .packets = 5000,
                    .packets_since = 1000,
                    .bytes_since = 250000,
                    .decoded = 4990,
                    .streams = 7,
                    .active_flows = 3,
                    .files = true,
                    .read_bytes = 300000000,
                    .total_bytes = 1200000000};
    char line[512];
    progress_format(&p, line, sizeof line);
    printf("%s\n", line);
    CHECK(strcmp(line,
                 "progress: 25.0 % of 1.20 GB read, about 30 s left; 5000 packets (500 "
                 "pkt/s, 1.0 Mbit/s), 4990 decoded, 3 active flows, 7 streams reported") == 0);
    p.read_bytes = p.total_bytes;
    progress_format(&p, line, sizeof line);
    CHECK(strstr(line, "progress: 100.0 % of 1.20 GB read, done; ") == line);
    p.read_bytes = 0;
    progress_format(&p, line, sizeof line);
    CHECK(strstr(line, "0.0 % of 1.20 GB read, time left unknown; ") != NULL);
}

static void test_idle_live_line(void)
{
    progress_t p = {.elapsed_s = 30, .since_s = 1, .packets = 12, .live = true};
    char line[512];
    progress_format(&p, line, sizeof line);
    printf("%s\n", line);
    CHECK(strcmp(line, "progress: 12 packets (0 pkt/s, 0.0 Mbit/s), 0 decoded, 0 active flows, 0 "
                       "streams reported, 0 kernel drops") == 0);
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Two real files, one read by the probe's own reader and one by libpcap
 * (a filter sends it there): bytes read grow with every packet, reach the
 * first file's size when the second begins, and the sum at the end. */
static void check_two_files(const char *bpf)
{
    const char *files[] = {PCAPS_DIR "/teams_audio_p2p_relay.pcap",
                           PCAPS_DIR "/impair_loss_burst.pcap", NULL};
    uint64_t s0 = file_size(files[0]), s1 = file_size(files[1]);
    CHECK(s0 > 0 && s1 > 0);
    capture_cfg_t cfg = {.files = files, .bpf = bpf};
    char err[256];
    capture_t *c = capture_open(&cfg, err, sizeof err);
    CHECK(c != NULL);
    if (!c)
        return;
    uint64_t done = 0, total = 0, prev = 0, packets = 0;
    bool monotonic = true, saw_boundary = false;
    capture_pkt_t pkt;
    CHECK(capture_progress(c, &done, &total));
    CHECK_EQ_UINT(total, s0 + s1);
    while (capture_next(c, &pkt, err, sizeof err) == CAPTURE_PACKET) {
        packets++;
        CHECK(capture_progress(c, &done, &total));
        monotonic &= done >= prev;
        if (!saw_boundary && done > s0) {
            saw_boundary = true;
            CHECK(prev <= s0);
        }
        prev = done;
    }
    CHECK(monotonic);
    CHECK(saw_boundary);
    CHECK(packets > 1000);
    CHECK(capture_progress(c, &done, &total));
    CHECK_EQ_UINT(done, s0 + s1);
    capture_close(&c);
}

static void test_two_files(void)
{
    check_two_files(NULL);  /* the probe's reader */
    check_two_files("udp"); /* libpcap */
}

static void test_no_size(void)
{
    const char *files[] = {"-", NULL};
    capture_cfg_t cfg = {.files = files};
    char err[256];
    FILE *in = freopen(PCAPS_DIR "/impair_loss_burst.pcap", "rb", stdin);
    CHECK(in != NULL);
    capture_t *c = capture_open(&cfg, err, sizeof err);
    CHECK(c != NULL);
    uint64_t done, total;
    CHECK(c && !capture_progress(c, &done, &total)); /* stdin has no size */
    capture_close(&c);
}

int main(void)
{
    RUN(test_duration);
    RUN(test_files_line);
    RUN(test_idle_live_line);
    RUN(test_two_files);
    RUN(test_no_size);
    return check_finish("unit_progress");
}
