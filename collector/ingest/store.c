#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynbuf.h"
#include "jscan.h"
#include "log.h"
#include "pii.h"
#include "pii_cache.h"
#include "store_backend.h"
#include "timefmt.h"

/* ---- records: which JSON keys go to which columns ----------------------- */

const store_map_t store_maps[] = {
    {"stream",
     "streams",
     {"first_seen", "last_seen", "client_port", "src_port", "dst_port", "proto", "ssrc",
      "direction", "media", "app", "encap", "packets", "lost", "loss_pct", "jitter_ms_max",
      "network_jitter_ms_max", "mos"},
     "TTIIITITTTTIIRRRR",
     {"client_ip", "client_mac", "src_ip", "dst_ip"},
     true},
    {"interval",
     "intervals",
     {"start", "end", "src_port", "dst_port", "ssrc", "direction", "packets", "lost", "loss_pct",
      "jitter_ms_max"},
     "TTIIITIIRR",
     {"src_ip", "dst_ip"},
     true},
    {"flow",
     "flows",
     {"first_seen", "last_seen", "client_port", "remote_port", "proto", "app", "media"},
     "TTIITTT",
     {"client_ip", "client_mac", "remote_ip", "src_ip", "dst_ip"},
     true},
    {"client", "clients", {"first_seen", "last_seen"}, "TT", {"client_ip", "client_mac"}, false},
    {"stats", "probe_stats", {NULL}, "", {NULL}, false},
};

const size_t store_nmaps = sizeof store_maps / sizeof store_maps[0];

#define VALUE_MAX 1024 /* longest string or number bound from a record */
/* Unescaped strings and sealed values of one row: at most 24 columns of
 * VALUE_MAX and 8 sealed values of VALUE_MAX + overhead. */
#define ARENA (32 * (VALUE_MAX + PII_OVERHEAD + PII_HASH_LEN))

struct store {
    store_backend_t *be;
    void *sqlite; /* the SQLite connection, NULL on PostgreSQL */
    pii_cache_t *pc;
    bool in_txn;   /* store_begin() called, store_commit() not yet */
    jscan_t js;    /* the record at hand */
    dynbuf_t text; /* its stored form */
    store_row_t row;
    /* "<table>.<key>" per personal member of each map, made once (an
     * snprintf per value was ~700 instructions, 2,800 a stream record) */
    char aad[8][8][64];
    char arena[ARENA];
    size_t used;
};

bool store_is_uri(const char *db)
{
    return strncmp(db, "postgresql://", 13) == 0 || strncmp(db, "postgres://", 11) == 0;
}

store_t *store_open(const char *db, bool sync_full, const pii_t *pii, char *err, size_t errlen)
{
    store_t *s = calloc(1, sizeof *s);
    if (!s || !(s->pc = pii_cache_new(pii))) {
        snprintf(err, errlen, "out of memory");
        free(s);
        return NULL;
    }
    dynbuf_init(&s->text, 1 << 20);
    for (size_t i = 0; i < store_nmaps && i < 8; i++)
        for (int k = 0; k < 8 && store_maps[i].pii[k]; k++)
            snprintf(s->aad[i][k], sizeof s->aad[i][k], PII_AAD_RECORD_FMT, store_maps[i].table,
                     store_maps[i].pii[k]);
    if (store_is_uri(db))
        s->be = store_pg_open(db, sync_full, err, errlen);
    else
        s->be = store_sqlite_open(db, sync_full, s->pc, &s->sqlite, err, errlen);
    if (!s->be)
        store_free(&s);
    return s;
}

void store_free(store_t **ps)
{
    if (!ps || !*ps)
        return;
    store_t *s = *ps;
    if (s->be)
        s->be->ops->free(s->be);
    pii_cache_free(&s->pc);
    dynbuf_free(&s->text);
    explicit_bzero(s->arena, sizeof s->arena);
    free(s);
    *ps = NULL;
}

sqlite3 *store_db(store_t *s)
{
    return s->sqlite;
}

const char *store_backend(const store_t *s)
{
    return s->be->name;
}

