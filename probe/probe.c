#include "probe.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "client_table.h"
#include "flow_table.h"
#include "log.h"
#include "output.h"
#include "progress.h"
#include "records.h"
#include "rtp.h"
#include "rtp_stream.h"
#include "tcp_frame.h"

#define MAX_STREAMS_PER_FLOW 64
#define MAX_CLIENTS 65536

struct probe {
    probe_cfg_t cfg;
    capture_t *cap;
    classify_t *cls;
    flow_table_t *ft;
    rtp_stream_pool_t *streams;
    client_table_t *clients;
    output_t *out;
    probe_counters_t c;
    usec_t now, pkt_ts, last_expire, next_interval, interval_start, first_ts, last_progress_wall,
        last_health_wall;
    unsigned since_chores; /* packets since progress/health last looked at the clock */
    bool finished;
    /* SIGHUP */
    _Atomic(probe_reload_t *) pending; /* posted by any thread, taken by p's */
    char ranges_path[4096];            /* cfg.ranges_file after a reload */
    /* --progress: the run's start, and the counts at the previous line */
    usec_t run_start_wall;
    uint64_t progress_packets, progress_bytes;
};

struct probe_reload {
    classify_ranges_t *ranges;
    char ranges_path[4096];
    unsigned interval_s, progress_s, min_stream_packets;
};

/* ---- records at flow end ------------------------------------------------ */

static void account_client(probe_t *p, const flow_t *f, const rtp_stream_t *s)
{
    int cs = f->client_side < 0 ? 0 : f->client_side;
    client_t *cl = client_table_get(p->clients, &f->key.addr[cs], f->key.vlan);
    if (!cl)
        return;
    if (cl->first_seen == 0 || f->first_seen < cl->first_seen)
        cl->first_seen = f->first_seen;
    if (f->last_seen > cl->last_seen)
        cl->last_seen = f->last_seen;
    if (f->has_client_mac) {
        cl->has_mac = true;
        memcpy(cl->mac, f->client_mac, 6);
    }
    cl->apps |= 1u << f->app;
    if (!s) {
        cl->flows++;
        return;
    }
    client_dir_t *d = &cl->dir[s->dir == cs ? 0 : 1];
    cl->streams++;
    d->streams++;
    d->packets += s->packets;
    d->lost += rtp_seq_lost(&s->seq);
    double loss = rtp_stream_loss_pct(s);
    if (loss > d->worst_loss_pct)
        d->worst_loss_pct = loss;
    if (s->clock_rate > 0 && s->jit.jmax > d->worst_jitter_ms)
        d->worst_jitter_ms = s->jit.jmax;
}

static media_t flow_media(const flow_t *f)
{
    /* the medium carrying the most packets */
    uint64_t best = 0;
    media_t m = MEDIA_UNKNOWN;
    for (const rtp_stream_t *s = f->streams; s; s = s->next) {
        media_t sm = classify_media(f, s->payload_type, s->clock_rate, s->max_pkts_per_ts);
        if (s->packets > best) {
            best = s->packets;
            m = sm;
        }
    }
    return m;
}

static void reverse_streams(flow_t *f)
{
    rtp_stream_t *prev = NULL, *s = f->streams;
    while (s) {
        rtp_stream_t *n = s->next;
        s->next = prev;
        prev = s;
        s = n;
    }
    f->streams = prev;
}

static void release_flow(void *ctx, flow_t *f, flow_end_t why)
{
    probe_t *p = ctx;
    const char *reason = flow_end_name(why);
    classify_flow_end(p->cls, f);
    reverse_streams(f); /* report in order of appearance */
    for (rtp_stream_t *s = f->streams; s; s = s->next)
        rtp_stream_finish(s);
    f->media = flow_media(f);
    for (rtp_stream_t *s = f->streams; s; s = s->next) {
        if (s->packets < p->cfg.min_stream_packets) {
            p->c.streams_below_min++;
            continue;
        }
        records_stream(output_record(p->out), f, s, reason);
        output_commit(p->out);
        account_client(p, f, s);
        p->c.streams_reported++;
    }
    if (f->stream_count > 0)
        account_client(p, f, NULL);
    records_flow(output_record(p->out), f, reason);
    output_commit(p->out);
    p->c.flows_reported++;
    rtp_stream_t *s = f->streams;
    while (s) {
        rtp_stream_t *n = s->next;
        rtp_stream_free(&s);
        s = n;
    }
    free(f->tcp[0]);
    free(f->tcp[1]);
    classify_flow_release(f);
}

