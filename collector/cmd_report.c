/* callscope-collector report: the verdicts for people (table), programs
 * (json) and spreadsheets (csv). The only place addresses are shown in
 * clear: they are opened with the organisation key for this output. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "building_map.h"
#include "building_store.h"
#include "cliutil.h"
#include "commands.h"
#include "db.h"
#include "pii.h"
#include "log.h"
#include "noc_people.h"
#include "opttab.h"
#include "textwrap.h"
#include "timefmt.h"

#define PROG "callscope-collector report"

typedef struct {
    const char *db_path, *site, *format, *verdict, *user, *rating, *building, *region;
    const char *org_keys[PII_MAX_KEYS];
    size_t norg_keys;
    int64_t since_s;
} report_opts_t;

#define RO(f) offsetof(report_opts_t, f)

static const opttab_def_t opts[] = {
    {"db", 'd', OPTTAB_STR, RO(db_path), 0, 0, "FILE|URI",
     "The collector's store (required; read only): a SQLite file or a postgresql:// URI "
     "(docs/store.md)."},
    {"org-key", 'o', OPTTAB_SPECIAL, 0, 0, 0, "FILE",
     "The organisation's master key (required; repeatable after rotation). Opens the "
     "participants' sealed addresses for this report; nothing is written."},
    {"since", 's', OPTTAB_SPECIAL, 0, 0, 0, "DURATION",
     "Calls that started within DURATION before now (90s, 30m, 24h, 7d, 52w; default 24h)."},
    {"site", 0, OPTTAB_STR, RO(site), 0, 0, "SITE", "Only calls seen by probes of this site."},
    {"verdict", 0, OPTTAB_STR, RO(verdict), 0, 0, "VERDICT",
     "Only calls with this verdict (lan, wan, endpoint, cloud, healthy, unknown)."},
    {"user", 'u', OPTTAB_STR, RO(user), 0, 0, "WHO",
     "Only calls in which this person took part: a UPN or e-mail, an Entra object id or a "
     "full display name, any case (found by keyed lookup hashes; nothing is opened to search)."},
    {"rating", 0, OPTTAB_STR, RO(rating), 0, 0, "RATING",
     "Only calls a participant rated poor (1-2 stars: Graph's bad or poor), fair (3) or good "
     "(4-5)."},
    {"building", 'b', OPTTAB_STR, RO(building), 0, 0, "NAME",
     "Only calls with a participant in this building of the CQD building file (any case; "
     "docs/buildings.md)."},
    {"region", 0, OPTTAB_STR, RO(region), 0, 0, "REGION",
     "Only calls with a participant in a building of this Region of the CQD building file "
     "(any case)."},
    {"format", 'f', OPTTAB_STR, RO(format), 0, 0, "FORMAT",
     "table (default: one block per call with its participants and streams), json (an "
     "array of calls, each with participants, streams and the evidence objects) or csv "
     "(one line per call, RFC 4180)."},
    {"help", 'h', OPTTAB_SPECIAL, 0, 0, 0, NULL, "This manual."},
};

#define NOPTS (sizeof opts / sizeof opts[0])

static void help(const opttab_t *t)
{
    printf("SYNOPSIS\n    " PROG " --db FILE|URI --org-key FILE [--since 24h] [--site S]\n"
           "        [--user WHO] [--rating poor] [--building NAME] [--region R]\n"
           "        [--format table|json|csv]\n"
           "\nDESCRIPTION\n");
    textwrap(stdout,
             "Lists the calls with their verdict (lan, wan, endpoint, cloud, healthy, unknown), "
             "confidence, site, times, source (joined: probe and Graph; wire-only: probe only; "
             "cloud-only: Graph only) and the rule that decided, oldest first; the table adds "
             "a line per participant (its address opened with the organisation key) and per "
             "stream with the figures on each side of the probe. Each participant shows who and "
             "where from Graph's call record (display name, UPN, platform, devices, host, "
             "Wi-Fi, feedback rating and text) and its building; each call its organiser, "
             "meeting, type, modalities and duration (docs/noc.md). Verdicts are made by "
             "'correlate' or by 'run'.",
             4, 78);
    printf("\nOPTIONS\n");
    opttab_help(t, stdout);
    printf("\nEXIT STATUS\n    0 done (also when no call matched); 1 store or key error; 2 "
           "usage.\n\nEXAMPLE\n    " PROG " --db /var/lib/callscope/collector.db \\\n"
           "        --org-key /etc/callscope/org.key --since 24h --site hq\n"
           "    " PROG " --db collector.db --org-key org.key --since 7d \\\n"
           "        --user jane.doe@contoso.com\n"
           "    " PROG " --db collector.db --org-key org.key --rating poor --building 'HQ Tower'\n"
           "\nSEE ALSO\n    callscope-collector correlate --help, docs/verdicts.md\n");
}

static opttab_result_t special(opttab_t *t, const opttab_def_t *d, const char *val)
{
    report_opts_t *o = t->cfg;
    if (d->short_name == 'o')
        return cliutil_org_key(PROG, o->org_keys, &o->norg_keys, val) ? OPTTAB_RUN
                                                                      : OPTTAB_EXIT_USAGE;
    if (d->short_name == 's')
        return cliutil_since(PROG, val, &o->since_s) ? OPTTAB_RUN : OPTTAB_EXIT_USAGE;
    help(t);
    return OPTTAB_EXIT_OK;
}

/* ---- reading --------------------------------------------------------------------- */

