#include "correlate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "correlate_input.h"
#include "graph_store.h"
#include "log.h"
#include "timefmt.h"
#include "verdict_store.h"

#define DROPPED 0x80000000u /* index slot flag: a key refused at the bound */
#define WIRE_WINDOW_US (3600LL * USEC_PER_SEC)
/* Another process (graph-poll, graph-import) may commit a record stamped a
 * little before the latest stamp already seen: look back this far. */
#define RECORD_OVERLAP_US (10 * USEC_PER_SEC)

/* One probe stream as a sample of a row (deduplicated by SSRC). */
typedef struct {
    int64_t id, ssrc;
    char probe[64];
    verdict_wire_t w;
} sample_t;

/* One verdict_streams row: a direction of a participant's media. */
typedef struct {
    size_t part;
    int64_t graph_rid; /* -1 none */
    int key;           /* media rid (joined) or client port (wire-only) */
    verdict_dir_t dir;
    char media[16];
    sample_t *s; /* up to CORRELATE_MAX_SAMPLES, allocated on the first */
    size_t ns, caps;
    verdict_graph_t graph;
    verdict_wire_t wire; /* the samples combined */
    int64_t stream_id;   /* the sample with the most packets, -1 none */
    verdict_t v;
    size_t next; /* the participant's next row, SIZE_MAX none */
} row_t;

typedef struct {
    char id[48];
    verdict_role_t role;
    bool probed, has_ip;
    uint8_t ip_h[PII_HASH_LEN];
    char site[64];
    uint8_t *enc; /* sealed address as found (aad below) */
    size_t enc_len;
    char aad[40];
    verdict_device_t dev;
    char bssid[32], subnet[64], connection[24]; /* from Graph, "" unknown */
    verdict_t v;
    json_t *evidence;
    size_t first_row, last_row, nrows; /* the participant's rows, in creation order */
} part_t;

/* Open addressing over uint32 slots: 0 empty, i + 1 an entry of the call's
 * array, DROPPED | i an entry refused at the bound (so it counts once). */
typedef struct {
    uint32_t *slot;
    size_t mask; /* slots - 1; 0 with no table */
} index_t;

typedef struct {
    size_t part;
    int key;
    verdict_dir_t dir;
} row_key_t;

typedef struct {
    part_t *p;
    size_t np, capp;
    row_t *r;
    size_t nr, capr;
    index_t pix, rix;
    int64_t *used; /* probe stream ids in this call */
    size_t nused, capused;
    /* refused at the bounds (cfg max_parts, max_rows, CORRELATE_MAX_SAMPLES) */
    char (*pdrop)[48];
    size_t npdrop, cappdrop;
    row_key_t *rdrop;
    size_t nrdrop, caprdrop;
    size_t samples_dropped;
    /* scratch of the judging */
    verdict_t *sv, *pv;
    verdict_role_t *roles;
    size_t capsv, cappv, caproles;
    struct shared {
        int64_t graph_rid;
        size_t row;
    } * shared;
    size_t capshared;
} call_t;

struct correlate {
    correlate_cfg_t cfg;
    db_t *db;
    const pii_t *pii;
    correlate_input_t *in;
    verdict_store_t *vs;
    /* Probe streams: every streams.id at or below w_stream was handled (or
     * is final and was never to come); those above it handled already are
     * in done[] (ascending), so a row committed late below a handled one
     * is still read, once. On PostgreSQL the watermark waits for the
     * writers that may still hold a lower id (fence[]); on SQLite one
     * writer at a time commits its ids in order and done[] stays empty. */
    int64_t w_stream;
    int64_t *done;
    size_t ndone, capdone;
    struct fence { /* ids up to upto are final once these writers are gone */
        int64_t upto, at_us;
        correlate_ids_t writers;
    } * fence;
    size_t nfence, capfence;
    int64_t w_stored; /* watermark: latest graph_record.stored_at_us handled */
    struct seen {     /* records handled within RECORD_OVERLAP_US of w_stored */
        char id[CORRELATE_ID_MAX];
        int64_t stored_at;
    } * seen;
    size_t nseen, capseen;
    correlate_stats_t stats;
    call_t *call; /* scratch */
};

void correlate_cfg_defaults(correlate_cfg_t *cfg)
{
    verdict_thresholds_defaults(&cfg->thr);
    cfg->slack_s = CORRELATE_SLACK_S;
    cfg->wire_gap_s = CORRELATE_WIRE_GAP_S;
    cfg->batch = 20000;
    cfg->max_parts = CORRELATE_MAX_PARTS;
    cfg->max_rows = CORRELATE_MAX_ROWS;
}

correlate_t *correlate_new(const correlate_cfg_t *cfg, db_t *db, const pii_t *pii, char *err,
                           size_t errlen)
{
    correlate_t *c = calloc(1, sizeof *c);
    if (!c || !(c->call = calloc(1, sizeof *c->call))) {
        snprintf(err, errlen, "out of memory");
        free(c);
        return NULL;
    }
    c->cfg = *cfg;
    if (c->cfg.max_parts == 0 || c->cfg.max_parts > CORRELATE_MAX_PARTS)
        c->cfg.max_parts = CORRELATE_MAX_PARTS;
    if (c->cfg.max_rows == 0 || c->cfg.max_rows > CORRELATE_MAX_ROWS)
        c->cfg.max_rows = CORRELATE_MAX_ROWS;
    c->db = db;
    c->pii = pii;
    if (!graph_store_migrate(db, err, errlen) || !(c->vs = verdict_store_new(db, err, errlen)) ||
        !(c->in = correlate_input_new(db, pii, err, errlen))) {
        correlate_free(&c);
        return NULL;
    }
    return c;
}

/* An index sized for a small call is kept from call to call; a large one
 * is given back, so one town hall does not slow every later call. */
#define INDEX_KEEP 256

static void index_reset(index_t *ix)
{
    if (ix->mask + 1 > INDEX_KEEP) {
        free(ix->slot);
        ix->slot = NULL;
        ix->mask = 0;
    } else if (ix->slot) {
        memset(ix->slot, 0, (ix->mask + 1) * sizeof *ix->slot);
    }
}

static void call_reset(call_t *k)
{
    for (size_t i = 0; i < k->np; i++) {
        free(k->p[i].enc);
        json_decref(k->p[i].evidence);
    }
    for (size_t i = 0; i < k->nr; i++)
        free(k->r[i].s);
    k->np = 0;
    k->nr = 0;
    k->nused = 0;
    k->npdrop = k->nrdrop = k->samples_dropped = 0;
    index_reset(&k->pix);
    index_reset(&k->rix);
}

