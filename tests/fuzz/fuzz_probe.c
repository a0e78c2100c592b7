/* fuzz_probe - the whole pipeline: probe_feed() on a sequence of frames, so
 * flows, classification (nDPI), TCP framing, RTP streams, sequence and
 * jitter state, interval records, expiry and eviction all run; then
 * probe_finish() and probe_free().
 *
 * Input: byte 0 picks the link type (fuzz_dlt.c), then records
 * (fuzz_input.h), one per frame. A record's tag is the time since the
 * previous frame in units of 100 us, signed (a capture may go back in
 * time). Flags: bit 0, the frame was cut by the snap length (wirelen =
 * caplen + 1000); bit 1, let time pass (probe_feed_idle) before the frame.
 *
 * The probe writes no output (json_path NULL, no table); records are still
 * built. A small flow table (16) and short timeouts and interval (2 s UDP,
 * 4 s TCP, 1 s) make eviction, expiry and interval records reachable.
 *
 * Modes, by the environment variable CALLSCOPE_FUZZ_PROBE:
 *   fresh (default)  a new probe per input: nothing carries over from one
 *                    input to the next; slow (nDPI's set-up is ~12 ms).
 *   persistent       one probe for the whole run, made in
 *                    LLVMFuzzerInitialize(). After each input time jumps
 *                    60 s, so every flow expires and is reported; each
 *                    input's clock starts 10 min after the last. What does
 *                    carry over: nDPI's caches, the classifier's cache of
 *                    Teams client endpoints, the client table and counters,
 *                    as on a long-running probe. A crash found this way
 *                    that does not replay alone in fresh mode needs the
 *                    inputs before it (libFuzzer's -runs on the corpus).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_dlt.h"
#include "fuzz_input.h"
#include "log.h"
#include "options.h"
#include "probe.h"

#define BASE_US 1768471200000000LL /* 2026-01-15 10:00:00 UTC, as pcaps/ */
#define TAG_UNIT_US 100
#define FLAG_SNAPPED 0x1
#define FLAG_IDLE 0x2
#define SETTLE_US (60LL * 1000000) /* > every timeout: all flows end */
#define NEXT_INPUT_US (600LL * 1000000)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static probe_t *g_shared;   /* persistent mode only */
static int64_t g_next_base; /* persistent mode: where the next input's clock starts */

static probe_t *make_probe(void)
{
    probe_cfg_t cfg;
    char err[512];
    options_defaults(&cfg);
    static char ranges[4096]; /* the harness's one probe outlives this call */
    cfg.ranges_file = options_default_ranges(ranges, sizeof ranges);
    cfg.max_flows = 16;
    cfg.udp_timeout_s = 2;
    cfg.tcp_timeout_s = 4;
    cfg.interval_s = 1;
    probe_t *p = probe_new(&cfg, err, sizeof err);
    if (!p) {
        fprintf(stderr, "fuzz_probe: %s\n", err);
        abort();
    }
    return p;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_init("fuzz_probe", LOG_LVL_ERROR);
    const char *mode = getenv("CALLSCOPE_FUZZ_PROBE");
    if (mode && strcmp(mode, "persistent") == 0) {
        g_shared = make_probe();
        g_next_base = BASE_US;
    }
    return 0;
}

/* Feeds the input's frames with its clock starting at base; returns the
 * latest time fed. */
static int64_t feed_input(probe_t *p, int64_t base, const uint8_t *data, size_t size)
{
    cur_t c;
    uint8_t b;
    cur_init(&c, data, size);
    if (!cur_u8(&c, &b))
        return base;
    int dlt = fuzz_dlt_pick(b);
    int64_t ts = base, latest = base;
    uint64_t fed = 0, before = probe_counters(p)->packets;
    fuzz_rec_t r;
    while (fuzz_input_next(&c, &r)) {
        ts += (int64_t)r.tag * TAG_UNIT_US;
        if (r.flags & FLAG_IDLE)
            probe_feed_idle(p, ts);
        uint32_t caplen = (uint32_t)r.len;
        uint32_t wirelen = (r.flags & FLAG_SNAPPED) ? caplen + 1000 : caplen;
        probe_feed(p, dlt, r.data, caplen, wirelen, ts);
        fed++;
        if (ts > latest)
            latest = ts;
    }
    fuzz_input_check(probe_counters(p)->packets - before == fed, "every frame counted");
    return latest;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (g_shared) {
        int64_t latest = feed_input(g_shared, g_next_base, data, size);
        probe_feed_idle(g_shared, latest + SETTLE_US);
        g_next_base = latest + NEXT_INPUT_US;
        return 0;
    }
    probe_t *p = make_probe();
    (void)feed_input(p, BASE_US, data, size);
    probe_finish(p);
    probe_free(&p);
    fuzz_input_check(p == NULL, "probe_free clears the pointer");
    return 0;
}
