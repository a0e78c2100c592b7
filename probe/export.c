#include "export.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "dynbuf.h"
#include "keyfile.h"
#include "log.h"
#include "timefmt.h"
#include "wire.h"

#define BATCH_MAX_BYTES (4u << 20)
#define PIPE_HWM 100000
#define PIPE_DRAIN_MAX 20000 /* records taken from the queue per loop turn */
#define WARN_EVERY_MS 60000
/* Records frames from this size on go lz4 when the collector reads it: a
 * 1000-record batch (~950 KB) shrinks 5-35x, and the collector's CURVE
 * decryption (~9 instructions per byte, callgrind) and copies shrink with it. */
#define LZ4_MIN_BYTES 1024
#define MON_EVENTS                                                                                 \
    (ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |                \
     ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |                       \
     ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)

enum { MSG_HEALTH = 'H', MSG_QUIT = 'Q' };

typedef struct {
    dynbuf_t buf;
    unsigned n;
    int64_t opened_ms, seq;
} batch_t;

struct export
{
    export_cfg_t cfg;
    keyfile_t key, server[EXPORT_MAX_COLLECTORS];
    const char *endpoints[EXPORT_MAX_COLLECTORS];
    unsigned ncoll;
    char probe_id[KEYFILE_NAME_MAX + 1], site[129];
    char pipe_addr[64], mon_addr[64];
    char spool_path[4096];
    void *ctx, *pipe_main;
    pthread_t th;
    bool started;
    pthread_mutex_t mu;
    export_stats_t snap;            /* under mu */
    uint64_t queued, queue_dropped; /* capture thread only */
    /* exporter thread only: */
    void *pipe_th, *dealer, *mon;
    unsigned coll;            /* the collector in use */
    unsigned sock_gen;        /* sockets opened so far (names the monitor's inproc address) */
    int64_t down_since;       /* since when the collector in use is not connected */
    unsigned timeouts_in_row; /* ack timeouts without an ack between them */
    export_spool_t *spool;
    int64_t epoch, seq;
    batch_t cur[2]; /* interval, final */
    json_t *health;
    export_stats_t st;
    int64_t next_hb, drain_deadline, ack_timeout, last_ack_warn, last_spool_warn;
    uint64_t warned_evicted;
    bool quitting, auth_warned;
    bool peer_lz4; /* the collector's last ack said it reads lz4 batches (wire.h) */
    bool acked;    /* an ack came on this connection: until then one batch in flight, so
                    * the next ones know whether the collector reads lz4 */
};

