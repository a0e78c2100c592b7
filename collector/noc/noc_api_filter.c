#include "noc_api_filter.h"

#include <stdio.h>

bool noc_filter_has(const char *v)
{
    return v && *v;
}

void noc_filter_sql(const noc_params_t *p, const char *site, char *buf, size_t n)
{
    static const char *const term[] = {" AND c.\"end\" >= ?1", " AND c.start < ?2",
                                       " AND c.site = ?3", " AND c.verdict = ?4",
                                       " AND c.call_id IN (SELECT fp.call_id FROM"
                                       " verdict_participants fp WHERE fp.client_ip_hmac = ?5)"};
    const bool on[] = {noc_filter_has(p->since), noc_filter_has(p->until),
                       noc_filter_has(site ? site : p->site), noc_filter_has(p->verdict),
                       (p->seen & NOC_P_CLIENT) != 0};
    size_t len = (size_t)snprintf(buf, n, " 1 = 1");
    for (size_t i = 0; i < sizeof on / sizeof on[0] && len < n; i++)
        if (on[i])
            len += (size_t)snprintf(buf + len, n - len, "%s", term[i]);
}

static void bind_text_opt(db_stmt_t *st, int i, const char *v)
{
    if (noc_filter_has(v))
        db_bind_text(st, i, v, -1);
}

void noc_filter_bind(db_stmt_t *st, const noc_params_t *p, const char *site)
{
    bind_text_opt(st, 1, p->since);
    bind_text_opt(st, 2, p->until);
    bind_text_opt(st, 3, site ? site : p->site);
    bind_text_opt(st, 4, p->verdict);
    if (p->seen & NOC_P_CLIENT)
        db_bind_blob(st, 5, p->client_hmac, sizeof p->client_hmac);
}

json_t *noc_api_opened_ip(const pii_t *pii, const char *aad, db_stmt_t *st, int col)
{
    if (db_col_type(st, col) != DB_T_BLOB)
        return json_null();
    char ip[128];
    if (!pii_open(pii, aad, db_col_blob(st, col), db_col_bytes(st, col), ip, sizeof ip))
        return json_null();
    return json_string(ip);
}

json_t *noc_api_client_id(db_stmt_t *st, int col)
{
    if (db_col_type(st, col) != DB_T_BLOB || db_col_bytes(st, col) < 8)
        return json_null();
    const unsigned char *h = db_col_blob(st, col);
    char hex[17];
    for (int i = 0; i < 8; i++)
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
    return json_string(hex);
}

json_t *noc_api_verdict_counts(void)
{
    json_t *o = json_object();
    for (size_t i = 0; noc_query_verdicts[i]; i++)
        json_object_set_new(o, noc_query_verdicts[i], json_integer(0));
    return o;
}

int noc_api_db_fail(db_stmt_t **st)
{
    db_finalize(st);
    return NOC_HTTP_UNAVAILABLE;
}
