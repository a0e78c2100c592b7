#include "verdict.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[] = {"unknown", "healthy", "lan", "wan", "endpoint", "cloud"};

const char *verdict_name(verdict_kind_t k)
{
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "unknown";
}

/* ---- thresholds ----------------------------------------------------------- */

#define THR(f) offsetof(verdict_thresholds_t, f)

static const verdict_param_t params[] = {
    {"wire_loss_pct", THR(wire_loss_pct), 1.0, 0, 100,
     "Loss at the probe (percent) above which a stream is bad. Teams target client to "
     "Microsoft edge: < 1 % in any 15 s."},
    {"wire_jitter_ms", THR(wire_jitter_ms), 30.0, 0, 10000,
     "Jitter at the probe (network jitter when the abs-send-time extension is present, "
     "else RFC 3550 jitter; ms) above which a stream is bad. CQD Poor and Teams target: 30 ms."},
    {"graph_loss_pct", THR(graph_loss_pct), 1.0, 0, 100,
     "Graph averagePacketLossRate (percent) above which a stream is bad. Teams target: 1 %; "
     "CQD calls a stream Poor only above 10 %."},
    {"graph_jitter_ms", THR(graph_jitter_ms), 30.0, 0, 10000,
     "Graph averageJitter (ms) above which a stream is bad (CQD Poor: > 30 ms)."},
    {"graph_rtt_ms", THR(graph_rtt_ms), 500.0, 0, 100000,
     "Graph averageRoundTripTime (ms) above which a stream is bad (CQD Poor: > 500 ms)."},
    {"graph_concealed", THR(graph_concealed), 0.07, 0, 1,
     "Graph averageRatioOfConcealedSamples above which a stream is bad (CQD Poor: > 0.07)."},
    {"graph_degradation", THR(graph_degradation), 1.0, 0, 5,
     "Graph averageAudioDegradation (MOS points) above which a stream is bad (CQD Poor: > 1.0)."},
    {"loss_margin_pct", THR(loss_margin_pct), 1.0, 0, 100,
     "How much more loss (percent points) the client must report than the probe saw on an "
     "inbound stream before the LAN after the probe is blamed."},
    {"device_ratio", THR(device_ratio), 0.05, 0, 1,
     "A Graph device event ratio (CPU insufficient, glitches, clipping, low speech level, "
     "low SNR) above which the endpoint is blamed; mic or speaker not functioning counts "
     "above 0. callscope's choice: Microsoft publishes no threshold."},
    {"device_glitch_rate", THR(device_glitch_rate), 10.0, 0, 100000,
     "Graph micGlitchRate / speakerGlitchRate (per 5 min) above which the endpoint is blamed "
     "(callscope's choice)."},
    {"min_packets", THR(min_packets), 50, 0, 1e9,
     "Fewer packets than this at the probe is not enough data for a wire figure."},
};

#define NPARAMS (sizeof params / sizeof params[0])

const verdict_param_t *verdict_params(size_t *n)
{
    *n = NPARAMS;
    return params;
}

static double *thr_field(verdict_thresholds_t *t, const verdict_param_t *p)
{
    return (double *)((char *)t + p->offset);
}

void verdict_thresholds_defaults(verdict_thresholds_t *t)
{
    for (size_t i = 0; i < NPARAMS; i++)
        *thr_field(t, &params[i]) = params[i].def;
}

bool verdict_thresholds_set(verdict_thresholds_t *t, const char *a, char *err, size_t errlen)
{
    const char *eq = strchr(a, '=');
    if (!eq) {
        snprintf(err, errlen, "threshold '%s': want NAME=VALUE", a);
        return false;
    }
    for (size_t i = 0; i < NPARAMS; i++) {
        const verdict_param_t *p = &params[i];
        if (strlen(p->name) != (size_t)(eq - a) || strncmp(p->name, a, (size_t)(eq - a)) != 0)
            continue;
        char *end;
        errno = 0;
        double v = strtod(eq + 1, &end);
        if (errno || end == eq + 1 || *end || !(v >= p->min && v <= p->max)) {
            snprintf(err, errlen, "threshold %s: '%s' is not a number from %g to %g", p->name,
                     eq + 1, p->min, p->max);
            return false;
        }
        *thr_field(t, p) = v;
        return true;
    }
    snprintf(err, errlen, "threshold '%.*s' is unknown (see docs/verdicts.md)", (int)(eq - a), a);
    return false;
}