static json_t *col_json(db_stmt_t *st, int i)
{
    switch (db_col_type(st, i)) {
    case DB_T_INT:
        return json_integer(db_col_int(st, i));
    case DB_T_REAL:
        return json_real(db_col_real(st, i));
    case DB_T_TEXT:
        return json_string(db_col_text(st, i));
    default:
        return json_null();
    }
}

/* Row i.. as an object with the statement's column names; "evidence" parsed.
 * A participant's address, opened in memory, also gives its "building"
 * (docs/buildings.md; null when no network of the map holds it). */
static json_t *row_object(db_stmt_t *st, const pii_t *pii, const building_map_t *bm)
{
    json_t *o = json_object();
    for (int i = 0; i < db_col_count(st); i++) {
        const char *name = db_col_name(st, i);
        if (strcmp(name, "client_ip_enc") == 0) {
            char ip[128];
            const void *b = db_col_blob(st, i);
            bool ok =
                b && pii_open(pii, PII_AAD_PARTICIPANT_IP, b, db_col_bytes(st, i), ip, sizeof ip);
            json_object_set_new(o, "client_ip", ok ? json_string(ip) : json_null());
            json_object_set_new(o, "building",
                                building_map_json(ok ? building_map_lookup_text(bm, ip) : NULL));
        } else if (strcmp(name, "evidence") == 0) {
            const char *t = db_col_text(st, i);
            json_t *ev = t ? json_loads(t, 0, NULL) : NULL;
            json_object_set_new(o, "rule", json_incref(json_object_get(ev, "rule")));
            json_object_set_new(o, "evidence", ev ? ev : json_null());
        } else {
            json_object_set_new(o, name, col_json(st, i));
        }
    }
    return o;
}

static bool children(db_t *db, const char *sql, const char *call_id, const pii_t *pii,
                     const building_map_t *bm, json_t *into, char *err, size_t errlen)
{
    db_stmt_t *st = db_prepare(db, sql, err, errlen);
    if (!st)
        return false;
    db_bind_text(st, 1, call_id, -1);
    int rc;
    while ((rc = db_step(st, err, errlen)) == DB_ROW)
        json_array_append_new(into, row_object(st, pii, bm));
    db_finalize(&st);
    return rc == DB_DONE;
}

/* Has one of the call's participants a building whose field key
 * ("building", "region") is name (any case)? */
static bool in_building(const json_t *c, const char *key, const char *name)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(c, "participants"), i, p)
    {
        const char *b = json_string_value(json_object_get(json_object_get(p, "building"), key));
        if (b && strcasecmp(b, name) == 0)
            return true;
    }
    return false;
}

/* The calls in the window, oldest first, read BY_PAGE at a time (keyset on
 * start and call id): on PostgreSQL a statement's result is read whole
 * (common/db.h), so a month's calls are never held at once. */