static void call_free(call_t *k)
{
    call_reset(k);
    free(k->p);
    free(k->r);
    free(k->pix.slot);
    free(k->rix.slot);
    free(k->used);
    free(k->pdrop);
    free(k->rdrop);
    free(k->sv);
    free(k->pv);
    free(k->roles);
    free(k->shared);
    free(k);
}

void correlate_free(correlate_t **pc)
{
    if (!pc || !*pc)
        return;
    correlate_t *c = *pc;
    if (c->call)
        call_free(c->call);
    correlate_input_free(&c->in);
    verdict_store_free(&c->vs);
    free(c->seen);
    free(c->done);
    for (size_t i = 0; i < c->nfence; i++)
        correlate_ids_free(&c->fence[i].writers);
    free(c->fence);
    free(c);
    *pc = NULL;
}

void correlate_stats(const correlate_t *c, correlate_stats_t *out)
{
    *out = c->stats;
}

/* ---- building a call ----------------------------------------------------------- */

static void hex_id(char *out, size_t len, const char *prefix, const uint8_t *h)
{
    size_t n = (size_t)snprintf(out, len, "%s", prefix);
    for (int i = 0; i < 12 && n + 2 < len; i++)
        n += (size_t)snprintf(out + n, len - n, "%02x", h[i]);
}

/* Room for index n of *pv however far past its capacity (the input's grow
 * adds one doubling for the next element only). */
static bool fit(void *pv, size_t *cap, size_t n, size_t size)
{
    while (n >= *cap)
        if (!correlate_input_grow(pv, cap, *cap, size))
            return false;
    return true;
}

static uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return mix64(h);
}

static uint64_t row_hash(size_t part, int key, verdict_dir_t dir)
{
    return mix64(((uint64_t)part << 34) ^ ((uint64_t)(uint32_t)key << 2) ^ (uint64_t)dir);
}

static uint64_t part_slot_hash(const call_t *k, uint32_t v)
{
    return str_hash(v & DROPPED ? k->pdrop[v & ~DROPPED] : k->p[v - 1].id);
}

static uint64_t row_slot_hash(const call_t *k, uint32_t v)
{
    if (v & DROPPED) {
        const row_key_t *x = &k->rdrop[v & ~DROPPED];
        return row_hash(x->part, x->key, x->dir);
    }
    const row_t *r = &k->r[v - 1];
    return row_hash(r->part, r->key, r->dir);
}

/* Room for n entries at most half full; rehashes every entry when it grows. */
static bool index_fit(index_t *ix, size_t n, const call_t *k,
                      uint64_t (*hash)(const call_t *, uint32_t))
{
    if (ix->slot && n * 2 <= ix->mask + 1)
        return true;
    size_t size = ix->slot ? (ix->mask + 1) * 2 : 16;
    while (n * 2 > size)
        size *= 2;
    uint32_t *slot = calloc(size, sizeof *slot);
    if (!slot)
        return false;
    for (size_t i = 0; ix->slot && i <= ix->mask; i++) {
        if (!ix->slot[i])
            continue;
        size_t j = (size_t)hash(k, ix->slot[i]) & (size - 1);
        while (slot[j])
            j = (j + 1) & (size - 1);
        slot[j] = ix->slot[i];
    }
    free(ix->slot);
    ix->slot = slot;
    ix->mask = size - 1;
    return true;
}

/* The participant with this hash, created when new; NULL when refused
 * (beyond max_parts, counted once per participant, or out of memory). */
static part_t *part_get(correlate_t *c, call_t *k, const char *prefix, const uint8_t *h)
{
    char id[48];
    hex_id(id, sizeof id, prefix, h);
    if (!index_fit(&k->pix, k->np + k->npdrop + 1, k, part_slot_hash))
        return NULL;
    size_t i = (size_t)str_hash(id) & k->pix.mask;
    for (uint32_t v; (v = k->pix.slot[i]) != 0; i = (i + 1) & k->pix.mask) {
        if (v & DROPPED) {
            if (strcmp(k->pdrop[v & ~DROPPED], id) == 0)
                return NULL;
        } else if (strcmp(k->p[v - 1].id, id) == 0) {
            return &k->p[v - 1];
        }
    }
    if (k->np >= c->cfg.max_parts) {
        if (!correlate_input_grow(&k->pdrop, &k->cappdrop, k->npdrop, sizeof *k->pdrop))
            return NULL;
        memcpy(k->pdrop[k->npdrop], id, sizeof id);
        k->pix.slot[i] = DROPPED | (uint32_t)k->npdrop++;
        return NULL;
    }
    if (!correlate_input_grow(&k->p, &k->capp, k->np, sizeof *k->p))
        return NULL;
    part_t *p = &k->p[k->np++];
    memset(p, 0, sizeof *p);
    snprintf(p->id, sizeof p->id, "%s", id);
    verdict_device_clear(&p->dev);
    p->first_row = p->last_row = SIZE_MAX;
    k->pix.slot[i] = (uint32_t)k->np;
    return p;
}

static void part_address(part_t *p, const uint8_t *h, const uint8_t *enc, size_t len,
                         const char *aad)
{
    if (!p->has_ip && h) {
        p->has_ip = true;
        memcpy(p->ip_h, h, PII_HASH_LEN);
    }
    if (!p->enc && enc && len > 0 && (p->enc = malloc(len))) {
        memcpy(p->enc, enc, len);
        p->enc_len = len;
        snprintf(p->aad, sizeof p->aad, "%s", aad);
    }
}

/* The participant's row for this media and direction, created when new;
 * NULL when refused (beyond max_rows, counted once per row). */
static row_t *row_get(correlate_t *c, call_t *k, size_t part, int key, verdict_dir_t dir,
                      const char *media)
{
    if (!index_fit(&k->rix, k->nr + k->nrdrop + 1, k, row_slot_hash))
        return NULL;
    size_t i = (size_t)row_hash(part, key, dir) & k->rix.mask;
    for (uint32_t v; (v = k->rix.slot[i]) != 0; i = (i + 1) & k->rix.mask) {
        const row_key_t *d = v & DROPPED ? &k->rdrop[v & ~DROPPED] : NULL;
        if (d ? d->part == part && d->key == key && d->dir == dir
              : k->r[v - 1].part == part && k->r[v - 1].key == key && k->r[v - 1].dir == dir)
            return d ? NULL : &k->r[v - 1];
    }
    if (k->nr >= c->cfg.max_rows) {
        if (!correlate_input_grow(&k->rdrop, &k->caprdrop, k->nrdrop, sizeof *k->rdrop))
            return NULL;
        k->rdrop[k->nrdrop] = (row_key_t){part, key, dir};
        k->rix.slot[i] = DROPPED | (uint32_t)k->nrdrop++;
        return NULL;
    }
    if (!correlate_input_grow(&k->r, &k->capr, k->nr, sizeof *k->r))
        return NULL;
    row_t *r = &k->r[k->nr++];
    k->rix.slot[i] = (uint32_t)k->nr;
    memset(r, 0, sizeof *r);
    r->next = SIZE_MAX;
    part_t *p = &k->p[part];
    if (p->last_row == SIZE_MAX)
        p->first_row = k->nr - 1;
    else
        k->r[p->last_row].next = k->nr - 1;
    p->last_row = k->nr - 1;
    p->nrows++;
    r->part = part;
    r->key = key;
    r->dir = dir;
    r->graph_rid = -1;
    r->stream_id = -1;
    snprintf(r->media, sizeof r->media, "%s", media);
    verdict_graph_clear(&r->graph);
    verdict_wire_clear(&r->wire);
    return r;
}

