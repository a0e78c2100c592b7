#include "records.h"

#include <math.h>
#include <netinet/in.h>
#include <stdio.h>

#include "classify.h"
#include "emodel.h"
#include "rtp_clock.h"

json_t *records_time(usec_t t)
{
    char buf[40];
    return json_string(timefmt_iso(t, buf, sizeof buf));
}

json_t *records_ms(double ms)
{
    return json_real(round(ms * 1000.0) / 1000.0);
}

static json_t *pct(double v)
{
    return json_real(round(v * 1000.0) / 1000.0);
}

static json_t *addr_json(const netaddr_t *a)
{
    char buf[NETADDR_STRLEN];
    return json_string(netaddr_fmt(a, buf, sizeof buf));
}

static json_t *mac_json(bool has, const uint8_t m[6])
{
    if (!has)
        return json_null();
    char buf[18];
    snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    return json_string(buf);
}

static json_t *vlan_json(uint16_t vlan)
{
    return vlan ? json_integer(vlan) : json_null();
}

static int client_side(const flow_t *f)
{
    return f->client_side < 0 ? 0 : f->client_side;
}

static void put_endpoints(json_t *o, const flow_t *f, int from)
{
    json_object_set_new(o, "src_ip", addr_json(&f->key.addr[from]));
    json_object_set_new(o, "src_port", json_integer(f->key.port[from]));
    json_object_set_new(o, "dst_ip", addr_json(&f->key.addr[1 - from]));
    json_object_set_new(o, "dst_port", json_integer(f->key.port[1 - from]));
    json_object_set_new(o, "proto", json_string(f->key.proto == IPPROTO_TCP ? "tcp" : "udp"));
}

static void put_common(json_t *o, const flow_t *f)
{
    int cs = client_side(f);
    json_object_set_new(o, "app", json_string(classify_app_name(f->app)));
    json_object_set_new(o, "ndpi", json_string(f->ndpi_name[0] ? f->ndpi_name : "Unknown"));
    json_object_set_new(o, "client_ip", addr_json(&f->key.addr[cs]));
    json_object_set_new(o, "client_port", json_integer(f->key.port[cs]));
    json_object_set_new(o, "client_mac", mac_json(f->has_client_mac, f->client_mac));
    json_object_set_new(o, "vlan", vlan_json(f->key.vlan));
    json_object_set_new(o, "vlan_inner", vlan_json(f->key.vlan_inner));
}

static json_t *opt_ms(bool valid, double v)
{
    return valid ? records_ms(v) : json_null();
}

static void put_loss(json_t *o, const rtp_stream_t *s)
{
    uint64_t lost = rtp_seq_lost(&s->seq);
    json_object_set_new(o, "expected", json_integer((json_int_t)rtp_seq_expected(&s->seq)));
    json_object_set_new(o, "lost", json_integer((json_int_t)lost));
    json_object_set_new(o, "loss_pct", pct(rtp_stream_loss_pct(s)));
    json_object_set_new(o, "duplicates", json_integer((json_int_t)s->seq.duplicates));
    json_object_set_new(o, "out_of_order", json_integer((json_int_t)s->seq.late));
    json_object_set_new(o, "max_burst_loss", json_integer(s->seq.max_burst));
    json_object_set_new(o, "burst_count", json_integer(s->seq.bursts));
    json_object_set_new(o, "loss_runs", json_integer(s->seq.loss_runs));
    json_object_set_new(o, "seq_restarts", json_integer((json_int_t)s->seq.restarts));
    json_object_set_new(o, "seq_jumps", json_integer((json_int_t)s->seq.jumps));
}

static void put_jitter(json_t *o, const rtp_stream_t *s)
{
    bool has = s->clock_rate > 0 && s->jit.primed;
    const jitter_t *j = &s->jit;
    json_object_set_new(o, "jitter_ms_max", opt_ms(has, j->jmax));
    json_object_set_new(o, "jitter_ms_mean", opt_ms(has, j->n ? j->jsum / (double)j->n : 0.0));
    json_object_set_new(o, "jitter_ms_final", opt_ms(has, j->j));
    json_object_set_new(o, "max_delta_ms", opt_ms(j->primed, j->max_delta_ms));
    json_object_set_new(o, "clock_rate", s->clock_rate ? json_integer(s->clock_rate) : json_null());
    json_object_set_new(o, "clock_inferred", json_boolean(s->clock_inferred));
    bool net = s->ast_id >= 0 && s->netjit.primed;
    const jitter_t *n = &s->netjit;
    json_object_set_new(o, "abs_send_time_ext_id", s->ast_id >= 0 ? json_integer(s->ast_id)
                                                                   : json_null());
    json_object_set_new(o, "network_jitter_ms_max", opt_ms(net, n->jmax));
    json_object_set_new(o, "network_jitter_ms_mean",
                        opt_ms(net, n->n ? n->jsum / (double)n->n : 0.0));
    json_object_set_new(o, "network_jitter_ms_final", opt_ms(net, n->j));
}

