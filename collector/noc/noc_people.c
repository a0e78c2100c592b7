#include "noc_people.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netaddr.h"
#include "timefmt.h"

/* A participant field: its JSON key, the SQL giving it for side S (the
 * text "$" is the side's column prefix: "caller_" or "callee_"), and,
 * for a sealed one, its label (the bare column name, pii.h). g = segment,
 * s = its session, m = the media. Identity, agent and feedback prefer the
 * segment's endpoint and fall back to the session's. */
typedef struct {
    const char *key, *expr;
    bool sealed;
    const char *aad; /* the column, '$' for the side prefix */
} field_t;

/* tmpl with each '$' replaced by pre. */
static void subst(const char *tmpl, const char *pre, char *out, size_t cap)
{
    size_t n = 0, pl = strlen(pre);
    for (; *tmpl && n + 1 < cap; tmpl++) {
        if (*tmpl == '$' && n + pl < cap) {
            memcpy(out + n, pre, pl);
            n += pl;
        } else if (*tmpl != '$') {
            out[n++] = *tmpl;
        }
    }
    out[n] = '\0';
}

#define EP(col) "COALESCE(g.$" col ", s.$" col ")"
static const field_t fields[] = {
    {"display_name", EP("user_name_enc"), true, "$user_name"},
    {"guest_name", EP("guest_name_enc"), true, "$guest_name"},
    {"phone", EP("phone_enc"), true, "$phone"},
    {"upn", EP("user_upn_enc"), true, "$user_upn"},
    {"user_id", EP("user_id_enc"), true, "$user_id"},
    {"host", EP("host_enc"), true, "$host"},
    {"platform", EP("ua_platform"), false, NULL},
    {"product", EP("ua_family"), false, NULL},
    {"version", "COALESCE(g.$ua_version, s.$ua_version, g.$ua_header, s.$ua_header)", false, NULL},
    {"rating", EP("rating"), false, NULL},
    {"feedback_text", EP("feedback_text_enc"), true, "$feedback_text"},
    {"capture_device", "m.$dev_capture_name_enc", true, "$dev_capture_name"},
    {"render_device", "m.$dev_render_name_enc", true, "$dev_render_name"},
    {"client_mac", "m.$mac_enc", true, "$mac"},
    {"connection_type", "m.$connection_type", false, NULL},
    {"wifi_band", "m.$wifi_band", false, NULL},
    {"wifi_channel", "m.$wifi_channel", false, NULL},
    {"wifi_signal", "m.$wifi_signal", false, NULL},
    {"bssid", "m.$bssid", false, NULL},
    {"subnet", "m.$subnet", false, NULL},
};
#define NFIELDS (sizeof fields / sizeof fields[0])
/* Columns before the fields: the address hash, the user id hash, the
 * endpoint's type and role (a service endpoint is no participant). */
#define FIXED 4

static const char *const call_keys[] = {"organizer_name", "organizer_upn", "organizer_id",
                                        "join_url",       "thread_id",     "type",
                                        "modalities",     "duration_s"};

const char *noc_people_rating_list(const char *rating)
{
    if (strcmp(rating, "poor") == 0)
        return "('bad','poor','1','2')";
    if (strcmp(rating, "fair") == 0)
        return "('fair','3')";
    if (strcmp(rating, "good") == 0)
        return "('good','excellent','4','5')";
    return NULL;
}

static bool rated_poor(const char *r)
{
    return r && (strcmp(r, "bad") == 0 || strcmp(r, "poor") == 0 || strcmp(r, "1") == 0 ||
                 strcmp(r, "2") == 0);
}