static void use_stream(call_t *k, int64_t id)
{
    for (size_t i = 0; i < k->nused; i++)
        if (k->used[i] == id)
            return;
    if (!correlate_input_grow(&k->used, &k->capused, k->nused, sizeof *k->used))
        return;
    k->used[k->nused++] = id;
}

/* Adds a probe stream; the same SSRC from several probes counts once. */
static void row_add(call_t *k, row_t *r, const correlate_stream_t *s)
{
    use_stream(k, s->id);
    for (size_t i = 0; i < r->ns; i++) {
        sample_t *x = &r->s[i];
        if (x->id == s->id)
            return;
        if (x->ssrc == s->ssrc) {
            int probes = x->w.probes + (strcmp(x->probe, s->probe) != 0);
            if (s->wire.packets > x->w.packets) {
                x->id = s->id;
                x->w = s->wire;
                snprintf(x->probe, sizeof x->probe, "%s", s->probe);
            }
            x->w.probes = probes;
            return;
        }
    }
    if (r->ns == r->caps) { /* 2, 4, 8: most rows have one SSRC */
        size_t cap = r->caps ? r->caps * 2 : 2;
        sample_t *v = r->ns < CORRELATE_MAX_SAMPLES ? realloc(r->s, cap * sizeof *v) : NULL;
        if (!v) {
            k->samples_dropped++;
            return;
        }
        r->s = v;
        r->caps = cap;
    }
    sample_t *x = &r->s[r->ns++];
    x->id = s->id;
    x->ssrc = s->ssrc;
    x->w = s->wire;
    snprintf(x->probe, sizeof x->probe, "%s", s->probe);
}

/* The samples as one wire figure: packets summed, loss weighted by packets,
 * worst jitter and MOS. */
static void row_combine(row_t *r)
{
    verdict_wire_t *w = &r->wire;
    double lost = 0, counted = 0;
    int64_t best = -1;
    for (size_t i = 0; i < r->ns; i++) {
        const verdict_wire_t *x = &r->s[i].w;
        w->present = true;
        w->packets += x->packets;
        if (!isnan(x->loss_pct)) {
            lost += x->loss_pct * (double)x->packets;
            counted += (double)x->packets;
        }
        if (!isnan(x->jitter_ms_max) && !(w->jitter_ms_max >= x->jitter_ms_max))
            w->jitter_ms_max = x->jitter_ms_max;
        if (!isnan(x->network_jitter_ms_max) &&
            !(w->network_jitter_ms_max >= x->network_jitter_ms_max))
            w->network_jitter_ms_max = x->network_jitter_ms_max;
        if (!isnan(x->mos) && !(w->mos <= x->mos))
            w->mos = x->mos;
        w->probes = x->probes > w->probes ? x->probes : w->probes;
        if (best < 0 || x->packets > r->s[best].w.packets)
            best = (int64_t)i;
    }
    if (counted > 0)
        w->loss_pct = lost / counted;
    else if (w->present && w->packets > 0)
        w->loss_pct = 0;
    r->stream_id = best >= 0 ? r->s[best].id : -1;
}

/* ---- verdicts and writing --------------------------------------------------------- */

static const char *dir_name(verdict_dir_t d)
{
    return d == VERDICT_OUTBOUND ? "outbound" : "inbound";
}

static const row_t *decider_row(const call_t *k, size_t part, int decider)
{
    int seen = 0;
    const row_t *first = NULL;
    for (size_t i = k->p[part].first_row; i != SIZE_MAX; i = k->r[i].next) {
        if (seen++ == decider)
            return &k->r[i];
        if (!first || (!first->wire.present && k->r[i].wire.present))
            first = &k->r[i];
    }
    return first;
}

/* Access point and subnet beside Graph's figures (the dashboard's worst
 * access points and subnets read them). Not personal: infrastructure. */
static void place_evidence(part_t *p)
{
    json_t *g = json_object_get(p->evidence, "graph");
    if (!json_is_object(g) && (p->bssid[0] || p->subnet[0] || p->connection[0])) {
        g = json_object();
        json_object_set_new(p->evidence, "graph", g);
    }
    const char *k[] = {"bssid", "subnet", "connection_type"};
    const char *v[] = {p->bssid, p->subnet, p->connection};
    for (size_t i = 0; i < 3; i++)
        if (v[i][0])
            json_object_set_new(g, k[i], json_string(v[i]));
}

static bool judge_parts(const correlate_t *c, call_t *k)
{
    bool any_probed = false;
    size_t most = 1;
    for (size_t i = 0; i < k->np; i++) {
        any_probed |= k->p[i].probed;
        most = k->p[i].nrows > most ? k->p[i].nrows : most;
    }
    if (!fit(&k->sv, &k->capsv, most - 1, sizeof *k->sv))
        return false;
    for (size_t i = 0; i < k->np; i++) {
        part_t *p = &k->p[i];
        verdict_t *sv = k->sv;
        size_t n = 0;
        for (size_t j = p->first_row; j != SIZE_MAX; j = k->r[j].next)
            sv[n++] = k->r[j].v;
        p->role = p->probed    ? VERDICT_ROLE_PROBED
                  : any_probed ? VERDICT_ROLE_FAR
                               : VERDICT_ROLE_CLOUD_ONLY;
        verdict_participant(&c->cfg.thr, sv, n, &p->dev, p->role, &p->v);
        const row_t *r = decider_row(k, i, p->v.decider);
        p->evidence = verdict_evidence(&p->v, r ? &r->wire : NULL, r ? &r->graph : NULL, &p->dev,
                                       &c->cfg.thr);
        json_object_set_new(p->evidence, "role",
                            json_string(p->role == VERDICT_ROLE_PROBED ? "probed"
                                        : p->role == VERDICT_ROLE_FAR  ? "far"
                                                                       : "cloud-only"));
        place_evidence(p);
    }
    return true;
}

