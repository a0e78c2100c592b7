/* GET /api/live: the calls in progress, from interval records still
 * arriving (noc_api.h, docs/noc.md "Live").
 *
 * The streams' newest records are kept in memory between requests (one
 * table per process, under a mutex): the first request, or one after a
 * look-back without any, reads the look-back's records newest first (the
 * intervals_received index backwards), every other request only the
 * records stored since the previous one (by id, which grows with each
 * insert). With 1,500 calls in progress (6,000 streams at 10 s) the
 * look-back holds about 180,000 records: reading them on every request
 * (SQL GROUP BY, as before) took 238 ms of CPU, and with an answer listing
 * every call 1.5 MB; bench/README.md has this version's figures. The
 * answer is the rollups per site and per building and one page of calls.
 *
 * Both backends (common/db.h), the same SQL. On PostgreSQL with several
 * collectors writing, ids come from a sequence and a record may commit
 * after one with a higher id was read: that record is missed by the "since
 * the last id" read, and its stream shows its next record instead (one
 * interval later). The building map is the NOC's shared one
 * (noc_buildings_acquire, r->buildings).
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "building_store.h"
#include "noc_buildings.h"
#include "noc_api.h"
#include "noc_db.h"
#include "noc_people.h"
#include "timefmt.h"
#include "verdict.h"

#define HTTP_OK 200
#define HTTP_UNAVAILABLE 503
#define MAX_LIVE_STREAMS 20000
#define HASH_SLOTS 65536 /* a power of two, over 2 x MAX_LIVE_STREAMS */
#define KEY_MAX 700      /* probe id (<= 256 kept) + 3 numbers + two hashes */
#define NAME_MAX_ 257
#define TS_MAX 40
#define MAX_USER_ADDRS 256
#define LIVE_PAGE 25 /* calls in an answer without limit= */
/* A person's addresses: those of their Graph records of the last days. */
#define USER_ADDR_DAYS 7

/* Every interval record stored in the look-back (?1), newest first. */
static const char cold_sql[] =
    "SELECT id, site, probe_id, direction, ssrc, src_port, dst_port, src_ip_hmac, dst_ip_hmac,"
    " start, \"end\", received, packets, loss_pct, jitter_ms_max,"
    " CASE WHEN direction = 'inbound' THEN dst_ip_enc ELSE src_ip_enc END"
    " FROM intervals WHERE received >= ?1 ORDER BY received DESC, id DESC";
/* The records stored since the last one read (?1), oldest first. */
static const char new_sql[] =
    "SELECT id, site, probe_id, direction, ssrc, src_port, dst_port, src_ip_hmac, dst_ip_hmac,"
    " start, \"end\", received, packets, loss_pct, jitter_ms_max,"
    " CASE WHEN direction = 'inbound' THEN dst_ip_enc ELSE src_ip_enc END"
    " FROM intervals WHERE id > ?1 ORDER BY id";

enum {
    C_ID,
    C_SITE,
    C_PROBE,
    C_DIR,
    C_SSRC,
    C_SPORT,
    C_DPORT,
    C_SRC,
    C_DST,
    C_START,
    C_END,
    C_RECEIVED,
    C_PACKETS,
    C_LOSS,
    C_JITTER,
    C_ENC
};

/* A person's client addresses, from the sides of their Graph records
 * (segments' caller/callee identity, the address of that side of the
 * segment's media): each identity term an indexed equality (graph
 * migration 2). */
#define USER_SIDE_(S)                                                                              \
    "SELECT m." S "_ip_hmac FROM graph_segment x JOIN graph_media m ON m.parent_rid = x.rid"       \
    " WHERE (x." S "_user_upn_hmac = ?1 OR x." S "_user_id_hmac = ?2 OR x." S                      \
    "_user_name_key_hmac = ?3 OR x." S "_guest_name_key_hmac = ?3)"                                \
    " AND m." S "_ip_hmac IS NOT NULL AND x.start_us >= ?4"
static const char user_addrs_sql[] = USER_SIDE_("caller") " UNION " USER_SIDE_("callee");