/* ---- media -------------------------------------------------------------- */

static rtp_stream_t *stream_for(probe_t *p, flow_t *f, int dir, const rtp_hdr_t *h,
                                demux_encap_t encap)
{
    rtp_stream_t *last = f->last_stream[dir];
    if (last && last->ssrc == h->ssrc)
        return last;
    for (rtp_stream_t *s = f->streams; s; s = s->next)
        if (s->ssrc == h->ssrc && s->dir == dir) {
            f->last_stream[dir] = s;
            return s;
        }
    if (f->stream_count >= MAX_STREAMS_PER_FLOW) {
        p->c.stream_alloc_failures++;
        return NULL;
    }
    app_t app = classify_app_now(p->cls, f);
    rtp_stream_t *s = rtp_stream_pool_new_stream(p->streams, f, h->ssrc, (uint8_t)dir, h, encap,
                                                 app == APP_TEAMS || app == APP_SKYPE, p->now);
    if (!s) {
        p->c.stream_alloc_failures++;
        return NULL;
    }
    s->next = f->streams;
    f->streams = s;
    f->stream_count++;
    f->last_stream[dir] = s;
    return s;
}

static rtp_stream_t *find_stream(flow_t *f, uint32_t ssrc, int dir)
{
    for (rtp_stream_t *s = f->streams; s; s = s->next)
        if (s->ssrc == ssrc && (dir < 0 || s->dir == dir))
            return s;
    return NULL;
}

static void on_rtcp(probe_t *p, flow_t *f, int dir, const demux_result_t *d)
{
    rtcp_info_t info;
    if (!rtcp_parse(d->inner, d->inner_len, &info))
        return;
    if (info.encrypted) {
        f->srtcp_packets++;
        p->c.srtcp++;
        return;
    }
    f->rtcp_packets++;
    p->c.rtcp_plain++;
    rtp_stream_t *own = find_stream(f, info.ssrc, dir);
    if (own && info.has_sr)
        rtp_stream_rtcp_sr(own, info.sr_ntp_mid, p->pkt_ts);
    for (uint8_t i = 0; i < info.rb_count; i++) {
        rtp_stream_t *about = find_stream(f, info.rb[i].ssrc, 1 - dir);
        if (about)
            rtp_stream_rtcp_rb(about, info.rb[i].fraction_lost, info.rb[i].cumulative_lost,
                               info.rb[i].jitter, info.rb[i].lsr, info.rb[i].dlsr, p->pkt_ts);
    }
}

static void on_media(probe_t *p, flow_t *f, int dir, const uint8_t *data, size_t len,
                     demux_encap_t outer, uint32_t wire_bytes)
{
    demux_result_t d;
    demux_datagram_cut(data, len, outer == ENCAP_RAW && wire_bytes > len ? wire_bytes - len : 0,
                       &d);
    if (outer != ENCAP_RAW)
        d.encap = outer;
    f->kind_count[d.kind]++;
    f->encap_count[d.encap]++;
    p->c.demux_kind[d.kind]++;
    if (d.malformed) {
        f->demux_malformed++;
        p->c.demux_malformed++;
    }
    if (d.kind == DEMUX_RTCP) {
        on_rtcp(p, f, dir, &d);
        return;
    }
    if (d.kind != DEMUX_RTP)
        return;
    rtp_hdr_t h;
    if (!rtp_parse(d.inner, d.inner_len, &h)) {
        f->rtp_malformed++;
        p->c.rtp_malformed++;
        return;
    }
    rtp_stream_t *s = stream_for(p, f, dir, &h, d.encap);
    if (!s)
        return;
    p->c.rtp_packets++;
    /* the packet's own time: p->now is clamped to never go back */
    rtp_stream_packet(s, &h, p->pkt_ts, wire_bytes);
}

typedef struct {
    probe_t *p;
    flow_t *f;
    int dir;
} tcp_ctx_t;