export_kind_t export_kind_of(const char *line, size_t len)
{
    static const char key[] = "\"type\"";
    const char *p = memmem(line, len, key, sizeof key - 1);
    if (!p)
        return EXPORT_FINAL;
    p += sizeof key - 1;
    const char *end = line + len;
    while (p < end && (*p == ' ' || *p == ':'))
        p++;
    return (size_t)(end - p) >= 10 && memcmp(p, "\"interval\"", 10) == 0 ? EXPORT_INTERVAL
                                                                         : EXPORT_FINAL;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- batches ------------------------------------------------------------ */

static batch_t *batch_for(export_t *e, bool interval)
{
    return &e->cur[interval ? 0 : 1];
}

/* Header line + '\n' + record lines: the spool file, and the two frames. */
static void seal(export_t *e, bool interval)
{
    batch_t *b = batch_for(e, interval);
    if (b->n == 0)
        return;
    char err[512] = "out of memory";
    char *head = wire_batch_header(e->probe_id, e->site, e->epoch, b->seq, b->n);
    size_t hl = head ? strlen(head) : 0;
    char *file = head ? malloc(hl + 1 + b->buf.len) : NULL;
    bool ok = false;
    if (file) {
        memcpy(file, head, hl);
        file[hl] = '\n';
        memcpy(file + hl + 1, b->buf.p, b->buf.len);
        ok = export_spool_put(e->spool, e->epoch, b->seq, interval, b->n, file, hl + 1 + b->buf.len,
                              err, sizeof err);
    }
    if (ok) {
        e->st.batches_sealed++;
        e->st.records_sealed += b->n;
    } else {
        LOG_ERROR("export: %u records lost: %s", b->n, err);
    }
    free(head);
    free(file);
    dynbuf_reset(&b->buf);
    b->n = 0;
}

static bool batch_append(export_t *e, bool interval, const char *rec, size_t len)
{
    batch_t *b = batch_for(e, interval);
    if (b->n == 0) {
        b->seq = ++e->seq;
        b->opened_ms = now_ms();
    }
    size_t mark = b->buf.len;
    if ((b->n > 0 && !dynbuf_add(&b->buf, "\n", 1)) || !dynbuf_add(&b->buf, rec, len)) {
        b->buf.len = mark;
        if (b->n == 0)
            e->seq--;
        return false;
    }
    b->n++;
    if (b->n >= e->cfg.batch_records || b->buf.len > BATCH_MAX_BYTES / 2)
        seal(e, interval);
    return true;
}

static void add_record(export_t *e, bool interval, const char *rec, size_t len)
{
    if (memchr(rec, '\n', len)) { /* compact JSON has none; never split a record */
        e->st.records_dropped++;
        return;
    }
    if (batch_append(e, interval, rec, len))
        return;
    seal(e, interval); /* full: start a new batch with this record */
    if (!batch_append(e, interval, rec, len)) {
        e->st.records_dropped++;
        LOG_ERROR("export: a record of %zu bytes does not fit in a batch; dropped", len);
    }
}

/* ---- the collector side ------------------------------------------------- */

static const char *endpoint(const export_t *e)
{
    return e->endpoints[e->coll];
}

/* The DEALER for the collector in use (its own server key), and its monitor. */
static bool sock_open(export_t *e, char *err, size_t errlen)
{
    int zero = 0, one = 1, hwm = (int)e->cfg.window * 2 + 16;
    int ivl = (int)e->cfg.reconnect_ms, ivl_max = (int)e->cfg.reconnect_max_ms;
    int hb_ivl = 5000, hb_ttl = 15000;
    e->dealer = zmq_socket(e->ctx, ZMQ_DEALER);
    if (!e->dealer)
        goto fail;
    if (zmq_setsockopt(e->dealer, ZMQ_CURVE_SERVERKEY, e->server[e->coll].public_z85,
                       KEYFILE_Z85_LEN + 1) ||
        zmq_setsockopt(e->dealer, ZMQ_CURVE_PUBLICKEY, e->key.public_z85, KEYFILE_Z85_LEN + 1) ||
        zmq_setsockopt(e->dealer, ZMQ_CURVE_SECRETKEY, e->key.secret_z85, KEYFILE_Z85_LEN + 1) ||
        zmq_setsockopt(e->dealer, ZMQ_LINGER, &zero, sizeof zero) ||
        zmq_setsockopt(e->dealer, ZMQ_IMMEDIATE, &one, sizeof one) ||
        zmq_setsockopt(e->dealer, ZMQ_SNDHWM, &hwm, sizeof hwm) ||
        zmq_setsockopt(e->dealer, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl) ||
        zmq_setsockopt(e->dealer, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max) ||
        zmq_setsockopt(e->dealer, ZMQ_HEARTBEAT_IVL, &hb_ivl, sizeof hb_ivl) ||
        zmq_setsockopt(e->dealer, ZMQ_HEARTBEAT_TIMEOUT, &hb_ttl, sizeof hb_ttl))
        goto fail;
    snprintf(e->mon_addr, sizeof e->mon_addr, "inproc://callscope-export-mon-%p-%u", (void *)e,
             e->sock_gen++);
    if (zmq_socket_monitor(e->dealer, e->mon_addr, MON_EVENTS) != 0)
        goto fail;
    e->mon = zmq_socket(e->ctx, ZMQ_PAIR);
    if (!e->mon || zmq_connect(e->mon, e->mon_addr) != 0)
        goto fail;
    e->st.collector_index = e->coll;
    e->st.collectors = e->ncoll;
    snprintf(e->st.collector, sizeof e->st.collector, "%s", endpoint(e));
    if (zmq_connect(e->dealer, endpoint(e)) != 0) {
        snprintf(err, errlen, "--collector %s: %s", endpoint(e), zmq_strerror(zmq_errno()));
        return false;
    }
    return true;
fail:
    snprintf(err, errlen, "ZeroMQ socket setup: %s", zmq_strerror(zmq_errno()));
    return false;
}

static void sock_close(export_t *e)
{
    int zero = 0;
    if (e->dealer)
        zmq_socket_monitor(e->dealer, NULL, 0);
    void *socks[] = {e->dealer, e->mon};
    for (size_t i = 0; i < 2; i++) {
        if (socks[i]) {
            zmq_setsockopt(socks[i], ZMQ_LINGER, &zero, sizeof zero);
            zmq_close(socks[i]);
        }
    }
    e->dealer = e->mon = NULL;
}

static void requeue_inflight(export_t *e)
{
    for (size_t i = 0; i < export_spool_count(e->spool); i++) {
        export_spool_entry_t *en = export_spool_at(e->spool, i);
        if (en->state == EXPORT_SPOOL_INFLIGHT) {
            en->state = EXPORT_SPOOL_UNSENT;
            e->st.batches_resent++;
        }
    }
}

/* To the next collector of the list: what was in flight to this one is
 * sent again to the next (the shared store's (probe, epoch, seq) key makes
 * a batch that this one did store a duplicate there, acknowledged as such). */
static void failover(export_t *e, int64_t now, const char *why)
{
    unsigned from = e->coll;
    requeue_inflight(e);
    sock_close(e);
    e->st.connected = false;
    for (unsigned tries = 0; tries < e->ncoll; tries++) {
        char err[512];
        e->coll = (e->coll + 1) % e->ncoll;
        if (sock_open(e, err, sizeof err))
            break;
        LOG_ERROR("export: %s", err);
        sock_close(e);
    }
    e->st.failovers++;
    e->down_since = now;
    e->peer_lz4 = false; /* the next collector may be an older one: plain until its first ack */
    e->acked = false;
    LOG_WARN("export: collector %s %s; failing over to %s (%u of %u)", e->endpoints[from], why,
             endpoint(e), e->coll + 1, e->ncoll);
}

static void on_event(export_t *e, uint16_t ev)
{
    switch (ev) {
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
        e->st.connects++;
        e->st.connected = true;
        e->auth_warned = false;
        e->next_hb = 0; /* say who we are at once */
        e->down_since = 0;
        LOG_INFO("export: connected to collector %s as probe '%s'", endpoint(e), e->probe_id);
        break;
    case ZMQ_EVENT_DISCONNECTED:
        if (e->st.connected) {
            e->st.disconnects++;
            LOG_WARN("export: collector %s disconnected; batches stay in the spool", endpoint(e));
        }
        e->st.connected = false;
        e->peer_lz4 = false; /* the next collector may be an older one */
        e->acked = false;
        if (e->down_since == 0)
            e->down_since = now_ms();
        requeue_inflight(e);
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        e->st.auth_failures++;
        if (!e->auth_warned)
            LOG_ERROR("export: collector %s refused this probe's key (%s): is %s.pub in the "
                      "collector's authorised-keys directory, and --collector-key the "
                      "collector's own public key?",
                      endpoint(e), e->probe_id, e->key.name);
        e->auth_warned = true;
        break;
    default:
        break;
    }
}

static void read_monitor(export_t *e)
{
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, e->mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return;
        }
        uint16_t ev = 0;
        if (zmq_msg_size(&m) >= 6)
            memcpy(&ev, zmq_msg_data(&m), sizeof ev);
        bool more = zmq_msg_more(&m);
        zmq_msg_close(&m);
        if (more) { /* the endpoint frame */
            zmq_msg_init(&m);
            zmq_msg_recv(&m, e->mon, 0);
            zmq_msg_close(&m);
        }
        on_event(e, ev);
    }
}

