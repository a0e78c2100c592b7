/* noc_auth.h - the bearer tokens and their roles: each read from a file of
 * its own, kept only as its SHA-256, compared in constant time.
 *
 * Roles (docs/noc.md "Roles"): an investigator sees everything the API
 * answers; a viewer sees personal values only as pseudonyms (noc_privacy.h)
 * and may not search by person. A token's name, for the audit log, is its
 * file's base name: the token itself is never written anywhere. */
#ifndef CALLSCOPE_NOC_AUTH_H
#define CALLSCOPE_NOC_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NOC_AUTH_MIN_TOKEN 16
#define NOC_AUTH_MAX_TOKEN 4096
#define NOC_AUTH_NAME_MAX 128 /* a longer base name is cut (it only names the token) */

typedef enum { NOC_ROLE_NONE = 0, NOC_ROLE_VIEWER, NOC_ROLE_INVESTIGATOR } noc_role_t;

typedef struct {
    uint8_t hash[32];
    noc_role_t role;
    char name[NOC_AUTH_NAME_MAX]; /* the token file's base name */
} noc_auth_token_t;

#define NOC_AUTH_MAX_TOKENS 2 /* one per role */

typedef struct {
    noc_auth_token_t tok[NOC_AUTH_MAX_TOKENS];
    size_t n;
} noc_auth_t;

/* Reads a token (the file's first line, without trailing white space;
 * 16-4096 printable bytes) from a file that group and others cannot read,
 * for role. Refused: a second token for a role, or a token another role
 * already has (one token must not be both). false with err naming the file
 * and the problem, never the token. */
bool noc_auth_add(noc_auth_t *a, noc_role_t role, const char *path, char *err, size_t errlen);
/* The token "Bearer <token>" presents (borrowed from a), or NULL. header may
 * be NULL. Every configured token is compared, each in constant time, so
 * the time depends neither on where a wrong token differs nor on which
 * role a right one has. */
const noc_auth_token_t *noc_auth_match(const noc_auth_t *a, const char *header);
/* "viewer", "investigator" ("none" for NOC_ROLE_NONE). */
const char *noc_auth_role_name(noc_role_t role);
/* Forgets every hash. */
void noc_auth_clear(noc_auth_t *a);

#endif