static void on_tcp_frame(void *ctx, const uint8_t *frame, size_t len)
{
    tcp_ctx_t *t = ctx;
    t->p->c.tcp_frames++;
    bool rfc4571 = t->f->tcp[t->dir]->kind == TCP_FRAME_RFC4571;
    on_media(t->p, t->f, t->dir, frame, len, rfc4571 ? ENCAP_TCP_RFC4571 : ENCAP_RAW,
             (uint32_t)len + (rfc4571 ? 2 : 0));
}

static void on_tcp(probe_t *p, flow_t *f, int dir, const pkt_t *pk)
{
    if ((pk->tcp_flags & 0x05) && !f->fin_seen) /* FIN or RST */
        flow_table_mark_closed(p->ft, f);
    if (pk->payload_len == 0)
        return;
    if (f->tcp_unframed & (1u << dir))
        return;
    if (!f->tcp[dir]) {
        /* decide on the first data segment; only media framing gets buffers */
        tcp_frame_kind_t kind = tcp_frame_detect(pk->payload, pk->payload_len);
        if (kind == TCP_FRAME_NONE) {
            f->tcp_unframed |= (uint8_t)(1u << dir);
            return;
        }
        f->tcp[dir] = malloc(sizeof(tcp_deframer_t));
        if (!f->tcp[dir])
            return;
        tcp_frame_init(f->tcp[dir], kind, pk->tcp_seq);
    }
    tcp_deframer_t *d = f->tcp[dir];
    uint64_t before = d->resyncs;
    tcp_ctx_t t = {p, f, dir};
    tcp_frame_feed(d, pk->tcp_seq, pk->payload, pk->payload_len, on_tcp_frame, &t);
    p->c.tcp_resyncs += d->resyncs - before;
}

/* ---- per packet --------------------------------------------------------- */

static void emit_intervals(probe_t *p, usec_t end);

/* Closes the interval windows that end at or before now. Called before a
 * packet is handled: a window is [start, end), so a packet at or past its
 * end belongs to the next one. */
static void intervals_due(probe_t *p)
{
    if (p->cfg.interval_s == 0)
        return;
    if (p->next_interval == 0) {
        p->interval_start = p->now;
        p->next_interval = p->now + (usec_t)p->cfg.interval_s * USEC_PER_SEC;
    }
    while (p->now >= p->next_interval) {
        emit_intervals(p, p->next_interval);
        p->next_interval += (usec_t)p->cfg.interval_s * USEC_PER_SEC;
    }
}

static void housekeeping(probe_t *p)
{
    if (p->now - p->last_expire >= USEC_PER_SEC || p->now < p->last_expire) {
        flow_table_expire(p->ft, p->now);
        p->last_expire = p->now;
    }
    intervals_due(p);
}

static void handle_packet(probe_t *p, const pkt_t *pk)
{
    flow_key_t key;
    int dir;
    bool created;
    flow_key_from_pkt(pk, &key, &dir);
    flow_t *f = flow_table_get(p->ft, &key, p->now, &created);
    if (!f) {
        p->c.flow_alloc_failures++;
        return;
    }
    if (created)
        classify_flow_start(p->cls, f, dir);
    else if (f->last_stream[dir]) /* its cache misses overlap what comes first */
        rtp_stream_prefetch(f->last_stream[dir]);
    f->pkts[dir]++;
    f->bytes[dir] += pk->wirelen;
    if (dir == f->client_side && pk->has_mac) {
        f->has_client_mac = true;
        memcpy(f->client_mac, pk->src_mac, 6);
    }
    classify_packet(p->cls, f, pk);
    if (pk->l4proto == IPPROTO_TCP)
        on_tcp(p, f, dir, pk); /* the framing check there keeps TLS out */
    else if (!classify_not_media(f))
        on_media(p, f, dir, pk->payload, pk->payload_len, ENCAP_RAW, pk->payload_wire_len);
}

void probe_feed(probe_t *p, int dlt, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
                int64_t ts_us)
{
    pkt_t pk;
    p->c.packets++;
    p->c.bytes += wirelen;
    if (p->first_ts == 0)
        p->first_ts = ts_us;
    /* Time only moves forward: a capture out of order must not make flows
     * look idle or reopen intervals. */
    if (ts_us > p->now)
        p->now = ts_us;
    p->pkt_ts = ts_us;
    intervals_due(p);
    decode_reason_t r = decode_frame(dlt, data, caplen, wirelen, ts_us, &pk);
    p->c.reason[r]++;
    if (r == DECODE_OK) {
        p->c.decoded++;
        if (pk.snap_truncated)
            p->c.snap_truncated++;
        handle_packet(p, &pk);
    }
    housekeeping(p);
}