static void on_ack(export_t *e, const wire_msg_t *m)
{
    export_spool_entry_t *en = NULL;
    for (size_t i = 0; i < export_spool_count(e->spool) && !en; i++) {
        export_spool_entry_t *x = export_spool_at(e->spool, i);
        if (x->epoch == m->epoch && x->seq == m->seq)
            en = x;
    }
    if (!en)
        return; /* a second ack for a resent batch */
    unsigned recs = en->records;
    if (m->status == WIRE_REJECTED) {
        e->st.batches_rejected++;
        e->st.records_rejected += recs;
        LOG_ERROR("export: collector rejected batch %" PRId64 " (%u records): %s", m->seq, recs,
                  m->error ? m->error : "no reason given");
    } else {
        e->st.batches_acked++;
        e->st.records_acked += recs;
        if (m->status == WIRE_DUPLICATE)
            e->st.batches_duplicate++;
        if (m->rejected > 0)
            LOG_WARN("export: collector stored batch %" PRId64 " but rejected %" PRId64
                     " records: %s",
                     m->seq, m->rejected, m->error ? m->error : "no reason given");
    }
    export_spool_remove(e->spool, m->epoch, m->seq);
    e->ack_timeout = e->cfg.ack_timeout_ms;
    e->timeouts_in_row = 0;
}

