#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rec.h"

#define TABLE_MAX_ROWS 10000
/* Rows of the "non-RTP applications" summary: (app, reason) pairs; nine
 * apps by six reasons and "other" by five (59) fit. */
#define NONRTP_MAX_ROWS 64
#define NONRTP_NAMES 3
#define NONRTP_NAMES_WIDTH 30

/* Why a flow gave no RTP stream, from its own record (demux counts). */
typedef enum {
    NR_SHORT, /* RTP, but fewer packets than --min-stream-packets */
    NR_DTLS,
    NR_RTCP,
    NR_STUN,
    NR_TCP,
    NR_NOT_RTP,
    NR_NOT_APP, /* app "other", no demultiplexed packet of any kind */
    NR_COUNT
} nonrtp_reason_t;

static const char *const nonrtp_why[NR_COUNT] = {
    [NR_SHORT] = "RTP, but too few packets (--min-stream-packets) or no stream budget",
    [NR_DTLS] = "DTLS, no RTP (a data channel, or media inside DTLS)",
    [NR_RTCP] = "RTCP only, no RTP",
    [NR_STUN] = "STUN/TURN only (connectivity checks), no RTP",
    [NR_TCP] = "TCP without RTP framing (signalling, HTTPS)",
    [NR_NOT_RTP] = "no RTP header (signalling, DNS, or the app's own framing)",
    [NR_NOT_APP] = "no conferencing app recognised, no RTP header",
};

typedef struct {
    char app[24];
    nonrtp_reason_t why;
    uint64_t flows, packets, bytes;
    char ndpi[NONRTP_NAMES][32]; /* the first distinct nDPI names seen */
    bool more_ndpi;
} nonrtp_row_t;

struct output {
    FILE *fp;
    bool own_fp;
    bool failed;
    int saved_errno;
    bool table;
    rec_t *rec;      /* the record being written */
    json_t *streams; /* kept for the table */
    json_t *clients;
    uint64_t table_overflow;
    nonrtp_row_t nonrtp[NONRTP_MAX_ROWS];
    size_t nnonrtp;
    uint64_t nonrtp_overflow;
    uint64_t intervals; /* interval records made (--interval) */
    export_t *exp;
};

/* The JSON lines hold client addresses and MACs in clear: created 0600, and
 * an existing regular file is made 0600 too (never a device or a FIFO). */
static FILE *open_private(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077))
        (void)fchmod(fd, 0600);
    FILE *fp = fdopen(fd, "w");
    if (!fp)
        close(fd);
    return fp;
}

output_t *output_new(const char *json_path, bool table, const export_cfg_t *exp, char *err,
                     size_t errlen)
{
    output_t *o = calloc(1, sizeof *o);
    if (!o) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    o->table = table;
    o->rec = rec_new();
    o->streams = json_array();
    o->clients = json_array();
    if (!o->rec) {
        snprintf(err, errlen, "out of memory");
        json_decref(o->streams);
        json_decref(o->clients);
        free(o);
        return NULL;
    }
    if (json_path && strcmp(json_path, "-") == 0) {
        o->fp = stdout;
    } else if (json_path) {
        o->fp = open_private(json_path);
        if (!o->fp) {
            snprintf(err, errlen, "cannot write JSON output %s: %s", json_path, strerror(errno));
            json_decref(o->streams);
            json_decref(o->clients);
            rec_free(&o->rec);
            free(o);
            return NULL;
        }
        o->own_fp = true;
    }
    if (exp && exp->endpoint) {
        o->exp = export_new(exp, err, errlen);
        if (!o->exp) {
            char ignored[8];
            output_close(&o, ignored, sizeof ignored);
            return NULL;
        }
    }
    return o;
}

bool output_close(output_t **po, char *err, size_t errlen)
{
    if (!po || !*po)
        return true;
    output_t *o = *po;
    export_close(&o->exp, NULL);
    bool ok = !o->failed;
    if (o->fp && fflush(o->fp) != 0 && ok) {
        ok = false;
        o->saved_errno = errno;
    }
    if (o->own_fp && fclose(o->fp) != 0 && ok) {
        ok = false;
        o->saved_errno = errno;
    }
    if (!ok)
        snprintf(err, errlen, "writing JSON output failed: %s", strerror(o->saved_errno));
    json_decref(o->streams);
    json_decref(o->clients);
    rec_free(&o->rec);
    free(o);
    *po = NULL;
    return ok;
}