typedef struct {
    uint8_t *key; /* probe \0 ssrc sport dport src dst, as bytes */
    size_t keylen;
    uint64_t hash;
    /* from the newest record */
    int64_t id, received_us, len_us;
    char received[TS_MAX], end[TS_MAX];
    char site[NAME_MAX_], probe[NAME_MAX_];
    bool inbound;
    uint8_t client[PII_HASH_LEN];
    int clientlen; /* 0: no client hash */
    uint8_t *enc;  /* the client's sealed address, or NULL */
    size_t enclen;
    int64_t ssrc, packets;
    double loss, jitter;
    bool has_packets, has_loss, has_jitter;
    char client_hex[17];
    char app[32];   /* from the newest record's JSON, read when first shown */
    int64_t app_id; /* the record app was read from; 0 none */
    /* over every record read */
    char first_start[TS_MAX];
    /* per request */
    verdict_t v;
    /* a copy (the map may be released and replaced between requests) */
    char building[NOC_BUILDINGS_NAME_MAX + 1];
    bool has_building;
    int64_t building_gen; /* the map it was looked up in; -1 none */
} lstream_t;

typedef struct {
    lstream_t *s;
    size_t n, cap;
    int32_t slot[HASH_SLOTS]; /* index + 1 into s; 0 empty */
    bool truncated;
} table_t;

typedef struct {
    size_t first, n; /* streams [first, first + n) of the sorted live list */
    const char *site, *building;
    verdict_t worst;
    char since[TS_MAX];
} lcall_t;

/* The process's live state: one store per process (serve, run). */
static struct {
    pthread_mutex_t mu;
    char path[1024];
    table_t *t;
    int64_t last_id, last_us, pruned_us;
    /* the building map of the request in flight (r->buildings) and the
     * stamp streams compare with: a new stamp per map seen */
    const building_map_t *bm;
    int64_t bm_version, bm_gen;
} cache = {.mu = PTHREAD_MUTEX_INITIALIZER, .bm_version = -1};

static uint64_t fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

static size_t put_blob(uint8_t *k, size_t at, db_stmt_t *st, int col)
{
    int n = db_col_type(st, col) == DB_T_BLOB ? (int)db_col_bytes(st, col) : -1;
    if (n > PII_HASH_LEN)
        n = PII_HASH_LEN;
    k[at++] = (uint8_t)(n + 1); /* 0: NULL */
    if (n > 0) {
        memcpy(k + at, db_col_blob(st, col), (size_t)n);
        at += (size_t)n;
    }
    return at;
}

static size_t put_int(uint8_t *k, size_t at, db_stmt_t *st, int col)
{
    k[at++] = db_col_type(st, col) == DB_T_NULL ? 0 : 1;
    int64_t v = db_col_int(st, col);
    memcpy(k + at, &v, sizeof v);
    return at + sizeof v;
}

/* The stream's identity, as the SQL GROUP BY of earlier versions had it:
 * probe, SSRC, both ports, both address hashes. */
static size_t stream_key(db_stmt_t *st, uint8_t k[KEY_MAX])
{
    const char *probe = db_col_text(st, C_PROBE);
    size_t n = probe ? strnlen(probe, NAME_MAX_ - 1) : 0;
    memcpy(k, probe ? probe : "", n);
    k[n++] = 0;
    n = put_int(k, n, st, C_SSRC);
    n = put_int(k, n, st, C_SPORT);
    n = put_int(k, n, st, C_DPORT);
    n = put_blob(k, n, st, C_SRC);
    return put_blob(k, n, st, C_DST);
}

static void copy_text(char *dst, size_t cap, db_stmt_t *st, int col)
{
    const char *s = db_col_text(st, col);
    snprintf(dst, cap, "%s", s ? s : "");
}

static void slot_put(table_t *t, uint64_t h, int32_t idx)
{
    size_t i = (size_t)h & (HASH_SLOTS - 1);
    while (t->slot[i])
        i = (i + 1) & (HASH_SLOTS - 1);
    t->slot[i] = idx;
}