/* The participant's address, sealed for the verdict table (NULL if none). */
static uint8_t *reseal(const correlate_t *c, const part_t *p, size_t *len)
{
    char ip[128];
    *len = 0;
    if (!p->enc || !pii_open(c->pii, p->aad, p->enc, p->enc_len, ip, sizeof ip))
        return NULL;
    size_t cap = strlen(ip) + PII_OVERHEAD;
    uint8_t *out = malloc(cap);
    if (out && !pii_seal(c->pii, PII_AAD_PARTICIPANT_IP, ip, strlen(ip), out, cap, len)) {
        free(out);
        out = NULL;
    }
    memset(ip, 0, sizeof ip);
    return out;
}

static bool write_parts(correlate_t *c, call_t *k, const char *call_id)
{
    for (size_t i = 0; i < k->np; i++) {
        part_t *p = &k->p[i];
        size_t len;
        uint8_t *enc = reseal(c, p, &len);
        verdict_participant_row_t pr = {
            call_id, p->id,      p->site[0] ? p->site : NULL, p->has_ip ? p->ip_h : NULL, enc, len,
            &p->v,   p->evidence};
        bool ok = verdict_store_put_participant(c->vs, &pr);
        free(enc);
        if (!ok)
            return false;
    }
    for (size_t i = 0; i < k->nused; i++)
        if (!verdict_store_put_claim(c->vs, call_id, k->used[i]))
            return false;
    for (size_t j = 0; j < k->nr; j++) {
        row_t *r = &k->r[j];
        json_t *ev = verdict_evidence(&r->v, &r->wire, &r->graph, NULL, &c->cfg.thr);
        verdict_stream_row_t sr = {call_id,          k->p[r->part].id, r->stream_id, r->graph_rid,
                                   dir_name(r->dir), r->media,         &r->v,        ev};
        bool ok = verdict_store_put_stream(c->vs, &sr);
        json_decref(ev);
        if (!ok)
            return false;
    }
    return true;
}

typedef struct {
    const char *call_id, *source, *record_id;
    int64_t version, start_us, end_us;
    bool failure;
} call_meta_t;

static int shared_cmp(const void *a, const void *b)
{
    const struct shared *x = a, *y = b;
    if (x->graph_rid != y->graph_rid)
        return x->graph_rid < y->graph_rid ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

/* In a peer-to-peer segment both clients share each stream: a far
 * participant's stream that a probed one explains (lan/wan) takes that
 * verdict instead of blaming the far side (the first such row). The
 * explaining rows are sorted by Graph stream, so a call of n rows costs
 * n log n, not n squared. */
static bool explain_shared(call_t *k)
{
    size_t ns = 0;
    for (size_t b = 0; b < k->nr; b++) {
        const row_t *y = &k->r[b];
        if (!k->p[y->part].probed || y->graph_rid < 0 ||
            (y->v.kind != VERDICT_LAN && y->v.kind != VERDICT_WAN))
            continue;
        if (!correlate_input_grow(&k->shared, &k->capshared, ns, sizeof *k->shared))
            return false;
        k->shared[ns++] = (struct shared){y->graph_rid, b};
    }
    if (ns == 0)
        return true;
    qsort(k->shared, ns, sizeof *k->shared, shared_cmp);
    for (size_t a = 0; a < k->nr; a++) {
        row_t *x = &k->r[a];
        if (k->p[x->part].probed || x->graph_rid < 0)
            continue;
        size_t lo = 0, hi = ns; /* the first entry of x's Graph stream */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (k->shared[mid].graph_rid < x->graph_rid)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < ns && k->shared[lo].graph_rid == x->graph_rid) {
            const row_t *y = &k->r[k->shared[lo].row];
            char rule[sizeof x->v.rule];
            snprintf(rule, sizeof rule, "same stream as participant %s: %.*s", k->p[y->part].id,
                     (int)(sizeof rule - 80), y->v.rule);
            x->v = y->v;
            memcpy(x->v.rule, rule, sizeof rule);
        }
    }
    return true;
}

/* What the bounds left out of this call, on its evidence and in the log
 * (once per call); nothing when every participant was judged. */
static void bound_evidence(correlate_t *c, const call_t *k, const call_meta_t *m, json_t *ev)
{
    if (!k->npdrop && !k->nrdrop && !k->samples_dropped)
        return;
    c->stats.bounded++;
    LOG_WARN("correlation: call %s: %zu participant(s), %zu stream row(s) and %zu probe "
             "stream(s) beyond the bounds (%zu participants, %zu rows, %d streams per row) not "
             "judged",
             m->record_id ? m->record_id : "(wire-only)", k->npdrop, k->nrdrop, k->samples_dropped,
             c->cfg.max_parts, c->cfg.max_rows, CORRELATE_MAX_SAMPLES);
    json_t *b = json_object();
    json_object_set_new(b, "participants_not_judged", json_integer((json_int_t)k->npdrop));
    json_object_set_new(b, "rows_not_judged", json_integer((json_int_t)k->nrdrop));
    json_object_set_new(b, "probe_streams_not_combined",
                        json_integer((json_int_t)k->samples_dropped));
    json_object_set_new(b, "max_participants", json_integer((json_int_t)c->cfg.max_parts));
    json_object_set_new(b, "max_rows", json_integer((json_int_t)c->cfg.max_rows));
    json_object_set_new(b, "max_streams_per_row", json_integer(CORRELATE_MAX_SAMPLES));
    json_object_set_new(ev, "bound", b);
}

/* Judges every row, participant and the call, and writes them. */
static bool judge_and_write(correlate_t *c, call_t *k, const call_meta_t *m, int64_t now_us)
{
    verdict_t cv;
    for (size_t j = 0; j < k->nr; j++) {
        row_combine(&k->r[j]);
        verdict_stream(&c->cfg.thr, k->r[j].dir, &k->r[j].wire, &k->r[j].graph, &k->r[j].v);
    }
    size_t last = k->np ? k->np - 1 : 0;
    if (!explain_shared(k) || !judge_parts(c, k) || !fit(&k->pv, &k->cappv, last, sizeof *k->pv) ||
        !fit(&k->roles, &k->caproles, last, sizeof *k->roles))
        return false;
    verdict_t *pv = k->pv;
    verdict_role_t *roles = k->roles;
    const char *site = NULL;
    for (size_t i = 0; i < k->np; i++) {
        pv[i] = k->p[i].v;
        roles[i] = k->p[i].role;
        if (!site && k->p[i].site[0])
            site = k->p[i].site;
    }
    verdict_call(pv, roles, k->np, m->failure, &cv);
    json_t *ev = cv.decider >= 0 ? json_deep_copy(k->p[cv.decider].evidence)
                                 : verdict_evidence(&cv, NULL, NULL, NULL, &c->cfg.thr);
    json_object_set_new(ev, "rule", json_string(cv.rule));
    json_object_set_new(ev, "participant",
                        cv.decider >= 0 ? json_string(k->p[cv.decider].id) : json_null());
    json_object_set_new(ev, "participants", json_integer((json_int_t)k->np));
    json_object_set_new(ev, "probe_streams", json_integer((json_int_t)k->nused));
    bound_evidence(c, k, m, ev);
    verdict_call_row_t cr = {m->call_id, m->source,    site,       m->start_us, m->end_us,
                             &cv,        m->record_id, m->version, ev};
    bool ok = verdict_store_put_call(c->vs, &cr, now_us) && write_parts(c, k, m->call_id);
    json_decref(ev);
    return ok;
}