/* ---- intervals ---------------------------------------------------------- */

typedef struct {
    probe_t *p;
    usec_t end;
} interval_ctx_t;

static void interval_flow(void *ctx, flow_t *f)
{
    interval_ctx_t *ic = ctx;
    probe_t *p = ic->p;
    usec_t start = p->interval_start;
    for (rtp_stream_t *s = f->streams; s; s = s->next) {
        if (s->packets < p->cfg.min_stream_packets)
            continue;
        rtp_window_t d;
        rtp_stream_take_window(s, &d);
        if (d.packets == 0)
            continue;
        if (f->app == APP_OTHER)
            f->app = classify_app_now(p->cls, f);
        records_interval(output_record(p->out), f, s, &d, start, ic->end);
        output_commit(p->out);
        p->c.intervals_reported++;
    }
}

static void emit_intervals(probe_t *p, usec_t end)
{
    interval_ctx_t ic = {p, end};
    flow_table_each(p->ft, interval_flow, &ic);
    p->interval_start = end;
}

/* ---- life cycle --------------------------------------------------------- */

probe_t *probe_new(const probe_cfg_t *cfg, char *err, size_t errlen)
{
    probe_t *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->cfg = *cfg;
    p->since_chores = 1023; /* the first packet looks at the clock */
    classify_cfg_t cc = {cfg->ranges_file, cfg->ndpi_max_packets};
    flow_table_cfg_t fc = {cfg->max_flows, (usec_t)cfg->udp_timeout_s * USEC_PER_SEC,
                           (usec_t)cfg->tcp_timeout_s * USEC_PER_SEC, 10 * USEC_PER_SEC};
    p->cls = classify_new(&cc, err, errlen);
    if (!p->cls)
        goto fail;
    p->ft = flow_table_new(&fc, release_flow, p);
    p->clients = client_table_new(MAX_CLIENTS);
    p->streams =
        rtp_stream_pool_new(cfg->max_streams, (uint64_t)cfg->stream_memory_mb * 1024 * 1024);
    if (!p->ft || !p->clients || !p->streams) {
        snprintf(err, errlen, "out of memory for the flow table");
        goto fail;
    }
    p->out = output_new(cfg->json_path, cfg->table, &cfg->exp, err, errlen);
    if (!p->out)
        goto fail;
    if (cfg->cap.iface || (cfg->cap.files && cfg->cap.files[0])) {
        p->cap = capture_open(&cfg->cap, err, errlen);
        if (!p->cap)
            goto fail;
    }
    return p;
fail:
    probe_free(&p);
    return NULL;
}

static void health(probe_t *p);

static void progress_line(probe_t *p, usec_t wall)
{
    const flow_table_stats_t *fs = flow_table_stats(p->ft);
    progress_t pr = {
        .elapsed_s = (double)(wall - p->run_start_wall) / 1e6,
        .since_s = (double)(wall - p->last_progress_wall) / 1e6,
        .packets = p->c.packets,
        .packets_since = p->c.packets - p->progress_packets,
        .bytes_since = p->c.bytes - p->progress_bytes,
        .decoded = p->c.decoded,
        .streams = p->c.streams_reported,
        .active_flows = fs->active,
    };
    if (p->cap)
        pr.files = capture_progress(p->cap, &pr.read_bytes, &pr.total_bytes);
    if (p->cap && p->cfg.cap.iface) {
        capture_stats_t cs;
        capture_stats(p->cap, &cs);
        pr.live = cs.stats_available;
        pr.kernel_drops = cs.kernel_dropped;
    }
    char line[1024];
    progress_format(&pr, line, sizeof line);
    json_t *ex = p->cfg.exp.endpoint ? output_export_stats(p->out) : NULL;
    if (ex) { /* which collector is in use (several: docs/transport.md) */
        size_t used = strlen(line);
        const char *to = json_string_value(json_object_get(ex, "collector"));
        snprintf(
            line + used, sizeof line - used, "; collector %s (%s), %" PRId64 " batches spooled",
            to ? to : "?",
            json_is_true(json_object_get(ex, "connected")) ? "connected" : "not connected",
            (int64_t)json_integer_value(json_object_get(json_object_get(ex, "spool"), "batches")));
        json_decref(ex);
    }
    LOG_INFO("%s", line);
    p->last_progress_wall = wall;
    p->progress_packets = p->c.packets;
    p->progress_bytes = p->c.bytes;
}