static lstream_t *find(table_t *t, const uint8_t *key, size_t keylen, uint64_t h)
{
    for (size_t i = (size_t)h & (HASH_SLOTS - 1); t->slot[i]; i = (i + 1) & (HASH_SLOTS - 1)) {
        lstream_t *s = &t->s[t->slot[i] - 1];
        if (s->hash == h && s->keylen == keylen && memcmp(s->key, key, keylen) == 0)
            return s;
    }
    return NULL;
}

/* A new entry (zeroed but for its key), or NULL when full (truncated) or
 * out of memory. */
static lstream_t *add(table_t *t, const uint8_t *key, size_t keylen, uint64_t h)
{
    if (t->n == MAX_LIVE_STREAMS) {
        t->truncated = true;
        return NULL;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        lstream_t *ns = realloc(t->s, cap * sizeof *ns);
        if (!ns)
            return NULL;
        t->s = ns;
        t->cap = cap;
    }
    lstream_t *s = &t->s[t->n];
    memset(s, 0, sizeof *s);
    if (!(s->key = malloc(keylen)))
        return NULL;
    memcpy(s->key, key, keylen);
    s->keylen = keylen;
    s->hash = h;
    s->building_gen = -1;
    t->n++;
    slot_put(t, h, (int32_t)t->n);
    return s;
}

static double col_num(db_stmt_t *st, int i, bool *has)
{
    *has = db_col_type(st, i) != DB_T_NULL;
    return *has ? db_col_real(st, i) : NAN;
}

/* The newest record of a stream: what the answer shows of it. */
static void fill_newest(lstream_t *s, db_stmt_t *st)
{
    int64_t a = 0, b = 0;
    s->id = db_col_int(st, C_ID);
    copy_text(s->received, sizeof s->received, st, C_RECEIVED);
    copy_text(s->end, sizeof s->end, st, C_END);
    if (!timefmt_parse_iso(s->received, &s->received_us))
        s->received_us = 0; /* never live */
    s->len_us =
        timefmt_parse_iso(db_col_text(st, C_START), &a) && timefmt_parse_iso(s->end, &b) && b > a
            ? b - a
            : 0;
    copy_text(s->site, sizeof s->site, st, C_SITE);
    copy_text(s->probe, sizeof s->probe, st, C_PROBE);
    const char *dir = db_col_text(st, C_DIR);
    s->inbound = dir && strcmp(dir, "inbound") == 0;
    int cc = s->inbound ? C_DST : C_SRC;
    s->clientlen = 0;
    if (db_col_type(st, cc) == DB_T_BLOB && db_col_bytes(st, cc) >= 8) {
        s->clientlen =
            (int)(db_col_bytes(st, cc) > PII_HASH_LEN ? PII_HASH_LEN : db_col_bytes(st, cc));
        memcpy(s->client, db_col_blob(st, cc), (size_t)s->clientlen);
        for (int i = 0; i < 8; i++)
            snprintf(s->client_hex + 2 * i, 3, "%02x", s->client[i]);
    } else {
        snprintf(s->client_hex, sizeof s->client_hex, "unknown");
    }
    free(s->enc);
    s->enc = NULL;
    s->enclen = 0;
    s->building_gen = -1;
    size_t en = db_col_type(st, C_ENC) == DB_T_BLOB ? db_col_bytes(st, C_ENC) : 0;
    if (en > 0 && en < 512 && (s->enc = malloc(en))) {
        memcpy(s->enc, db_col_blob(st, C_ENC), en);
        s->enclen = en;
    }
    s->ssrc = db_col_int(st, C_SSRC);
    s->has_packets = db_col_type(st, C_PACKETS) != DB_T_NULL;
    s->packets = db_col_int(st, C_PACKETS);
    s->loss = col_num(st, C_LOSS, &s->has_loss);
    s->jitter = col_num(st, C_JITTER, &s->has_jitter);
}

/* One record into the table: the newest of its stream replaces what is
 * shown, any record may move its first start back. */