/* ---- joined and cloud-only calls ---------------------------------------------------- */

static bool same(const uint8_t *a, const uint8_t *b)
{
    return memcmp(a, b, PII_HASH_LEN) == 0;
}

/* Does probe stream s carry this side's media? */
static bool side_matches(const correlate_side_t *sd, const correlate_stream_t *s)
{
    bool out = s->dir == VERDICT_OUTBOUND;
    const uint8_t *remote = out ? s->dst_h : s->src_h;
    bool has_remote = out ? s->has_dst : s->has_src;
    int remote_port = out ? s->dst_port : s->src_port;
    bool relay = sd->has_relay && has_remote && same(sd->relay_h, remote) &&
                 (sd->relay_port < 0 || sd->relay_port == remote_port);
    if (sd->has_ip && same(sd->ip_h, s->client_h))
        return sd->port >= 0 ? sd->port == s->client_port : relay;
    /* probe after NAT: the client appears as its reflexive address */
    return sd->has_refl && same(sd->refl_h, s->client_h) && relay;
}

static bool overlaps(const correlate_stream_t *s, int64_t from, int64_t to)
{
    int64_t last = s->last_us >= 0 ? s->last_us : s->first_us;
    return s->first_us <= to && last >= from;
}

static bool match_side(correlate_t *c, call_t *k, const correlate_media_t *m, int side, size_t part)
{
    const correlate_side_t *sd = &m->side[side];
    int64_t slack = c->cfg.slack_s * USEC_PER_SEC;
    correlate_streams_t ss = {0};
    bool ok = true;
    if (sd->has_ip)
        ok = correlate_input_client_streams(c->in, sd->ip_h, m->start_us - slack, m->end_us + slack,
                                            &ss);
    if (ok && sd->has_refl && !(sd->has_ip && same(sd->ip_h, sd->refl_h)))
        ok = correlate_input_client_streams(c->in, sd->refl_h, m->start_us - slack,
                                            m->end_us + slack, &ss);
    for (size_t i = 0; ok && i < ss.n; i++) {
        const correlate_stream_t *s = &ss.v[i];
        if (!side_matches(sd, s) || !overlaps(s, m->start_us - slack, m->end_us + slack))
            continue;
        row_t *r = row_get(c, k, part, (int)m->rid, s->dir, m->media);
        if (!r)
            continue;
        row_add(k, r, s);
        part_t *p = &k->p[part];
        p->probed = true;
        if (!p->site[0])
            snprintf(p->site, sizeof p->site, "%s", s->site);
        part_address(p, s->client_h, s->client_enc, s->client_enc_len, PII_AAD_STREAMS_CLIENT_IP);
    }
    correlate_streams_free(&ss);
    return ok;
}

/* The Graph streams of media m; rec->streams is ordered by media. */
static void graph_rows(correlate_t *c, call_t *k, const correlate_record_t *rec,
                       const correlate_media_t *m, int side, size_t part)
{
    size_t lo = 0, hi = rec->nstreams;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rec->streams[mid].media_rid < m->rid)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < rec->nstreams && rec->streams[i].media_rid == m->rid; i++) {
        const correlate_gstream_t *g = &rec->streams[i];
        /* callerToCallee leaves the caller: outbound for side 0 */
        bool outbound = side == 0 ? g->caller_to_callee : !g->caller_to_callee;
        row_t *r = row_get(c, k, part, (int)m->rid, outbound ? VERDICT_OUTBOUND : VERDICT_INBOUND,
                           m->media);
        if (r) {
            r->graph = g->g;
            r->graph_rid = g->rid;
        }
    }
}

/* The participant's access point, subnet and link, first known wins. */
static void place_merge(part_t *p, const correlate_side_t *sd)
{
    if (!p->bssid[0])
        snprintf(p->bssid, sizeof p->bssid, "%s", sd->bssid);
    if (!p->subnet[0])
        snprintf(p->subnet, sizeof p->subnet, "%s", sd->subnet);
    if (!p->connection[0])
        snprintf(p->connection, sizeof p->connection, "%s", sd->connection);
}

static bool build_joined(correlate_t *c, call_t *k, const correlate_record_t *rec)
{
    for (size_t i = 0; i < rec->nmedia; i++) {
        const correlate_media_t *m = &rec->media[i];
        for (int side = 0; side < 2; side++) {
            const correlate_side_t *sd = &m->side[side];
            if (!sd->participant)
                continue;
            part_t *p =
                sd->has_ip ? part_get(c, k, "ip-", sd->ip_h) : part_get(c, k, "user-", sd->user_h);
            if (!p)
                continue;
            size_t pi = (size_t)(p - k->p);
            part_address(p, sd->has_ip ? sd->ip_h : NULL, sd->ip_enc, sd->ip_enc_len,
                         side ? PII_AAD_GRAPH_CALLEE_IP : PII_AAD_GRAPH_CALLER_IP);
            verdict_device_merge(&p->dev, &sd->dev);
            place_merge(p, sd);
            if (!match_side(c, k, m, side, pi))
                return false;
            graph_rows(c, k, rec, m, side, pi);
        }
    }
    return true;
}

static int64_t record_span(const correlate_record_t *rec, bool end)
{
    int64_t t = end ? rec->end_us : rec->start_us;
    for (size_t i = 0; t < 0 && i < rec->nmedia; i++)
        t = end ? rec->media[i].end_us : rec->media[i].start_us;
    return t >= 0 ? t : 0;
}

/* Evaluates one record (joined or cloud-only); wire-only calls that used
 * its probe streams go. 1 written, 0 gone, -1 error. */
