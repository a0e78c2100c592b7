/* noc_audit.h - the access log of personal data: one JSON line per API
 * answer that showed an investigator at least one personal value
 * (docs/noc.md "Audit log").
 *
 * A line records when, which token (its file's base name), which
 * endpoint, which calls (the call id in the path and every "call_id" in
 * the answer, at most NOC_AUDIT_MAX_CALL_IDS, with their total) and which
 * personal keys had values; never a value itself, nor the query string
 * (it may hold a name or an address searched for):
 *
 *   {"time": "2026-01-15T10:00:00.000000Z", "token": "noc.token",
 *    "role": "investigator", "endpoint": "/api/calls/ID",
 *    "call_ids": ["ID"], "call_ids_total": 1, "fields": ["client_ip"],
 *    "values": 2}
 *
 * The file is opened for each line with O_APPEND (so a rotated or removed
 * file is started afresh, and 'run' and 'serve' may share one), created
 * mode 0600, written in one write(2) and fdatasync'ed: a line the caller
 * was told is written survives a crash. Thread-safe.
 */
#ifndef CALLSCOPE_NOC_AUDIT_H
#define CALLSCOPE_NOC_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define NOC_AUDIT_MAX_CALL_IDS 100     /* the default page of /api/calls */
#define NOC_AUDIT_MAX_ENDPOINT 512     /* a longer path is cut (marked "...") */
#define NOC_AUDIT_MAX_LINE (64u << 10) /* a longer line is not read back */

typedef struct noc_audit noc_audit_t;

typedef struct {
    int64_t time_us;
    const char *token;         /* the token's name */
    const char *role;          /* "investigator" */
    const char *endpoint;      /* the path, without the query */
    const char *path_call_id;  /* the call id in the path, or NULL */
    const json_t *call_ids;    /* object whose keys are the call ids met, or NULL */
    const char *const *fields; /* the personal keys that had values */
    size_t nfields;
    unsigned values;
} noc_audit_entry_t;

/* Checks now that path can be opened for appending (creating it 0600).
 * NULL with err naming the path. */
noc_audit_t *noc_audit_new(const char *path, char *err, size_t errlen);
/* Appends one line. false (counted) when it could not be written whole. */
bool noc_audit_write(noc_audit_t *a, const noc_audit_entry_t *e);
/* Lines written, and lines that failed, since noc_audit_new. */
void noc_audit_counts(noc_audit_t *a, uint64_t *written, uint64_t *failed);
void noc_audit_free(noc_audit_t **a);

/* Reading it back ('audit'): calls fn with each record (borrowed) whose
 * time is at or after since_us, in file order. Lines that are not a record
 * are counted in *bad and skipped. false with err when the file cannot be
 * read (or fn returned false). */
typedef bool (*noc_audit_each_fn)(void *ctx, const json_t *rec);
bool noc_audit_read(FILE *f, int64_t since_us, noc_audit_each_fn fn, void *ctx, size_t *bad,
                    char *err, size_t errlen);

#endif