/* ---- one record into a row ---------------------------------------------- */

static void *arena_take(store_t *s, size_t n)
{
    if (s->used + n > sizeof s->arena)
        return NULL;
    void *p = s->arena + s->used;
    s->used += n;
    return p;
}

/* 10^0 .. 10^22: every one exact in a double */
static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* A JSON number (checked by jscan) as a double, without strtod when it is
 * exact to do so: a mantissa up to 2^53 and a power of ten up to 22 are
 * both exact doubles, and one IEEE multiplication or division of exact
 * operands is correctly rounded, so the result is strtod's (Clinger's fast
 * path). Other numbers go to strtod. ~60 instead of ~700 instructions. */
static double number_real(const char *p, size_t n)
{
    const char *end = p + n, *q = p;
    bool neg = q < end && *q == '-';
    uint64_t mant = 0;
    int exp10 = 0, digits = 0;
    q += neg;
    for (; q < end && *q >= '0' && *q <= '9'; q++)
        if (mant != 0 || *q != '0')
            mant = mant * 10 + (uint64_t)(*q - '0'), digits++;
    if (q < end && *q == '.')
        for (q++; q < end && *q >= '0' && *q <= '9'; q++, exp10--)
            if (mant != 0 || *q != '0')
                mant = mant * 10 + (uint64_t)(*q - '0'), digits++;
    if (q == end && digits <= 15 && mant <= (1ULL << 53) && exp10 >= -22) {
        double d = (double)mant / pow10_exact[-exp10];
        return neg ? -d : d;
    }
    char num[64]; /* exponents, long mantissas: strtod decides */
    if (n >= sizeof num)
        n = sizeof num - 1;
    memcpy(num, p, n);
    num[n] = '\0';
    return strtod(num, NULL);
}

/* An integer of at most 18 digits (checked by jscan): fits int64. */
static int64_t number_int(const char *p, size_t n)
{
    bool neg = n > 0 && *p == '-';
    int64_t v = 0;
    for (size_t i = neg; i < n; i++)
        v = v * 10 + (p[i] - '0');
    return neg ? -v : v;
}

static void put_member(store_t *s, store_val_t *v, const js_member_t *m)
{
    memset(v, 0, sizeof *v);
    switch (m ? m->type : JS_NULL) {
    case JS_STRING:
        v->t = SV_TEXT;
        if (!m->escaped) { /* the line outlives the row */
            v->p = m->value + 1;
            v->len = m->value_len - 2;
        } else {
            char *buf = arena_take(s, VALUE_MAX);
            size_t len;
            if (buf && jscan_string(m, buf, VALUE_MAX, &len)) {
                s->used -= VALUE_MAX - len; /* give back what it did not use */
                v->p = buf;
                v->len = len;
            } else {
                if (buf)
                    s->used -= VALUE_MAX;
                v->t = SV_NULL;
            }
        }
        break;
    case JS_NUMBER:
        if (m->value_len >= 64)
            break;
        if (m->integer && m->value_len <= 18) {
            v->t = SV_INT;
            v->i = number_int(m->value, m->value_len);
        } else {
            v->t = SV_REAL;
            v->d = number_real(m->value, m->value_len);
        }
        break;
    case JS_TRUE:
    case JS_FALSE:
        v->t = SV_INT;
        v->i = m->type == JS_TRUE;
        break;
    default:
        break;
    }
}

/* <key>_enc and <key>_hmac for one personal value (NULL when absent):
 * AES-256-GCM under the organisation key with additional data
 * "<table>.<key>" and the lookup hash, both from the cache when the
 * (column, value) was seen recently. */
