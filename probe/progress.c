#include "progress.h"

#include <math.h>
#include <stdio.h>

void progress_duration(double s, char *buf, size_t len)
{
    long t = s < 0 ? 0 : (long)llround(s);
    if (t >= 3600)
        snprintf(buf, len, "%ld h %ld min", t / 3600, t % 3600 / 60);
    else if (t >= 60)
        snprintf(buf, len, "%ld min %ld s", t / 60, t % 60);
    else
        snprintf(buf, len, "%ld s", t);
}

static void size_text(uint64_t b, char *buf, size_t len)
{
    if (b >= 1000000000ull)
        snprintf(buf, len, "%.2f GB", b / 1e9);
    else if (b >= 1000000ull)
        snprintf(buf, len, "%.1f MB", b / 1e6);
    else
        snprintf(buf, len, "%.1f kB", b / 1e3);
}

void progress_format(const progress_t *p, char *buf, size_t len)
{
    size_t n = 0;
    int w = snprintf(buf, len, "progress: ");
    n = w > 0 && (size_t)w < len ? (size_t)w : len;
    if (p->files && n < len) {
        char sz[32], left[48];
        size_text(p->total_bytes, sz, sizeof sz);
        double frac = p->total_bytes ? (double)p->read_bytes / (double)p->total_bytes : 1.0;
        if (p->read_bytes >= p->total_bytes)
            snprintf(left, sizeof left, "done");
        else if (p->read_bytes > 0 && p->elapsed_s > 0) {
            char d[32];
            progress_duration(p->elapsed_s * (1.0 - frac) / frac, d, sizeof d);
            snprintf(left, sizeof left, "about %s left", d);
        } else
            snprintf(left, sizeof left, "time left unknown");
        w = snprintf(buf + n, len - n, "%.1f %% of %s read, %s; ", floor(frac * 1000) / 10, sz,
                     left);
        n += w > 0 && (size_t)w < len - n ? (size_t)w : len - n;
    }
    if (n >= len)
        return;
    double pps = p->since_s > 0 ? p->packets_since / p->since_s : 0.0;
    double mbps = p->since_s > 0 ? p->bytes_since * 8.0 / p->since_s / 1e6 : 0.0;
    w = snprintf(buf + n, len - n,
                 "%llu packets (%.0f pkt/s, %.1f Mbit/s), %llu decoded, %u active flows, %llu "
                 "streams reported",
                 (unsigned long long)p->packets, pps, mbps, (unsigned long long)p->decoded,
                 p->active_flows, (unsigned long long)p->streams);
    n += w > 0 && (size_t)w < len - n ? (size_t)w : len - n;
    if (p->live && n < len)
        snprintf(buf + n, len - n, ", %llu kernel drops", (unsigned long long)p->kernel_drops);
}
