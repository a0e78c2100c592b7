/* The verdict decision table (collector/verdict.c), row by row of
 * docs/verdicts.md, without a database. */
#include <math.h>

#include "check.h"
#include "verdict.h"

static verdict_thresholds_t thr;

/* A probe measurement: 750 packets with this loss (percent) and jitter. */
static verdict_wire_t wire(double loss_pct, double jitter_ms)
{
    verdict_wire_t w;
    verdict_wire_clear(&w);
    w.present = true;
    w.packets = 750;
    w.loss_pct = loss_pct;
    w.network_jitter_ms_max = jitter_ms;
    w.probes = 1;
    return w;
}

/* Graph's figures: loss as a fraction, jitter ms, round trip ms. */
static verdict_graph_t graph(double loss, double jitter_ms, double rtt_ms)
{
    verdict_graph_t g;
    verdict_graph_clear(&g);
    g.present = true;
    g.avg_loss = loss;
    g.avg_jitter_ms = jitter_ms;
    g.avg_rtt_ms = rtt_ms;
    return g;
}

static verdict_kind_t stream(verdict_dir_t d, const verdict_wire_t *w, const verdict_graph_t *g,
                             double *conf)
{
    verdict_t v;
    verdict_stream(&thr, d, w, g, &v);
    if (conf)
        *conf = v.confidence;
    return v.kind;
}

static void test_outbound(void)
{
    verdict_wire_t bad = wire(5, 2), clean = wire(0, 2), none;
    verdict_graph_t gbad = graph(0.05, 10, 40), gclean = graph(0.002, 5, 40), gnone;
    verdict_wire_clear(&none);
    verdict_graph_clear(&gnone);
    double conf;
    /* loss at the probe on the way out: the LAN before the probe */
    CHECK_EQ_INT(stream(VERDICT_OUTBOUND, &bad, &gbad, &conf), VERDICT_LAN);
    CHECK_NEAR(conf, 0.9, 1e-9);
    CHECK_EQ_INT(stream(VERDICT_OUTBOUND, &bad, &gnone, &conf), VERDICT_LAN);
    CHECK_NEAR(conf, 0.8, 1e-9);
    /* clean at the probe, Graph bad: beyond the probe */
    CHECK_EQ_INT(stream(VERDICT_OUTBOUND, &clean, &gbad, NULL), VERDICT_WAN);
    /* jitter alone counts at the probe (30 ms) and in Graph */
    verdict_wire_t jit = wire(0, 45);
    CHECK_EQ_INT(stream(VERDICT_OUTBOUND, &jit, &gclean, NULL), VERDICT_LAN);
    verdict_graph_t gjit = graph(0, 40, 40);
    CHECK_EQ_INT(stream(VERDICT_OUTBOUND, &clean, &gjit, NULL), VERDICT_WAN);
    /* CQD round trip > 500 ms with a clean probe: beyond the probe */
    verdict_graph_t grtt = graph(0, 5, 650);
    CHECK_EQ_INT(stream(VERDICT_OUTBOUND, &clean, &grtt, NULL), VERDICT_WAN);
    CHECK_EQ_INT(stream(VERDICT_OUTBOUND, &clean, &gclean, &conf), VERDICT_HEALTHY);
    CHECK_NEAR(conf, 0.9, 1e-9);
    CHECK_EQ_INT(stream(VERDICT_OUTBOUND, &none, &gnone, NULL), VERDICT_UNKNOWN);
    /* Graph bad, no probe: not localisable */
    CHECK_EQ_INT(stream(VERDICT_OUTBOUND, &none, &gbad, &conf), VERDICT_UNKNOWN);
    CHECK_NEAR(conf, 0.3, 1e-9);
}

