#include "export_resend.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "output.h"
#include "timefmt.h"

#define LINE_MAX_BYTES (1u << 20)

typedef struct {
    uint64_t lines, sent, skipped;
} export_resend_counts_t;

/* Sleeps until n records fit the rate since start. */
static void pace(unsigned rate, usec_t start, uint64_t n)
{
    if (rate == 0)
        return;
    usec_t due = start + (usec_t)(n * USEC_PER_SEC / rate);
    usec_t now = timefmt_now();
    if (due > now) {
        struct timespec ts = {(time_t)((due - now) / USEC_PER_SEC),
                              (long)((due - now) % USEC_PER_SEC) * 1000};
        nanosleep(&ts, NULL);
    }
}

static void one_line(output_t *o, char *line, size_t len, export_resend_counts_t *c)
{
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        line[--len] = '\0';
    if (len == 0)
        return;
    if (line[0] != '{' || line[len - 1] != '}') {
        if (c->skipped++ < 5)
            LOG_WARN("--from-jsonl: line %" PRIu64 " skipped: not a JSON object", c->lines);
        return;
    }
    output_send_line(o, export_kind_of(line, len), line, len);
    c->sent++;
}

int export_resend_jsonl(const probe_cfg_t *cfg, volatile sig_atomic_t *stop)
{
    char err[512];
    bool is_stdin = strcmp(cfg->from_jsonl, "-") == 0;
    FILE *in = is_stdin ? stdin : fopen(cfg->from_jsonl, "r");
    if (!in) {
        LOG_ERROR("--from-jsonl %s: %s", cfg->from_jsonl, strerror(errno));
        return 2;
    }
    output_t *o = output_new(NULL, false, &cfg->exp, err, sizeof err);
    if (!o) {
        LOG_ERROR("%s", err);
        if (!is_stdin)
            fclose(in);
        return 2;
    }
    export_resend_counts_t c = {0};
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    usec_t start = timefmt_now();
    while ((!stop || !*stop) && (n = getline(&line, &cap, in)) >= 0) {
        c.lines++;
        if ((size_t)n > LINE_MAX_BYTES) {
            if (c.skipped++ < 5)
                LOG_WARN("--from-jsonl: line %" PRIu64 " skipped: longer than %u bytes", c.lines,
                         LINE_MAX_BYTES);
            continue;
        }
        one_line(o, line, (size_t)n, &c);
        pace(cfg->from_jsonl_rate, start, c.sent);
    }
    free(line);
    if (!is_stdin)
        fclose(in);
    LOG_INFO("--from-jsonl: %" PRIu64 " lines, %" PRIu64 " records queued, %" PRIu64 " skipped",
             c.lines, c.sent, c.skipped);
    json_t *ex = NULL;
    output_close_export(o, &ex);
    uint64_t left =
        (uint64_t)json_integer_value(json_object_get(json_object_get(ex, "spool"), "batches"));
    json_decref(ex);
    output_close(&o, err, sizeof err);
    return (c.skipped || left) ? 1 : 0;
}
