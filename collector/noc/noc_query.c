#include "noc_query.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "noc_people.h"
#include "timefmt.h"

#define NOC_DEFAULT_LIMIT 100
#define NOC_MAX_OFFSET 1000000
#define NOC_DEFAULT_BUCKET 3600

const char *const noc_query_verdicts[] = {"lan",     "wan",     "endpoint", "cloud",
                                          "healthy", "unknown", NULL};

typedef bool (*param_fn)(const char *v, const pii_t *pii, unsigned max_rows, noc_params_t *out,
                         char *err, size_t errlen);

typedef struct {
    const char *name;
    unsigned bit;
    param_fn fn;
} param_def_t;

bool noc_query_verdict_ok(const char *v)
{
    for (size_t i = 0; noc_query_verdicts[i]; i++)
        if (strcmp(v, noc_query_verdicts[i]) == 0)
            return true;
    return false;
}

bool noc_query_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > NOC_QUERY_VALUE_MAX)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '/')
            return false;
    return true;
}

static bool parse_uint(const char *v, unsigned long lo, unsigned long hi, unsigned *out)
{
    if (*v < '0' || *v > '9')
        return false;
    char *end = NULL;
    errno = 0;
    unsigned long x = strtoul(v, &end, 10);
    if (errno || *end || x < lo || x > hi)
        return false;
    *out = (unsigned)x;
    return true;
}

/* "24h" and the like: that long before now. A bare number stays seconds
 * since 1970, so a span needs its unit letter. */
static bool parse_relative(const char *v, int64_t *us)
{
    size_t n = strlen(v);
    int64_t span = 0;
    if (n < 2 || !strchr("smhdw", v[n - 1]) || !timefmt_parse_span(v, &span))
        return false;
    *us = timefmt_now() - span * USEC_PER_SEC;
    return *us >= 0;
}

static bool parse_time(const char *v, char out[32])
{
    int64_t us = 0;
    unsigned secs = 0;
    if (parse_uint(v, 0, 4102444800UL, &secs)) /* up to 2100-01-01 */
        us = (int64_t)secs * USEC_PER_SEC;
    else if (!parse_relative(v, &us) && (!timefmt_parse_iso(v, &us) || us < 0))
        return false;
    timefmt_iso(us, out, 32);
    return true;
}

static bool p_time(const char *name, const char *v, char out[32], char *err, size_t errlen)
{
    if (parse_time(v, out))
        return true;
    snprintf(err, errlen,
             "%s: not an ISO 8601 UTC time, seconds since 1970 or a span before now"
             " (90s, 30m, 24h, 7d, 52w)",
             name);
    return false;
}

static bool printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return false;
    return true;
}

static bool p_since(const char *v, const pii_t *pii, unsigned max_rows, noc_params_t *o, char *err,
                    size_t errlen)
{
    return p_time("since", v, o->since, err, errlen);
}

static bool p_until(const char *v, const pii_t *pii, unsigned max_rows, noc_params_t *o, char *err,
                    size_t errlen)
{
    return p_time("until", v, o->until, err, errlen);
}

static bool p_site(const char *v, const pii_t *pii, unsigned max_rows, noc_params_t *o, char *err,
                   size_t errlen)
{
    if (!noc_query_name_ok(v)) {
        snprintf(err, errlen, "site: 1-%d printable characters without '/'", NOC_QUERY_VALUE_MAX);
        return false;
    }
    snprintf(o->site, sizeof o->site, "%s", v);
    return true;
}

static bool p_verdict(const char *v, const pii_t *pii, unsigned max_rows, noc_params_t *o,
                      char *err, size_t errlen)
{
    if (!noc_query_verdict_ok(v)) {
        snprintf(err, errlen, "verdict: one of lan, wan, endpoint, cloud, healthy, unknown");
        return false;
    }
    snprintf(o->verdict, sizeof o->verdict, "%s", v);
    return true;
}

static bool p_client(const char *v, const pii_t *pii, unsigned max_rows, noc_params_t *o, char *err,
                     size_t errlen)
{
    if (pii_lookup_ip(pii, v, o->client_hmac))
        return true;
    snprintf(err, errlen, "client: not an IPv4 or IPv6 address");
    return false;
}

static bool p_user(const char *v, const pii_t *pii, unsigned max_rows, noc_params_t *o, char *err,
                   size_t errlen)
{
    noc_people_user_t u;
    if (!noc_people_user(pii, v, &u)) {
        snprintf(err, errlen, "user: a UPN or e-mail, an Entra object id or a full display name");
        return false;
    }
    memcpy(o->user_upn, u.upn, sizeof u.upn);
    memcpy(o->user_id, u.id, sizeof u.id);
    memcpy(o->user_name, u.name, sizeof u.name);
    return true;
}

static bool p_rating(const char *v, const pii_t *pii, unsigned max_rows, noc_params_t *o, char *err,
                     size_t errlen)
{
    if (!noc_people_rating_list(v)) {
        snprintf(err, errlen, "rating: poor (1-2 stars), fair or good");
        return false;
    }
    snprintf(o->rating, sizeof o->rating, "%s", v);
    return true;
}