static void test_inbound(void)
{
    verdict_wire_t bad = wire(5, 2), clean = wire(0.2, 2), few = wire(50, 2);
    verdict_graph_t gbad = graph(0.05, 10, 40), gclean = graph(0.002, 5, 40);
    verdict_graph_t gslight = graph(0.015, 5, 40);
    /* loss already there when it reached the probe: WAN */
    CHECK_EQ_INT(stream(VERDICT_INBOUND, &bad, &gbad, NULL), VERDICT_WAN);
    /* the client received clearly worse than the probe saw: LAN after the probe */
    CHECK_EQ_INT(stream(VERDICT_INBOUND, &clean, &gbad, NULL), VERDICT_LAN);
    /* Graph 1.5 %, probe 0.2 %: above the Graph threshold, but within the margin */
    thr.loss_margin_pct = 2.0;
    CHECK_EQ_INT(stream(VERDICT_INBOUND, &clean, &gslight, NULL), VERDICT_HEALTHY);
    verdict_thresholds_defaults(&thr);
    CHECK_EQ_INT(stream(VERDICT_INBOUND, &clean, &gslight, NULL), VERDICT_LAN);
    CHECK_EQ_INT(stream(VERDICT_INBOUND, &clean, &gclean, NULL), VERDICT_HEALTHY);
    /* too few packets at the probe: no wire figure */
    few.packets = 10;
    verdict_graph_t gnone;
    verdict_graph_clear(&gnone);
    CHECK_EQ_INT(stream(VERDICT_INBOUND, &few, &gnone, NULL), VERDICT_UNKNOWN);
}

static verdict_t v_of(verdict_kind_t k, double conf)
{
    verdict_t v = {k, conf, "r", -1};
    return v;
}

static void test_participant(void)
{
    verdict_t s[2] = {v_of(VERDICT_HEALTHY, 0.9), v_of(VERDICT_HEALTHY, 0.9)}, p;
    verdict_device_t d;
    verdict_device_clear(&d);
    verdict_participant(&thr, s, 2, &d, VERDICT_ROLE_PROBED, &p);
    CHECK_EQ_INT(p.kind, VERDICT_HEALTHY);
    /* clean path + device events: endpoint */
    d.present = true;
    d.cpu_insufficient = 0.3;
    verdict_participant(&thr, s, 2, &d, VERDICT_ROLE_PROBED, &p);
    CHECK_EQ_INT(p.kind, VERDICT_ENDPOINT);
    CHECK_NEAR(p.confidence, 0.8, 1e-9);
    /* a network fault outranks device events */
    s[1] = v_of(VERDICT_LAN, 0.9);
    verdict_participant(&thr, s, 2, &d, VERDICT_ROLE_PROBED, &p);
    CHECK_EQ_INT(p.kind, VERDICT_LAN);
    CHECK_EQ_INT(p.decider, 1);
    /* a speaker that does not work counts above 0 */
    verdict_device_clear(&d);
    d.present = true;
    d.render_not_functioning = 0.01;
    s[1] = v_of(VERDICT_HEALTHY, 0.9);
    verdict_participant(&thr, s, 2, &d, VERDICT_ROLE_PROBED, &p);
    CHECK_EQ_INT(p.kind, VERDICT_ENDPOINT);
    /* Graph bad on a participant no probe saw */
    verdict_device_clear(&d);
    s[0] = v_of(VERDICT_UNKNOWN, 0.3);
    verdict_participant(&thr, s, 2, &d, VERDICT_ROLE_FAR, &p);
    CHECK_EQ_INT(p.kind, VERDICT_CLOUD);
    verdict_participant(&thr, s, 2, &d, VERDICT_ROLE_CLOUD_ONLY, &p);
    CHECK_EQ_INT(p.kind, VERDICT_UNKNOWN);
    verdict_participant(&thr, NULL, 0, &d, VERDICT_ROLE_PROBED, &p);
    CHECK_EQ_INT(p.kind, VERDICT_UNKNOWN);
}

