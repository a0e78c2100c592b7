#include "records.h"

#include <math.h>
#include <netinet/in.h>

#include "classify.h"
#include "emodel.h"
#include "rtp_clock.h"

void records_put_time(rec_t *r, const char *key, usec_t t)
{
    char buf[40];
    rec_str(r, key, timefmt_iso(t, buf, sizeof buf));
}

void records_put_ms(rec_t *r, const char *key, double ms)
{
    rec_real(r, key, round(ms * 1000.0) / 1000.0);
}

static void put_pct(rec_t *r, const char *key, double v)
{
    rec_real(r, key, round(v * 1000.0) / 1000.0);
}

static void put_addr(rec_t *r, const char *key, const netaddr_t *a)
{
    char buf[NETADDR_STRLEN];
    rec_str(r, key, netaddr_fmt(a, buf, sizeof buf));
}

static void put_mac(rec_t *r, const char *key, bool has, const uint8_t m[6])
{
    if (!has) {
        rec_null(r, key);
        return;
    }
    static const char hex[] = "0123456789abcdef";
    char buf[18]; /* "%02x:" six times, by hand */
    for (int i = 0; i < 6; i++) {
        buf[3 * i] = hex[m[i] >> 4];
        buf[3 * i + 1] = hex[m[i] & 15];
        buf[3 * i + 2] = i < 5 ? ':' : '\0';
    }
    rec_str(r, key, buf);
}

static void put_vlan(rec_t *r, const char *key, uint16_t vlan)
{
    if (vlan)
        rec_int(r, key, vlan);
    else
        rec_null(r, key);
}

static int client_side(const flow_t *f)
{
    return f->client_side < 0 ? 0 : f->client_side;
}

static void put_endpoints(rec_t *r, const flow_t *f, int from)
{
    put_addr(r, "src_ip", &f->key.addr[from]);
    rec_int(r, "src_port", f->key.port[from]);
    put_addr(r, "dst_ip", &f->key.addr[1 - from]);
    rec_int(r, "dst_port", f->key.port[1 - from]);
    rec_str(r, "proto", f->key.proto == IPPROTO_TCP ? "tcp" : "udp");
}

static void put_common(rec_t *r, const flow_t *f)
{
    int cs = client_side(f);
    rec_str(r, "app", classify_app_name(f->app));
    rec_str(r, "ndpi", f->ndpi_name[0] ? f->ndpi_name : "Unknown");
    put_addr(r, "client_ip", &f->key.addr[cs]);
    rec_int(r, "client_port", f->key.port[cs]);
    put_mac(r, "client_mac", f->has_client_mac, f->client_mac);
    put_vlan(r, "vlan", f->key.vlan);
    put_vlan(r, "vlan_inner", f->key.vlan_inner);
}

static void put_opt_ms(rec_t *r, const char *key, bool valid, double v)
{
    if (valid)
        records_put_ms(r, key, v);
    else
        rec_null(r, key);
}

static void put_loss(rec_t *r, const rtp_stream_t *s)
{
    rec_int(r, "expected", (long long)rtp_seq_expected(&s->seq));
    rec_int(r, "lost", (long long)rtp_seq_lost(&s->seq));
    put_pct(r, "loss_pct", rtp_stream_loss_pct(s));
    rec_int(r, "duplicates", (long long)s->seq.duplicates);
    rec_int(r, "out_of_order", (long long)s->seq.late);
    rec_int(r, "max_burst_loss", s->seq.max_burst);
    rec_int(r, "burst_count", s->seq.bursts);
    rec_int(r, "loss_runs", s->seq.loss_runs);
    rec_int(r, "seq_restarts", (long long)s->seq.restarts);
    rec_int(r, "seq_jumps", (long long)s->seq.jumps);
}