#define BY_PAGE 1000

/* The order, SQLite's BINARY and PostgreSQL's "C" alike. */
static const db_sql_t order_sql = {" ORDER BY start, call_id",
                                   " ORDER BY start, call_id COLLATE \"C\""};
static const db_sql_t after_sql = {
    " AND (start > ?4 OR (start = ?4 AND call_id > ?5))",
    " AND (start > ?4 OR (start = ?4 AND call_id COLLATE \"C\" > ?5))"};

/* One call's participants, streams and people; false with err. */
static bool call_details(db_t *db, json_t *c, const pii_t *pii, const building_map_t *bm, char *err,
                         size_t errlen)
{
    json_t *p = json_array(), *s = json_array();
    const char *id = json_string_value(json_object_get(c, "call_id"));
    bool ok = children(db,
                       "SELECT participant, site, client_ip_enc, verdict, confidence, evidence"
                       " FROM verdict_participants WHERE call_id = ?1 ORDER BY participant",
                       id, pii, bm, p, err, errlen) &&
              children(db,
                       "SELECT participant, stream_id, graph_stream_rid, direction, media,"
                       " verdict, confidence, evidence FROM verdict_streams WHERE call_id = ?1"
                       " ORDER BY participant, media, direction, id",
                       id, pii, bm, s, err, errlen) &&
              noc_people_add(db, pii, bm, json_string_value(json_object_get(c, "graph_record_id")),
                             c, p, err, errlen);
    json_object_set_new(c, "participants", p);
    json_object_set_new(c, "streams", s);
    return ok;
}

static json_t *load(db_t *db, const report_opts_t *o, const pii_t *pii, const building_map_t *bm,
                    char *err, size_t errlen)
{
    char since[40], sql[8192];
    const char *rated = o->rating ? noc_people_rating_list(o->rating) : NULL;
    bool ready = (o->user || rated) ? noc_people_ready(db) : false;
    size_t n = (size_t)snprintf(
        sql, sizeof sql, "%s",
        "SELECT call_id, source, site, start, \"end\", verdict, confidence,"
        " graph_record_id, graph_version, evaluated, evidence FROM verdict_calls"
        " WHERE start >= ?1 AND (?2 IS NULL OR site = ?2) AND (?3 IS NULL OR verdict = ?3)");
    /* the user's lookup hashes: indexed equalities, nothing opened (docs/noc.md) */
    if ((o->user || rated) && !ready)
        n += (size_t)snprintf(sql + n, sizeof sql - n, " AND 1 = 0"); /* no call records */
    else if (o->user) {
        /* sessions, segments, the organiser, participants_v2 */
        char who[4096];
        if (!noc_people_user_sql(db, "20", "21", "22", who, sizeof who)) {
            snprintf(err, errlen, "person search too long");
            return NULL;
        }
        n += (size_t)snprintf(sql + n, sizeof sql - n, " AND call_id IN (%s)", who);
    }
    if (rated && ready) {
        n += (size_t)snprintf(sql + n, sizeof sql - n, " AND call_id IN (");
        for (const char *c = NOC_PEOPLE_RATED_RECORDS("$"); *c && n + 32 < sizeof sql; c++)
            n += *c == '$' ? (size_t)snprintf(sql + n, sizeof sql - n, "%s", rated)
                           : (size_t)snprintf(sql + n, sizeof sql - n, "%c", *c);
        n += (size_t)snprintf(sql + n, sizeof sql - n, ")");
    }
    if (n >= sizeof sql - 200) {
        snprintf(err, errlen, "filters too long");
        return NULL;
    }
    size_t base = n;
    noc_people_user_t u;
    if (o->user && !noc_people_user(pii, o->user, &u)) {
        snprintf(err, errlen, "--user: nothing to search for");
        return NULL;
    }
    timefmt_iso(timefmt_now() - o->since_s * USEC_PER_SEC, since, sizeof since);
    json_t *calls = json_array();
    char *last_start = NULL, *last_id = NULL;
    bool ok = true;
    for (size_t page = BY_PAGE; ok && page == BY_PAGE;) {
        snprintf(sql + base, sizeof sql - base, "%s%s LIMIT %d",
                 last_id ? db_pick(db, after_sql) : "", db_pick(db, order_sql), BY_PAGE);
        db_stmt_t *st = db_prepare(db, sql, err, errlen);
        if (!st) {
            ok = false;
            break;
        }
        db_bind_text(st, 1, since, -1);
        db_bind_text(st, 2, o->site, -1);
        db_bind_text(st, 3, o->verdict, -1);
        if (last_id) {
            db_bind_text(st, 4, last_start, -1);
            db_bind_text(st, 5, last_id, -1);
        }
        if (o->user) {
            db_bind_blob(st, 20, u.upn, sizeof u.upn);
            db_bind_blob(st, 21, u.id, sizeof u.id);
            db_bind_blob(st, 22, u.name, sizeof u.name);
        }
        json_t *rows = json_array();
        int rc;
        while ((rc = db_step(st, err, errlen)) == DB_ROW)
            json_array_append_new(rows, row_object(st, pii, bm));
        db_finalize(&st);
        ok = rc == DB_DONE;
        page = json_array_size(rows);
        size_t i;
        json_t *c;
        /* the details after the page's statement: one statement at a time */
        json_array_foreach(rows, i, c)
        {
            if (!ok)
                break;
            free(last_start);
            free(last_id);
            last_start = strdup(json_string_value(json_object_get(c, "start")));
            last_id = strdup(json_string_value(json_object_get(c, "call_id")));
            ok = last_start && last_id && call_details(db, c, pii, bm, err, errlen);
            if (!ok)
                break;
            if ((o->building && !in_building(c, "building", o->building)) ||
                (o->region && !in_building(c, "region", o->region)))
                continue;
            json_array_append(calls, c);
        }
        json_decref(rows);
    }
    free(last_start);
    free(last_id);
    if (!ok) {
        json_decref(calls);
        return NULL;
    }
    return calls;
}

