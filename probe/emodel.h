/* emodel.h - ITU-T G.107 E-model, simplified, for an estimated MOS.
 *
 * R = R0 - Is - Id - Ie_eff + A with R0 - Is = 93.2 (G.107 defaults), A = 0,
 * Id from the one-way mouth-to-ear delay Ta (G.107 simplified form:
 * Id = 0.024 Ta + 0.11 (Ta - 177.3) H(Ta - 177.3)), and
 * Ie_eff = Ie + (95 - Ie) Ppl / (Ppl / BurstR + Bpl) (G.107 §7.7).
 * Ta = network delay + jitter buffer (2 x jitter, at least one frame) +
 * packetisation + codec look-ahead. docs/emodel.md gives every input.
 */
#ifndef CALLSCOPE_EMODEL_H
#define CALLSCOPE_EMODEL_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    double ie, bpl;  /* equipment impairment and packet-loss robustness */
    double frame_ms; /* packetisation */
    double lookahead_ms;
    const char *name;
} emodel_codec_t;

typedef struct {
    double r, mos, delay_ms, ie_eff, id;
} emodel_result_t;

const emodel_codec_t *emodel_codec_for(uint8_t payload_type, uint32_t clock_rate, bool teams);
/* loss_pct 0..100; burst_ratio >= 1 (1 = random loss); one_way_ms may be
 * negative when unknown (a default is used). */
void emodel_score(const emodel_codec_t *codec, double loss_pct, double burst_ratio,
                  double jitter_ms, double one_way_ms, emodel_result_t *out);
double emodel_r_to_mos(double r);

#endif