static uint64_t demux_count(json_t *flow, const char *k)
{
    return (uint64_t)json_integer_value(json_object_get(json_object_get(flow, "demux"), k));
}

static nonrtp_reason_t nonrtp_reason(json_t *f)
{
    if (demux_count(f, "rtp"))
        return NR_SHORT;
    if (demux_count(f, "dtls"))
        return NR_DTLS;
    if (demux_count(f, "rtcp") || demux_count(f, "srtcp"))
        return NR_RTCP;
    if (demux_count(f, "stun") || demux_count(f, "turn_channeldata") ||
        demux_count(f, "stun_data_indication") || demux_count(f, "stun_send_indication"))
        return NR_STUN;
    const char *proto = json_string_value(json_object_get(f, "proto"));
    const char *app = json_string_value(json_object_get(f, "app"));
    if (!app || strcmp(app, "other") == 0)
        return NR_NOT_APP;
    if (proto && strcmp(proto, "tcp") == 0)
        return NR_TCP;
    return NR_NOT_RTP;
}

static void nonrtp_name(nonrtp_row_t *r, const char *ndpi)
{
    for (size_t i = 0; i < NONRTP_NAMES; i++) {
        if (r->ndpi[i][0] == '\0') {
            snprintf(r->ndpi[i], sizeof r->ndpi[i], "%s", ndpi);
            return;
        }
        if (strcmp(r->ndpi[i], ndpi) == 0)
            return;
    }
    r->more_ndpi = true;
}

/* A flow that gave no stream: counted under its app and the reason. */
static void keep_nonrtp(output_t *o, json_t *f)
{
    if (json_integer_value(json_object_get(f, "streams")) > 0)
        return;
    const char *app = json_string_value(json_object_get(f, "app"));
    const char *ndpi = json_string_value(json_object_get(f, "ndpi"));
    nonrtp_reason_t why = nonrtp_reason(f);
    nonrtp_row_t *r = NULL;
    for (size_t i = 0; i < o->nnonrtp && !r; i++)
        if (o->nonrtp[i].why == why && strcmp(o->nonrtp[i].app, app ? app : "-") == 0)
            r = &o->nonrtp[i];
    if (!r && o->nnonrtp == NONRTP_MAX_ROWS) {
        o->nonrtp_overflow++;
        return;
    }
    if (!r) {
        r = &o->nonrtp[o->nnonrtp++];
        memset(r, 0, sizeof *r);
        snprintf(r->app, sizeof r->app, "%s", app ? app : "-");
        r->why = why;
    }
    r->flows++;
    r->packets += (uint64_t)json_integer_value(json_object_get(f, "packets"));
    r->bytes += (uint64_t)json_integer_value(json_object_get(f, "bytes"));
    nonrtp_name(r, ndpi ? ndpi : "-");
}

static void keep_for_table(output_t *o, json_t *rec)
{
    const char *type = json_string_value(json_object_get(rec, "type"));
    json_t *into = NULL;
    if (type && strcmp(type, "flow") == 0)
        keep_nonrtp(o, rec);
    if (type && strcmp(type, "interval") == 0)
        o->intervals++;
    if (type && strcmp(type, "stream") == 0)
        into = o->streams;
    else if (type && strcmp(type, "client") == 0)
        into = o->clients;
    if (!into)
        return;
    if (json_array_size(into) >= TABLE_MAX_ROWS) {
        o->table_overflow++;
        return;
    }
    json_array_append(into, rec);
}

rec_t *output_record(output_t *o)
{
    rec_begin(o->rec, (o->fp && !o->failed) || o->exp, o->table);
    return o->rec;
}

void output_commit(output_t *o)
{
    bool made = rec_end(o->rec);
    size_t len;
    const char *line = rec_text(o->rec, &len);
    /* one buffer, one write: json_dumpf() called fwrite per token */
    if (o->fp && !o->failed && (!made || fwrite(line, 1, len, o->fp) != len)) {
        o->failed = true;
        o->saved_errno = made ? errno : ENOMEM;
    }
    if (o->exp && made && len > 1) /* the line without its newline */
        export_record(o->exp, export_kind_of(line, len - 1), line, len - 1, false);
    json_t *tree = rec_take_tree(o->rec);
    if (tree && made)
        keep_for_table(o, tree);
    json_decref(tree);
}

