/* noc_api_filter.h - what the API's handlers share: the filters every list
 * takes (since, until, site, verdict, client) as SQL terms and their
 * bindings, and the columns every answer shows the same way (an opened
 * address, a client's pseudonymous id, verdict counts). On both backends
 * (common/db.h). */
#ifndef CALLSCOPE_NOC_API_FILTER_H
#define CALLSCOPE_NOC_API_FILTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "db.h"
#include "noc_query.h"
#include "pii.h"

#define NOC_HTTP_OK 200
#define NOC_HTTP_NOT_FOUND 404
#define NOC_HTTP_UNAVAILABLE 503

/* The buffer noc_filter_sql() needs. */
#define NOC_FILTERS_MAX 512

/* A bad verdict names a faulty segment (SQL: "x " NOC_BAD_VERDICT). */
#define NOC_BAD_VERDICT "IN ('lan','wan','endpoint','cloud')"

/* The filters every list shares as SQL terms on verdict_calls c: ?1 since,
 * ?2 until (calls overlapping the window), ?3 site (site, else p->site), ?4
 * verdict, ?5 a participant's client address hash (an IN list from the
 * participants' client hash index, so a client's calls are found by key:
 * "since=30d&client=IP" on the month store read every call in the window
 * through a correlated EXISTS, 3 s and 503, before). Only the filters given
 * are written (" 1 AND ..."): SQLite uses no index for "(?1 IS NULL OR
 * c.end >= ?1)", so with that form a site summary read every call in the
 * store whatever the window (bench/bench_noc_scale.py: 167 ms against 7 ms
 * with only the given terms). */
void noc_filter_sql(const noc_params_t *p, const char *site, char *buf, size_t n);
/* Binds what noc_filter_sql() wrote; a number it left out is not bound. */
void noc_filter_bind(db_stmt_t *st, const noc_params_t *p, const char *site);
bool noc_filter_has(const char *v);

/* A sealed address of column col opened for the answer; null when absent
 * or unopenable. */
json_t *noc_api_opened_ip(const pii_t *pii, const char *aad, db_stmt_t *st, int col);
/* A pseudonymous, stable client id: the first 8 bytes of the lookup hash
 * in column col, as hex; null without one. */
json_t *noc_api_client_id(db_stmt_t *st, int col);
/* {"lan":0, "wan":0, ...}: every verdict at zero. */
json_t *noc_api_verdict_counts(void);
/* err "database: ..." already set by db_step: finalises st, answers 503. */
int noc_api_db_fail(db_stmt_t **st);

#endif