json_t *verdict_thresholds_json(const verdict_thresholds_t *t)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < NPARAMS; i++)
        json_object_set_new(o, params[i].name,
                            json_real(*thr_field((verdict_thresholds_t *)t, &params[i])));
    return o;
}

/* ---- inputs ---------------------------------------------------------------- */

void verdict_wire_clear(verdict_wire_t *w)
{
    *w = (verdict_wire_t){false, 0, NAN, NAN, NAN, NAN, 0};
}

void verdict_graph_clear(verdict_graph_t *g)
{
    *g = (verdict_graph_t){false, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, -1};
}

void verdict_device_clear(verdict_device_t *d)
{
    *d = (verdict_device_t){false, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN};
}

static double worse(double a, double b)
{
    if (isnan(a))
        return b;
    if (isnan(b))
        return a;
    return a > b ? a : b;
}

void verdict_device_merge(verdict_device_t *into, const verdict_device_t *d)
{
    if (!d->present)
        return;
    into->present = true;
    into->cpu_insufficient = worse(into->cpu_insufficient, d->cpu_insufficient);
    into->glitch = worse(into->glitch, d->glitch);
    into->clipping = worse(into->clipping, d->clipping);
    into->low_speech = worse(into->low_speech, d->low_speech);
    into->low_snr = worse(into->low_snr, d->low_snr);
    into->capture_not_functioning =
        worse(into->capture_not_functioning, d->capture_not_functioning);
    into->render_not_functioning = worse(into->render_not_functioning, d->render_not_functioning);
    into->mic_glitch_rate = worse(into->mic_glitch_rate, d->mic_glitch_rate);
    into->speaker_glitch_rate = worse(into->speaker_glitch_rate, d->speaker_glitch_rate);
}

/* ---- stream ------------------------------------------------------------------ */

static bool above(double v, double thr)
{
    return !isnan(v) && v > thr;
}