static void read_dealer(export_t *e)
{
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, e->dealer, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return;
        }
        wire_msg_t w;
        char err[256];
        if (!wire_parse(zmq_msg_data(&m), zmq_msg_size(&m), &w, err, sizeof err)) {
            e->st.collector_errors++;
            LOG_WARN("export: unreadable reply from the collector: %s", err);
        } else if (w.kind == WIRE_ACK) {
            e->peer_lz4 = w.peer_lz4;
            e->acked = true;
            on_ack(e, &w);
        } else if (w.kind == WIRE_ERROR) {
            e->peer_lz4 = false; /* e.g. an older collector refusing schema 2: plain from now */
            e->st.collector_errors++;
            LOG_WARN("export: collector says: %s", w.error ? w.error : "?");
        }
        wire_msg_clear(&w);
        zmq_msg_close(&m);
    }
}

static size_t inflight(export_t *e)
{
    size_t n = 0;
    for (size_t i = 0; i < export_spool_count(e->spool); i++)
        n += export_spool_at(e->spool, i)->state == EXPORT_SPOOL_INFLIGHT;
    return n;
}

/* Whether the DEALER takes a batch now (connected, room below its HWM),
 * asked before a batch's first frame. ZMQ_EVENTS runs the socket's pending
 * commands at once (zmq_send runs them at most once a millisecond, on any
 * send), so a collector that went away ends its pipe here, before a batch,
 * and not between a batch's two frames: libzmq 4.3.4 leaks a first frame
 * whose pipe ends before the last one is sent (lb.cpp: "the first N frames
 * are unreachable"; 148 bytes a time, LeakSanitizer's report at exit in
 * the kill -9 tests). The rest of that window is the few microseconds
 * between this call and the second frame. */
static bool can_send(export_t *e)
{
    int ev = 0;
    size_t len = sizeof ev;
    return zmq_getsockopt(e->dealer, ZMQ_EVENTS, &ev, &len) == 0 && (ev & ZMQ_POLLOUT);
}

/* Sends unsent batches, oldest first, while the window has room. */
static void pump(export_t *e, int64_t now)
{
    size_t busy = inflight(e), window = e->acked ? e->cfg.window : 1;
    if (!e->dealer)
        return;
    for (size_t i = 0; i < export_spool_count(e->spool) && busy < window; i++) {
        export_spool_entry_t *en = export_spool_at(e->spool, i);
        if (en->state != EXPORT_SPOOL_UNSENT)
            continue;
        if (!can_send(e))
            return; /* not connected (ZMQ_IMMEDIATE) or queue full: later */
        size_t len;
        char *data = export_spool_read(e->spool, en, &len);
        if (!data) {
            LOG_ERROR("export: spooled batch %" PRId64 " cannot be read; dropped", en->seq);
            e->st.records_dropped += en->records;
            export_spool_remove(e->spool, en->epoch, en->seq);
            i--;
            continue;
        }
        char *nl = memchr(data, '\n', len);
        size_t hl = nl ? (size_t)(nl - data) : len;
        const char *head = data, *body = nl ? nl + 1 : "";
        size_t body_len = nl ? len - hl - 1 : 0;
        char *zhead = NULL, *zbody = NULL;
        size_t zlen = 0;
        /* lz4 only towards a collector that said it reads it; the spool keeps
         * plain batches, so a resend to any collector can go either way */
        if (e->peer_lz4 && body_len >= LZ4_MIN_BYTES &&
            wire_lz4_encode(body, body_len, &zbody, &zlen) &&
            (zhead = wire_batch_header_lz4(data, hl, body_len)) != NULL) {
            head = zhead;
            hl = strlen(zhead);
            body = zbody;
            body_len = zlen;
        }
        int rc = zmq_send(e->dealer, head, hl, ZMQ_DONTWAIT | ZMQ_SNDMORE);
        if (rc >= 0)
            rc = zmq_send(e->dealer, body, body_len, ZMQ_DONTWAIT);
        free(zhead);
        free(zbody);
        free(data);
        if (rc < 0)
            return; /* not connected (ZMQ_IMMEDIATE) or queue full: later */
        en->state = EXPORT_SPOOL_INFLIGHT;
        en->sent_at = now;
        e->st.batches_sent++;
        busy++;
    }
}