static void progress(probe_t *p)
{
    if (p->cfg.progress_s == 0)
        return;
    usec_t wall = timefmt_now();
    if (wall - p->last_progress_wall < (usec_t)p->cfg.progress_s * USEC_PER_SEC)
        return;
    progress_line(p, wall);
}

int probe_run(probe_t *p, volatile sig_atomic_t *stop)
{
    char err[512];
    int rc = 0;
    if (!p->cap)
        return 0;
    p->run_start_wall = p->last_progress_wall = timefmt_now();
    while (!stop || !*stop) {
        capture_pkt_t pkt;
        capture_result_t r = capture_next(p->cap, &pkt, err, sizeof err);
        if (r == CAPTURE_END)
            break;
        if (r == CAPTURE_ERROR) {
            LOG_ERROR("%s", err);
            rc = 1;
            break;
        }
        /* between two packets: a reload (SIGHUP) takes effect here */
        if (atomic_load_explicit(&p->pending, memory_order_relaxed))
            probe_reload_apply(p);
        if (r == CAPTURE_PACKET)
            probe_feed(p, pkt.dlt, pkt.data, pkt.caplen, pkt.wirelen, pkt.ts);
        else if (p->cfg.cap.iface) /* idle live link: let time pass */
            probe_feed_idle(p, timefmt_now());
        /* wall-clock chores: not a clock read per packet */
        if (r != CAPTURE_PACKET || (++p->since_chores & 1023) == 0) {
            progress(p);
            health(p);
        }
    }
    if (p->cfg.progress_s && !p->cfg.cap.iface)
        progress_line(p, timefmt_now()); /* files: the last line says done */
    uint64_t decode_drops = 0;
    for (int i = 1; i < DECODE_SKIP_FIRST; i++)
        decode_drops += p->c.reason[i];
    capture_log_summary(p->cap, p->c.packets, decode_drops);
    capture_stats_t cs;
    capture_stats(p->cap, &cs);
    p->c.files_failed = cs.files_failed;
    if (cs.files_failed > 0)
        rc = 1;
    return rc;
}

void probe_break(probe_t *p)
{
    capture_break(p->cap);
}

void probe_feed_idle(probe_t *p, int64_t now_us)
{
    if (now_us <= p->now)
        return;
    p->now = now_us;
    housekeeping(p);
}

static void emit_client(void *ctx, const client_t *c)
{
    probe_t *p = ctx;
    records_client(output_record(p->out), c);
    output_commit(p->out);
    p->c.clients_reported++;
}

static void put_reasons(rec_t *r, const char *key, const probe_t *p, bool malformed)
{
    rec_open(r, key);
    for (int i = 1; i < DECODE_REASON_COUNT; i++)
        if (decode_reason_is_malformed((decode_reason_t)i) == malformed)
            rec_int(r, decode_reason_name((decode_reason_t)i), (long long)p->c.reason[i]);
    rec_close(r);
}

static void put_u64(rec_t *r, const char *key, uint64_t v)
{
    rec_int(r, key, (long long)v);
}

typedef struct {
    const char *key;
    uint64_t value;
} stat_t;

/* One group of counters: a nested object, members in table order. */
static void put_group(rec_t *r, const char *key, const stat_t *st, size_t n)
{
    rec_open(r, key);
    for (size_t i = 0; i < n; i++)
        put_u64(r, st[i].key, st[i].value);
    rec_close(r);
}

static void put_pcap_stats(rec_t *r, const probe_t *p)
{
    capture_stats_t cap = {0};
    if (p->cap)
        capture_stats(p->cap, &cap);
    rec_open(r, "pcap");
    rec_bool(r, "available", cap.stats_available);
    put_u64(r, "received", cap.kernel_received);
    put_u64(r, "kernel_dropped", cap.kernel_dropped);
    put_u64(r, "iface_dropped", cap.iface_dropped);
    put_u64(r, "files_opened", cap.files_opened);
    put_u64(r, "files_failed", cap.files_failed);
    rec_close(r);
}

