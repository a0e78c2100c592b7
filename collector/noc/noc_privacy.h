/* noc_privacy.h - what a role may see of an API answer (docs/noc.md
 * "Roles, pseudonyms and the audit log").
 *
 * The NOC's HTTP server runs every JSON answer through noc_privacy_apply()
 * after its handler built it, so the rule covers every endpoint, present
 * and future, without the handlers knowing about roles. The walk is
 * recursive; a value under a *personal key* (one table in noc_privacy.c,
 * listed in docs/noc.md) is personal, whatever its depth and shape (a
 * string, a number, or every such leaf of an array or object under it):
 *   - for a viewer, it is replaced by a pseudonym "<kind>-<8 hex>" (the
 *     first 4 bytes of HMAC-SHA256 under a key derived from the
 *     organisation's current key, over kind "\0" the ASCII-lower-cased
 *     value), or withheld (null) for free text and meeting links;
 *   - for an investigator, it is left as it is, and counted, so the
 *     server can write the audit record.
 * "" and null are not personal values (they reveal nothing) and stay.
 * Equal values of one kind give the same pseudonym in every answer and
 * across restarts (until the organisation key is rotated); the kinds are
 * shared by keys that hold the same thing (display_name, guest_name and
 * organizer_name are all "name"), so a viewer can still see that the
 * organiser is that participant. 32 bits: among 10,000 distinct values of
 * one kind the chance that two share a pseudonym is about 1.2 %.
 */
#ifndef CALLSCOPE_NOC_PRIVACY_H
#define CALLSCOPE_NOC_PRIVACY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pii.h"

/* "<kind>-xxxxxxxx" and its NUL; kinds are at most 8 characters. */
#define NOC_PRIVACY_PSEUDONYM_MAX 24
/* Nesting deeper than this is refused (false), never passed through. */
#define NOC_PRIVACY_MAX_DEPTH 256

typedef struct noc_privacy noc_privacy_t;

/* What one answer held of personal data (for the audit record). */
typedef struct {
    unsigned values; /* non-null, non-empty personal values met */
    uint32_t keys;   /* bit i: noc_privacy_key(i) had such a value */
    /* Distinct "call_id" string values met anywhere, in the order met (a
     * JSON object used as a set; new reference, NULL until one is met). */
    json_t *call_ids;
} noc_privacy_seen_t;

/* The pseudonym key from pii's current key (pii is only borrowed during the
 * call). NULL with err on failure. */
noc_privacy_t *noc_privacy_new(const pii_t *pii, char *err, size_t errlen);
void noc_privacy_free(noc_privacy_t **p);

/* Walks j in place. mask: replace personal values (a viewer's answer).
 * seen (may be NULL): what was met; the caller frees seen->call_ids with
 * noc_privacy_seen_free(). false (out of memory, nesting over
 * NOC_PRIVACY_MAX_DEPTH, a cipher error): the answer must not be sent. */
bool noc_privacy_apply(const noc_privacy_t *p, json_t *j, bool mask, noc_privacy_seen_t *seen);
void noc_privacy_seen_free(noc_privacy_seen_t *seen);

/* The pseudonym of value as a viewer sees it under key (out: at least
 * NOC_PRIVACY_PSEUDONYM_MAX bytes). false when key is not a pseudonymised
 * personal key. */
bool noc_privacy_pseudonym(const noc_privacy_t *p, const char *key, const char *value, char *out,
                           size_t outlen);

/* The personal keys, in table order (static strings). */
size_t noc_privacy_nkeys(void);
const char *noc_privacy_key(size_t i);
/* true when key's values are withheld (null) rather than pseudonymised. */
bool noc_privacy_withheld(size_t i);

/* The query parameters that search by person ("user", "client"): refused
 * to a viewer. The parameter's name (static) when name (len bytes, not
 * NUL-terminated) is one, else NULL. */
const char *noc_privacy_person_param(const char *name, size_t len);

#endif