static void check_ack_timeout(export_t *e, int64_t now)
{
    int64_t oldest = INT64_MAX;
    for (size_t i = 0; i < export_spool_count(e->spool); i++) {
        export_spool_entry_t *en = export_spool_at(e->spool, i);
        if (en->state == EXPORT_SPOOL_INFLIGHT && en->sent_at < oldest)
            oldest = en->sent_at;
    }
    if (oldest == INT64_MAX || now - oldest < e->ack_timeout)
        return;
    e->st.ack_timeouts++;
    /* the first timeout resends to the same collector (it may only be slow);
     * the second in a row moves to the next */
    if (e->ncoll > 1 && ++e->timeouts_in_row >= 2) {
        e->timeouts_in_row = 0;
        char why[96];
        snprintf(why, sizeof why, "gave no acknowledgement for %" PRId64 " ms", now - oldest);
        failover(e, now, why); /* resends the batches in flight to the next */
        if (e->ack_timeout < 8 * (int64_t)e->cfg.ack_timeout_ms)
            e->ack_timeout *= 2;
        return;
    }
    if (now - e->last_ack_warn >= WARN_EVERY_MS || e->last_ack_warn == 0) {
        LOG_WARN("export: no acknowledgement from %s for %" PRId64 " ms; resending (%zu batches "
                 "in the spool)",
                 endpoint(e), now - oldest, export_spool_count(e->spool));
        e->last_ack_warn = now;
    }
    requeue_inflight(e);
    if (e->ack_timeout < 8 * (int64_t)e->cfg.ack_timeout_ms)
        e->ack_timeout *= 2;
}

/* ---- heartbeats and the queue from the capture thread ------------------- */

static void send_heartbeat(export_t *e)
{
    json_t *h = json_object();
    json_object_set(h, "probe", e->health ? e->health : json_null());
    json_object_set_new(h, "export", export_stats_json(&e->st));
    char *s = wire_heartbeat(e->probe_id, e->site, h);
    if (s && e->dealer && zmq_send(e->dealer, s, strlen(s), ZMQ_DONTWAIT) >= 0)
        e->st.heartbeats_sent++;
    free(s);
}

static void on_pipe_msg(export_t *e, const char *d, size_t len, int64_t now)
{
    if (len == 0)
        return;
    switch (d[0]) {
    case EXPORT_INTERVAL:
    case EXPORT_FINAL:
        add_record(e, d[0] == EXPORT_INTERVAL, d + 1, len - 1);
        break;
    case MSG_HEALTH: {
        json_t *h = json_loadb(d + 1, len - 1, 0, NULL);
        if (h) {
            json_decref(e->health);
            e->health = h;
        }
        break;
    }
    case MSG_QUIT:
        seal(e, true);
        seal(e, false);
        e->next_hb = 0; /* the last health */
        e->quitting = true;
        e->drain_deadline = now + (int64_t)e->cfg.drain_s * 1000;
        if (export_spool_count(e->spool))
            LOG_INFO("export: waiting up to %u s for the collector to acknowledge %zu batches",
                     e->cfg.drain_s, export_spool_count(e->spool));
        break;
    }
}

static void read_pipe(export_t *e, int64_t now)
{
    for (int i = 0; i < PIPE_DRAIN_MAX; i++) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, e->pipe_th, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return;
        }
        on_pipe_msg(e, zmq_msg_data(&m), zmq_msg_size(&m), now);
        zmq_msg_close(&m);
    }
}