static void put_quality(json_t *o, const flow_t *f, const rtp_stream_t *s, media_t media)
{
    double dur = (double)(s->last_seen - s->first_seen) / 1e6;
    json_object_set_new(o, "bitrate_kbps", dur > 0 ? json_real(round(s->bytes * 8.0 / dur) / 1000.0)
                                                   : json_null());
    if (media == MEDIA_VIDEO || media == MEDIA_SCREENSHARE) {
        json_object_set_new(o, "frame_rate", dur > 0 ? json_real(round(s->frames / dur * 100) / 100)
                                                     : json_null());
        json_object_set_new(o, "frames", json_integer((json_int_t)s->frames));
    }
    if (media != MEDIA_AUDIO || !(s->clock_rate > 0)) {
        json_object_set_new(o, "mos", json_null());
        json_object_set_new(o, "r_factor", json_null());
        return;
    }
    double loss = rtp_stream_loss_pct(s);
    double burst_ratio = 1.0;
    uint64_t lost = rtp_seq_lost(&s->seq);
    if (s->seq.loss_runs > 0 && loss < 100.0)
        burst_ratio = ((double)lost / s->seq.loss_runs) * (1.0 - loss / 100.0);
    double jit = s->jit.n ? s->jit.jsum / (double)s->jit.n : 0.0;
    double one_way = s->rtcp_rtt_valid ? s->rtcp_rtt_ms / 2.0 : -1.0;
    emodel_result_t r;
    emodel_score(emodel_codec_for(s->payload_type, s->clock_rate, f->app == APP_TEAMS), loss,
                 burst_ratio, jit, one_way, &r);
    json_object_set_new(o, "mos", json_real(round(r.mos * 100) / 100));
    json_object_set_new(o, "r_factor", json_real(round(r.r * 10) / 10));
}

static void put_rtcp(json_t *o, const rtp_stream_t *s)
{
    if (!s->rtcp_seen && s->sr_count == 0) {
        json_object_set_new(o, "rtcp", json_null());
        return;
    }
    json_t *r = json_object();
    json_object_set_new(r, "sender_reports", json_integer(s->sr_count));
    if (s->rtcp_seen) {
        json_object_set_new(r, "fraction_lost_pct", pct(s->rtcp_fraction_lost * 100.0 / 256.0));
        json_object_set_new(r, "cumulative_lost", json_integer(s->rtcp_cumulative_lost));
        json_object_set_new(r, "jitter_ms", s->clock_rate ? records_ms(s->rtcp_jitter_ms)
                                                          : json_null());
    }
    json_object_set_new(r, "rtt_ms", opt_ms(s->rtcp_rtt_valid, s->rtcp_rtt_ms));
    json_object_set_new(o, "rtcp", r);
}

json_t *records_stream(const flow_t *f, const rtp_stream_t *s, const char *end_reason)
{
    json_t *o = json_object();
    media_t media = classify_media(f, s->payload_type, s->clock_rate, s->max_pkts_per_ts);
    const char *codec = rtp_codec_name(s->payload_type, f->app == APP_TEAMS);
    json_object_set_new(o, "type", json_string("stream"));
    put_endpoints(o, f, s->dir);
    json_object_set_new(o, "ssrc", json_integer(s->ssrc));
    json_object_set_new(o, "payload_type", json_integer(s->payload_type));
    json_object_set_new(o, "codec", codec ? json_string(codec) : json_null());
    put_common(o, f);
    json_object_set_new(o, "media", json_string(classify_media_name(media)));
    json_object_set_new(o, "direction",
                        json_string(s->dir == client_side(f) ? "outbound" : "inbound"));
    json_object_set_new(o, "encap", json_string(demux_encap_name(s->encap)));
    json_object_set_new(o, "first_seen", records_time(s->first_seen));
    json_object_set_new(o, "last_seen", records_time(s->last_seen));
    json_object_set_new(o, "packets", json_integer((json_int_t)s->packets));
    json_object_set_new(o, "bytes", json_integer((json_int_t)s->bytes));
    put_loss(o, s);
    put_jitter(o, s);
    put_quality(o, f, s, media);
    put_rtcp(o, s);
    json_object_set_new(o, "end_reason", json_string(end_reason));
    return o;
}

