/* test_memory_figures.c - the per-stream and per-flow memory figures the
 * docs give are the structures' sizes in this build: a stream (sizeof
 * rtp_stream_t) and a flow (sizeof flow_t) as docs/metrics.md,
 * docs/transport.md and probe/rtp_stream.h state them, and the sample
 * buffer's largest size (RTP_PENDING_MAX samples) as "2.5 KB". The docs
 * said 720 bytes per stream after the interval figures made it 824. */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "flow.h"
#include "rtp_stream.h"

static char *slurp(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", SOURCE_DIR, rel);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return NULL;
    }
    char *buf = calloc(1, 1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = 0;
    return buf;
}

/* Text with its line breaks (and comment stars) as plain spaces, so a
 * figure split over two lines still reads as "824 bytes". */
static void flatten(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (*r == '\n' || *r == '*' || *r == '\t')
            *r = ' ';
        if (*r == ' ' && w > s && w[-1] == ' ')
            continue;
        *w++ = *r;
    }
    *w = 0;
}

/* The file holds WANT, line breaks aside. */
static int says_text(const char *rel, const char *want)
{
    char *text = slurp(rel);
    if (!text)
        return 0;
    flatten(text);
    int found = strstr(text, want) != NULL;
    if (!found)
        fprintf(stderr, "%s does not say \"%s\"\n", rel, want);
    free(text);
    return found;
}

/* The file gives FIGURE between BEFORE and AFTER. */
static int says(const char *rel, const char *before, size_t figure, const char *after)
{
    char want[128];
    snprintf(want, sizeof want, "%s%zu%s", before, figure, after);
    return says_text(rel, want);
}

static void test_stream_figure(void)
{
    size_t stream = sizeof(rtp_stream_t);
    printf("sizeof(rtp_stream_t) = %zu bytes\n", stream);
    CHECK(says("docs/metrics.md", "`sizeof(rtp_stream_t)` is ", stream, " bytes"));
    CHECK(says("docs/transport.md", "streams: ", stream, " bytes each plus a sample buffer"));
    CHECK(says("probe/rtp_stream.h", "sizeof(rtp_stream_t) (", stream, " bytes"));
}

static void test_flow_figure(void)
{
    size_t flow = sizeof(flow_t);
    printf("sizeof(flow_t) = %zu bytes\n", flow);
    CHECK(says("docs/metrics.md", "`sizeof(flow_t)` is ", flow, " bytes"));
    CHECK(says("docs/transport.md", "262,144 flows, ", flow, " bytes each"));
}

static void test_sample_buffer(void)
{
    /* the largest sample buffer, "2.5 KB" in the docs and --help */
    size_t most = RTP_PENDING_MAX * sizeof *((rtp_stream_t *)NULL)->pending;
    printf("largest sample buffer = %zu bytes\n", most);
    CHECK_EQ_UINT(most, 2560);
    CHECK(says("docs/metrics.md", "then 64 samples of ", sizeof(rtp_sample_t),
               " bytes (at most 2.5 KB"));
    CHECK(says("docs/transport.md", "then 64 samples of ", sizeof(rtp_sample_t), " bytes"));
}

int main(void)
{
    RUN(test_stream_figure);
    RUN(test_flow_figure);
    RUN(test_sample_buffer);
    return check_finish("memory_figures");
}