static void timers(export_t *e, int64_t now)
{
    for (int k = 0; k < 2; k++)
        if (e->cur[k].n && now - e->cur[k].opened_ms >= (int64_t)e->cfg.batch_ms)
            seal(e, k == 0);
    if (now >= e->next_hb) {
        send_heartbeat(e);
        e->next_hb = now + (int64_t)e->cfg.heartbeat_s * 1000;
    }
    check_ack_timeout(e, now);
    if (e->ncoll > 1 && e->down_since && now - e->down_since >= (int64_t)e->cfg.failover_ms) {
        char why[64];
        snprintf(why, sizeof why, "not connected for %" PRId64 " ms", now - e->down_since);
        failover(e, now, why);
    }
    const export_spool_stats_t *ss = export_spool_stats(e->spool);
    uint64_t ev = ss->evicted_interval + ss->evicted_final;
    if (ev > e->warned_evicted && now - e->last_spool_warn >= WARN_EVERY_MS / 6) {
        LOG_WARN("export: spool full (%u MiB): %" PRIu64 " interval and %" PRIu64
                 " final records dropped so far",
                 e->cfg.spool_max_mb, ss->evicted_interval, ss->evicted_final);
        e->warned_evicted = ev;
        e->last_spool_warn = now;
    }
}

static long next_timeout(export_t *e, int64_t now)
{
    int64_t t = e->next_hb;
    for (int k = 0; k < 2; k++)
        if (e->cur[k].n && e->cur[k].opened_ms + (int64_t)e->cfg.batch_ms < t)
            t = e->cur[k].opened_ms + (int64_t)e->cfg.batch_ms;
    t -= now;
    if (t > 200) /* ack timeouts and resends are checked at least 5 times a second */
        t = 200;
    return t < 0 ? 0 : (long)t;
}

static void publish(export_t *e)
{
    e->st.spool = *export_spool_stats(e->spool);
    pthread_mutex_lock(&e->mu);
    e->snap = e->st;
    pthread_mutex_unlock(&e->mu);
}

static void *run(void *arg)
{
    export_t *e = arg;
    e->next_hb = now_ms();
    e->down_since = e->next_hb;
    for (;;) {
        /* rebuilt each turn: a failover replaces the dealer and its monitor */
        zmq_pollitem_t items[3] = {{e->pipe_th, 0, ZMQ_POLLIN, 0},
                                   {e->dealer, 0, ZMQ_POLLIN, 0},
                                   {e->mon, 0, ZMQ_POLLIN, 0}};
        int nitems = e->dealer ? 3 : 1;
        int64_t now = now_ms();
        if (zmq_poll(items, nitems, next_timeout(e, now)) < 0 && zmq_errno() != EINTR)
            break;
        now = now_ms();
        read_pipe(e, now);
        if (e->dealer) {
            read_monitor(e);
            read_dealer(e);
        }
        timers(e, now);
        pump(e, now);
        publish(e);
        if (e->quitting && (export_spool_count(e->spool) == 0 || now >= e->drain_deadline))
            break;
    }
    publish(e);
    return NULL;
}

/* ---- life cycle --------------------------------------------------------- */

static bool load_keys(export_t *e, char *err, size_t errlen)
{
    const export_cfg_t *c = &e->cfg;
    e->ncoll = c->nendpoints ? c->nendpoints : 1;
    for (unsigned i = 0; i < e->ncoll; i++)
        e->endpoints[i] = c->nendpoints ? c->endpoints[i] : c->endpoint;
    unsigned nkeys = c->ncollector_keys ? c->ncollector_keys : 1;
    const char *const *keys = c->ncollector_keys ? c->collector_keys : &c->collector_key;
    if (!c->key_file || !keys[0]) {
        snprintf(err, errlen,
                 "--collector needs --key (this probe's NAME.key) and "
                 "--collector-key (the collector's NAME.pub)");
        return false;
    }
    if (e->ncoll > EXPORT_MAX_COLLECTORS || (nkeys != 1 && nkeys != e->ncoll)) {
        snprintf(err, errlen,
                 "%u --collector-key for %u --collector: give one key (shared by the collectors "
                 "of one store) or one per --collector, in the same order",
                 nkeys, e->ncoll);
        return false;
    }
    for (unsigned i = 0; i < e->ncoll; i++) {
        if (!e->endpoints[i] || !strstr(e->endpoints[i], "://")) {
            snprintf(err, errlen, "--collector %s: not an endpoint (tcp://host:port)",
                     e->endpoints[i] ? e->endpoints[i] : "(none)");
            return false;
        }
    }
    if (!keyfile_load(c->key_file, true, &e->key, err, errlen))
        return false;
    for (unsigned i = 0; i < e->ncoll; i++)
        if (!keyfile_load(keys[nkeys == 1 ? 0 : i], false, &e->server[i], err, errlen))
            return false;
    snprintf(e->probe_id, sizeof e->probe_id, "%s",
             e->cfg.probe_id ? e->cfg.probe_id : e->key.name);
    snprintf(e->site, sizeof e->site, "%s", e->cfg.site ? e->cfg.site : "default");
    if (strcmp(e->probe_id, e->key.name) != 0) {
        snprintf(err, errlen,
                 "--probe-id %s differs from the key's name %s: the collector knows a probe "
                 "by its key's name",
                 e->probe_id, e->key.name);
        return false;
    }
    return true;
}

