/* noc_query.h - the query parameters of the NOC API, validated.
 *
 * Each endpoint names the parameters it takes; any other parameter, a
 * repeated one, an empty or oversized value, a value with a NUL byte or
 * one that does not parse is refused with a message naming it. Times are
 * ISO 8601 UTC (any fraction, or none) or seconds since the epoch, and are
 * normalised to the store's text form so they compare as strings. A client
 * address becomes its lookup hash (pii_lookup_ip) at once; the text
 * is not kept.
 */
#ifndef CALLSCOPE_NOC_QUERY_H
#define CALLSCOPE_NOC_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pii.h"

#define NOC_QUERY_MAX_ARGS 16
#define NOC_QUERY_VALUE_MAX 256

enum {
    NOC_P_SINCE = 1 << 0,
    NOC_P_UNTIL = 1 << 1,
    NOC_P_SITE = 1 << 2,
    NOC_P_VERDICT = 1 << 3,
    NOC_P_CLIENT = 1 << 4,
    NOC_P_LIMIT = 1 << 5,
    NOC_P_OFFSET = 1 << 6,
    NOC_P_BUCKET = 1 << 7,
    /* People and places (docs/noc.md): taken by every endpoint that takes
     * NOC_P_OFFSET (the call list) and names none of them, as well as
     * where named (/api/live names user and building: no rating). */
    NOC_P_USER = 1 << 8,      /* UPN/e-mail, Entra object id or display name */
    NOC_P_RATING = 1 << 9,    /* poor (1-2 stars), fair, good */
    NOC_P_BUILDING = 1 << 10, /* a BuildingName of the CQD building file */
    NOC_P_REGION = 1 << 11    /* a Region of the CQD building file (not a person) */
};
#define NOC_P_PEOPLE (NOC_P_USER | NOC_P_RATING | NOC_P_BUILDING | NOC_P_REGION)

typedef struct {
    const char *key, *value;
    size_t key_len, value_len; /* a NUL inside shows as len > strlen */
} noc_kv_t;

typedef struct {
    unsigned seen;             /* NOC_P_* given */
    char since[32], until[32]; /* store form, "" when absent */
    char site[NOC_QUERY_VALUE_MAX + 1];
    char verdict[16];
    uint8_t client_hmac[PII_HASH_LEN];
    /* user=: its three lookup hashes (noc_people_user); the text is not kept */
    uint8_t user_upn[PII_HASH_LEN], user_id[PII_HASH_LEN], user_name[PII_HASH_LEN];
    char rating[8];
    char building[NOC_QUERY_VALUE_MAX + 1];
    char region[NOC_QUERY_VALUE_MAX + 1];
    unsigned limit, offset;
    unsigned bucket_s;
} noc_params_t;

/* Defaults: limit 100 (at most max_rows), offset 0, bucket 3600 s. */
bool noc_query_parse(const noc_kv_t *kv, size_t n, unsigned allowed, unsigned max_rows,
                     const pii_t *pii, noc_params_t *out, char *err, size_t errlen);
/* One of lan wan endpoint cloud healthy unknown. */
bool noc_query_verdict_ok(const char *v);
/* The verdicts in their fixed order, NULL-terminated. */
extern const char *const noc_query_verdicts[];
/* A site name or call id as given in a path: 1-256 printable bytes, no '/'. */
bool noc_query_name_ok(const char *s);

#endif
