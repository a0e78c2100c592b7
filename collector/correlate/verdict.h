/* verdict.h - the fault-localisation decision table, without SQLite.
 *
 * The probe sits between the clients (LAN/Wi-Fi) and the site's way out
 * (WAN). For each media stream the figures measured at the probe ("wire")
 * are set against what Microsoft's cloud recorded end to end ("graph"):
 *
 *   outbound (client -> Microsoft)
 *     bad at the probe                       -> lan
 *     clean at the probe, Graph bad          -> wan (lost after the probe)
 *   inbound (Microsoft -> client)
 *     bad at the probe                       -> wan (lost before the site)
 *     clean at the probe, Graph clearly worse -> lan (lost after the probe)
 *   clean path, device events over threshold -> endpoint   (participant)
 *   our participants clean, another one bad  -> cloud      (call)
 *
 * docs/verdicts.md has the whole table and the thresholds' sources
 * (Microsoft's Call Quality Dashboard classification and Teams network
 * targets, ../shared/graph/FACTS.md section 9). Unknown figures are NAN.
 */
#ifndef CALLSCOPE_VERDICT_H
#define CALLSCOPE_VERDICT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    VERDICT_UNKNOWN = 0,
    VERDICT_HEALTHY,
    VERDICT_LAN,
    VERDICT_WAN,
    VERDICT_ENDPOINT,
    VERDICT_CLOUD,
} verdict_kind_t;

/* "unknown", "healthy", "lan", "wan", "endpoint", "cloud" */
const char *verdict_name(verdict_kind_t k);

/* ---- thresholds: one typed table ---------------------------------------- */

typedef struct {
    double wire_loss_pct;      /* loss at the probe above this is bad (percent) */
    double wire_jitter_ms;     /* jitter at the probe above this is bad */
    double graph_loss_pct;     /* Graph averagePacketLossRate above this is bad (percent) */
    double graph_jitter_ms;    /* Graph averageJitter above this is bad */
    double graph_rtt_ms;       /* Graph averageRoundTripTime above this is bad */
    double graph_concealed;    /* Graph averageRatioOfConcealedSamples above this is bad */
    double graph_degradation;  /* Graph averageAudioDegradation above this is bad */
    double loss_margin_pct;    /* Graph must exceed the probe by this much to blame the LAN */
    double device_ratio;       /* a device event ratio above this is an endpoint problem */
    double device_glitch_rate; /* mic/speaker glitches per 5 min above this */
    double min_packets;        /* fewer packets at the probe: not enough data */
} verdict_thresholds_t;

typedef struct {
    const char *name;
    size_t offset;
    double def, min, max;
    const char *help;
} verdict_param_t;

/* The table (n entries): names, defaults, ranges, sources. */
const verdict_param_t *verdict_params(size_t *n);
void verdict_thresholds_defaults(verdict_thresholds_t *t);
/* "name=value"; false with a message naming the key when unknown or out of range. */
bool verdict_thresholds_set(verdict_thresholds_t *t, const char *assignment, char *err,
                            size_t errlen);
/* New reference: {"wire_loss_pct": 1.0, ...}. */
json_t *verdict_thresholds_json(const verdict_thresholds_t *t);

/* ---- inputs -------------------------------------------------------------- */

typedef enum { VERDICT_OUTBOUND = 0, VERDICT_INBOUND = 1 } verdict_dir_t;

/* What the probe measured on one stream (deduplicated across probes). */
typedef struct {
    bool present;
    int64_t packets;
    double loss_pct, jitter_ms_max, network_jitter_ms_max, mos;
    int probes; /* how many probes reported this stream */
} verdict_wire_t;

/* Graph's mediaStream figures (loss as fractions, as Graph sends them). */
typedef struct {
    bool present;
    double avg_loss, max_loss, avg_jitter_ms, max_jitter_ms, avg_rtt_ms, max_rtt_ms, avg_concealed,
        avg_degradation;
    int64_t packets;
} verdict_graph_t;

/* Graph's deviceInfo for the participant's own side. */
typedef struct {
    bool present;
    double cpu_insufficient, glitch, clipping, low_speech, low_snr, capture_not_functioning,
        render_not_functioning, mic_glitch_rate, speaker_glitch_rate;
} verdict_device_t;

void verdict_wire_clear(verdict_wire_t *w);
void verdict_graph_clear(verdict_graph_t *g);
void verdict_device_clear(verdict_device_t *d);
/* Keeps the worse of each device figure (a participant with several media). */
void verdict_device_merge(verdict_device_t *into, const verdict_device_t *d);

/* ---- decisions ------------------------------------------------------------ */

typedef struct {
    verdict_kind_t kind;
    double confidence; /* 0..1 */
    char rule[320];    /* the deciding rule, in words, with its figures */
    int decider;       /* participant/call: index of the deciding child, -1 none */
} verdict_t;

/* Where a participant stands relative to the probes. */
typedef enum {
    VERDICT_ROLE_PROBED,     /* a probe saw this client's media */
    VERDICT_ROLE_FAR,        /* no probe saw it, but another participant of the call was seen */
    VERDICT_ROLE_CLOUD_ONLY, /* nobody in the call was seen by a probe */
} verdict_role_t;

void verdict_stream(const verdict_thresholds_t *t, verdict_dir_t dir, const verdict_wire_t *w,
                    const verdict_graph_t *g, verdict_t *out);
/* streams: the participant's stream verdicts (n may be 0). */
void verdict_participant(const verdict_thresholds_t *t, const verdict_t *streams, size_t n,
                         const verdict_device_t *dev, verdict_role_t role, verdict_t *out);
/* parts/roles: the call's participants. service_failure: Graph's failureInfo
 * on a segment. */
void verdict_call(const verdict_t *parts, const verdict_role_t *roles, size_t n,
                  bool service_failure, verdict_t *out);

/* The evidence object {"rule", "wire", "graph", "thresholds"}; wire/graph
 * null when absent. dev may be NULL. New reference. */
json_t *verdict_evidence(const verdict_t *v, const verdict_wire_t *w, const verdict_graph_t *g,
                         const verdict_device_t *dev, const verdict_thresholds_t *t);

#endif