static void put_demux_stats(rec_t *r, const probe_t *p)
{
    rec_open(r, "demux");
    for (int k = 0; k < DEMUX_KIND_COUNT; k++)
        put_u64(r, demux_kind_name((demux_kind_t)k), p->c.demux_kind[k]);
    put_u64(r, "rtcp_plain", p->c.rtcp_plain);
    put_u64(r, "srtcp", p->c.srtcp);
    put_u64(r, "wrapper_malformed", p->c.demux_malformed);
    put_u64(r, "rtp_malformed", p->c.rtp_malformed);
    put_u64(r, "tcp_frames", p->c.tcp_frames);
    put_u64(r, "tcp_resyncs", p->c.tcp_resyncs);
    rec_close(r);
}

static void put_table_stats(rec_t *r, const probe_t *p)
{
    const flow_table_stats_t *fs = flow_table_stats(p->ft);
    const stat_t flows[] = {
        {"created", fs->created},  {"expired", fs->expired},
        {"evicted", fs->evicted},  {"flushed", fs->flushed},
        {"peak_active", fs->peak}, {"alloc_failures", p->c.flow_alloc_failures},
    };
    put_group(r, "flows", flows, sizeof flows / sizeof flows[0]);
}

static void put_stream_stats(rec_t *r, const probe_t *p)
{
    const stat_t streams[] = {
        {"reported", p->c.streams_reported},
        {"below_min_packets", p->c.streams_below_min},
        {"alloc_failures", p->c.stream_alloc_failures},
        {"intervals", p->c.intervals_reported},
        {"clients", p->c.clients_reported},
        {"clients_overflow", client_table_overflow(p->clients)},
    };
    put_group(r, "streams", streams, sizeof streams / sizeof streams[0]);
    const classify_stats_t *cs = classify_stats(p->cls);
    const stat_t ndpi[] = {
        {"flows", cs->ndpi_flows},
        {"packets", cs->ndpi_packets},
        {"giveups", cs->ndpi_giveups},
        {"alloc_failures", cs->ndpi_alloc_failures},
    };
    put_group(r, "ndpi", ndpi, sizeof ndpi / sizeof ndpi[0]);
}

static void stats_record(rec_t *r, const probe_t *p)
{
    uint64_t malformed = 0;
    for (int i = 1; i < DECODE_SKIP_FIRST; i++)
        malformed += p->c.reason[i];
    rec_str(r, "type", "stats");
    rec_int(r, "schema", RECORDS_SCHEMA_VERSION);
    rec_str(r, "version", CALLSCOPE_VERSION);
    if (p->first_ts)
        records_put_time(r, "first_packet", p->first_ts);
    else
        rec_null(r, "first_packet");
    if (p->now)
        records_put_time(r, "last_packet", p->now);
    else
        rec_null(r, "last_packet");
    put_u64(r, "packets", p->c.packets);
    put_u64(r, "bytes", p->c.bytes);
    put_u64(r, "decoded", p->c.decoded);
    put_u64(r, "dropped", malformed);
    put_reasons(r, "drops", p, true);
    put_reasons(r, "skipped", p, false);
    put_u64(r, "snaplen_truncated", p->c.snap_truncated);
    put_pcap_stats(r, p);
    put_table_stats(r, p);
    put_demux_stats(r, p);
    put_stream_stats(r, p); /* and nDPI's */
    records_stream_budget(r, rtp_stream_pool_stats(p->streams));
    json_t *ex = output_export_stats(p->out);
    if (ex)
        rec_json(r, "export", ex);
    json_decref(ex);
}

/* The collector's heartbeat carries the probe's counters, as of now. */
static void health(probe_t *p)
{
    if (!p->cfg.exp.endpoint)
        return;
    usec_t wall = timefmt_now();
    if (wall - p->last_health_wall < (usec_t)p->cfg.exp.heartbeat_s * USEC_PER_SEC)
        return;
    p->last_health_wall = wall;
    rec_t *r = rec_new();
    if (!r)
        return;
    rec_begin(r, false, true);
    stats_record(r, p);
    rec_end(r);
    json_t *h = rec_take_tree(r);
    rec_free(&r);
    if (!h)
        return;
    json_object_set_new(json_object_get(h, "flows"), "active",
                        json_integer(flow_table_stats(p->ft)->active));
    json_object_del(h, "export");
    output_health(p->out, h);
}