/* ---- writing ----------------------------------------------------------------------- */

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "-";
}

static double num(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* "2026-01-15T10:00:00.000000Z" -> "2026-01-15 10:00:00" */
static void short_time(const char *iso, char *out, size_t len)
{
    snprintf(out, len, "%.19s", iso);
    if (strlen(out) > 10)
        out[10] = ' ';
}

/* A figure as text: "-" when the source has no value (never "nan", never 0). */
static const char *fmt(char buf[24], double v, int decimals)
{
    if (isnan(v))
        return "-";
    snprintf(buf, 24, "%.*f", decimals, v);
    return buf;
}

static void figures(const json_t *ev, char *out, size_t len)
{
    const json_t *w = json_object_get(ev, "wire"), *g = json_object_get(ev, "graph");
    size_t n = 0;
    char a[24], b[24], c[24];
    out[0] = '\0';
    if (json_is_object(w))
        n += (size_t)snprintf(
            out, len, "probe: loss %s%% jitter %s ms (%lld pkts)", fmt(a, num(w, "loss_pct"), 2),
            fmt(b,
                isnan(num(w, "network_jitter_ms_max")) ? num(w, "jitter_ms_max")
                                                       : num(w, "network_jitter_ms_max"),
                1),
            (long long)num(w, "packets"));
    if (json_is_object(g) && !isnan(num(g, "avg_loss_pct")) && n < len)
        n += (size_t)snprintf(out + n, len - n, "%sgraph: loss %s%% jitter %s ms rtt %s ms",
                              n ? "; " : "", fmt(a, num(g, "avg_loss_pct"), 2),
                              fmt(b, num(g, "avg_jitter_ms"), 1), fmt(c, num(g, "avg_rtt_ms"), 0));
    if (json_is_object(g) && !isnan(num(g, "cpu_insufficient_ratio")) && n < len)
        snprintf(out + n, len - n, "%sdevice: cpu %s glitch %s low speech %s", n ? "; " : "",
                 fmt(a, num(g, "cpu_insufficient_ratio"), 2),
                 fmt(b, num(g, "device_glitch_ratio"), 2), fmt(c, num(g, "low_speech_ratio"), 2));
}

/* The stream lines of one participant. */
static void print_streams(const json_t *streams, const char *participant)
{
    size_t i;
    json_t *x;
    char fig[256];
    json_array_foreach(streams, i, x)
    {
        if (strcmp(str(x, "participant"), participant) != 0)
            continue;
        figures(json_object_get(x, "evidence"), fig, sizeof fig);
        printf("      %-8s %-11s %-8s %.2f  %s\n", str(x, "direction"), str(x, "media"),
               str(x, "verdict"), num(x, "confidence"), fig);
    }
}

/* A copy of s with control characters as \xHH, or NULL when s has none. */
static char *escaped(const char *s)
{
    size_t n = 0, ctl = 0;
    for (; s[n]; n++)
        ctl += (unsigned char)s[n] < 0x20 || s[n] == 0x7f;
    if (!ctl)
        return NULL;
    char *out = malloc(n + 3 * ctl + 1), *o = out;
    for (; out && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch < 0x20 || ch == 0x7f)
            o += snprintf(o, 5, "\\x%02x", ch);
        else
            *o++ = (char)ch;
    }
    if (out)
        *o = '\0';
    return out;
}