static bool no_controls(const char *name, const char *v, char *err, size_t errlen)
{
    for (const unsigned char *c = (const unsigned char *)v; *c; c++)
        if (*c < 0x20 || *c == 0x7f) { /* UTF-8 names (Zürich) are fine */
            snprintf(err, errlen, "%s: no control characters", name);
            return false;
        }
    return true;
}

static bool p_building(const char *v, const pii_t *pii, unsigned max_rows, noc_params_t *o,
                       char *err, size_t errlen)
{
    if (!no_controls("building", v, err, errlen))
        return false;
    snprintf(o->building, sizeof o->building, "%s", v);
    return true;
}

static bool p_region(const char *v, const pii_t *pii, unsigned max_rows, noc_params_t *o, char *err,
                     size_t errlen)
{
    if (!no_controls("region", v, err, errlen))
        return false;
    snprintf(o->region, sizeof o->region, "%s", v);
    return true;
}

static bool p_limit(const char *v, const pii_t *pii, unsigned max_rows, noc_params_t *o, char *err,
                    size_t errlen)
{
    if (parse_uint(v, 1, max_rows, &o->limit))
        return true;
    snprintf(err, errlen, "limit: a whole number from 1 to %u", max_rows);
    return false;
}

static bool p_offset(const char *v, const pii_t *pii, unsigned max_rows, noc_params_t *o, char *err,
                     size_t errlen)
{
    if (parse_uint(v, 0, NOC_MAX_OFFSET, &o->offset))
        return true;
    snprintf(err, errlen, "offset: a whole number from 0 to %d", NOC_MAX_OFFSET);
    return false;
}

static bool p_bucket(const char *v, const pii_t *pii, unsigned max_rows, noc_params_t *o, char *err,
                     size_t errlen)
{
    if (parse_uint(v, 60, 86400 * 7, &o->bucket_s))
        return true;
    snprintf(err, errlen, "bucket: seconds from 60 to 604800");
    return false;
}

static const param_def_t params[] = {
    {"since", NOC_P_SINCE, p_since},
    {"until", NOC_P_UNTIL, p_until},
    {"site", NOC_P_SITE, p_site},
    {"verdict", NOC_P_VERDICT, p_verdict},
    {"client", NOC_P_CLIENT, p_client},
    {"limit", NOC_P_LIMIT, p_limit},
    {"offset", NOC_P_OFFSET, p_offset},
    {"bucket", NOC_P_BUCKET, p_bucket},
    {"user", NOC_P_USER, p_user},
    {"rating", NOC_P_RATING, p_rating},
    {"building", NOC_P_BUILDING, p_building},
    {"region", NOC_P_REGION, p_region},
};

#define NPARAMS (sizeof params / sizeof params[0])

static const param_def_t *find(const noc_kv_t *kv)
{
    if (kv->key_len != strlen(kv->key))
        return NULL;
    for (size_t i = 0; i < NPARAMS; i++)
        if (strcmp(kv->key, params[i].name) == 0)
            return &params[i];
    return NULL;
}

static bool one(const noc_kv_t *kv, unsigned allowed, unsigned max_rows, const pii_t *pii,
                noc_params_t *out, char *err, size_t errlen)
{
    const param_def_t *d = find(kv);
    if (!d || !(d->bit & allowed)) {
        bool show = kv->key_len == strlen(kv->key) && printable(kv->key, kv->key_len);
        snprintf(err, errlen, "unknown parameter '%.40s' for this endpoint", show ? kv->key : "?");
        return false;
    }
    if (out->seen & d->bit) {
        snprintf(err, errlen, "%s: given twice", d->name);
        return false;
    }
    if (!kv->value || kv->value_len == 0 || kv->value_len != strlen(kv->value) ||
        kv->value_len > NOC_QUERY_VALUE_MAX) {
        snprintf(err, errlen, "%s: empty, too long (over %d bytes) or has a NUL byte", d->name,
                 NOC_QUERY_VALUE_MAX);
        return false;
    }
    out->seen |= d->bit;
    return d->fn(kv->value, pii, max_rows, out, err, errlen);
}

bool noc_query_parse(const noc_kv_t *kv, size_t n, unsigned allowed, unsigned max_rows,
                     const pii_t *pii, noc_params_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if ((allowed & NOC_P_OFFSET) && !(allowed & NOC_P_PEOPLE)) /* the call list */
        allowed |= NOC_P_PEOPLE;
    out->limit = NOC_DEFAULT_LIMIT < max_rows ? NOC_DEFAULT_LIMIT : max_rows;
    out->bucket_s = NOC_DEFAULT_BUCKET;
    if (n > NOC_QUERY_MAX_ARGS) {
        snprintf(err, errlen, "too many parameters (at most %d)", NOC_QUERY_MAX_ARGS);
        return false;
    }
    for (size_t i = 0; i < n; i++)
        if (!one(&kv[i], allowed, max_rows, pii, out, err, errlen))
            return false;
    if (out->since[0] && out->until[0] && strcmp(out->since, out->until) > 0) {
        snprintf(err, errlen, "since is after until");
        return false;
    }
    return true;
}