void output_health(output_t *o, json_t *health)
{
    if (o->exp)
        export_health(o->exp, health);
    else
        json_decref(health);
}

json_t *output_export_stats(output_t *o)
{
    if (!o->exp)
        return NULL;
    export_stats_t s;
    export_stats(o->exp, &s);
    return export_stats_json(&s);
}

void output_send_line(output_t *o, export_kind_t kind, const char *line, size_t len)
{
    if (o->exp)
        export_record(o->exp, kind, line, len, true);
}

void output_close_export(output_t *o, json_t **final)
{
    export_stats_t s;
    *final = NULL;
    if (!o->exp)
        return;
    export_close(&o->exp, &s);
    *final = export_stats_json(&s);
}

/* ---- the table ---------------------------------------------------------- */

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "-";
}

static long long num(json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

static void fmt_real(json_t *o, const char *k, char *buf, size_t len)
{
    json_t *v = json_object_get(o, k);
    if (json_is_number(v))
        snprintf(buf, len, "%.2f", json_number_value(v));
    else
        snprintf(buf, len, "-");
}

static int cmp_stream(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int c = strcmp(str(x, "client_ip"), str(y, "client_ip"));
    return c ? c : strcmp(str(x, "first_seen"), str(y, "first_seen"));
}

/* One group of the table: a client's streams of one app that overlap in
 * time (fixed-width ISO 8601 UTC times compare correctly as text). Not a
 * call: the probe sees a client's media, not who it talks to; the
 * collector's verdicts join them with Graph's call records. */
static bool same_group(json_t *prev, json_t *s, const char *group_end)
{
    if (!prev || strcmp(str(prev, "client_ip"), str(s, "client_ip")) != 0 ||
        strcmp(str(prev, "app"), str(s, "app")) != 0)
        return false;
    return strcmp(str(s, "first_seen"), group_end) <= 0;
}

static void print_stream_row(FILE *to, json_t *s)
{
    char loss[16], jit[16], njit[16], mos[16];
    fmt_real(s, "loss_pct", loss, sizeof loss);
    fmt_real(s, "jitter_ms_max", jit, sizeof jit);
    fmt_real(s, "network_jitter_ms_max", njit, sizeof njit);
    fmt_real(s, "mos", mos, sizeof mos);
    char remote[64];
    bool out = strcmp(str(s, "direction"), "outbound") == 0;
    snprintf(remote, sizeof remote, "%s:%lld", out ? str(s, "dst_ip") : str(s, "src_ip"),
             out ? num(s, "dst_port") : num(s, "src_port"));
    fprintf(to, "    %-8s %-11s %-3s %-28s %-16s %4lld 0x%08llx %7lld %6lld %6s %7s %7s %5s\n",
            str(s, "app"), str(s, "media"), out ? "out" : "in", remote, str(s, "encap"),
            num(s, "payload_type"), num(s, "ssrc"), num(s, "packets"), num(s, "lost"), loss, jit,
            njit, mos);
}

static void print_streams(output_t *o, FILE *to)
{
    size_t n = json_array_size(o->streams);
    json_t **v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(o->streams, i);
    qsort(v, n, sizeof *v, cmp_stream);
    fprintf(to,
            "\nClients' streams (%zu streams; a group is one client's streams of one app that "
            "overlap in time)\n",
            n);
    json_t *prev = NULL;
    char group_end[40] = "";
    int groups = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *s = v[i];
        if (!same_group(prev, s, group_end)) {
            groups++;
            fprintf(to, "\n  %d. client %s (mac %s, vlan %s)  app %s  from %s\n", groups,
                    str(s, "client_ip"), str(s, "client_mac"),
                    json_is_integer(json_object_get(s, "vlan")) ? "tagged" : "none", str(s, "app"),
                    str(s, "first_seen"));
            fprintf(to, "    %-8s %-11s %-3s %-28s %-16s %4s %-10s %7s %6s %6s %7s %7s %5s\n",
                    "app", "media", "dir", "remote", "encap", "pt", "ssrc", "packets", "lost",
                    "loss%", "jit_ms", "netjit", "mos");
        }
        print_stream_row(to, s);
        if (strcmp(str(s, "last_seen"), group_end) > 0)
            snprintf(group_end, sizeof group_end, "%s", str(s, "last_seen"));
        prev = s;
    }
    free(v);
}