static int eval_record(correlate_t *c, const char *id, int64_t now_us)
{
    correlate_record_t rec;
    bool found;
    call_t *k = c->call;
    call_reset(k);
    if (!correlate_input_record(c->in, id, &rec, &found)) {
        correlate_record_free(&rec);
        return -1;
    }
    if (!found) {
        correlate_record_free(&rec);
        return verdict_store_delete_call(c->vs, id) ? 0 : -1;
    }
    bool ok = build_joined(c, k, &rec);
    call_meta_t m = {id,          k->nused ? "joined" : "cloud-only", id,
                     rec.version, record_span(&rec, false),           record_span(&rec, true),
                     rec.failure};
    ok = ok && verdict_store_drop_wire_using_any(c->vs, k->used, k->nused) >= 0;
    ok = ok && judge_and_write(c, k, &m, now_us);
    if (k->nused)
        c->stats.joined++;
    else
        c->stats.cloud_only++;
    correlate_record_free(&rec);
    return ok ? 1 : -1;
}

/* ---- wire-only calls ------------------------------------------------------------------- */

/* One wire-only call from streams v[lo..hi) of one client. */
static bool eval_wire_group(correlate_t *c, const correlate_stream_t *v, size_t lo, size_t hi,
                            int64_t now_us)
{
    call_t *k = c->call;
    call_reset(k);
    part_t *p = part_get(c, k, "ip-", v[lo].client_h);
    if (!p)
        return false; /* out of memory: the first participant is never beyond the bound */
    int64_t start = v[lo].first_us, end = v[lo].last_us;
    p->probed = true;
    snprintf(p->site, sizeof p->site, "%s", v[lo].site);
    for (size_t i = lo; i < hi; i++) {
        part_address(p, v[i].client_h, v[i].client_enc, v[i].client_enc_len,
                     PII_AAD_STREAMS_CLIENT_IP);
        row_t *r = row_get(c, k, 0, v[i].client_port, v[i].dir, v[i].media);
        if (r)
            row_add(k, r, &v[i]);
        start = v[i].first_us < start ? v[i].first_us : start;
        end = v[i].last_us > end ? v[i].last_us : end;
    }
    char call_id[CORRELATE_ID_MAX], iso[40];
    hex_id(call_id, sizeof call_id, "wire:ip-", v[lo].client_h);
    size_t n = strlen(call_id);
    snprintf(call_id + n, sizeof call_id - n, ":%s", timefmt_iso(start, iso, sizeof iso));
    call_meta_t m = {call_id, "wire-only", NULL, -1, start, end, false};
    c->stats.wire_only++;
    return verdict_store_drop_wire_overlapping(c->vs, v[lo].client_h, start, end) >= 0 &&
           judge_and_write(c, k, &m, now_us);
}

/* Re-groups a client's streams around [from, to] that no record claims. */
static int eval_wire_client(correlate_t *c, const uint8_t *h, int64_t from, int64_t to,
                            int64_t now_us)
{
    correlate_streams_t all = {0};
    if (!correlate_input_client_streams(c->in, h, from - WIRE_WINDOW_US, to + WIRE_WINDOW_US, &all))
        return -1;
    size_t n = 0;
    int64_t *ids = malloc((all.n ? all.n : 1) * sizeof *ids);
    bool *joined = malloc((all.n ? all.n : 1) * sizeof *joined);
    for (size_t i = 0; ids && i < all.n; i++)
        ids[i] = all.v[i].id;
    if (!ids || !joined || verdict_store_streams_joined(c->vs, ids, all.n, joined) < 0) {
        free(ids);
        free(joined);
        correlate_streams_free(&all);
        return -1;
    }
    free(ids);
    for (size_t i = 0; i < all.n; i++) {
        if (!joined[i]) {
            correlate_stream_t t = all.v[n];
            all.v[n++] = all.v[i];
            all.v[i] = t; /* position i is examined once, before any swap reaches it */
        }
    }
    free(joined);
    int64_t gap = c->cfg.wire_gap_s * USEC_PER_SEC;
    int written = 0;
    for (size_t lo = 0, hi; lo < n; lo = hi) {
        int64_t end = all.v[lo].last_us;
        for (hi = lo + 1; hi < n && all.v[hi].first_us <= end + gap; hi++)
            end = all.v[hi].last_us > end ? all.v[hi].last_us : end;
        if (all.v[lo].first_us > to + gap || end < from - gap)
            continue;
        if (!eval_wire_group(c, all.v, lo, hi, now_us)) {
            written = -1;
            break;
        }
        written++;
    }
    correlate_streams_free(&all);
    return written;
}

/* ---- a step --------------------------------------------------------------------------------- */

typedef struct {
    uint8_t h[PII_HASH_LEN];
    int64_t from, to;
} wire_client_t;

static bool wire_note(wire_client_t **v, size_t *n, size_t *cap, const correlate_stream_t *s)
{
    for (size_t i = 0; i < *n; i++) {
        if (same((*v)[i].h, s->client_h)) {
            (*v)[i].from = s->first_us < (*v)[i].from ? s->first_us : (*v)[i].from;
            (*v)[i].to = s->last_us > (*v)[i].to ? s->last_us : (*v)[i].to;
            return true;
        }
    }
    if (!correlate_input_grow(v, cap, *n, sizeof **v))
        return false;
    memcpy((*v)[*n].h, s->client_h, PII_HASH_LEN);
    (*v)[*n].from = s->first_us;
    (*v)[(*n)++].to = s->last_us >= 0 ? s->last_us : s->first_us;
    return true;
}

typedef struct {
    correlate_t *c;
    correlate_streams_t streams;
    correlate_ids_t records;
    wire_client_t *wire;
    size_t nwire, capwire;
    int64_t max_stored;
    int64_t *ids; /* stream ids handled by this step (not in c->done) */
    size_t nids, capids;
    int64_t cursor; /* the highest stream id read */
    bool more;      /* the last page was full: rows may remain above cursor */
    int64_t safe;   /* PostgreSQL: ids up to this are final (-1 none known) */
} step_t;

/* A record stored since the last step, unless this very version was handled. */
static bool record_note(void *ctx, const char *id, int64_t stored_at)
{
    step_t *s = ctx;
    correlate_t *c = s->c;
    for (size_t i = 0; i < c->nseen; i++)
        if (c->seen[i].stored_at == stored_at && strcmp(c->seen[i].id, id) == 0)
            return true;
    if (!correlate_input_grow(&c->seen, &c->capseen, c->nseen, sizeof *c->seen))
        return false;
    snprintf(c->seen[c->nseen].id, CORRELATE_ID_MAX, "%s", id);
    c->seen[c->nseen++].stored_at = stored_at;
    s->max_stored = stored_at > s->max_stored ? stored_at : s->max_stored;
    return correlate_ids_add(&s->records, id);
}

static void seen_prune(correlate_t *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->nseen; i++)
        if (c->seen[i].stored_at >= c->w_stored - RECORD_OVERLAP_US)
            c->seen[n++] = c->seen[i];
    c->nseen = n;
}