static bool put_pii(store_t *s, store_val_t *v, const char *aad, const char *key,
                    const js_member_t *m)
{
    char val[VALUE_MAX];
    size_t len = 0, outlen = 0;
    memset(v, 0, 2 * sizeof *v);
    if (!m || !jscan_string(m, val, sizeof val, &len))
        return true;
    uint8_t h[PII_HASH_LEN];
    bool hashed = false;
    const uint8_t *sealed = pii_cache_pair(s->pc, aad, strstr(key, "_mac") ? "mac" : "ip", val, len,
                                           &outlen, h, &hashed);
    explicit_bzero(val, len + 1); /* what jscan_string wrote */
    uint8_t *keep = sealed ? arena_take(s, outlen + (hashed ? PII_HASH_LEN : 0)) : NULL;
    if (!keep)
        return false;
    memcpy(keep, sealed, outlen);
    v[0] = (store_val_t){.t = SV_BLOB, .p = keep, .len = outlen};
    if (hashed) {
        memcpy(keep + outlen, h, PII_HASH_LEN);
        v[1] = (store_val_t){.t = SV_BLOB, .p = keep + outlen, .len = PII_HASH_LEN};
    }
    return true;
}

/* The record as sent, minus its personal members (pii: a bit per member
 * index, set from the members put_pii() sealed; comparing each member's
 * key with every personal key was 2,300 instructions a stream record): the
 * runs of members between them copied as they are (one copy per run, not
 * per member), no re-serialisation. */
static bool put_stripped(store_t *s, store_val_t *v, const uint64_t pii[2], const jscan_t *js)
{
    dynbuf_reset(&s->text);
    bool ok = dynbuf_add(&s->text, "{", 1), prev_kept = false;
    const char *run = NULL, *run_end = NULL; /* members kept, not yet copied */
    for (size_t i = 0; ok && i < js->n; i++) {
        const js_member_t *m = &js->m[i];
        bool kept = !(pii[i / 64] >> (i % 64) & 1);
        if (kept && prev_kept) { /* extends the run: between them only "," and spaces */
            run_end = m->value + m->value_len;
        } else if (kept) {
            if (run)
                ok = dynbuf_add(&s->text, run, (size_t)(run_end - run)) &&
                     dynbuf_add(&s->text, ",", 1);
            run = m->start;
            run_end = m->value + m->value_len;
        }
        prev_kept = kept;
    }
    if (ok && run)
        ok = dynbuf_add(&s->text, run, (size_t)(run_end - run));
    ok = ok && dynbuf_add(&s->text, "}", 1);
    *v = (store_val_t){.t = SV_TEXT, .p = s->text.p, .len = s->text.len};
    return ok;
}

static size_t map_index(const char *type)
{
    size_t i = 0;
    while (i < store_nmaps && strcmp(store_maps[i].type, type) != 0)
        i++;
    return i;
}

/* One record line; false only on a database (or cipher) error. */
static bool insert_record(store_t *s, const char *line, size_t len, const wire_msg_t *m,
                          const char *probe, const char *now, store_result_t *r, char *err,
                          size_t errlen)
{
    char why[128];
    const char *type = NULL;
    if (!jscan_object(line, len, &s->js, why, sizeof why) ||
        !wire_record_check(&s->js, &type, why, sizeof why) || map_index(type) == store_nmaps) {
        if (r->rejected++ == 0)
            snprintf(r->first_error, sizeof r->first_error, "%s", why);
        return true;
    }
    store_row_t *row = &s->row;
    const store_map_t *map = &store_maps[row->map = map_index(type)];
    size_t c = 0;
    s->used = 0;
    row->v[c++] = (store_val_t){.t = SV_TEXT, .p = probe, .len = strlen(probe)};
    row->v[c++] = (store_val_t){.t = SV_TEXT, .p = m->site, .len = strlen(m->site)};
    row->v[c++] = (store_val_t){.t = SV_TEXT, .p = now, .len = strlen(now)};
    for (int k = 0; map->cols[k]; k++)
        put_member(s, &row->v[c++], jscan_get(&s->js, map->cols[k]));
    uint64_t pii[2] = {0, 0}; /* JSCAN_MAX_MEMBERS bits */
    for (int k = 0; map->pii[k]; k++, c += 2) {
        const js_member_t *pm = jscan_get(&s->js, map->pii[k]);
        if (pm) {
            size_t i = (size_t)(pm - s->js.m);
            pii[i / 64] |= (uint64_t)1 << (i % 64);
        }
        if (!put_pii(s, &row->v[c], s->aad[row->map][k], map->pii[k], pm)) {
            snprintf(err, errlen, "sealing %s.%s failed", map->table, map->pii[k]);
            return false;
        }
    }
    if (!put_stripped(s, &row->v[c++], pii, &s->js)) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    row->n = c;
    if (!s->be->ops->row(s->be, row, err, errlen))
        return false;
    r->stored++;
    return true;
}