static void set(verdict_t *v, verdict_kind_t k, double conf, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void set(verdict_t *v, verdict_kind_t k, double conf, const char *fmt, ...)
{
    va_list ap;
    v->kind = k;
    v->confidence = conf;
    va_start(ap, fmt);
    vsnprintf(v->rule, sizeof v->rule, fmt, ap);
    va_end(ap);
}

typedef struct {
    bool wire_ok;  /* enough packets at the probe */
    bool wire_bad; /* loss or jitter over threshold at the probe */
    bool g_known;  /* Graph has at least one figure */
    bool g_bad;    /* any Graph figure over threshold */
    bool g_loss_bad;
    double wire_jitter, g_loss_pct;
} facts_t;

static void gather(const verdict_thresholds_t *t, const verdict_wire_t *w, const verdict_graph_t *g,
                   facts_t *f)
{
    memset(f, 0, sizeof *f);
    f->wire_jitter = isnan(w->network_jitter_ms_max) ? w->jitter_ms_max : w->network_jitter_ms_max;
    f->wire_ok = w->present && (double)w->packets >= t->min_packets;
    f->wire_bad = f->wire_ok && (above(w->loss_pct, t->wire_loss_pct) ||
                                 above(f->wire_jitter, t->wire_jitter_ms));
    f->g_loss_pct = isnan(g->avg_loss) ? NAN : g->avg_loss * 100.0;
    f->g_known =
        g->present && (!isnan(g->avg_loss) || !isnan(g->avg_jitter_ms) || !isnan(g->avg_rtt_ms) ||
                       !isnan(g->avg_concealed) || !isnan(g->avg_degradation));
    f->g_loss_bad = g->present && (above(f->g_loss_pct, t->graph_loss_pct) ||
                                   above(g->avg_jitter_ms, t->graph_jitter_ms) ||
                                   above(g->avg_concealed, t->graph_concealed) ||
                                   above(g->avg_degradation, t->graph_degradation));
    f->g_bad = f->g_loss_bad || (g->present && above(g->avg_rtt_ms, t->graph_rtt_ms));
}

/* The figures in words, for the rule text. */
static void wire_words(const verdict_wire_t *w, const facts_t *f, char *buf, size_t len)
{
    snprintf(buf, len, "%.2f %% loss, %.1f ms jitter over %lld packets", w->loss_pct,
             isnan(f->wire_jitter) ? 0.0 : f->wire_jitter, (long long)w->packets);
}

static void graph_words(const verdict_graph_t *g, const facts_t *f, char *buf, size_t len)
{
    snprintf(buf, len, "%.2f %% loss, %.1f ms jitter, %.0f ms round trip",
             isnan(f->g_loss_pct) ? 0.0 : f->g_loss_pct,
             isnan(g->avg_jitter_ms) ? 0.0 : g->avg_jitter_ms,
             isnan(g->avg_rtt_ms) ? 0.0 : g->avg_rtt_ms);
}

static void outbound(const verdict_wire_t *w, const facts_t *f, const char *ws, const char *gs,
                     verdict_t *out)
{
    if (f->wire_bad)
        set(out, VERDICT_LAN,
            f->g_bad     ? 0.9
            : f->g_known ? 0.65
                         : 0.8,
            "outbound stream already impaired at the probe (%s): lost between the client and "
            "the probe (LAN/Wi-Fi)%s",
            ws, f->g_bad ? "; Graph agrees" : "");
    else if (f->wire_ok && f->g_bad)
        set(out, VERDICT_WAN, 0.85,
            "outbound stream clean at the probe (%s) but Graph reports %s at the far end: "
            "impaired beyond the probe (WAN/ISP)",
            ws, gs);
    (void)w;
}

static void inbound(const verdict_thresholds_t *t, const verdict_wire_t *w, const facts_t *f,
                    const char *ws, const char *gs, verdict_t *out)
{
    bool worse_after = f->g_loss_bad && (!above(f->g_loss_pct, t->graph_loss_pct) ||
                                         f->g_loss_pct - (isnan(w->loss_pct) ? 0 : w->loss_pct) >
                                             t->loss_margin_pct);
    if (f->wire_bad)
        set(out, VERDICT_WAN,
            f->g_bad     ? 0.85
            : f->g_known ? 0.6
                         : 0.75,
            "inbound stream already impaired when it reached the probe (%s): lost before the "
            "site (WAN/ISP or beyond)",
            ws);
    else if (f->wire_ok && worse_after)
        set(out, VERDICT_LAN, 0.85,
            "inbound stream clean at the probe (%s) but the client received %s: impaired after "
            "the probe (LAN/Wi-Fi)",
            ws, gs);
}

void verdict_stream(const verdict_thresholds_t *t, verdict_dir_t dir, const verdict_wire_t *w,
                    const verdict_graph_t *g, verdict_t *out)
{
    facts_t f;
    char ws[96] = "", gs[96] = "";
    gather(t, w, g, &f);
    if (w->present)
        wire_words(w, &f, ws, sizeof ws);
    if (f.g_known)
        graph_words(g, &f, gs, sizeof gs);
    out->decider = -1;
    set(out, VERDICT_UNKNOWN, 0.0, "not enough data: %s",
        w->present ? "too few packets at the probe and no Graph figures"
                   : "no probe data and no Graph figures");
    if (dir == VERDICT_OUTBOUND)
        outbound(w, &f, ws, gs, out);
    else
        inbound(t, w, &f, ws, gs, out);
    if (out->kind != VERDICT_UNKNOWN)
        return;
    if (!f.wire_ok && f.g_bad)
        set(out, VERDICT_UNKNOWN, 0.3,
            "Graph reports %s on this %s stream, which no probe measured", gs,
            dir == VERDICT_OUTBOUND ? "outbound" : "inbound");
    else if (f.wire_ok && !f.wire_bad)
        set(out, VERDICT_HEALTHY, f.g_known ? 0.9 : 0.7, "clean at the probe (%s)%s%s", ws,
            f.g_known ? " and in Graph: " : "", gs);
    else if (f.g_known && !f.g_bad)
        set(out, VERDICT_HEALTHY, 0.6, "clean in Graph (%s); no probe data", gs);
}

/* ---- participant ----------------------------------------------------------- */

static bool device_bad(const verdict_thresholds_t *t, const verdict_device_t *d, char *why,
                       size_t len)
{
    if (!d || !d->present)
        return false;
    static const struct {
        const char *what;
        size_t off;
        int rate;
    } ev[] = {
        {"capture device not functioning", offsetof(verdict_device_t, capture_not_functioning), 2},
        {"render device not functioning", offsetof(verdict_device_t, render_not_functioning), 2},
        {"CPU insufficient", offsetof(verdict_device_t, cpu_insufficient), 0},
        {"device glitches", offsetof(verdict_device_t, glitch), 0},
        {"clipping", offsetof(verdict_device_t, clipping), 0},
        {"low speech level", offsetof(verdict_device_t, low_speech), 0},
        {"low speech-to-noise", offsetof(verdict_device_t, low_snr), 0},
        {"mic glitches per 5 min", offsetof(verdict_device_t, mic_glitch_rate), 1},
        {"speaker glitches per 5 min", offsetof(verdict_device_t, speaker_glitch_rate), 1},
    };
    size_t n = 0;
    for (size_t i = 0; i < sizeof ev / sizeof ev[0]; i++) {
        double v = *(const double *)((const char *)d + ev[i].off);
        double thr = ev[i].rate == 2 ? 0.0 : ev[i].rate ? t->device_glitch_rate : t->device_ratio;
        if (above(v, thr) && n < len)
            n += (size_t)snprintf(why + n, len - n, "%s%s %.2f", n ? ", " : "", ev[i].what, v);
    }
    return n > 0;
}

/* The most confident lan/wan stream, -1 when none. */
static int network_fault(const verdict_t *s, size_t n)
{
    int best = -1;
    for (size_t i = 0; i < n; i++)
        if ((s[i].kind == VERDICT_LAN || s[i].kind == VERDICT_WAN) &&
            (best < 0 || s[i].confidence > s[best].confidence))
            best = (int)i;
    return best;
}

static int first_of(const verdict_t *s, size_t n, verdict_kind_t k, double min_conf)
{
    for (size_t i = 0; i < n; i++)
        if (s[i].kind == k && s[i].confidence >= min_conf)
            return (int)i;
    return -1;
}

static void all_healthy(const verdict_t *s, size_t n, verdict_t *out)
{
    double conf = 1.0;
    size_t healthy = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i].kind == VERDICT_HEALTHY) {
            healthy++;
            conf = s[i].confidence < conf ? s[i].confidence : conf;
        }
    }
    if (n > 0 && healthy == n)
        set(out, VERDICT_HEALTHY, conf, "every stream clean (%zu): %s", n, s[0].rule);
}