/* Record ids, names and evidence come from Graph and the probes: no escape
 * sequence or newline of theirs reaches the terminal through the table. */
static void escape_tree(json_t *j)
{
    const char *k;
    json_t *v;
    size_t i;
    if (json_is_object(j)) {
        json_object_foreach(j, k, v)
        {
            char *e = json_is_string(v) ? escaped(json_string_value(v)) : NULL;
            if (e)
                json_object_set_new(j, k, json_string(e));
            else
                escape_tree(v);
            free(e);
        }
    } else if (json_is_array(j)) {
        json_array_foreach(j, i, v)
        {
            char *e = json_is_string(v) ? escaped(json_string_value(v)) : NULL;
            if (e)
                json_array_set_new(j, i, json_string(e));
            else
                escape_tree(v);
            free(e);
        }
    }
}

/* "a b c" of the strings present (missing ones left out), or "-". */
static void words(char *out, size_t len, const char *sep, const char *const *v, size_t n)
{
    size_t k = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && k < len; i++)
        if (v[i] && *v[i])
            k += (size_t)snprintf(out + k, len - k, "%s%s", k ? sep : "", v[i]);
    if (!k)
        snprintf(out, len, "-");
}

static const char *opt_str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* Who the participant is and with what: the lines under it in the table. */
static void print_person(const json_t *x)
{
    const char *name = opt_str(x, "display_name");
    if (!name)
        name = opt_str(x, "guest_name");
    if (!name)
        name = opt_str(x, "phone");
    const char *agent[] = {opt_str(x, "platform"), opt_str(x, "product"), opt_str(x, "version")};
    char ag[256], wifi[256], ch[24], sig[24];
    words(ag, sizeof ag, " ", agent, 3);
    const json_t *c = json_object_get(x, "wifi_channel"), *g = json_object_get(x, "wifi_signal");
    snprintf(ch, sizeof ch, json_is_integer(c) ? "ch %lld" : "", (long long)json_integer_value(c));
    snprintf(sig, sizeof sig, json_is_integer(g) ? "signal %lld%%" : "",
             (long long)json_integer_value(g));
    const char *w[] = {opt_str(x, "connection_type"), opt_str(x, "wifi_band"), ch, sig,
                       opt_str(x, "bssid")};
    words(wifi, sizeof wifi, " ", w, 5);
    if (!name && !opt_str(x, "upn") && !opt_str(x, "platform") && !opt_str(x, "host"))
        return; /* nothing from Graph about this one (a wire-only call) */
    printf("      who %s <%s> host %s client %s\n", name ? name : "-", str(x, "upn"),
           str(x, "host"), ag);
    printf("      devices capture %s, render %s; network %s\n", str(x, "capture_device"),
           str(x, "render_device"), wifi);
    const char *r = opt_str(x, "rating");
    if (r && strcmp(r, "notRated") != 0)
        printf("      rated %s%s%s%s\n", r,
               json_is_true(json_object_get(x, "rated_poor")) ? " (poor)" : "",
               opt_str(x, "feedback_text") ? ": " : "",
               opt_str(x, "feedback_text") ? opt_str(x, "feedback_text") : "");
}