static bool insert_batch(store_t *s, const char *probe, const wire_msg_t *m, const char *body,
                         size_t body_len, const char *now, store_result_t *r, bool *dup, char *err,
                         size_t errlen)
{
    int claimed =
        s->be->ops->claim_batch(s->be, probe, m->epoch, m->seq, now, m->records, err, errlen);
    if (claimed < 0)
        return false;
    *dup = claimed == 0;
    if (*dup)
        return true;
    size_t pos = 0, len;
    const char *line;
    while (wire_next_line(body, body_len, &pos, &line, &len))
        if (!insert_record(s, line, len, m, probe, now, r, err, errlen))
            return false;
    return s->be->ops->end_batch(s->be, err, errlen) &&
           s->be->ops->probe_seen(s->be, probe, m->site, NULL, now, err, errlen);
}

static int64_t count_lines(const char *body, size_t body_len)
{
    int64_t n = 0;
    for (const char *p = body, *end = body + body_len; p < end; n++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        p = nl ? nl + 1 : end;
    }
    return n;
}

bool store_batch(store_t *s, const char *probe, const wire_msg_t *m, const char *body,
                 size_t body_len, wire_status_t *status, store_result_t *r, char *err,
                 size_t errlen)
{
    char now[40];
    timefmt_iso(timefmt_now(), now, sizeof now);
    memset(r, 0, sizeof *r);
    /* memchr only (a few ns a record): the records are read once, below */
    int64_t lines = count_lines(body, body_len);
    if (lines != m->records) {
        snprintf(r->first_error, sizeof r->first_error,
                 "batch header says %lld records, its body has %lld lines", (long long)m->records,
                 (long long)lines);
        *status = WIRE_REJECTED;
        return true;
    }
    bool own = !s->in_txn;
    if (own && !store_begin(s, err, errlen))
        return false;
    bool dup = false;
    if (!insert_batch(s, probe, m, body, body_len, now, r, &dup, err, errlen)) {
        store_rollback(s);
        return false;
    }
    if (own && !store_commit(s, err, errlen))
        return false;
    *status = dup ? WIRE_DUPLICATE : WIRE_STORED;
    return true;
}

bool store_begin(store_t *s, char *err, size_t errlen)
{
    if (s->in_txn)
        return true;
    s->in_txn = s->be->ops->begin(s->be, err, errlen);
    return s->in_txn;
}

bool store_commit(store_t *s, char *err, size_t errlen)
{
    if (!s->in_txn)
        return true;
    bool ok = s->be->ops->commit(s->be, err, errlen);
    if (!ok)
        s->be->ops->rollback(s->be);
    s->in_txn = false;
    return ok;
}

void store_rollback(store_t *s)
{
    s->be->ops->rollback(s->be);
    s->in_txn = false;
}

bool store_heartbeat(store_t *s, const char *probe, const wire_msg_t *m, char *err, size_t errlen)
{
    char now[40];
    timefmt_iso(timefmt_now(), now, sizeof now);
    char *health = json_dumps(m->health, JSON_COMPACT);
    bool ok = health != NULL;
    if (!ok)
        snprintf(err, errlen, "out of memory");
    ok = ok && s->be->ops->probe_seen(s->be, probe, m->site, m->version, now, err, errlen) &&
         s->be->ops->heartbeat(s->be, probe, now, health, err, errlen);
    free(health);
    return ok;
}

int64_t store_retention(store_t *s, unsigned days, char *err, size_t errlen)
{
    char cutoff[40];
    timefmt_iso(timefmt_now() - (int64_t)days * 86400 * USEC_PER_SEC, cutoff, sizeof cutoff);
    return s->be->ops->retention(s->be, cutoff, err, errlen);
}
