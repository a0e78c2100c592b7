#include "ingest.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <zmq.h>

#include "keyfile.h"
#include "log.h"
#include "wire.h"
#include "zap.h"

#define MSGS_PER_POLL 256

#define GROUP_MAX_BATCHES 64 /* batches stored in one transaction (group commit) */

/* A connection that has not finished the ZMTP/CURVE handshake within this
 * is closed (libzmq's default is 30 s). A probe's handshake takes a few
 * milliseconds, one round trip over a slow WAN well under a second; idle
 * connections held open by anyone who can reach the port are what this
 * bounds (docs/transport.md). */
#define HANDSHAKE_MS 5000
/* Descriptors wanted: Debian's soft limit of 1,024 let 1,100 idle TCP
 * connections starve libzmq's accept4 (93 % CPU, acks 0.05 s -> 20 s). */
#define WANT_NOFILE 65536

/* Raises the soft descriptor limit towards the hard one (systemd's unit
 * sets LimitNOFILE=65536; outside it the hard limit is usually 524288). */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= WANT_NOFILE)
        return;
    rlim_t want =
        rl.rlim_max == RLIM_INFINITY || rl.rlim_max > WANT_NOFILE ? WANT_NOFILE : rl.rlim_max;
    if (want <= rl.rlim_cur)
        return;
    rl.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
        LOG_DEBUG("collector: descriptor limit raised to %llu", (unsigned long long)want);
}

/* A batch stored in the open group, acknowledged once the group commits. */
typedef struct {
    zmq_msg_t ident;
    char *ack;
    wire_status_t status;
    int64_t stored, rejected;
} pending_t;

struct ingest {
    ingest_cfg_t cfg;
    store_t *store;
    void *ctx, *router;
    zap_t *zap;
    size_t max_frame;
    ingest_stats_t st;
    pending_t pend[GROUP_MAX_BATCHES];
    size_t npend;
    bool group_failed;
    log_limit_t rejections; /* a key holder's bad frames and batches */
    char *plain;            /* decoded records frame of an lz4 batch (reused) */
    size_t plain_cap;
};

#define REJECTIONS "rejected frames and batches (counted in the collector's stats)"

static bool router_setup(ingest_t *in, char *err, size_t errlen)
{
    keyfile_t key;
    if (!keyfile_load(in->cfg.key_file, true, &key, err, errlen))
        return false;
    int one = 1, zero = 0, hb_ivl = 5000, hb_ttl = 15000, hs_ivl = HANDSHAKE_MS;
    int64_t hard = (int64_t)in->max_frame * 4; /* libzmq's own limit; ours is counted */
    in->router = zmq_socket(in->ctx, ZMQ_ROUTER);
    bool ok =
        in->router && !zmq_setsockopt(in->router, ZMQ_CURVE_SERVER, &one, sizeof one) &&
        !zmq_setsockopt(in->router, ZMQ_CURVE_SECRETKEY, key.secret_z85, KEYFILE_Z85_LEN + 1) &&
        !zmq_setsockopt(in->router, ZMQ_ZAP_DOMAIN, "callscope", 9) &&
        !zmq_setsockopt(in->router, ZMQ_LINGER, &zero, sizeof zero) &&
        !zmq_setsockopt(in->router, ZMQ_MAXMSGSIZE, &hard, sizeof hard) &&
        !zmq_setsockopt(in->router, ZMQ_HEARTBEAT_IVL, &hb_ivl, sizeof hb_ivl) &&
        !zmq_setsockopt(in->router, ZMQ_HEARTBEAT_TIMEOUT, &hb_ttl, sizeof hb_ttl) &&
        !zmq_setsockopt(in->router, ZMQ_HANDSHAKE_IVL, &hs_ivl, sizeof hs_ivl);
    explicit_bzero(&key, sizeof key);
    if (!ok) {
        snprintf(err, errlen, "ZeroMQ socket setup: %s", zmq_strerror(zmq_errno()));
        return false;
    }
    if (zmq_bind(in->router, in->cfg.bind) != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", in->cfg.bind, zmq_strerror(zmq_errno()));
        return false;
    }
    return true;
}