static void put_jitter(rec_t *r, const rtp_stream_t *s)
{
    bool has = s->clock_rate > 0 && s->jit.primed;
    const jitter_t *j = &s->jit;
    put_opt_ms(r, "jitter_ms_max", has, j->jmax);
    put_opt_ms(r, "jitter_ms_mean", has, j->n ? j->jsum / (double)j->n : 0.0);
    put_opt_ms(r, "jitter_ms_final", has, j->j);
    put_opt_ms(r, "max_delta_ms", j->primed, j->max_delta_ms);
    if (s->clock_rate)
        rec_int(r, "clock_rate", s->clock_rate);
    else
        rec_null(r, "clock_rate");
    rec_bool(r, "clock_inferred", s->clock_inferred);
    bool net = s->ast_id >= 0 && s->netjit.primed;
    const jitter_t *n = &s->netjit;
    if (s->ast_id >= 0)
        rec_int(r, "abs_send_time_ext_id", s->ast_id);
    else
        rec_null(r, "abs_send_time_ext_id");
    put_opt_ms(r, "network_jitter_ms_max", net, n->jmax);
    put_opt_ms(r, "network_jitter_ms_mean", net, n->n ? n->jsum / (double)n->n : 0.0);
    put_opt_ms(r, "network_jitter_ms_final", net, n->j);
}

static void put_rate(rec_t *r, const rtp_stream_t *s, media_t media)
{
    double dur = (double)(s->last_seen - s->first_seen) / 1e6;
    if (dur > 0)
        rec_real(r, "bitrate_kbps", round(s->bytes * 8.0 / dur) / 1000.0);
    else
        rec_null(r, "bitrate_kbps");
    if (media != MEDIA_VIDEO && media != MEDIA_SCREENSHARE)
        return;
    if (dur > 0)
        rec_real(r, "frame_rate", round(s->frames / dur * 100) / 100);
    else
        rec_null(r, "frame_rate");
    rec_int(r, "frames", (long long)s->frames);
}

/* E-model MOS and R of an audio stream over some packets (the whole stream,
 * or one interval): loss, its burstiness, the mean jitter. */
static void put_mos(rec_t *r, const flow_t *f, const rtp_stream_t *s, media_t media,
                    uint64_t expected, uint64_t lost, uint32_t loss_runs, double jitter_ms)
{
    if (media != MEDIA_AUDIO || !(s->clock_rate > 0) || expected == 0) {
        rec_null(r, "mos");
        rec_null(r, "r_factor");
        return;
    }
    double loss = 100.0 * (double)lost / (double)expected;
    double burst_ratio = 1.0;
    if (loss_runs > 0 && loss < 100.0)
        burst_ratio = ((double)lost / loss_runs) * (1.0 - loss / 100.0);
    double one_way = s->rtcp_rtt_valid ? s->rtcp_rtt_ms / 2.0 : -1.0;
    emodel_result_t e;
    emodel_score(emodel_codec_for(s->payload_type, s->clock_rate, f->app == APP_TEAMS), loss,
                 burst_ratio, jitter_ms, one_way, &e);
    rec_real(r, "mos", round(e.mos * 100) / 100);
    rec_real(r, "r_factor", round(e.r * 10) / 10);
}

static void put_quality(rec_t *r, const flow_t *f, const rtp_stream_t *s, media_t media)
{
    put_rate(r, s, media);
    double jit = s->jit.n ? s->jit.jsum / (double)s->jit.n : 0.0;
    put_mos(r, f, s, media, rtp_seq_expected(&s->seq), rtp_seq_lost(&s->seq), s->seq.loss_runs,
            jit);
}

static void put_rtcp(rec_t *r, const rtp_stream_t *s)
{
    if (!s->rtcp_seen && s->sr_count == 0) {
        rec_null(r, "rtcp");
        return;
    }
    rec_open(r, "rtcp");
    rec_int(r, "sender_reports", s->sr_count);
    if (s->rtcp_seen) {
        put_pct(r, "fraction_lost_pct", s->rtcp_fraction_lost * 100.0 / 256.0);
        rec_int(r, "cumulative_lost", s->rtcp_cumulative_lost);
        if (s->clock_rate)
            records_put_ms(r, "jitter_ms", s->rtcp_jitter_ms);
        else
            rec_null(r, "jitter_ms");
    }
    put_opt_ms(r, "rtt_ms", s->rtcp_rtt_valid, s->rtcp_rtt_ms);
    rec_close(r);
}