json_t *records_interval(const flow_t *f, const rtp_stream_t *s, const rtp_window_t *d,
                         usec_t start, usec_t end)
{
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string("interval"));
    put_endpoints(o, f, s->dir);
    json_object_set_new(o, "ssrc", json_integer(s->ssrc));
    json_object_set_new(o, "app", json_string(classify_app_name(f->app)));
    json_object_set_new(o, "direction",
                        json_string(s->dir == client_side(f) ? "outbound" : "inbound"));
    json_object_set_new(o, "start", records_time(start));
    json_object_set_new(o, "end", records_time(end));
    json_object_set_new(o, "packets", json_integer((json_int_t)d->packets));
    json_object_set_new(o, "bytes", json_integer((json_int_t)d->bytes));
    json_object_set_new(o, "expected", json_integer((json_int_t)d->expected));
    json_object_set_new(o, "lost", json_integer((json_int_t)d->lost));
    json_object_set_new(o, "loss_pct", pct(d->expected ? 100.0 * d->lost / d->expected : 0.0));
    json_object_set_new(o, "duplicates", json_integer((json_int_t)d->duplicates));
    json_object_set_new(o, "out_of_order", json_integer((json_int_t)d->late));
    bool has = s->clock_rate > 0 && s->jit.primed;
    json_object_set_new(o, "jitter_ms_max", opt_ms(has, d->jitter_ms_max));
    json_object_set_new(o, "jitter_ms", opt_ms(has, s->jit.j));
    return o;
}

json_t *records_flow(const flow_t *f, const char *end_reason)
{
    json_t *o = json_object();
    int cs = client_side(f), rs = 1 - cs;
    json_object_set_new(o, "type", json_string("flow"));
    put_endpoints(o, f, f->init_side);
    put_common(o, f);
    json_object_set_new(o, "remote_ip", addr_json(&f->key.addr[rs]));
    json_object_set_new(o, "remote_port", json_integer(f->key.port[rs]));
    json_object_set_new(o, "media", json_string(classify_media_name(f->media)));
    json_object_set_new(o, "first_seen", records_time(f->first_seen));
    json_object_set_new(o, "last_seen", records_time(f->last_seen));
    json_object_set_new(o, "packets", json_integer((json_int_t)(f->pkts[0] + f->pkts[1])));
    json_object_set_new(o, "bytes", json_integer((json_int_t)(f->bytes[0] + f->bytes[1])));
    json_object_set_new(o, "packets_out", json_integer((json_int_t)f->pkts[cs]));
    json_object_set_new(o, "packets_in", json_integer((json_int_t)f->pkts[rs]));
    json_object_set_new(o, "bytes_out", json_integer((json_int_t)f->bytes[cs]));
    json_object_set_new(o, "bytes_in", json_integer((json_int_t)f->bytes[rs]));
    json_object_set_new(o, "streams", json_integer(f->stream_count));
    json_t *k = json_object();
    for (int i = 1; i < DEMUX_KIND_COUNT; i++)
        json_object_set_new(k, demux_kind_name((demux_kind_t)i), json_integer(f->kind_count[i]));
    json_object_set_new(k, "srtcp", json_integer(f->srtcp_packets));
    json_object_set_new(k, "turn_channeldata", json_integer(f->encap_count[ENCAP_TURN_CHANNELDATA]));
    json_object_set_new(k, "stun_data_indication", json_integer(f->encap_count[ENCAP_STUN_DATA]));
    json_object_set_new(k, "stun_send_indication", json_integer(f->encap_count[ENCAP_STUN_SEND]));
    json_object_set_new(k, "tcp_rfc4571", json_integer(f->encap_count[ENCAP_TCP_RFC4571]));
    json_object_set_new(k, "malformed", json_integer(f->demux_malformed + f->rtp_malformed));
    json_object_set_new(o, "demux", k);
    json_object_set_new(o, "end_reason", json_string(end_reason));
    return o;
}

static json_t *client_dir_json(const client_dir_t *d)
{
    json_t *o = json_object();
    json_object_set_new(o, "streams", json_integer((json_int_t)d->streams));
    json_object_set_new(o, "packets", json_integer((json_int_t)d->packets));
    json_object_set_new(o, "lost", json_integer((json_int_t)d->lost));
    json_object_set_new(o, "worst_loss_pct", pct(d->worst_loss_pct));
    json_object_set_new(o, "worst_jitter_ms", records_ms(d->worst_jitter_ms));
    return o;
}

json_t *records_client(const client_t *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string("client"));
    json_object_set_new(o, "client_ip", addr_json(&c->addr));
    json_object_set_new(o, "client_mac", mac_json(c->has_mac, c->mac));
    json_object_set_new(o, "vlan", vlan_json(c->vlan));
    json_object_set_new(o, "first_seen", records_time(c->first_seen));
    json_object_set_new(o, "last_seen", records_time(c->last_seen));
    json_object_set_new(o, "flows", json_integer((json_int_t)c->flows));
    json_object_set_new(o, "streams", json_integer((json_int_t)c->streams));
    json_t *apps = json_array();
    for (int a = 0; a < APP_COUNT; a++)
        if (c->apps & (1u << a))
            json_array_append_new(apps, json_string(classify_app_name((app_t)a)));
    json_object_set_new(o, "apps", apps);
    json_object_set_new(o, "outbound", client_dir_json(&c->dir[0]));
    json_object_set_new(o, "inbound", client_dir_json(&c->dir[1]));
    return o;
}