static bool merge(table_t *t, db_stmt_t *st)
{
    uint8_t key[KEY_MAX];
    size_t kl = stream_key(st, key);
    uint64_t h = fnv(key, kl);
    lstream_t *s = find(t, key, kl, h);
    const char *start = db_col_text(st, C_START);
    const char *rec = db_col_text(st, C_RECEIVED);
    if (!start || !rec)
        return true; /* NOT NULL in the schema */
    if (!s) {
        if (!(s = add(t, key, kl, h)))
            return t->truncated; /* full: the streams kept still count */
        fill_newest(s, st);
        snprintf(s->first_start, sizeof s->first_start, "%s", start);
        return true;
    }
    int c = strcmp(rec, s->received); /* ISO text: text order is time order */
    if (c > 0 || (c == 0 && db_col_int(st, C_ID) > s->id))
        fill_newest(s, st);
    if (strcmp(start, s->first_start) < 0)
        snprintf(s->first_start, sizeof s->first_start, "%s", start);
    return true;
}

static void stream_free(lstream_t *s)
{
    free(s->key);
    free(s->enc);
}

static void table_free(table_t **tp)
{
    table_t *t = *tp;
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        stream_free(&t->s[i]);
    free(t->s);
    free(t);
    *tp = NULL;
}

/* Drops the streams whose newest record left the look-back. */
static void prune(table_t *t, int64_t oldest_us)
{
    size_t k = 0;
    memset(t->slot, 0, sizeof t->slot);
    for (size_t i = 0; i < t->n; i++) {
        if (t->s[i].received_us < oldest_us) {
            stream_free(&t->s[i]);
            continue;
        }
        if (k != i)
            t->s[k] = t->s[i];
        k++;
        slot_put(t, t->s[k - 1].hash, (int32_t)k);
    }
    t->n = k;
    t->truncated = false;
}

/* The newest record's id: -1 on an error (err set), 0 when none. */
static int64_t max_id(const noc_api_req_t *r, char *err, size_t errlen)
{
    db_stmt_t *st = noc_store_prepare(r->store, "SELECT max(id) FROM intervals", err, errlen);
    int64_t v = -1;
    int rc = st ? noc_store_step(st, r->limit, err, errlen) : DB_ERR;
    if (rc == DB_ROW)
        v = db_col_int(st, 0); /* NULL (no records): 0 */
    db_finalize(&st);
    return v;
}

/* Which store the connection reads (the cache is the process's): the
 * SQLite file, or PostgreSQL's host, port and database. */
static void store_name(db_t *db, char *out, size_t cap)
{
    sqlite3 *h = db_sqlite(db);
    PGconn *c = db_pg(db);
    const char *path = h ? sqlite3_db_filename(h, "main") : NULL;
    if (c)
        snprintf(out, cap, "pg:%s:%s/%s", PQhost(c) ? PQhost(c) : "", PQport(c) ? PQport(c) : "",
                 PQdb(c) ? PQdb(c) : "");
    else
        snprintf(out, cap, "%s", path ? path : "");
}

/* Brings the cache up to the store's newest record (under cache.mu). */
static int refresh(const noc_api_req_t *r, int64_t now, char *err, size_t errlen)
{
    char name[sizeof cache.path];
    store_name(r->store, name, sizeof name);
    int64_t top = max_id(r, err, errlen),
            oldest = now - (int64_t)NOC_LIVE_LOOKBACK_S * USEC_PER_SEC;
    if (top < 0)
        return HTTP_UNAVAILABLE;
    bool cold =
        !cache.t || strcmp(cache.path, name) != 0 || top < cache.last_id || cache.last_us < oldest;
    if (cold) {
        table_free(&cache.t);
        if (!(cache.t = calloc(1, sizeof *cache.t))) {
            snprintf(err, errlen, "out of memory");
            return HTTP_UNAVAILABLE;
        }
        snprintf(cache.path, sizeof cache.path, "%s", name);
        cache.pruned_us = now;
        cache.last_id = top;
    }
    if (!cold && top == cache.last_id) { /* nothing new: no statement */
        cache.last_us = now;
        return HTTP_OK;
    }
    db_stmt_t *st = noc_store_prepare(r->store, cold ? cold_sql : new_sql, err, errlen);
    if (!st) {
        table_free(&cache.t);
        return HTTP_UNAVAILABLE;
    }
    char since[TS_MAX];
    timefmt_iso(oldest, since, sizeof since);
    if (cold)
        db_bind_text(st, 1, since, -1);
    else
        db_bind_int(st, 1, cache.last_id);
    int64_t last = cache.last_id;
    int rc;
    while ((rc = noc_store_step(st, r->limit, err, errlen)) == DB_ROW) {
        if (!merge(cache.t, st)) {
            snprintf(err, errlen, "out of memory");
            rc = DB_ERR;
            break;
        }
        int64_t id = db_col_int(st, C_ID);
        if (id > last)
            last = id;
    }
    db_finalize(&st);
    if (rc != DB_DONE) {
        table_free(&cache.t); /* half read: start again next time */
        return HTTP_UNAVAILABLE;
    }
    cache.last_id = last;
    cache.last_us = now;
    if (now - cache.pruned_us > (int64_t)NOC_LIVE_LOOKBACK_S * USEC_PER_SEC) {
        prune(cache.t, oldest);
        cache.pruned_us = now;
    }
    return HTTP_OK;
}