bool noc_people_user(const pii_t *pii, const char *text, noc_people_user_t *out)
{
    char trimmed[256];
    const char *s = text;
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    if (n == 0 || n >= sizeof trimmed)
        return false;
    memcpy(trimmed, s, n);
    trimmed[n] = '\0';
    /* pii_lookup lower-cases, as the store's UPN and id hashes were taken */
    bool ok = pii_lookup(pii, "upn", trimmed, out->upn) &&
              pii_lookup(pii, "id", trimmed, out->id) && pii_lookup_name(pii, trimmed, out->name);
    memset(trimmed, 0, sizeof trimmed);
    return ok;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

bool noc_people_thread_id(const char *join_url, char *out, size_t cap)
{
    const char *p = join_url ? strstr(join_url, "/meetup-join/") : NULL;
    if (!p || cap == 0)
        return false;
    p += strlen("/meetup-join/");
    size_t n = 0;
    for (; *p && *p != '/' && *p != '?' && *p != '#'; p++) {
        char c = *p;
        int hi, lo;
        if (c == '%' && (hi = hexval(p[1])) >= 0 && (lo = hexval(p[2])) >= 0) {
            c = (char)(hi * 16 + lo);
            p += 2;
        }
        if ((unsigned char)c < 0x20 || n + 1 >= cap)
            return false;
        out[n++] = c;
    }
    out[n] = '\0';
    return n > 0;
}

static void hex_id(char *out, size_t len, const char *prefix, const unsigned char *h)
{
    size_t n = (size_t)snprintf(out, len, "%s", prefix);
    for (int i = 0; i < 12 && n + 2 < len; i++)
        n += (size_t)snprintf(out + n, len - n, "%02x", h[i]);
}

/* The participant id correlation gave this side, or false for none. */
static bool side_id(db_stmt_t *st, char *out, size_t len)
{
    const char *type = db_col_text(st, 2);
    if ((type && strstr(type, "serviceEndpoint")) || db_col_type(st, 3) != DB_T_NULL)
        return false;
    for (int c = 0; c < 2; c++)
        if (db_col_type(st, c) == DB_T_BLOB && db_col_bytes(st, c) >= 12) {
            hex_id(out, len, c ? "user-" : "ip-", db_col_blob(st, c));
            return true;
        }
    return false;
}

static json_t *opened(const pii_t *pii, const char *aad, db_stmt_t *st, int col)
{
    if (db_col_type(st, col) != DB_T_BLOB)
        return json_null();
    size_t n = db_col_bytes(st, col);
    if (n <= PII_OVERHEAD || n > 65536)
        return json_null();
    char *buf = malloc(n);
    json_t *v = NULL;
    if (buf && pii_open(pii, aad, db_col_blob(st, col), n, buf, n) && buf[0])
        v = json_string(buf);
    if (buf)
        memset(buf, 0, n);
    free(buf);
    return v ? v : json_null();
}

static json_t *plain(db_stmt_t *st, int col)
{
    switch (db_col_type(st, col)) {
    case DB_T_INT:
        return json_integer(db_col_int(st, col));
    case DB_T_REAL:
        return isfinite(db_col_real(st, col)) ? json_real(db_col_real(st, col)) : json_null();
    case DB_T_TEXT:
        return db_col_bytes(st, col) > 0 ? json_string(db_col_text(st, col)) : json_null();
    default:
        return json_null();
    }
}

static json_t *find_part(json_t *parts, const char *id)
{
    size_t i;
    json_t *p;
    json_array_foreach(parts, i, p)
    {
        const char *pid = json_string_value(json_object_get(p, "participant"));
        if (pid && strcmp(pid, id) == 0)
            return p;
    }
    return NULL;
}

/* One side's rows of the record: first known value of each field wins. */
static bool side_rows(db_t *db, const pii_t *pii, const char *record_id, int side, json_t *parts,
                      char *err, size_t errlen)
{
    const char *pre = side ? "callee_" : "caller_";
    char sql[8192], expr[256];
    subst("SELECT m.$ip_hmac, g.$user_id_hmac, g.$odata_type, g.$ua_role", pre, sql, sizeof sql);
    size_t n = strlen(sql);
    for (size_t i = 0; i < NFIELDS && n < sizeof sql; i++) {
        subst(fields[i].expr, pre, expr, sizeof expr);
        n += (size_t)snprintf(sql + n, sizeof sql - n, ", %s", expr);
    }
    if (n < sizeof sql)
        n += (size_t)snprintf(sql + n, sizeof sql - n,
                              " FROM graph_media m JOIN graph_segment g ON g.rid = m.parent_rid"
                              " LEFT JOIN graph_session s ON s.rid = g.parent_rid"
                              " WHERE m.record_id = ?1 ORDER BY m.rid");
    if (n >= sizeof sql) {
        snprintf(err, errlen, "database: statement too long");
        return false;
    }
    db_stmt_t *st = db_prepare(db, sql, err, errlen);
    if (!st)
        return false;
    db_bind_text(st, 1, record_id, -1);
    int rc;
    while ((rc = db_step(st, err, errlen)) == DB_ROW) {
        char id[48];
        json_t *p;
        if (!side_id(st, id, sizeof id) || !(p = find_part(parts, id)))
            continue;
        for (size_t i = 0; i < NFIELDS; i++) {
            if (!json_is_null(json_object_get(p, fields[i].key)))
                continue;
            char aad[64];
            if (fields[i].sealed)
                subst(fields[i].aad, pre, aad, sizeof aad);
            json_object_set_new(p, fields[i].key,
                                fields[i].sealed ? opened(pii, aad, st, FIXED + (int)i)
                                                 : plain(st, FIXED + (int)i));
        }
    }
    db_finalize(&st);
    return rc == DB_DONE;
}

static json_t *building_of(const building_map_t *bm, json_t *p)
{
    if (!bm)
        return json_null();
    const char *ip = json_string_value(json_object_get(p, "client_ip"));
    const building_t *b = ip ? building_map_lookup_text(bm, ip) : NULL;
    const char *subnet = json_string_value(json_object_get(p, "subnet"));
    if (!b && subnet) /* Graph's subnet is the network address: CQD's key */
        b = building_map_lookup_text(bm, subnet);
    return building_map_json(b);
}

static double call_duration(const json_t *call)
{
    int64_t a, b;
    const char *s = json_string_value(json_object_get(call, "start"));
    const char *e = json_string_value(json_object_get(call, "end"));
    if (s && e && timefmt_parse_iso(s, &a) && timefmt_parse_iso(e, &b) && b >= a)
        return (double)(b - a) / 1e6;
    return NAN;
}

static bool record_fields(db_t *db, const pii_t *pii, const char *record_id, json_t *call,
                          char *err, size_t errlen)
{
    db_stmt_t *st = db_prepare(db,
                               "SELECT organizer_name_enc, organizer_upn_enc, organizer_id_enc,"
                               " join_url_enc, type, modalities, start_us, end_us"
                               " FROM graph_record WHERE record_id = ?1",
                               err, errlen);
    if (!st)
        return false;
    db_bind_text(st, 1, record_id, -1);
    int rc = db_step(st, err, errlen);
    if (rc == DB_ROW) {
        static const char *const aad[] = {"organizer_name", "organizer_upn", "organizer_id",
                                          "join_url"};
        for (int i = 0; i < 4; i++)
            json_object_set_new(call, call_keys[i], opened(pii, aad[i], st, i));
        char tid[512];
        const char *url = json_string_value(json_object_get(call, "join_url"));
        json_object_set_new(call, "thread_id",
                            url && noc_people_thread_id(url, tid, sizeof tid) ? json_string(tid)
                                                                              : json_null());
        json_object_set_new(call, "type", plain(st, 4));
        json_t *mod =
            db_col_type(st, 5) == DB_T_TEXT ? json_loads(db_col_text(st, 5), 0, NULL) : NULL;
        json_object_set_new(call, "modalities", json_is_array(mod) ? mod : json_null());
        if (mod && !json_is_array(mod))
            json_decref(mod);
        if (db_col_type(st, 6) == DB_T_INT && db_col_type(st, 7) == DB_T_INT &&
            db_col_int(st, 7) >= db_col_int(st, 6))
            json_object_set_new(call, "duration_s",
                                json_real((double)(db_col_int(st, 7) - db_col_int(st, 6)) / 1e6));
    }
    db_finalize(&st);
    return rc != DB_ERR;
}

/* Does table have column? SQLite's table_info, PostgreSQL's catalogue (the
 * tables of the schemas on the search path). */
static bool has_column(db_t *db, const char *table, const char *column)
{
    static const db_sql_t sql = {
        "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2",
        "SELECT 1 FROM information_schema.columns WHERE table_name = ?1 AND column_name = ?2"
        " AND table_schema = ANY (current_schemas(false))"};
    char err[256];
    db_stmt_t *st = db_prepare(db, db_pick(db, sql), err, sizeof err);
    bool ok = st != NULL;
    if (ok) {
        db_bind_text(st, 1, table, -1);
        db_bind_text(st, 2, column, -1);
        ok = db_step(st, err, sizeof err) == DB_ROW;
    }
    db_finalize(&st);
    return ok;
}

bool noc_people_user_sql(db_t *db, const char *u, const char *i, const char *n, char *out,
                         size_t len)
{
    /* the sessions' and segments' sides, then the organiser, then the v2
     * participants; the numbers are the caller's placeholders */
    static const char *const sides[][2] = {
        {"graph_segment", "caller_"}, {"graph_segment", "callee_"},   {"graph_session", "caller_"},
        {"graph_session", "callee_"}, {"graph_record", "organizer_"}, {"graph_participant", ""}};
    size_t w = 0;
    out[0] = '\0';
    for (size_t k = 0; k < sizeof sides / sizeof sides[0]; k++) {
        const char *t = sides[k][0], *pre = sides[k][1];
        bool org = strcmp(t, "graph_record") == 0;
        const char *who = org ? "" : "user_"; /* organizer_upn, caller_user_upn, user_upn */
        /* the organiser's key column came with migration 2, graph_participant
         * is a component of its own: an older store has neither */
        if (org && !has_column(db, t, "organizer_name_key_hmac"))
            continue;
        if (!org && strcmp(t, "graph_participant") == 0 && !has_column(db, t, "user_name_key_hmac"))
            continue;
        int m = snprintf(out + w, len - w,
                         "%sSELECT record_id FROM %s WHERE %s%supn_hmac = ?%s"
                         " UNION SELECT record_id FROM %s WHERE %s%sid_hmac = ?%s"
                         " UNION SELECT record_id FROM %s WHERE %s%sname_key_hmac = ?%s",
                         w ? " UNION " : "", t, pre, who, u, t, pre, who, i, t, pre, who, n);
        if (m < 0 || (size_t)m >= len - w)
            return false;
        w += (size_t)m;
        if (!org) { /* a guest's display name */
            m = snprintf(out + w, len - w,
                         " UNION SELECT record_id FROM %s WHERE %sguest_name_key_hmac = ?%s", t,
                         pre, n);
            if (m < 0 || (size_t)m >= len - w)
                return false;
            w += (size_t)m;
        }
    }
    return true;
}

bool noc_people_ready(db_t *db)
{
    return has_column(db, "graph_session", "caller_user_name_key_hmac");
}

bool noc_people_add(db_t *db, const pii_t *pii, const building_map_t *bm, const char *record_id,
                    json_t *call, json_t *parts, char *err, size_t errlen)
{
    size_t i;
    json_t *p;
    for (size_t k = 0; k < sizeof call_keys / sizeof call_keys[0]; k++)
        json_object_set_new(call, call_keys[k], json_null());
    json_array_foreach(parts, i, p)
    {
        for (size_t k = 0; k < NFIELDS; k++)
            json_object_set_new(p, fields[k].key, json_null());
    }
    bool ok = true;
    if (record_id && *record_id && noc_people_ready(db)) {
        ok = record_fields(db, pii, record_id, call, err, errlen) &&
             side_rows(db, pii, record_id, 0, parts, err, errlen) &&
             side_rows(db, pii, record_id, 1, parts, err, errlen);
    }
    if (json_is_null(json_object_get(call, "duration_s"))) {
        double d = call_duration(call);
        if (!isnan(d))
            json_object_set_new(call, "duration_s", json_real(d));
    }
    json_array_foreach(parts, i, p)
    {
        const char *r = json_string_value(json_object_get(p, "rating"));
        json_object_set_new(p, "rated_poor", json_boolean(rated_poor(r)));
        if (!json_is_object(json_object_get(p, "building")))
            json_object_set_new(p, "building", building_of(bm, p));
    }
    return ok;
}

/* ---- filter by building ----------------------------------------------------------- */

static void building_fn(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    const noc_people_building_ctx_t *c = sqlite3_user_data(cx);
    const building_t *b = NULL;
    /* a third argument 'region' asks for the building's region instead */
    building_field_t f = BUILDING_F_BUILDING;
    if (argc == 3 && sqlite3_value_type(argv[2]) == SQLITE_TEXT &&
        strcmp((const char *)sqlite3_value_text(argv[2]), "region") == 0)
        f = BUILDING_F_REGION;
    if (sqlite3_value_type(argv[0]) == SQLITE_BLOB) {
        char ip[128];
        size_t n = (size_t)sqlite3_value_bytes(argv[0]);
        if (n < sizeof ip + PII_OVERHEAD &&
            pii_open(c->pii, PII_AAD_PARTICIPANT_IP, sqlite3_value_blob(argv[0]), n, ip, sizeof ip))
            b = building_map_lookup_text(c->bm, ip);
        memset(ip, 0, sizeof ip);
    }
    if (!b && sqlite3_value_type(argv[1]) == SQLITE_TEXT)
        b = building_map_lookup_text(c->bm, (const char *)sqlite3_value_text(argv[1]));
    if (b && b->f[f] && b->f[f][0])
        sqlite3_result_text(cx, b->f[f], -1, SQLITE_TRANSIENT);
    else
        sqlite3_result_null(cx);
}

bool noc_people_building_fn(sqlite3 *db, noc_people_building_ctx_t *ctx)
{
    return sqlite3_create_function(db, "noc_building", 2, SQLITE_UTF8, ctx, building_fn, NULL,
                                   NULL) == SQLITE_OK &&
           sqlite3_create_function(db, "noc_building", 3, SQLITE_UTF8, ctx, building_fn, NULL,
                                   NULL) == SQLITE_OK;
}

void noc_people_building_fn_drop(sqlite3 *db)
{
    sqlite3_create_function(db, "noc_building", 2, SQLITE_UTF8, NULL, NULL, NULL, NULL);
    sqlite3_create_function(db, "noc_building", 3, SQLITE_UTF8, NULL, NULL, NULL, NULL);
}
