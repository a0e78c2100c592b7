/* callscope-collector audit: who saw which personal data through the NOC
 * API, from the audit log 'serve' and 'run' append to (docs/noc.md "Audit
 * log"). Reads the file only; it holds no personal data. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cliutil.h"
#include "commands.h"
#include "noc.h"
#include "noc_audit.h"
#include "opttab.h"
#include "textwrap.h"
#include "timefmt.h"

#define PROG "callscope-collector audit"

typedef struct {
    const char *log, *db_path, *format, *token, *call;
    int64_t since_s;
} audit_opts_t;

#define AO(f) offsetof(audit_opts_t, f)

static const opttab_def_t opts[] = {
    {"since", 's', OPTTAB_SPECIAL, 0, 0, 0, "DURATION",
     "Records written within DURATION before now (90s, 30m, 24h, 7d, 52w; default 24h)."},
    {"audit-log", 'l', OPTTAB_STR, AO(log), 0, 0, "FILE",
     "The audit log (default " NOC_AUDIT_DEFAULT ", the packaged server's; 'serve' and 'run' "
     "write it where their --audit-log says)."},
    {"db", 'd', OPTTAB_STR, AO(db_path), 0, 0, "PATH",
     "Read the audit log beside this store (" NOC_AUDIT_FILE " in its directory: the "
     "server's default when it was given no --audit-log)."},
    {"token", 't', OPTTAB_STR, AO(token), 0, 0, "NAME",
     "Only what the token of this name saw (its token file's base name, e.g. noc.token)."},
    {"call", 'c', OPTTAB_STR, AO(call), 0, 0, "CALL_ID",
     "Only answers that showed this call (among the call ids a record lists)."},
    {"format", 'f', OPTTAB_STR, AO(format), 0, 0, "FORMAT",
     "table (default: a line per record) or json (an array of the records as written)."},
    {"help", 'h', OPTTAB_SPECIAL, 0, 0, 0, NULL, "This manual."},
};

static void help(const opttab_t *t)
{
    printf("SYNOPSIS\n    " PROG " [--since 24h] [--audit-log FILE | --db PATH]\n"
           "        [--token NAME] [--call CALL_ID] [--format table|json]\n\nDESCRIPTION\n");
    textwrap(stdout,
             "Lists who saw personal data through the NOC API: each answer that showed an "
             "investigator at least one personal value (a name, UPN, user id, phone number, "
             "address, host or device name, feedback text or meeting link) was recorded by "
             "the server before it was sent, as one JSON line: the time, the token's name (its "
             "token file's base name), the endpoint, the call ids in the path and in the answer "
             "(at most 100, with their total) and which personal fields had values. The log "
             "holds no personal value itself and no query string. Viewers' answers (pseudonyms "
             "only) and answers without personal values are not recorded.",
             4, 78);
    printf("\n");
    textwrap(stdout,
             "The table shows, oldest first: TIME (UTC), TOKEN, ENDPOINT, CALLS (how many, "
             "then the first ids), FIELDS. A line that is not a record (a torn or edited line) "
             "is counted and skipped, and the count printed on stderr.",
             4, 78);
    printf("\nOPTIONS\n");
    opttab_help(t, stdout);
    printf("\nEXIT STATUS\n    0 done (also when no record matched); 1 the log cannot be read; "
           "2 usage.\n\nEXAMPLES\n    " PROG " --since 24h\n"
           "    " PROG " --since 7d --format json \\\n"
           "        --call 5c2b8a0e-0b7e-4b0a-9a3c-0d9c1e2f3a4b\n"
           "\nFILES\n    " NOC_AUDIT_DEFAULT "\n        JSON lines, mode 0600, appended by "
           "'serve' (and 'run' with --http-bind).\n"
           "\nSEE ALSO\n    callscope-collector serve --help, docs/noc.md\n");
}

static opttab_result_t special(opttab_t *t, const opttab_def_t *d, const char *val)
{
    audit_opts_t *o = t->cfg;
    if (d->short_name == 's')
        return cliutil_since(PROG, val, &o->since_s) ? OPTTAB_RUN : OPTTAB_EXIT_USAGE;
    help(t);
    return OPTTAB_EXIT_OK;
}

typedef struct {
    const audit_opts_t *o;
    bool json;
    size_t shown;
} out_t;

static bool lists(const json_t *arr, const char *s)
{
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return true;
    }
    return false;
}

static const char *str(const json_t *v)
{
    return json_is_string(v) ? json_string_value(v) : "?";
}

/* "3 a,b,c" with at most 3 ids, "+N" for the rest. */
static void calls_text(const json_t *rec, char *buf, size_t buflen)
{
    const json_t *ids = json_object_get(rec, "call_ids");
    json_int_t total = json_integer_value(json_object_get(rec, "call_ids_total"));
    size_t n = (size_t)snprintf(buf, buflen, "%lld", (long long)total);
    for (size_t i = 0; i < json_array_size(ids) && i < 3 && n < buflen; i++)
        n += (size_t)snprintf(buf + n, buflen - n, "%s%s", i ? "," : " ",
                              str(json_array_get(ids, i)));
    if (total > 3 && n < buflen)
        snprintf(buf + n, buflen - n, " +%lld", (long long)(total - 3));
}