static bool pipes(export_t *e, char *err, size_t errlen)
{
    int hwm = PIPE_HWM;
    snprintf(e->pipe_addr, sizeof e->pipe_addr, "inproc://callscope-export-%p", (void *)e);
    e->pipe_main = zmq_socket(e->ctx, ZMQ_PAIR);
    e->pipe_th = zmq_socket(e->ctx, ZMQ_PAIR);
    if (!e->pipe_main || !e->pipe_th ||
        zmq_setsockopt(e->pipe_main, ZMQ_SNDHWM, &hwm, sizeof hwm) ||
        zmq_setsockopt(e->pipe_th, ZMQ_RCVHWM, &hwm, sizeof hwm) ||
        zmq_bind(e->pipe_th, e->pipe_addr) || zmq_connect(e->pipe_main, e->pipe_addr)) {
        snprintf(err, errlen, "ZeroMQ pipe: %s", zmq_strerror(zmq_errno()));
        return false;
    }
    return true;
}

/* --spool-dir, else systemd's StateDirectory=, else /var/lib/callscope. */
static void default_spool(export_t *e)
{
    if (e->cfg.spool_dir)
        snprintf(e->spool_path, sizeof e->spool_path, "%s", e->cfg.spool_dir);
    else
        keyfile_state_path("spool", e->spool_path, sizeof e->spool_path);
}

export_t *export_new(const export_cfg_t *cfg, char *err, size_t errlen)
{
    export_t *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    e->cfg = *cfg;
    pthread_mutex_init(&e->mu, NULL);
    for (int k = 0; k < 2; k++)
        dynbuf_init(&e->cur[k].buf, BATCH_MAX_BYTES);
    e->epoch = timefmt_now();
    e->ack_timeout = cfg->ack_timeout_ms;
    if (!load_keys(e, err, errlen))
        goto fail;
    default_spool(e);
    e->spool = export_spool_open(e->spool_path, (uint64_t)cfg->spool_max_mb << 20, cfg->spool_fsync,
                                 err, errlen);
    if (!e->spool)
        goto fail;
    if (export_spool_count(e->spool))
        LOG_INFO("export: %zu batches left in the spool by an earlier run will be sent first",
                 export_spool_count(e->spool));
    e->ctx = zmq_ctx_new();
    if (!e->ctx || !pipes(e, err, errlen) || !sock_open(e, err, errlen))
        goto fail;
    if (pthread_create(&e->th, NULL, run, e) != 0) {
        snprintf(err, errlen, "cannot start the exporter thread");
        goto fail;
    }
    e->started = true;
    return e;
fail:
    export_close(&e, NULL);
    return NULL;
}

void export_record(export_t *e, export_kind_t kind, const char *json, size_t len, bool block)
{
    zmq_msg_t m;
    if (zmq_msg_init_size(&m, len + 1) != 0) {
        e->queue_dropped++;
        return;
    }
    char *d = zmq_msg_data(&m);
    d[0] = (char)kind;
    memcpy(d + 1, json, len);
    if (zmq_msg_send(&m, e->pipe_main, block ? 0 : ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&m);
        e->queue_dropped++;
        return;
    }
    e->queued++;
}

static void send_ctl(export_t *e, char type, const char *body)
{
    size_t len = body ? strlen(body) : 0;
    zmq_msg_t m;
    if (zmq_msg_init_size(&m, len + 1) != 0)
        return;
    char *d = zmq_msg_data(&m);
    d[0] = type;
    if (len)
        memcpy(d + 1, body, len);
    if (zmq_msg_send(&m, e->pipe_main, 0) < 0)
        zmq_msg_close(&m);
}