static void print_clients(output_t *o, FILE *to)
{
    size_t n = json_array_size(o->clients);
    fprintf(to, "\nClients (%zu)\n", n);
    fprintf(to, "  %-40s %-17s %7s %-22s %9s %9s %9s %9s\n", "client", "mac", "streams", "apps",
            "out_loss%", "out_jit", "in_loss%", "in_jit");
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_array_get(o->clients, i);
        json_t *out = json_object_get(c, "outbound"), *in = json_object_get(c, "inbound");
        char apps[64] = "", ol[16], oj[16], il[16], ij[16];
        size_t k;
        json_t *a;
        json_array_foreach(json_object_get(c, "apps"), k, a)
        {
            size_t len = strlen(apps);
            snprintf(apps + len, sizeof apps - len, "%s%s", k ? "," : "", json_string_value(a));
        }
        fmt_real(out, "worst_loss_pct", ol, sizeof ol);
        fmt_real(out, "worst_jitter_ms", oj, sizeof oj);
        fmt_real(in, "worst_loss_pct", il, sizeof il);
        fmt_real(in, "worst_jitter_ms", ij, sizeof ij);
        fprintf(to, "  %-40s %-17s %7lld %-22s %9s %9s %9s %9s\n", str(c, "client_ip"),
                str(c, "client_mac"), num(c, "streams"), apps, ol, oj, il, ij);
    }
}

static int cmp_nonrtp(const void *a, const void *b)
{
    const nonrtp_row_t *x = a, *y = b;
    int c = strcmp(x->app, y->app);
    return c ? c : (int)x->why - (int)y->why;
}

/* What was seen where no RTP was: Zoom's own framing, DTLS data channels,
 * signalling, checks that never became media. */
static void print_nonrtp(output_t *o, FILE *to)
{
    qsort(o->nonrtp, o->nnonrtp, sizeof o->nonrtp[0], cmp_nonrtp);
    uint64_t flows = 0;
    for (size_t i = 0; i < o->nnonrtp; i++)
        flows += o->nonrtp[i].flows;
    fprintf(to, "\nNon-RTP applications (%llu flow%s without an RTP stream)\n",
            (unsigned long long)flows, flows == 1 ? "" : "s");
    if (o->nnonrtp == 0)
        return;
    fprintf(to, "  %-9s %-30s %6s %9s %12s  %s\n", "app", "ndpi", "flows", "packets", "bytes",
            "why no stream");
    for (size_t i = 0; i < o->nnonrtp; i++) {
        const nonrtp_row_t *r = &o->nonrtp[i];
        char names[NONRTP_NAMES * 33 + 4] = "";
        for (size_t k = 0; k < NONRTP_NAMES && r->ndpi[k][0]; k++) {
            size_t len = strlen(names);
            snprintf(names + len, sizeof names - len, "%s%s", k ? "," : "", r->ndpi[k]);
        }
        if (r->more_ndpi) {
            size_t len = strlen(names);
            snprintf(names + len, sizeof names - len, ",...");
        }
        if (strlen(names) > NONRTP_NAMES_WIDTH) /* keep the column */
            snprintf(names + NONRTP_NAMES_WIDTH - 3, 4, "...");
        fprintf(to, "  %-9s %-30s %6llu %9llu %12llu  %s\n", r->app, names,
                (unsigned long long)r->flows, (unsigned long long)r->packets,
                (unsigned long long)r->bytes, nonrtp_why[r->why]);
    }
    if (o->nonrtp_overflow)
        fprintf(to, "  (%llu more flows not summarised)\n", (unsigned long long)o->nonrtp_overflow);
}

/* The table is for people; with the JSON on stdout it goes to stderr so
 * that stdout stays JSON lines only. */
void output_print_table(output_t *o, FILE *to)
{
    if (to == stdout && o->fp == stdout)
        to = stderr;
    print_streams(o, to);
    print_nonrtp(o, to);
    print_clients(o, to);
    if (o->table_overflow)
        fprintf(to, "\n(%llu more rows not shown; see the JSON output)\n",
                (unsigned long long)o->table_overflow);
    fprintf(to, "\nFigures are for each stream's whole life; per-interval figures "
                "(--interval) are in the JSON records only");
    if (o->intervals && !o->fp && !o->exp)
        fprintf(to, " (%llu interval records made; add --json FILE to keep them)",
                (unsigned long long)o->intervals);
    fprintf(to, ".\n");
}