ingest_t *ingest_new(const ingest_cfg_t *cfg, store_t *store, char *err, size_t errlen)
{
    ingest_t *in = calloc(1, sizeof *in);
    if (!in) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    in->cfg = *cfg;
    in->store = store;
    in->max_frame = (size_t)cfg->max_frame_mb << 20;
    raise_nofile();
    in->ctx = zmq_ctx_new();
    if (!in->ctx) {
        snprintf(err, errlen, "ZeroMQ: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    /* the ZAP handler must be bound before the CURVE server socket */
    in->zap = zap_new(in->ctx, cfg->keys_dir, err, errlen);
    if (!in->zap || !router_setup(in, err, errlen))
        goto fail;
    LOG_INFO("collector: listening on %s; %zu authorised probe keys in %s", cfg->bind,
             zap_key_count(in->zap), cfg->keys_dir);
    return in;
fail:
    ingest_free(&in);
    return NULL;
}

void ingest_free(ingest_t **pin)
{
    if (!pin || !*pin)
        return;
    ingest_t *in = *pin;
    log_limit_flush(&in->rejections, LOG_LVL_WARN, REJECTIONS, true);
    if (in->zap)
        zap_tick(in->zap, true);
    if (in->router)
        zmq_close(in->router);
    zap_free(&in->zap);
    if (in->ctx)
        zmq_ctx_term(in->ctx);
    free(in->plain);
    free(in);
    *pin = NULL;
}

static void send_reply(ingest_t *in, zmq_msg_t *ident, char *body)
{
    if (!body)
        return;
    if (zmq_send(in->router, zmq_msg_data(ident), zmq_msg_size(ident),
                 ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
        zmq_send(in->router, body, strlen(body), ZMQ_DONTWAIT);
    free(body);
}

static void refuse(ingest_t *in, zmq_msg_t *ident, const char *probe, uint64_t *counter,
                   const char *why)
{
    (*counter)++;
    if (log_limit_pass(&in->rejections, LOG_LVL_WARN, REJECTIONS))
        LOG_WARN("collector: frame from probe '%s' rejected (%" PRIu64 " so far): %s", probe,
                 *counter, why);
    send_reply(in, ident, wire_error(why));
}

static void on_batch(ingest_t *in, zmq_msg_t *ident, const char *probe, const wire_msg_t *m,
                     const char *body, size_t body_len)
{
    char err[512];
    store_result_t r;
    pending_t *p = &in->pend[in->npend];
    if (in->group_failed)
        return; /* rolled back already: the probe resends */
    if (!store_batch(in->store, probe, m, body, body_len, &p->status, &r, err, sizeof err)) {
        in->st.db_errors++;
        in->group_failed = true;
        LOG_ERROR("collector: batch %" PRId64 " from '%s' not stored; %zu batches of its group "
                  "rolled back, none acknowledged: %s",
                  m->seq, probe, in->npend, err);
        return; /* the probes resend after their ack timeout */
    }
    bool say = (p->status == WIRE_REJECTED || r.rejected) &&
               log_limit_pass(&in->rejections, LOG_LVL_WARN, REJECTIONS);
    if (say && p->status == WIRE_REJECTED) /* resending cannot help: the probe drops it */
        LOG_WARN("collector: batch %" PRId64 " from '%s' rejected: %s", m->seq, probe,
                 r.first_error);
    else if (say)
        LOG_WARN("collector: batch %" PRId64 " from '%s': %" PRId64 " records rejected: %s", m->seq,
                 probe, r.rejected, r.first_error);
    p->stored = r.stored;
    p->rejected = r.rejected;
    p->ack = wire_ack(m->epoch, m->seq, p->status, r.stored, r.rejected,
                      r.rejected || p->status == WIRE_REJECTED ? r.first_error : NULL);
    zmq_msg_init(&p->ident);
    zmq_msg_copy(&p->ident, ident);
    in->npend++;
}

/* An lz4 batch (wire.h): decoded into in->plain, bounded by the frame limit
 * like a plain one, then stored as if it had come plain. */
static void on_encoded_batch(ingest_t *in, zmq_msg_t *ident, const char *probe, const wire_msg_t *m,
                             const char *body, size_t body_len)
{
    char err[256];
    size_t want = (size_t)m->body_bytes;
    if (want > in->max_frame) {
        snprintf(err, sizeof err, "batch of %zu bytes decoded is over the %u MiB limit", want,
                 in->cfg.max_frame_mb);
        refuse(in, ident, probe, &in->st.oversized, err);
        return;
    }
    if (want + 1 > in->plain_cap) {
        char *p = realloc(in->plain, want + 1);
        if (!p) {
            refuse(in, ident, probe, &in->st.malformed, "out of memory decoding the batch");
            return;
        }
        in->plain = p;
        in->plain_cap = want + 1;
    }
    if (!wire_lz4_decode(body, body_len, in->plain, want)) {
        refuse(in, ident, probe, &in->st.malformed,
               "lz4 records frame is not a valid block of body_bytes bytes");
        return;
    }
    in->plain[want] = '\0';
    on_batch(in, ident, probe, m, in->plain, want);
}

/* Commits the group, then acknowledges its batches (or, when the commit
 * fails, acknowledges none: the probes resend). */
static void group_end(ingest_t *in)
{
    char err[512];
    bool ok = !in->group_failed && store_commit(in->store, err, sizeof err);
    if (in->group_failed)
        store_rollback(in->store);
    else if (!ok) {
        in->st.db_errors++;
        LOG_ERROR("collector: commit of %zu batches failed, none acknowledged: %s", in->npend, err);
    }
    for (size_t i = 0; i < in->npend; i++) {
        pending_t *p = &in->pend[i];
        if (ok && p->status == WIRE_DUPLICATE) {
            in->st.batches_duplicate++;
        } else if (ok && p->status == WIRE_REJECTED) {
            in->st.malformed++;
        } else if (ok) {
            in->st.batches_stored++;
            in->st.records_stored += (uint64_t)p->stored;
            in->st.records_rejected += (uint64_t)p->rejected;
        }
        if (ok)
            send_reply(in, &p->ident, p->ack);
        else
            free(p->ack);
        zmq_msg_close(&p->ident);
    }
    in->npend = 0;
    in->group_failed = false;
}

/* body: the batch's record lines, NULL for a one-frame message. */
static void on_message(ingest_t *in, zmq_msg_t *ident, zmq_msg_t *head, zmq_msg_t *body)
{
    in->st.frames++;
    const char *user = zmq_msg_gets(head, "User-Id");
    const char *probe = user ? user : "?";
    char err[256];
    size_t size = zmq_msg_size(head) + (body ? zmq_msg_size(body) : 0);
    if (size > in->max_frame) {
        snprintf(err, sizeof err, "message of %zu bytes is over the %u MiB limit", size,
                 in->cfg.max_frame_mb);
        refuse(in, ident, probe, &in->st.oversized, err);
        return;
    }
    wire_msg_t m;
    if (!wire_parse(zmq_msg_data(head), zmq_msg_size(head), &m, err, sizeof err)) {
        refuse(in, ident, probe, &in->st.malformed, err);
        return;
    }
    if (m.kind != WIRE_BATCH && m.kind != WIRE_HEARTBEAT) {
        refuse(in, ident, probe, &in->st.malformed, "a probe sends batches and heartbeats only");
    } else if (strcmp(m.probe_id, probe) != 0) {
        snprintf(err, sizeof err, "probe_id '%.64s' is not this key's name", m.probe_id);
        refuse(in, ident, probe, &in->st.identity_mismatch, err);
    } else if ((m.kind == WIRE_BATCH) != (body != NULL)) {
        refuse(in, ident, probe, &in->st.malformed,
               body ? "a heartbeat is one frame" : "a batch needs its records frame");
    } else if (m.kind == WIRE_BATCH && m.encoding) {
        on_encoded_batch(in, ident, probe, &m, zmq_msg_data(body), zmq_msg_size(body));
    } else if (m.kind == WIRE_BATCH) {
        on_batch(in, ident, probe, &m, zmq_msg_data(body), zmq_msg_size(body));
    } else {
        in->st.heartbeats++;
        if (!store_heartbeat(in->store, probe, &m, err, sizeof err)) {
            in->st.db_errors++;
            LOG_ERROR("collector: heartbeat from '%s' not stored: %s", probe, err);
        }
    }
    wire_msg_clear(&m);
}

/* Discards the rest of a message that has too many frames. */
static void discard_rest(ingest_t *in)
{
    bool more = true;
    while (more) {
        zmq_msg_t x;
        zmq_msg_init(&x);
        if (zmq_msg_recv(&x, in->router, 0) < 0) {
            zmq_msg_close(&x);
            return;
        }
        more = zmq_msg_more(&x);
        zmq_msg_close(&x);
    }
}

/* One message off the ROUTER: [identity][head] or [identity][head][body];
 * false when none waits. */
static bool read_one(ingest_t *in)
{
    zmq_msg_t ident, head, body;
    zmq_msg_init(&ident);
    if (zmq_msg_recv(&ident, in->router, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&ident);
        return false;
    }
    zmq_msg_init(&head);
    zmq_msg_init(&body);
    bool ok = zmq_msg_more(&ident) && zmq_msg_recv(&head, in->router, 0) >= 0;
    bool two = ok && zmq_msg_more(&head);
    if (two)
        ok = zmq_msg_recv(&body, in->router, 0) >= 0;
    bool extra = ok && two && zmq_msg_more(&body);
    if (extra)
        discard_rest(in);
    if (!ok)
        in->st.malformed++;
    else if (extra)
        refuse(in, &ident, "?", &in->st.malformed, "at most two frames per message expected");
    else
        on_message(in, &ident, &head, two ? &body : NULL);
    zmq_msg_close(&body);
    zmq_msg_close(&head);
    zmq_msg_close(&ident);
    return true;
}

void ingest_poll(ingest_t *in, long timeout_ms)
{
    zmq_pollitem_t items[2] = {{in->router, 0, ZMQ_POLLIN, 0},
                               {zap_socket(in->zap), 0, ZMQ_POLLIN, 0}};
    zap_tick(in->zap, false);
    log_limit_flush(&in->rejections, LOG_LVL_WARN, REJECTIONS, false);
    if (zmq_poll(items, 2, timeout_ms) <= 0)
        return;
    if (items[1].revents & ZMQ_POLLIN)
        zap_handle(in->zap);
    /* group commit: what is waiting now goes into one transaction */
    char err[512];
    if (!store_begin(in->store, err, sizeof err)) {
        in->st.db_errors++;
        LOG_ERROR("collector: %s", err);
        return;
    }
    for (int i = 0; i < MSGS_PER_POLL && in->npend < GROUP_MAX_BATCHES && read_one(in); i++) {
        if (i % 16 == 15)
            zap_handle(in->zap); /* new probes are not kept waiting behind a busy one */
    }
    group_end(in);
}

void ingest_reload_keys(ingest_t *in)
{
    char err[512];
    if (zap_reload(in->zap, err, sizeof err))
        LOG_INFO("collector: %zu authorised keys loaded", zap_key_count(in->zap));
    else
        LOG_ERROR("collector: authorised keys not reloaded (keeping the old set): %s", err);
}

json_t *ingest_stats_json(const ingest_t *in)
{
    const ingest_stats_t *s = &in->st;
    const zap_stats_t *z = zap_stats(in->zap);
    return json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
        " s:{s:I, s:I, s:I, s:I, s:I}}",
        "frames", (json_int_t)s->frames, "batches_stored", (json_int_t)s->batches_stored,
        "batches_duplicate", (json_int_t)s->batches_duplicate, "records_stored",
        (json_int_t)s->records_stored, "records_rejected", (json_int_t)s->records_rejected,
        "heartbeats", (json_int_t)s->heartbeats, "malformed", (json_int_t)s->malformed, "oversized",
        (json_int_t)s->oversized, "identity_mismatch", (json_int_t)s->identity_mismatch,
        "db_errors", (json_int_t)s->db_errors, "auth", "accepted", (json_int_t)z->accepted,
        "refused", (json_int_t)z->refused, "malformed", (json_int_t)z->malformed, "keys",
        (json_int_t)zap_key_count(in->zap), "reloads", (json_int_t)z->reloads);
}