void export_health(export_t *e, json_t *health)
{
    char *s = health ? json_dumps(health, JSON_COMPACT) : NULL;
    json_decref(health);
    if (s)
        send_ctl(e, MSG_HEALTH, s);
    free(s);
}

void export_stats(export_t *e, export_stats_t *out)
{
    pthread_mutex_lock(&e->mu);
    *out = e->snap;
    pthread_mutex_unlock(&e->mu);
    out->records_queued = e->queued;
    out->queue_dropped = e->queue_dropped;
}

static void summary(export_t *e)
{
    export_stats_t s;
    export_stats(e, &s);
    uint64_t lost = s.queue_dropped + s.records_dropped + s.spool.evicted_interval +
                    s.spool.evicted_final + s.spool.write_failed_records + s.records_rejected;
    LOG_INFO("export: %" PRIu64 " records queued, %" PRIu64 " acknowledged in %" PRIu64
             " batches, %" PRIu64 " batches (%" PRIu64 " bytes) left in the spool, %" PRIu64
             " records lost",
             s.records_queued, s.records_acked, s.batches_acked, s.spool.batches, s.spool.bytes,
             lost);
}

void export_close(export_t **pe, export_stats_t *final)
{
    if (!pe || !*pe)
        return;
    export_t *e = *pe;
    if (e->started) {
        send_ctl(e, MSG_QUIT, NULL);
        pthread_join(e->th, NULL);
        summary(e);
        if (final)
            export_stats(e, final);
    }
    sock_close(e);
    void *socks[] = {e->pipe_main, e->pipe_th};
    for (size_t i = 0; i < 2; i++) {
        int zero = 0;
        if (socks[i]) {
            zmq_setsockopt(socks[i], ZMQ_LINGER, &zero, sizeof zero);
            zmq_close(socks[i]);
        }
    }
    if (e->ctx)
        zmq_ctx_term(e->ctx);
    export_spool_free(&e->spool);
    for (int k = 0; k < 2; k++)
        dynbuf_free(&e->cur[k].buf);
    json_decref(e->health);
    explicit_bzero(&e->key, sizeof e->key);
    pthread_mutex_destroy(&e->mu);
    free(e);
    *pe = NULL;
}

json_t *export_stats_json(const export_stats_t *s)
{
    return json_pack(
        "{s:b, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
        "s:I, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}}",
        "connected", s->connected, "collector", s->collector, "collector_index",
        (json_int_t)s->collector_index, "collectors", (json_int_t)s->collectors, "failovers",
        (json_int_t)s->failovers, "records_queued", (json_int_t)s->records_queued, "queue_dropped",
        (json_int_t)s->queue_dropped, "records_dropped", (json_int_t)s->records_dropped,
        "batches_sealed", (json_int_t)s->batches_sealed, "batches_sent",
        (json_int_t)s->batches_sent, "batches_resent", (json_int_t)s->batches_resent,
        "batches_acked", (json_int_t)s->batches_acked, "records_acked",
        (json_int_t)s->records_acked, "batches_duplicate", (json_int_t)s->batches_duplicate,
        "batches_rejected", (json_int_t)s->batches_rejected, "records_rejected",
        (json_int_t)s->records_rejected, "collector_errors", (json_int_t)s->collector_errors,
        "ack_timeouts", (json_int_t)s->ack_timeouts, "heartbeats_sent",
        (json_int_t)s->heartbeats_sent, "connects", (json_int_t)s->connects, "disconnects",
        (json_int_t)s->disconnects, "auth_failures", (json_int_t)s->auth_failures, "spool",
        "batches", (json_int_t)s->spool.batches, "bytes", (json_int_t)s->spool.bytes,
        "evicted_batches", (json_int_t)s->spool.evicted_batches, "evicted_interval_records",
        (json_int_t)s->spool.evicted_interval, "evicted_final_records",
        (json_int_t)s->spool.evicted_final, "write_failed_records",
        (json_int_t)s->spool.write_failed_records, "recovered_batches",
        (json_int_t)s->spool.recovered_batches);
}
