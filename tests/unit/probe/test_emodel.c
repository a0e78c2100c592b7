/* test_emodel.c - probe/emodel.h: R and MOS (ITU-T G.107 simplified). */
#include "check.h"
#include "emodel.h"

static void test_g711_no_loss(void)
{
    const emodel_codec_t *g711 = emodel_codec_for(0, 8000, false);
    CHECK_STR(g711->name, "G.711");
    CHECK(emodel_codec_for(8, 8000, false) == g711);
    emodel_result_t r;
    emodel_score(g711, 0.0, 1.0, 0.0, -1.0, &r);
    /* Ie = 0, no loss: R = 93.2 - Id */
    CHECK_NEAR(r.ie_eff, 0.0, 1e-12);
    CHECK_NEAR(r.r, 93.2 - r.id, 1e-9);
    /* default 40 ms one way + 20 ms buffer + 20 ms frame + 0 look-ahead */
    CHECK_NEAR(r.delay_ms, 80.0, 1e-9);
    CHECK_NEAR(r.id, 0.024 * 80.0, 1e-9);
    CHECK_NEAR(r.r, 91.28, 1e-9);
    CHECK_NEAR(r.mos, emodel_r_to_mos(91.28), 1e-12);
    CHECK(r.mos > 4.3 && r.mos <= 4.5);

    /* delay past 177.3 ms adds the second Id term */
    emodel_score(g711, 0.0, 1.0, 0.0, 200.0, &r);
    CHECK_NEAR(r.delay_ms, 240.0, 1e-9);
    CHECK_NEAR(r.id, 0.024 * 240.0 + 0.11 * (240.0 - 177.3), 1e-9);
}

static void test_monotone_in_loss(void)
{
    static const uint8_t pts[] = {0, 18, 4, 9};
    for (size_t c = 0; c < sizeof pts; c++) {
        const emodel_codec_t *codec = emodel_codec_for(pts[c], 8000, false);
        for (double burst = 1.0; burst <= 4.0; burst += 1.5) {
            emodel_result_t prev, cur;
            emodel_score(codec, 0.0, burst, 5.0, 50.0, &prev);
            for (double loss = 0.5; loss <= 100.0; loss += 0.5) {
                emodel_score(codec, loss, burst, 5.0, 50.0, &cur);
                CHECK(cur.r <= prev.r);
                CHECK(cur.mos <= prev.mos);
                CHECK(cur.mos >= 1.0 && cur.mos <= 4.5);
                CHECK(cur.r >= 0.0);
                prev = cur;
                if (check_failures)
                    return;
            }
        }
    }
}

static void test_mos_bounds(void)
{
    CHECK_NEAR(emodel_r_to_mos(-5.0), 1.0, 1e-12);
    CHECK_NEAR(emodel_r_to_mos(0.0), 1.0, 1e-12);
    CHECK_NEAR(emodel_r_to_mos(100.0), 4.5, 1e-12);
    CHECK_NEAR(emodel_r_to_mos(150.0), 4.5, 1e-12);
    CHECK_NEAR(emodel_r_to_mos(93.2), 4.41, 0.005); /* G.107 default R */
    /* MOS stays in [1, 4.5] and never falls as R rises, over all R */
    double prev = emodel_r_to_mos(-1.0);
    for (int i = 0; i <= 1000; i++) {
        double r = i * 0.1;
        double m = emodel_r_to_mos(r);
        if (m < 1.0 || m > 4.5 || m < prev - 1e-12) {
            fprintf(stderr, "  R=%.1f MOS=%.6f (previous %.6f)\n", r, m, prev);
            CHECK(m >= 1.0 && m <= 4.5 && m >= prev - 1e-12);
            break;
        }
        prev = m;
    }
}

static void test_codecs(void)
{
    CHECK_STR(emodel_codec_for(18, 8000, false)->name, "G.729");
    CHECK_STR(emodel_codec_for(4, 8000, false)->name, "G.723.1");
    CHECK_STR(emodel_codec_for(9, 8000, false)->name, "G.722");
    CHECK_STR(emodel_codec_for(104, 16000, true)->name, "SILK");
    CHECK_STR(emodel_codec_for(111, 48000, false)->name, "Opus");
    CHECK_STR(emodel_codec_for(104, 16000, false)->name, "generic");
}

int main(void)
{
    RUN(test_g711_no_loss);
    RUN(test_monotone_in_loss);
    RUN(test_mos_bounds);
    RUN(test_codecs);
    return check_finish("unit_emodel");
}
