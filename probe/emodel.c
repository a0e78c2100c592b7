#include "emodel.h"

#include <stddef.h>

#define DEFAULT_ONE_WAY_MS 40.0 /* when RTCP gave no round trip */

/* Ie/Bpl from ITU-T G.113 Appendix I (narrowband scale) where listed; SILK
 * and Opus get G.722-like wideband-on-narrowband-scale figures. */
static const emodel_codec_t codecs[] = {
    {0.0, 25.1, 20.0, 0.0, "G.711"},    {11.0, 19.0, 20.0, 5.0, "G.729"},
    {15.0, 16.1, 30.0, 7.5, "G.723.1"}, {0.0, 13.0, 20.0, 2.0, "G.722"},
    {0.0, 20.0, 20.0, 5.0, "SILK"},     {0.0, 20.0, 20.0, 5.0, "Opus"},
    {10.0, 15.0, 20.0, 5.0, "generic"},
};

const emodel_codec_t *emodel_codec_for(uint8_t pt, uint32_t clock_rate, bool teams)
{
    if (pt == 0 || pt == 8)
        return &codecs[0];
    if (pt == 18)
        return &codecs[1];
    if (pt == 4)
        return &codecs[2];
    if (pt == 9)
        return &codecs[3];
    if (teams && (pt == 104 || pt == 103))
        return &codecs[4];
    if (clock_rate == 48000)
        return &codecs[5];
    return &codecs[6];
}

double emodel_r_to_mos(double r)
{
    if (r <= 0)
        return 1.0;
    if (r >= 100)
        return 4.5;
    double m = 1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r);
    return m < 1.0 ? 1.0 : m; /* the G.107 curve dips below 1 for R < 6.5 */
}

void emodel_score(const emodel_codec_t *c, double loss_pct, double burst_ratio, double jitter_ms,
                  double one_way_ms, emodel_result_t *out)
{
    double jb = 2.0 * jitter_ms;
    if (jb < c->frame_ms)
        jb = c->frame_ms;
    double net = one_way_ms >= 0 ? one_way_ms : DEFAULT_ONE_WAY_MS;
    double ta = net + jb + c->frame_ms + c->lookahead_ms;
    double id = 0.024 * ta + (ta > 177.3 ? 0.11 * (ta - 177.3) : 0.0);
    if (burst_ratio < 1.0)
        burst_ratio = 1.0;
    double ppl = loss_pct < 0 ? 0 : loss_pct;
    double ie_eff = c->ie + (95.0 - c->ie) * ppl / (ppl / burst_ratio + c->bpl);
    double r = 93.2 - id - ie_eff;
    out->r = r < 0 ? 0 : r;
    out->mos = emodel_r_to_mos(r);
    out->delay_ms = ta;
    out->ie_eff = ie_eff;
    out->id = id;
}