/* The building map in force for this request (the NOC's shared cache,
 * held by the caller); a map not seen before gets a new stamp, so every
 * stream looks its building up again. */
static void use_buildings(const noc_buildings_ref_t *ref)
{
    const building_map_t *bm = ref ? noc_buildings_map(ref) : NULL;
    int64_t version = ref ? noc_buildings_version(ref) : -1;
    if (bm && building_map_count(bm) == 0)
        bm = NULL; /* no building file: nothing to open */
    if (bm != cache.bm || version != cache.bm_version) {
        cache.bm = bm;
        cache.bm_version = version;
        cache.bm_gen++;
    }
}

/* The hold in seconds: --live-hold, or the default. */
static double live_hold(const noc_api_req_t *r)
{
    return r->live_hold_s ? (double)r->live_hold_s : NOC_LIVE_MIN_AGE_S;
}

/* Still arriving: stored within max(hold, 2.5 intervals) of now. */
static bool is_live(const lstream_t *s, int64_t now, double hold)
{
    double age = (double)(now - s->received_us) / USEC_PER_SEC;
    double len = (double)s->len_us / USEC_PER_SEC;
    return s->received_us > 0 && age <= (2.5 * len > hold ? 2.5 * len : hold) &&
           age <= NOC_LIVE_LOOKBACK_S;
}

static void judge(const verdict_thresholds_t *thr, lstream_t *s)
{
    verdict_wire_t w;
    verdict_graph_t g;
    verdict_wire_clear(&w);
    verdict_graph_clear(&g);
    w.present = true;
    w.packets = s->packets;
    w.loss_pct = s->loss;
    w.jitter_ms_max = s->jitter;
    w.probes = 1;
    verdict_stream(thr, s->inbound ? VERDICT_INBOUND : VERDICT_OUTBOUND, &w, &g, &s->v);
}

static int by_call(const void *a, const void *b)
{
    const lstream_t *x = *(lstream_t *const *)a, *y = *(lstream_t *const *)b;
    int c = strcmp(x->site, y->site);
    if (!c)
        c = strcmp(x->client_hex, y->client_hex);
    if (!c)
        c = (int)x->inbound - (int)y->inbound;
    if (!c)
        c = strcmp(x->probe, y->probe);
    if (!c)
        c = x->ssrc < y->ssrc ? -1 : x->ssrc > y->ssrc;
    return c;
}

/* Rank of a wire verdict for "worst": a network fault over healthy over
 * not enough data. */
static int rank(verdict_kind_t k)
{
    return k == VERDICT_LAN || k == VERDICT_WAN ? 2 : k == VERDICT_HEALTHY ? 1 : 0;
}

/* The building of the stream's client (its sealed address opened, then
 * looked up), remembered until the map or the stream's newest record
 * changes. */