static const char *direction(const flow_t *f, const rtp_stream_t *s)
{
    return s->dir == client_side(f) ? "outbound" : "inbound";
}

void records_stream(rec_t *r, const flow_t *f, const rtp_stream_t *s, const char *end_reason)
{
    media_t media = classify_media(f, s->payload_type, s->clock_rate, s->max_pkts_per_ts);
    rec_str(r, "type", "stream");
    put_endpoints(r, f, s->dir);
    rec_int(r, "ssrc", s->ssrc);
    rec_int(r, "payload_type", s->payload_type);
    rec_str(r, "codec", rtp_codec_name(s->payload_type, f->app == APP_TEAMS));
    put_common(r, f);
    rec_str(r, "media", classify_media_name(media));
    rec_str(r, "direction", direction(f, s));
    rec_str(r, "encap", demux_encap_name(s->encap));
    records_put_time(r, "first_seen", s->first_seen);
    records_put_time(r, "last_seen", s->last_seen);
    rec_int(r, "packets", (long long)s->packets);
    rec_int(r, "bytes", (long long)s->bytes);
    put_loss(r, s);
    put_jitter(r, s);
    put_quality(r, f, s, media);
    put_rtcp(r, s);
    rec_str(r, "end_reason", end_reason);
}

void records_interval(rec_t *r, const flow_t *f, const rtp_stream_t *s, const rtp_window_t *d,
                      usec_t start, usec_t end)
{
    media_t media = classify_media(f, s->payload_type, s->clock_rate, s->max_pkts_per_ts);
    rec_str(r, "type", "interval");
    put_endpoints(r, f, s->dir);
    rec_int(r, "ssrc", s->ssrc);
    rec_str(r, "app", classify_app_name(f->app));
    rec_str(r, "direction", direction(f, s));
    records_put_time(r, "start", start);
    records_put_time(r, "end", end);
    rec_int(r, "packets", (long long)d->packets);
    rec_int(r, "bytes", (long long)d->bytes);
    rec_int(r, "expected", (long long)d->expected);
    rec_int(r, "lost", (long long)d->lost);
    put_pct(r, "loss_pct", d->expected ? 100.0 * d->lost / d->expected : 0.0);
    rec_int(r, "duplicates", (long long)d->duplicates);
    rec_int(r, "out_of_order", (long long)d->late);
    bool has = s->clock_rate > 0 && s->jit.primed;
    put_opt_ms(r, "jitter_ms_max", has, d->jitter_ms_max);
    put_opt_ms(r, "jitter_ms", has, s->jit.j);
    /* Added for the NOC's timelines (docs/output.md): same meanings as the
     * stream record's keys, over this interval's packets. */
    rec_str(r, "media", classify_media_name(media));
    rec_int(r, "burst_loss_max", d->burst_max);
    rec_int(r, "loss_runs", d->loss_runs);
    double jmean = d->jit.n ? d->jit.sum / (double)d->jit.n : 0.0;
    put_opt_ms(r, "jitter_ms_mean", has && d->jit.n > 0, jmean);
    bool net = s->ast_id >= 0 && s->netjit.primed;
    put_opt_ms(r, "network_jitter_ms_max", net && d->netjit.n > 0, d->netjit.max);
    put_opt_ms(r, "network_jitter_ms", net, s->netjit.j);
    double secs = (double)(end - start) / 1e6;
    if (secs > 0)
        rec_real(r, "bitrate_kbps", round(d->bytes * 8.0 / secs) / 1000.0);
    else
        rec_null(r, "bitrate_kbps");
    if ((media == MEDIA_VIDEO || media == MEDIA_SCREENSHARE) && secs > 0)
        rec_real(r, "frame_rate", round(d->frames / secs * 100) / 100);
    else
        rec_null(r, "frame_rate");
    if (media == MEDIA_VIDEO || media == MEDIA_SCREENSHARE)
        rec_int(r, "frames", (long long)d->frames);
    else
        rec_null(r, "frames");
    put_mos(r, f, s, media, d->expected, d->lost, d->loss_runs, jmean);
}