static void test_call(void)
{
    verdict_t p[3] = {v_of(VERDICT_HEALTHY, 0.9), v_of(VERDICT_CLOUD, 0.75),
                      v_of(VERDICT_HEALTHY, 0.7)},
              c;
    verdict_role_t roles[3] = {VERDICT_ROLE_PROBED, VERDICT_ROLE_FAR, VERDICT_ROLE_FAR};
    verdict_call(p, roles, 3, false, &c);
    CHECK_EQ_INT(c.kind, VERDICT_CLOUD);
    CHECK_EQ_INT(c.decider, 1);
    /* our own fault outranks the far side */
    p[0] = v_of(VERDICT_WAN, 0.85);
    verdict_call(p, roles, 3, false, &c);
    CHECK_EQ_INT(c.kind, VERDICT_WAN);
    p[0] = v_of(VERDICT_HEALTHY, 0.9);
    p[1] = v_of(VERDICT_HEALTHY, 0.6);
    verdict_call(p, roles, 3, false, &c);
    CHECK_EQ_INT(c.kind, VERDICT_HEALTHY);
    CHECK_NEAR(c.confidence, 0.6, 1e-9);
    verdict_call(p, roles, 3, true, &c);
    CHECK_EQ_INT(c.kind, VERDICT_CLOUD);
    verdict_call(p, roles, 0, false, &c);
    CHECK_EQ_INT(c.kind, VERDICT_UNKNOWN);
}

static void test_thresholds(void)
{
    char err[200];
    verdict_thresholds_t t;
    verdict_thresholds_defaults(&t);
    CHECK_NEAR(t.wire_loss_pct, 1.0, 0);
    CHECK_NEAR(t.graph_concealed, 0.07, 0);
    CHECK(verdict_thresholds_set(&t, "wire_loss_pct=2.5", err, sizeof err));
    CHECK_NEAR(t.wire_loss_pct, 2.5, 0);
    CHECK(!verdict_thresholds_set(&t, "wire_loss_pct=200", err, sizeof err));
    CHECK(strstr(err, "wire_loss_pct") != NULL);
    CHECK(!verdict_thresholds_set(&t, "nonsense=1", err, sizeof err));
    CHECK(!verdict_thresholds_set(&t, "wire_loss_pct", err, sizeof err));
    CHECK(!verdict_thresholds_set(&t, "wire_loss_pct=1x", err, sizeof err));
    json_t *j = verdict_thresholds_json(&t);
    CHECK_NEAR(json_real_value(json_object_get(j, "wire_loss_pct")), 2.5, 0);
    json_decref(j);
    CHECK_STR(verdict_name(VERDICT_ENDPOINT), "endpoint");
}

static void test_evidence(void)
{
    verdict_wire_t w = wire(4.8, 1);
    verdict_graph_t g = graph(0.05, 10, 40);
    verdict_t v;
    verdict_stream(&thr, VERDICT_OUTBOUND, &w, &g, &v);
    json_t *e = verdict_evidence(&v, &w, &g, NULL, &thr);
    CHECK_STR(json_string_value(json_object_get(e, "rule")), v.rule);
    CHECK_NEAR(json_real_value(json_object_get(json_object_get(e, "wire"), "loss_pct")), 4.8, 1e-9);
    CHECK_NEAR(json_real_value(json_object_get(json_object_get(e, "graph"), "avg_loss_pct")), 5,
               1e-9);
    CHECK(json_is_object(json_object_get(e, "thresholds")));
    json_decref(e);
    e = verdict_evidence(&v, NULL, NULL, NULL, &thr);
    CHECK(json_is_null(json_object_get(e, "wire")) && json_is_null(json_object_get(e, "graph")));
    json_decref(e);
}

int main(void)
{
    verdict_thresholds_defaults(&thr);
    RUN(test_outbound);
    RUN(test_inbound);
    RUN(test_participant);
    RUN(test_call);
    RUN(test_thresholds);
    RUN(test_evidence);
    return check_finish("verdict");
}