static const char *stream_building(const noc_api_req_t *r, lstream_t *s)
{
    if (s->building_gen == cache.bm_gen)
        return s->has_building ? s->building : NULL;
    s->has_building = false;
    s->building_gen = cache.bm_gen;
    char ip[128];
    if (!cache.bm || !s->enc || s->enclen >= sizeof ip + PII_OVERHEAD ||
        !pii_open(r->pii, s->inbound ? "intervals.dst_ip" : "intervals.src_ip", s->enc, s->enclen,
                  ip, sizeof ip))
        return NULL;
    const building_t *b = building_map_lookup_text(cache.bm, ip);
    memset(ip, 0, sizeof ip);
    if (b && b->f[BUILDING_F_BUILDING] && b->f[BUILDING_F_BUILDING][0]) {
        snprintf(s->building, sizeof s->building, "%s", b->f[BUILDING_F_BUILDING]);
        s->has_building = true;
    }
    return s->has_building ? s->building : NULL;
}

static const char *call_building(const noc_api_req_t *r, lstream_t **ss, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *b = stream_building(r, ss[i]);
        if (b)
            return b;
    }
    return NULL;
}

/* The addresses (hashes) of the person ?user= names; n = 0: none known
 * (also a store without Graph's people columns yet: nobody to find). */
static int user_addrs(const noc_api_req_t *r, int64_t now, uint8_t (*out)[PII_HASH_LEN], size_t *n,
                      char *err, size_t errlen)
{
    *n = 0;
    if (!noc_people_ready(r->store))
        return HTTP_OK; /* no call records: nobody to find */
    db_stmt_t *st = noc_store_prepare(r->store, user_addrs_sql, err, errlen);
    if (!st)
        return strstr(err, "no such") ? HTTP_OK : HTTP_UNAVAILABLE;
    db_bind_blob(st, 1, r->p->user_upn, PII_HASH_LEN);
    db_bind_blob(st, 2, r->p->user_id, PII_HASH_LEN);
    db_bind_blob(st, 3, r->p->user_name, PII_HASH_LEN);
    db_bind_int(st, 4, now - (int64_t)USER_ADDR_DAYS * 86400 * USEC_PER_SEC);
    int rc;
    while ((rc = noc_store_step(st, r->limit, err, errlen)) == DB_ROW && *n < MAX_USER_ADDRS)
        if (db_col_bytes(st, 0) == PII_HASH_LEN)
            memcpy(out[(*n)++], db_col_blob(st, 0), PII_HASH_LEN);
    db_finalize(&st);
    if (rc == DB_ERR)
        return strstr(err, "no such") || strstr(err, "does not exist") ? HTTP_OK : HTTP_UNAVAILABLE;
    return HTTP_OK;
}

static bool user_match(const lstream_t *s, uint8_t (*addrs)[PII_HASH_LEN], size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s->clientlen == PII_HASH_LEN && memcmp(s->client, addrs[i], PII_HASH_LEN) == 0)
            return true;
    return false;
}

static json_int_t iget(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static void inc(json_t *o, const char *k, json_int_t by)
{
    json_object_set_new(o, k, json_integer(iget(o, k) + by));
}

/* Adds a call to a rollup entry ({active_calls, degraded_calls, ...}). */
static void count_call(json_t *e, const lcall_t *c)
{
    bool lan = c->worst.kind == VERDICT_LAN, wan = c->worst.kind == VERDICT_WAN;
    inc(e, "active_calls", 1);
    inc(e, "degraded_calls", lan || wan);
    inc(e, "lan_degraded", lan);
    inc(e, "wan_degraded", wan);
    inc(e, "streams", (json_int_t)c->n);
}

static json_t *rollup_entry(json_t *index, json_t *list, const char *site, const char *building,
                            bool with_building)
{
    char key[2 * NAME_MAX_ + 4];
    snprintf(key, sizeof key, "%s%c%s", site, 0x1f, building ? building : "\x1e");
    json_t *e = json_object_get(index, key);
    if (e)
        return e;
    e = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "site", site, "active_calls", (json_int_t)0,
                  "degraded_calls", (json_int_t)0, "lan_degraded", (json_int_t)0, "wan_degraded",
                  (json_int_t)0, "streams", (json_int_t)0);
    if (with_building)
        json_object_set_new(e, "building", building ? json_string(building) : json_null());
    json_object_set(index, key, e);
    json_array_append_new(list, e);
    return e;
}