static void step_free(step_t *s)
{
    correlate_streams_free(&s->streams);
    correlate_ids_free(&s->records);
    free(s->wire);
    free(s->ids);
}

static bool done_has(const correlate_t *c, int64_t id)
{
    size_t lo = 0, hi = c->ndone;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->done[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->ndone && c->done[lo] == id;
}

static bool writer_in(const correlate_ids_t *set, const char *vx)
{
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->v[i], vx) == 0)
            return true;
    return false;
}

/* PostgreSQL: how far stream ids are final (s->safe), from the writers
 * seen now and at earlier steps. The sequence is read before the lock
 * table, so a writer holding an id at or below `last` either ended before
 * (its rows, if committed, are read by this step's later statements) or
 * is listed in `now`; a fence settles when none of its writers is left. A
 * writer holding its transaction longer than the look-back only delays
 * rows the look-back leaves out anyway: its fence then settles, with a
 * warning. */
static bool stream_fence(correlate_t *c, step_t *s, int64_t now_us, int64_t lookback_us)
{
    int64_t last;
    correlate_ids_t now = {0};
    s->safe = -1;
    if (!correlate_input_stream_seq(c->in, &last) || !correlate_input_stream_writers(c->in, &now)) {
        correlate_ids_free(&now);
        return false;
    }
    for (size_t i = 0; i < c->nfence; i++) {
        struct fence *f = &c->fence[i];
        bool gone = true;
        for (size_t j = 0; gone && j < f->writers.n; j++)
            gone = !writer_in(&now, f->writers.v[j]);
        if (!gone && f->at_us < now_us - lookback_us) {
            LOG_WARN("correlation: a writer of probe streams has held its transaction open longer "
                     "than the look-back (%lld s): streams it commits now are outside the window",
                     (long long)(lookback_us / USEC_PER_SEC));
            gone = true;
        }
        if (gone && f->upto > s->safe)
            s->safe = f->upto;
        f->upto = gone ? -1 : f->upto; /* -1: to drop */
    }
    if (now.n == 0 && last > s->safe)
        s->safe = last;
    size_t n = 0;
    for (size_t i = 0; i < c->nfence; i++) {
        if (c->fence[i].upto > s->safe)
            c->fence[n++] = c->fence[i];
        else
            correlate_ids_free(&c->fence[i].writers);
    }
    c->nfence = n;
    if (now.n == 0 || last <= s->safe) {
        correlate_ids_free(&now);
        return true;
    }
    if (!correlate_input_grow(&c->fence, &c->capfence, c->nfence, sizeof *c->fence)) {
        correlate_ids_free(&now);
        return false;
    }
    c->fence[c->nfence++] = (struct fence){last, now_us, now};
    return true;
}

/* New probe streams: above the watermark, not handled yet, at most
 * cfg.batch; read by pages in id order (rows handled already are skipped). */
static bool read_new_streams(correlate_t *c, step_t *s, int64_t since)
{
    s->cursor = c->w_stream;
    for (;;) {
        correlate_streams_t page = {0};
        bool ok = correlate_input_new_streams(c->in, s->cursor, since, c->cfg.batch, &page);
        for (size_t i = 0; i < page.n; i++) {
            correlate_stream_t *x = &page.v[i];
            if (!ok || done_has(c, x->id)) {
                free(x->client_enc);
                continue;
            }
            if (!correlate_input_grow(&s->streams.v, &s->streams.cap, s->streams.n,
                                      sizeof *s->streams.v) ||
                !correlate_input_grow(&s->ids, &s->capids, s->nids, sizeof *s->ids)) {
                free(x->client_enc);
                ok = false;
                continue;
            }
            s->streams.v[s->streams.n++] = *x;
            s->ids[s->nids++] = x->id;
        }
        free(page.v);
        if (!ok)
            return false;
        s->cursor = page.max_id > s->cursor ? page.max_id : s->cursor;
        s->more = page.nread >= c->cfg.batch;
        if (!s->more || s->streams.n >= c->cfg.batch)
            return true;
    }
}

static int i64_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* After a committed step: the watermark moves as far as every id below it
 * is handled or final; done[] keeps the handled ids above it. */
static void stream_mark(correlate_t *c, step_t *s)
{
    int64_t w;
    if (db_kind(c->db) != DB_PG)
        w = s->cursor; /* ids commit in order: all below the highest read are in */
    else
        w = s->more && s->cursor < s->safe ? s->cursor : s->safe;
    if (w < c->w_stream)
        w = c->w_stream;
    c->w_stream = w;
    size_t n = 0;
    for (size_t i = 0; i < c->ndone; i++)
        if (c->done[i] > w)
            c->done[n++] = c->done[i];
    c->ndone = n;
    for (size_t i = 0; i < s->nids; i++) {
        if (s->ids[i] <= w)
            continue;
        if (!correlate_input_grow(&c->done, &c->capdone, c->ndone, sizeof *c->done))
            break; /* out of memory: such a row is judged again, never lost */
        c->done[c->ndone++] = s->ids[i];
    }
    if (c->ndone > 1)
        qsort(c->done, c->ndone, sizeof *c->done, i64_cmp);
}

/* What this step must look at: new records, and the records or clients
 * of new streams. */
static bool step_collect(correlate_t *c, step_t *s, int64_t now_us, int64_t since)
{
    int64_t from =
        c->w_stored - RECORD_OVERLAP_US > since ? c->w_stored - RECORD_OVERLAP_US : since;
    s->c = c;
    s->max_stored = c->w_stored;
    if ((db_kind(c->db) == DB_PG && !stream_fence(c, s, now_us, now_us - since)) ||
        !correlate_input_new_records(c->in, from, record_note, s) || !read_new_streams(c, s, since))
        return false;
    int64_t slack = c->cfg.slack_s * USEC_PER_SEC;
    if (!correlate_input_records_near_all(c->in, s->streams.v, s->streams.n, slack, &s->records))
        return false;
    for (size_t i = 0; i < s->streams.n; i++)
        if (!wire_note(&s->wire, &s->nwire, &s->capwire, &s->streams.v[i]))
            return false;
    return true;
}

/* ---- a step in sets (PostgreSQL) -----------------------------------------------------------
 *
 * On PostgreSQL each statement is a round trip, so the calls are judged
 * by chunks: a chunk's inputs are read in a few statements (records,
 * media, Graph streams; the probe streams of every client address its
 * media name, over the windows match_side() asks; the wire-only calls
 * claiming those streams), its calls judged in memory as on SQLite, and
 * its rows written in one statement per table (verdict_store.h). Then the
 * wire-only clients by chunks likewise (their streams over the windows
 * eval_wire_client() asks, which of them are joined, their wire-only
 * calls). The per-call reads are answered from what was read, with the
 * same predicates on the same values, so the rows are those of the
 * per-call path; SQLite keeps the per-call path (no round trips there). */