static void fields_text(const json_t *rec, char *buf, size_t buflen)
{
    const json_t *f = json_object_get(rec, "fields");
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < json_array_size(f) && n < buflen; i++)
        n += (size_t)snprintf(buf + n, buflen - n, "%s%s", i ? "," : "", str(json_array_get(f, i)));
}

/* A value as the table shows it: control characters (a crafted name must
 * not drive the reader's terminal) as '?'. in may be out. */
static void printable(const char *in, char *out, size_t outlen)
{
    size_t i = 0;
    for (; in && in[i] && i + 1 < outlen; i++)
        out[i] = (unsigned char)in[i] < 0x20 || in[i] == 0x7f ? '?' : in[i];
    out[i] = '\0';
}

static bool print_record(void *ctx, const json_t *rec)
{
    out_t *o = ctx;
    const char *token = json_string_value(json_object_get(rec, "token"));
    if (o->o->token && strcmp(o->o->token, token) != 0)
        return true;
    if (o->o->call && !lists(json_object_get(rec, "call_ids"), o->o->call))
        return true;
    if (o->json) {
        char *s = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
        int r = s ? printf("%s  %s", o->shown ? ",\n" : "", s) : -1;
        free(s);
        o->shown++;
        return r >= 0;
    }
    if (o->shown++ == 0)
        printf("%-20s %-16s %-36s %-28s %s\n", "TIME", "TOKEN", "ENDPOINT", "CALLS", "FIELDS");
    char calls[512], fields[512];
    calls_text(rec, calls, sizeof calls);
    fields_text(rec, fields, sizeof fields);
    char token_s[128], endpoint[NOC_AUDIT_MAX_ENDPOINT + 8];
    printable(token, token_s, sizeof token_s);
    printable(str(json_object_get(rec, "endpoint")), endpoint, sizeof endpoint);
    printable(calls, calls, sizeof calls);
    printable(fields, fields, sizeof fields);
    const char *time = json_string_value(json_object_get(rec, "time"));
    return printf("%.19sZ %-16s %-36s %-28s %s\n", time, token_s, endpoint, calls, fields) >= 0;
}

static int list(const audit_opts_t *o, const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
        return 1;
    }
    out_t out = {o, strcmp(o->format, "json") == 0, 0};
    int64_t since_us = timefmt_now() - o->since_s * USEC_PER_SEC;
    size_t bad = 0;
    char err[256];
    if (out.json)
        printf("[\n");
    bool ok = noc_audit_read(f, since_us, print_record, &out, &bad, err, sizeof err);
    fclose(f);
    if (out.json)
        printf("%s]\n", out.shown ? "\n" : "");
    else if (out.shown == 0)
        printf("no audit record since %s\n", timefmt_iso(since_us, err, sizeof err));
    if (bad)
        fprintf(stderr, PROG ": %s: %zu line(s) that are not audit records skipped\n", path, bad);
    if (!ok)
        fprintf(stderr, PROG ": %s: %s\n", path, err);
    return ok && fflush(stdout) == 0 ? 0 : 1;
}

int cmd_audit(int argc, char **argv)
{
    audit_opts_t o = {.format = "table", .since_s = 86400};
    opttab_t t = {.prog = PROG,
                  .defs = opts,
                  .ndefs = sizeof opts / sizeof opts[0],
                  .cfg = &o,
                  .special = special};
    int first = 1;
    opttab_result_t r = opttab_parse(&t, argc, argv, &first);
    if (r != OPTTAB_RUN)
        return r == OPTTAB_EXIT_OK ? 0 : 2;
    const char *bad = first < argc ? "unexpected argument"
                      : strcmp(o.format, "table") && strcmp(o.format, "json")
                          ? "--format: table or json"
                      : o.log && o.db_path ? "give --audit-log or --db, not both"
                                           : NULL;
    if (bad) {
        fprintf(stderr, PROG ": %s (see --help)\n", bad);
        return 2;
    }
    char path[4096];
    if (!noc_audit_path(o.log       ? o.log
                        : o.db_path ? NULL
                                    : NOC_AUDIT_DEFAULT,
                        o.db_path, path, sizeof path)) {
        fprintf(stderr, PROG ": the audit log's path is too long\n");
        return 2;
    }
    return list(&o, path);
}