/* The "app" of the stream's newest record (its JSON parsed in C on both
 * backends), read once per newest record. */
static void read_app(db_stmt_t *app, lstream_t *s)
{
    char err[256];
    s->app[0] = '\0';
    s->app_id = s->id;
    db_reset(app);
    db_bind_int(app, 1, s->id);
    if (db_step(app, err, sizeof err) != DB_ROW || db_col_type(app, 0) != DB_T_TEXT)
        return;
    json_t *rec = json_loadb(db_col_text(app, 0), db_col_bytes(app, 0), 0, NULL);
    const char *v = json_string_value(json_object_get(rec, "app"));
    if (v)
        snprintf(s->app, sizeof s->app, "%s", v);
    json_decref(rec);
}

static json_t *stream_json(db_stmt_t *app, lstream_t *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "probe_id", json_string(s->probe));
    json_object_set_new(o, "direction", json_string(s->inbound ? "inbound" : "outbound"));
    json_object_set_new(o, "ssrc", json_integer(s->ssrc));
    if (app && s->app_id != s->id)
        read_app(app, s);
    json_object_set_new(o, "app", s->app[0] ? json_string(s->app) : json_null());
    json_object_set_new(o, "last_end", json_string(s->end));
    json_object_set_new(o, "packets", s->has_packets ? json_integer(s->packets) : json_null());
    json_object_set_new(o, "loss_pct", s->has_loss ? json_real(s->loss) : json_null());
    json_object_set_new(o, "jitter_ms_max", s->has_jitter ? json_real(s->jitter) : json_null());
    json_object_set_new(o, "verdict", json_string(verdict_name(s->v.kind)));
    return o;
}

static json_t *call_json(db_stmt_t *app, const lcall_t *c, lstream_t *const *ss)
{
    char id[64];
    snprintf(id, sizeof id, "live:%s", ss[c->first]->client_hex);
    json_t *streams = json_array();
    for (size_t i = 0; i < c->n; i++)
        json_array_append_new(streams, stream_json(app, ss[c->first + i]));
    return json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:b, s:o}", "live_id", id, "site",
                     c->site, "client_id", ss[c->first]->client_hex, "building",
                     c->building ? json_string(c->building) : json_null(), "since", c->since,
                     "verdict", verdict_name(c->worst.kind), "rule", c->worst.rule, "provisional",
                     1, "streams", streams);
}