static void print_meeting(const json_t *c)
{
    char mod[128] = "", dur[32] = "-";
    size_t i, k = 0;
    json_t *m;
    json_array_foreach(json_object_get(c, "modalities"), i, m)
    {
        if (json_is_string(m) && k < sizeof mod)
            k += (size_t)snprintf(mod + k, sizeof mod - k, "%s%s", k ? "," : "",
                                  json_string_value(m));
    }
    double d = num(c, "duration_s");
    if (!isnan(d))
        snprintf(dur, sizeof dur, "%d min %02d s", (int)(d / 60), (int)d % 60);
    if (!opt_str(c, "type") && !opt_str(c, "organizer_name") && !opt_str(c, "organizer_upn")) {
        printf("    duration %s\n", dur);
        return;
    }
    printf("    meeting: %s, %s, %s; organiser %s <%s>; thread %s\n", str(c, "type"), k ? mod : "-",
           dur, str(c, "organizer_name"), str(c, "organizer_upn"), str(c, "thread_id"));
}

static void print_table(json_t *calls)
{
    size_t i, j;
    json_t *c, *x;
    escape_tree(calls);
    printf("%-19s  %-8s  %-12s  %-10s  %-8s  %-4s  %s\n", "START (UTC)", "END", "SITE", "SOURCE",
           "VERDICT", "CONF", "CALL");
    json_array_foreach(calls, i, c)
    {
        char a[32], b[32], fig[256];
        short_time(str(c, "start"), a, sizeof a);
        short_time(str(c, "end"), b, sizeof b);
        printf("%-19s  %-8s  %-12s  %-10s  %-8s  %.2f  %s\n", a, b + 11, str(c, "site"),
               str(c, "source"), str(c, "verdict"), num(c, "confidence"), str(c, "call_id"));
        printf("    rule: %s\n", str(c, "rule"));
        print_meeting(c);
        json_array_foreach(json_object_get(c, "participants"), j, x)
        {
            figures(json_object_get(x, "evidence"), fig, sizeof fig);
            printf("    participant %-28s %-15s %-8s %.2f  %s\n", str(x, "participant"),
                   str(x, "client_ip"), str(x, "verdict"), num(x, "confidence"), fig);
            const json_t *bl = json_object_get(x, "building");
            if (json_is_object(bl))
                printf("      building %s, %s, %s (%s)%s%s\n", str(bl, "building"), str(bl, "city"),
                       str(bl, "country"), str(bl, "region"),
                       json_is_true(json_object_get(bl, "inside_corp")) ? " inside corp" : "",
                       json_is_true(json_object_get(bl, "vpn")) ? " VPN" : "");
            print_person(x);
            print_streams(json_object_get(c, "streams"), str(x, "participant"));
        }
    }
    printf("%zu calls\n", json_array_size(calls));
}

/* RFC 4180 quoting; a text cell a spreadsheet would read as a formula
 * (starting with = + - @, tab or carriage return) gets a leading ' and is
 * quoted, as OWASP's CSV-injection advice says. */
static void csv_field(const char *s, bool text, bool last)
{
    bool formula = text && strchr("=+-@\t\r", s[0]) && s[0];
    bool quote = formula || strpbrk(s, ",\"\r\n") != NULL;
    if (quote) {
        putchar('"');
        if (formula)
            putchar('\'');
        for (; *s; s++) {
            if (*s == '"')
                putchar('"');
            putchar(*s);
        }
        putchar('"');
    } else {
        fputs(s, stdout);
    }
    putchar(last ? '\n' : ',');
}

/* The CSV's people columns of a call: its participants' names, and the
 * names of those who rated it poor, "; "-separated. */
