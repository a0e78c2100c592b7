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

static void keep_for_table(output_t *o, json_t *rec)
{
    const char *type = json_string_value(json_object_get(rec, "type"));
    json_t *into = NULL;
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

/* A call, for the table: a client's streams of one app that overlap in
 * time (fixed-width ISO 8601 UTC times compare correctly as text). */
static bool same_call(json_t *prev, json_t *s, const char *call_end)
{
    if (!prev || strcmp(str(prev, "client_ip"), str(s, "client_ip")) != 0 ||
        strcmp(str(prev, "app"), str(s, "app")) != 0)
        return false;
    return strcmp(str(s, "first_seen"), call_end) <= 0;
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

static void print_calls(output_t *o, FILE *to)
{
    size_t n = json_array_size(o->streams);
    json_t **v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(o->streams, i);
    qsort(v, n, sizeof *v, cmp_stream);
    fprintf(to, "\nCalls and streams (%zu streams)\n", n);
    json_t *prev = NULL;
    char call_end[40] = "";
    int calls = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *s = v[i];
        if (!same_call(prev, s, call_end)) {
            calls++;
            fprintf(to, "\n  call %d  client %s (mac %s, vlan %s)  app %s  from %s\n", calls,
                    str(s, "client_ip"), str(s, "client_mac"),
                    json_is_integer(json_object_get(s, "vlan")) ? "tagged" : "none", str(s, "app"),
                    str(s, "first_seen"));
            fprintf(to, "    %-8s %-11s %-3s %-28s %-16s %4s %-10s %7s %6s %6s %7s %7s %5s\n",
                    "app", "media", "dir", "remote", "encap", "pt", "ssrc", "packets", "lost",
                    "loss%", "jit_ms", "netjit", "mos");
        }
        print_stream_row(to, s);
        if (strcmp(str(s, "last_seen"), call_end) > 0)
            snprintf(call_end, sizeof call_end, "%s", str(s, "last_seen"));
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

void output_print_table(output_t *o, FILE *to)
{
    print_calls(o, to);
    print_clients(o, to);
    if (o->table_overflow)
        fprintf(to, "\n(%llu more rows not shown; see the JSON output)\n",
                (unsigned long long)o->table_overflow);
}