#define WIRE_CHUNK 512 /* wire-only clients per chunk */

static bool window_add(correlate_window_t **v, size_t *n, size_t *cap, const uint8_t *h,
                       int64_t from, int64_t to)
{
    if (!correlate_input_grow(v, cap, *n, sizeof **v))
        return false;
    memcpy((*v)[*n].h, h, PII_HASH_LEN);
    (*v)[*n].from_us = from;
    (*v)[(*n)++].to_us = to;
    return true;
}

/* The windows match_side() will ask for the prefetched records. */
static bool record_windows(correlate_t *c, correlate_window_t **v, size_t *n, size_t *cap)
{
    int64_t slack = c->cfg.slack_s * USEC_PER_SEC;
    const correlate_record_t *r;
    for (size_t i = 0; (r = correlate_input_cached_record(c->in, i)) != NULL; i++) {
        for (size_t j = 0; j < r->nmedia; j++) {
            const correlate_media_t *m = &r->media[j];
            for (int side = 0; side < 2; side++) {
                const correlate_side_t *sd = &m->side[side];
                if (!sd->participant)
                    continue;
                if (sd->has_ip &&
                    !window_add(v, n, cap, sd->ip_h, m->start_us - slack, m->end_us + slack))
                    return false;
                if (sd->has_refl &&
                    !window_add(v, n, cap, sd->refl_h, m->start_us - slack, m->end_us + slack))
                    return false;
            }
        }
    }
    return true;
}

/* The prefetched streams' ids, for the loads of verdict_store.h. */
static int64_t *cached_ids(correlate_t *c, size_t *n)
{
    *n = correlate_input_cached_stream_ids(c->in, NULL);
    int64_t *ids = malloc((*n ? *n : 1) * sizeof *ids);
    if (ids)
        correlate_input_cached_stream_ids(c->in, ids);
    return ids;
}

static int step_eval_sets(correlate_t *c, step_t *s, int64_t now_us)
{
    int total = 0;
    correlate_window_t *w = NULL;
    size_t nw = 0, capw = 0, nids;
    uint8_t(*hs)[PII_HASH_LEN] = NULL;
    int64_t *ids = NULL;
    bool ok = true;
    for (size_t lo = 0, hi; ok && lo < s->records.n; lo = hi) {
        nw = 0;
        ok = correlate_input_prefetch_records(c->in, &s->records, lo, &hi) && hi > lo &&
             record_windows(c, &w, &nw, &capw) && correlate_input_prefetch_clients(c->in, w, nw) &&
             (ids = cached_ids(c, &nids)) && verdict_store_load_wire_claims(c->vs, ids, nids);
        free(ids);
        ids = NULL;
        for (size_t i = lo; ok && i < hi; i++) {
            int n = eval_record(c, s->records.v[i], now_us);
            ok = n >= 0;
            total += ok ? n : 0;
        }
        ok = ok && verdict_store_flush(c->vs);
    }
    int64_t around = WIRE_WINDOW_US;
    for (size_t lo = 0; ok && lo < s->nwire; lo += WIRE_CHUNK) {
        size_t hi = s->nwire - lo > WIRE_CHUNK ? lo + WIRE_CHUNK : s->nwire;
        nw = 0;
        correlate_input_cache_drop(c->in);
        for (size_t i = lo; ok && i < hi; i++)
            ok = window_add(&w, &nw, &capw, s->wire[i].h, s->wire[i].from - around,
                            s->wire[i].to + around);
        free(hs);
        ok = ok && (hs = malloc((hi - lo) * sizeof *hs)) != NULL;
        for (size_t i = lo; ok && i < hi; i++)
            memcpy(hs[i - lo], s->wire[i].h, PII_HASH_LEN);
        ok = ok && correlate_input_prefetch_clients(c->in, w, nw) && (ids = cached_ids(c, &nids)) &&
             verdict_store_load_joined(c->vs, ids, nids) &&
             verdict_store_load_wire_clients(c->vs, (const uint8_t(*)[32])hs, hi - lo);
        free(ids);
        ids = NULL;
        for (size_t i = lo; ok && i < hi; i++) {
            int n = eval_wire_client(c, s->wire[i].h, s->wire[i].from, s->wire[i].to, now_us);
            ok = n >= 0;
            total += ok ? n : 0;
        }
        ok = ok && verdict_store_flush(c->vs);
    }
    free(hs);
    free(w);
    correlate_input_cache_drop(c->in);
    verdict_store_unload(c->vs);
    return ok ? total : -1;
}

static int step_eval(correlate_t *c, step_t *s, int64_t now_us)
{
    if (db_kind(c->db) == DB_PG)
        return step_eval_sets(c, s, now_us);
    int total = 0;
    for (size_t i = 0; i < s->records.n; i++) {
        int n = eval_record(c, s->records.v[i], now_us);
        if (n < 0)
            return -1;
        total += n;
    }
    for (size_t i = 0; i < s->nwire; i++) {
        int n = eval_wire_client(c, s->wire[i].h, s->wire[i].from, s->wire[i].to, now_us);
        if (n < 0)
            return -1;
        total += n;
    }
    return total;
}

int correlate_step(correlate_t *c, int64_t now_us, int64_t lookback_s, char *err, size_t errlen)
{
    step_t s;
    memset(&s, 0, sizeof s);
    c->stats.steps++;
    int64_t since = now_us - lookback_s * USEC_PER_SEC;
    correlate_input_clear_error(c->in);
    verdict_store_clear_error(c->vs);
    if (!verdict_store_begin(c->vs)) {
        snprintf(err, errlen, "correlation: %s", verdict_store_error(c->vs));
        c->stats.errors++;
        return -1;
    }
    int n = step_collect(c, &s, now_us, since) ? step_eval(c, &s, now_us) : -1;
    if (n < 0 || !verdict_store_commit(c->vs)) {
        const char *why = correlate_input_error(c->in);
        if (!why[0])
            why = verdict_store_error(c->vs);
        snprintf(err, errlen, "correlation: %s", why[0] ? why : "out of memory");
        verdict_store_rollback(c->vs);
        c->nseen = 0; /* nothing of this step was kept: see it all again */
        c->stats.errors++;
        step_free(&s);
        return -1;
    }
    c->stats.streams += s.streams.n;
    c->stats.records += s.records.n;
    stream_mark(c, &s);
    c->w_stored = s.max_stored;
    seen_prune(c);
    LOG_DEBUG("correlation: %zu new streams, %zu records, %d calls written", s.streams.n,
              s.records.n, n);
    step_free(&s);
    return n;
}