static void people_columns(json_t *c)
{
    char all[2048] = "", poor[2048] = "";
    size_t na = 0, np = 0, i;
    json_t *x;
    json_array_foreach(json_object_get(c, "participants"), i, x)
    {
        const char *name = opt_str(x, "display_name");
        if (!name)
            name = opt_str(x, "guest_name");
        if (!name)
            name = opt_str(x, "phone");
        if (!name)
            continue;
        if (na < sizeof all)
            na += (size_t)snprintf(all + na, sizeof all - na, "%s%s", na ? "; " : "", name);
        if (json_is_true(json_object_get(x, "rated_poor")) && np < sizeof poor)
            np += (size_t)snprintf(poor + np, sizeof poor - np, "%s%s", np ? "; " : "", name);
    }
    json_object_set_new(c, "participant_names", json_string(all));
    json_object_set_new(c, "rated_poor_by", json_string(poor));
}

static void print_csv(const json_t *calls)
{
    static const char *const cols[] = {"call_id",
                                       "source",
                                       "site",
                                       "start",
                                       "end",
                                       "verdict",
                                       "confidence",
                                       "graph_record_id",
                                       "graph_version",
                                       "rule",
                                       "type",
                                       "duration_s",
                                       "organizer_name",
                                       "organizer_upn",
                                       "thread_id",
                                       "participant_names",
                                       "rated_poor_by"};
    size_t n = sizeof cols / sizeof cols[0], i;
    json_t *c;
    for (size_t k = 0; k < n; k++)
        csv_field(cols[k], false, k + 1 == n);
    json_array_foreach(calls, i, c)
    {
        people_columns(c);
        for (size_t k = 0; k < n; k++) {
            const json_t *v = json_object_get(c, cols[k]);
            char buf[64];
            if (json_is_integer(v))
                snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
            else if (json_is_real(v))
                snprintf(buf, sizeof buf, "%.2f", json_real_value(v));
            csv_field(json_is_string(v)   ? json_string_value(v)
                      : json_is_number(v) ? buf
                                          : "",
                      json_is_string(v), k + 1 == n);
        }
    }
}

static int report(const report_opts_t *o)
{
    char err[512] = "";
    pii_t *pii = pii_new(o->org_keys, o->norg_keys, NULL, err, sizeof err);
    if (!pii) {
        LOG_ERROR("%s", err);
        return 1;
    }
    json_t *calls = NULL;
    building_map_t *bm = NULL;
    /* a SQLite file (read-only, busy timeout) or a postgresql:// URI
     * (read-only transactions): nothing is written */
    db_t *db = db_open(o->db_path, DB_READONLY, "callscope-report", err, sizeof err);
    if (db) {
        bm = building_store_load(db, err, sizeof err);
        calls = bm ? load(db, o, pii, bm, err, sizeof err) : NULL;
    }
    if (!calls)
        LOG_ERROR("cannot read verdicts from %s: %s (has 'correlate' or 'run' made any?)",
                  db_is_uri(o->db_path) ? "the PostgreSQL store" : o->db_path,
                  err[0] ? err : "out of memory");
    else if (strcmp(o->format, "json") == 0) {
        json_dumpf(calls, stdout, JSON_INDENT(2));
        putchar('\n');
    } else if (strcmp(o->format, "csv") == 0)
        print_csv(calls);
    else
        print_table(calls);
    int rc = calls ? 0 : 1;
    json_decref(calls);
    building_map_free(&bm);
    db_close(&db);
    pii_free(&pii);
    return rc;
}

int cmd_report(int argc, char **argv)
{
    report_opts_t o;
    memset(&o, 0, sizeof o);
    o.since_s = 86400;
    o.format = "table";
    opttab_t t = {.prog = PROG, .defs = opts, .ndefs = NOPTS, .cfg = &o, .special = special};
    int rc = cliutil_parse_db_key(&t, argc, argv, &o.db_path, &o.norg_keys);
    if (rc >= 0)
        return rc;
    if (strcmp(o.format, "table") != 0 && strcmp(o.format, "json") != 0 &&
        strcmp(o.format, "csv") != 0) {
        fprintf(stderr, PROG ": --format: '%s' is not table, json or csv\n", o.format);
        return 2;
    }
    if (o.rating && !noc_people_rating_list(o.rating)) {
        fprintf(stderr, PROG ": --rating: '%s' is not poor, fair or good\n", o.rating);
        return 2;
    }
    if (o.user && !o.user[strspn(o.user, " \t")]) {
        fprintf(stderr, PROG ": --user: empty\n");
        return 2;
    }
    return report(&o);
}