void verdict_participant(const verdict_thresholds_t *t, const verdict_t *s, size_t n,
                         const verdict_device_t *dev, verdict_role_t role, verdict_t *out)
{
    char why[200];
    int i = network_fault(s, n);
    out->decider = i;
    set(out, VERDICT_UNKNOWN, 0.0, "not enough data for this participant");
    if (i >= 0) {
        set(out, s[i].kind, s[i].confidence, "%s", s[i].rule);
        return;
    }
    bool dev_bad = device_bad(t, dev, why, sizeof why);
    int bad = first_of(s, n, VERDICT_UNKNOWN, 0.3); /* Graph bad, no probe */
    if (dev_bad) {
        bool clean = n > 0 && first_of(s, n, VERDICT_HEALTHY, 0) >= 0 && bad < 0;
        set(out, VERDICT_ENDPOINT, clean ? 0.8 : 0.6,
            "device events on the client (%s) with %s network path", why,
            clean ? "a clean" : "an unverified");
        out->decider = -1;
        return;
    }
    if (bad >= 0 && role == VERDICT_ROLE_FAR) {
        set(out, VERDICT_CLOUD, 0.75, "far participant, not behind any probe: %s", s[bad].rule);
        out->decider = bad;
        return;
    }
    if (bad >= 0) {
        set(out, VERDICT_UNKNOWN, s[bad].confidence,
            "%.200s: without a probe on the path LAN and WAN cannot be told apart", s[bad].rule);
        out->decider = bad;
        return;
    }
    all_healthy(s, n, out);
}

/* ---- call ------------------------------------------------------------------------ */