void probe_finish(probe_t *p)
{
    if (p->finished)
        return;
    p->finished = true;
    if (p->cfg.interval_s && p->now)
        emit_intervals(p, p->now);
    flow_table_flush(p->ft);
    client_table_each_sorted(p->clients, emit_client, p);
    stats_record(output_record(p->out), p);
    output_commit(p->out);
    if (p->cfg.table)
        output_print_table(p->out, stdout);
}

void probe_free(probe_t **pp)
{
    if (!pp || !*pp)
        return;
    probe_t *p = *pp;
    probe_reload_t *pending = atomic_exchange(&p->pending, NULL);
    probe_reload_free(&pending);
    char err[256];
    if (p->ft)
        flow_table_free(&p->ft); /* flushes: records still reach the output */
    if (p->out && !output_close(&p->out, err, sizeof err))
        LOG_ERROR("%s", err);
    client_table_free(&p->clients);
    rtp_stream_pool_free(&p->streams);
    classify_free(&p->cls);
    capture_close(&p->cap);
    free(p);
    *pp = NULL;
}

const probe_counters_t *probe_counters(const probe_t *p)
{
    return &p->c;
}

/* ---- SIGHUP ------------------------------------------------------------- */

probe_reload_t *probe_reload_new(const probe_cfg_t *cfg, char *err, size_t errlen)
{
    probe_reload_t *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (strlen(cfg->ranges_file) >= sizeof r->ranges_path) {
        snprintf(err, errlen, "ranges file name too long");
        free(r);
        return NULL;
    }
    r->ranges = classify_ranges_load(cfg->ranges_file, err, errlen);
    if (!r->ranges) {
        free(r);
        return NULL;
    }
    snprintf(r->ranges_path, sizeof r->ranges_path, "%s", cfg->ranges_file);
    r->interval_s = cfg->interval_s;
    r->progress_s = cfg->progress_s;
    r->min_stream_packets = cfg->min_stream_packets;
    return r;
}

void probe_reload_free(probe_reload_t **r)
{
    if (!r || !*r)
        return;
    classify_ranges_free(&(*r)->ranges);
    free(*r);
    *r = NULL;
}

void probe_reload_post(probe_t *p, probe_reload_t *r)
{
    probe_reload_t *old = atomic_exchange_explicit(&p->pending, r, memory_order_acq_rel);
    probe_reload_free(&old);
}

static void discard_window(void *ctx, flow_t *f)
{
    (void)ctx;
    for (rtp_stream_t *s = f->streams; s; s = s->next) {
        rtp_window_t d;
        rtp_stream_take_window(s, &d);
    }
}

/* A new interval length starts a new window now: the window in progress
 * is written up to now (old length > 0), or what streams gathered while
 * intervals were off is dropped, so no window spans two lengths. */
static void change_interval(probe_t *p, unsigned interval_s)
{
    if (p->cfg.interval_s && p->next_interval && p->now > p->interval_start)
        emit_intervals(p, p->now);
    else if (!p->cfg.interval_s)
        flow_table_each(p->ft, discard_window, NULL);
    p->cfg.interval_s = interval_s;
    p->next_interval = 0; /* the next packet or idle tick starts it */
}

bool probe_reload_apply(probe_t *p)
{
    probe_reload_t *r = atomic_exchange_explicit(&p->pending, NULL, memory_order_acq_rel);
    if (!r)
        return false;
    classify_ranges_swap(p->cls, r->ranges);
    r->ranges = NULL;
    memcpy(p->ranges_path, r->ranges_path, sizeof p->ranges_path);
    p->cfg.ranges_file = p->ranges_path;
    if (r->interval_s != p->cfg.interval_s)
        change_interval(p, r->interval_s);
    p->cfg.progress_s = r->progress_s;
    p->cfg.min_stream_packets = r->min_stream_packets;
    char who[32] = "";
    if (p->cfg.cap.workers > 1)
        snprintf(who, sizeof who, "worker %u: ", p->cfg.cap.worker);
    LOG_INFO("%sreloaded: ranges %s (%zu Teams prefixes), interval %u s, progress %u s, "
             "min-stream-packets %u",
             who, p->ranges_path, classify_ranges_count(p->cls), p->cfg.interval_s,
             p->cfg.progress_s, p->cfg.min_stream_packets);
    probe_reload_free(&r);
    return true;
}