static void put_flow_demux(rec_t *r, const flow_t *f)
{
    rec_open(r, "demux");
    for (int i = 1; i < DEMUX_KIND_COUNT; i++)
        rec_int(r, demux_kind_name((demux_kind_t)i), f->kind_count[i]);
    rec_int(r, "srtcp", f->srtcp_packets);
    rec_int(r, "turn_channeldata", f->encap_count[ENCAP_TURN_CHANNELDATA]);
    rec_int(r, "stun_data_indication", f->encap_count[ENCAP_STUN_DATA]);
    rec_int(r, "stun_send_indication", f->encap_count[ENCAP_STUN_SEND]);
    rec_int(r, "tcp_rfc4571", f->encap_count[ENCAP_TCP_RFC4571]);
    rec_int(r, "malformed", f->demux_malformed + f->rtp_malformed);
    rec_close(r);
}

void records_flow(rec_t *r, const flow_t *f, const char *end_reason)
{
    int cs = client_side(f), rs = 1 - cs;
    rec_str(r, "type", "flow");
    put_endpoints(r, f, f->init_side);
    put_common(r, f);
    put_addr(r, "remote_ip", &f->key.addr[rs]);
    rec_int(r, "remote_port", f->key.port[rs]);
    rec_str(r, "media", classify_media_name(f->media));
    records_put_time(r, "first_seen", f->first_seen);
    records_put_time(r, "last_seen", f->last_seen);
    rec_int(r, "packets", (long long)(f->pkts[0] + f->pkts[1]));
    rec_int(r, "bytes", (long long)(f->bytes[0] + f->bytes[1]));
    rec_int(r, "packets_out", (long long)f->pkts[cs]);
    rec_int(r, "packets_in", (long long)f->pkts[rs]);
    rec_int(r, "bytes_out", (long long)f->bytes[cs]);
    rec_int(r, "bytes_in", (long long)f->bytes[rs]);
    rec_int(r, "streams", f->stream_count);
    put_flow_demux(r, f);
    rec_str(r, "end_reason", end_reason);
}

static void put_client_dir(rec_t *r, const char *key, const client_dir_t *d)
{
    rec_open(r, key);
    rec_int(r, "streams", (long long)d->streams);
    rec_int(r, "packets", (long long)d->packets);
    rec_int(r, "lost", (long long)d->lost);
    put_pct(r, "worst_loss_pct", d->worst_loss_pct);
    records_put_ms(r, "worst_jitter_ms", d->worst_jitter_ms);
    rec_close(r);
}

void records_client(rec_t *r, const client_t *c)
{
    rec_str(r, "type", "client");
    put_addr(r, "client_ip", &c->addr);
    put_mac(r, "client_mac", c->has_mac, c->mac);
    put_vlan(r, "vlan", c->vlan);
    records_put_time(r, "first_seen", c->first_seen);
    records_put_time(r, "last_seen", c->last_seen);
    rec_int(r, "flows", (long long)c->flows);
    rec_int(r, "streams", (long long)c->streams);
    rec_open_array(r, "apps");
    for (int a = 0; a < APP_COUNT; a++)
        if (c->apps & (1u << a))
            rec_str(r, NULL, classify_app_name((app_t)a));
    rec_close(r);
    put_client_dir(r, "outbound", &c->dir[0]);
    put_client_dir(r, "inbound", &c->dir[1]);
}

void records_stream_budget(rec_t *r, const rtp_stream_pool_stats_t *st)
{
    const struct {
        const char *key;
        uint64_t value;
    } v[] = {
        {"max_streams", st->max_streams},
        {"max_bytes", st->max_bytes},
        {"active", st->active},
        {"peak_streams", st->peak_streams},
        {"bytes", st->bytes},
        {"peak_bytes", st->peak_bytes},
        {"created", st->created},
        {"confirmed", st->confirmed},
        {"evicted", st->evicted},
        {"refused", st->refused},
        {"buffers_refused", st->buffers_refused},
    };
    rec_open(r, "stream_budget");
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        rec_int(r, v[i].key, (long long)v[i].value);
    rec_close(r);
}