void verdict_call(const verdict_t *p, const verdict_role_t *roles, size_t n, bool service_failure,
                  verdict_t *out)
{
    int best = -1, far = -1, healthy = 0;
    double conf = 1.0;
    for (size_t i = 0; i < n; i++) {
        verdict_kind_t k = p[i].kind;
        if ((k == VERDICT_LAN || k == VERDICT_WAN || k == VERDICT_ENDPOINT) &&
            (best < 0 || p[i].confidence > p[best].confidence))
            best = (int)i;
        if (k == VERDICT_CLOUD && roles[i] == VERDICT_ROLE_FAR && far < 0)
            far = (int)i;
        if (k == VERDICT_HEALTHY) {
            healthy++;
            conf = p[i].confidence < conf ? p[i].confidence : conf;
        }
    }
    out->decider = -1;
    set(out, VERDICT_UNKNOWN, 0.0, "not enough data for this call");
    if (best >= 0) {
        set(out, p[best].kind, p[best].confidence, "%s", p[best].rule);
        out->decider = best;
    } else if (far >= 0) {
        set(out, VERDICT_CLOUD, p[far].confidence, "this site's participants are clean; %s",
            p[far].rule);
        out->decider = far;
    } else if (service_failure) {
        set(out, VERDICT_CLOUD, 0.6,
            "Graph reports a failed session or segment (failureInfo) "
            "while the participants' paths are clean");
    } else if (n > 0 && (size_t)healthy == n) {
        set(out, VERDICT_HEALTHY, conf, "every participant clean (%zu)", n);
    } else {
        for (size_t i = 0; i < n; i++)
            if (p[i].kind == VERDICT_UNKNOWN && p[i].confidence > 0) {
                *out = p[i];
                out->decider = (int)i;
                break;
            }
    }
}

/* ---- evidence --------------------------------------------------------------------- */

static void put(json_t *o, const char *k, double v)
{
    json_object_set_new(o, k, isnan(v) ? json_null() : json_real(round(v * 1000) / 1000));
}

static json_t *wire_json(const verdict_wire_t *w)
{
    json_t *o = json_object();
    json_object_set_new(o, "packets", json_integer(w->packets));
    put(o, "loss_pct", w->loss_pct);
    put(o, "jitter_ms_max", w->jitter_ms_max);
    put(o, "network_jitter_ms_max", w->network_jitter_ms_max);
    put(o, "mos", w->mos);
    json_object_set_new(o, "probes", json_integer(w->probes));
    return o;
}

static json_t *graph_json(const verdict_graph_t *g, const verdict_device_t *d)
{
    json_t *o = json_object();
    if (g && g->present) {
        put(o, "avg_loss_pct", isnan(g->avg_loss) ? NAN : g->avg_loss * 100);
        put(o, "max_loss_pct", isnan(g->max_loss) ? NAN : g->max_loss * 100);
        put(o, "avg_jitter_ms", g->avg_jitter_ms);
        put(o, "max_jitter_ms", g->max_jitter_ms);
        put(o, "avg_rtt_ms", g->avg_rtt_ms);
        put(o, "max_rtt_ms", g->max_rtt_ms);
        put(o, "avg_concealed", g->avg_concealed);
        put(o, "avg_degradation", g->avg_degradation);
        if (g->packets >= 0)
            json_object_set_new(o, "packets", json_integer(g->packets));
    }
    if (d && d->present) {
        put(o, "cpu_insufficient_ratio", d->cpu_insufficient);
        put(o, "device_glitch_ratio", d->glitch);
        put(o, "clipping_ratio", d->clipping);
        put(o, "low_speech_ratio", d->low_speech);
        put(o, "low_snr_ratio", d->low_snr);
        put(o, "capture_not_functioning_ratio", d->capture_not_functioning);
        put(o, "render_not_functioning_ratio", d->render_not_functioning);
        put(o, "mic_glitch_rate", d->mic_glitch_rate);
        put(o, "speaker_glitch_rate", d->speaker_glitch_rate);
    }
    return o;
}

json_t *verdict_evidence(const verdict_t *v, const verdict_wire_t *w, const verdict_graph_t *g,
                         const verdict_device_t *dev, const verdict_thresholds_t *t)
{
    json_t *o = json_object();
    json_object_set_new(o, "rule", json_string(v->rule));
    json_object_set_new(o, "wire", w && w->present ? wire_json(w) : json_null());
    bool has_graph = (g && g->present) || (dev && dev->present);
    json_object_set_new(o, "graph", has_graph ? graph_json(g, dev) : json_null());
    json_object_set_new(o, "thresholds", verdict_thresholds_json(t));
    return o;
}