static int answer(const noc_api_req_t *r, int64_t now, uint8_t (*addrs)[PII_HASH_LEN],
                  size_t naddrs, json_t **out, char *err, size_t errlen)
{
    char now_s[TS_MAX];
    timefmt_iso(now, now_s, sizeof now_s);
    verdict_thresholds_t thr;
    verdict_thresholds_defaults(&thr);
    table_t *t = cache.t;
    bool by_user = (r->p->seen & NOC_P_USER) != 0, by_building = (r->p->seen & NOC_P_BUILDING);
    lstream_t **ss = t->n ? malloc(t->n * sizeof *ss) : NULL;
    lcall_t *calls = t->n ? malloc(t->n * sizeof *calls) : NULL;
    if (t->n && (!ss || !calls)) {
        free(ss);
        free(calls);
        snprintf(err, errlen, "out of memory");
        return HTTP_UNAVAILABLE;
    }
    size_t nss = 0, ncalls = 0;
    for (size_t i = 0; i < t->n; i++) {
        lstream_t *s = &t->s[i];
        if (!is_live(s, now, live_hold(r)) || (r->p->site[0] && strcmp(s->site, r->p->site) != 0) ||
            (by_user && !user_match(s, addrs, naddrs)))
            continue;
        judge(&thr, s);
        ss[nss++] = s;
    }
    if (nss)
        qsort(ss, nss, sizeof *ss, by_call);
    /* one call per site and client address */
    for (size_t i = 0; i < nss;) {
        size_t j = i + 1;
        while (j < nss && strcmp(ss[j]->site, ss[i]->site) == 0 &&
               strcmp(ss[j]->client_hex, ss[i]->client_hex) == 0)
            j++;
        lcall_t c = {.first = i, .n = j - i, .site = ss[i]->site};
        c.building = call_building(r, ss + i, j - i);
        c.worst.kind = VERDICT_UNKNOWN;
        snprintf(c.worst.rule, sizeof c.worst.rule, "not enough data yet");
        snprintf(c.since, sizeof c.since, "%s", ss[i]->first_start);
        for (size_t k = i; k < j; k++) {
            const verdict_t *v = &ss[k]->v;
            if (rank(v->kind) > rank(c.worst.kind) ||
                (rank(v->kind) == 2 && c.worst.kind == VERDICT_WAN && v->kind == VERDICT_LAN))
                c.worst = *v; /* outbound (LAN) first: the site's own side */
            if (strcmp(ss[k]->first_start, c.since) < 0)
                snprintf(c.since, sizeof c.since, "%s", ss[k]->first_start);
        }
        if (!by_building || (c.building && strcmp(c.building, r->p->building) == 0))
            calls[ncalls++] = c;
        i = j;
    }
    json_t *sites = json_array(), *buildings = json_array(), *page = json_array();
    json_t *sidx = json_object(), *bidx = json_object();
    char perr[256];
    /* NULL: the streams' app stays null */
    db_stmt_t *app =
        db_prepare(r->store, "SELECT record FROM intervals WHERE id = ?1", perr, sizeof perr);
    /* a page of LIVE_PAGE calls unless limit= asks for more: the rollups
     * are what the panel shows */
    size_t limit = (r->p->seen & NOC_P_LIMIT) || r->p->limit < LIVE_PAGE ? r->p->limit : LIVE_PAGE;
    for (size_t i = 0; i < ncalls; i++) {
        count_call(rollup_entry(sidx, sites, calls[i].site, NULL, false), &calls[i]);
        count_call(rollup_entry(bidx, buildings, calls[i].site, calls[i].building, true),
                   &calls[i]);
        if (i >= r->p->offset && i - r->p->offset < limit)
            json_array_append_new(page, call_json(app, &calls[i], ss));
    }
    db_finalize(&app);
    json_decref(sidx);
    json_decref(bidx);
    *out = json_pack("{s:s, s:i, s:i, s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:b, s:b}", "time", now_s,
                     "lookback_s", NOC_LIVE_LOOKBACK_S, "hold_s", (int)live_hold(r), "thresholds",
                     verdict_thresholds_json(&thr), "sites", sites, "buildings", buildings, "calls",
                     page, "calls_total", (json_int_t)ncalls, "limit", (json_int_t)limit, "offset",
                     (json_int_t)r->p->offset, "more", r->p->offset + limit < ncalls, "truncated",
                     t->truncated);
    free(ss);
    free(calls);
    return HTTP_OK;
}

int noc_api_live(const noc_api_req_t *r, json_t **out, char *err, size_t errlen)
{
    int64_t now = timefmt_now();
    uint8_t(*addrs)[PII_HASH_LEN] = NULL;
    size_t naddrs = 0;
    if (r->p->seen & NOC_P_USER) {
        if (!(addrs = calloc(MAX_USER_ADDRS, PII_HASH_LEN))) {
            snprintf(err, errlen, "out of memory");
            return HTTP_UNAVAILABLE;
        }
        int code = user_addrs(r, now, addrs, &naddrs, err, errlen);
        if (code != HTTP_OK) {
            free(addrs);
            return code;
        }
    }
    /* the map before the cache's lock: a reload reads the store */
    char berr[256];
    noc_buildings_ref_t *ref =
        r->buildings ? noc_buildings_acquire(r->buildings, r->store, berr, sizeof berr) : NULL;
    pthread_mutex_lock(&cache.mu);
    int code = refresh(r, now, err, errlen);
    if (code == HTTP_OK) {
        use_buildings(ref); /* a map that cannot be read: no buildings this time */
        code = answer(r, now, addrs, naddrs, out, err, errlen);
    }
    /* the map is released below: cache.bm stays only as the identity of
     * the streams' building copies, never read outside a request */
    pthread_mutex_unlock(&cache.mu);
    if (ref)
        noc_buildings_release(r->buildings, &ref);
    free(addrs);
    return code;
}
