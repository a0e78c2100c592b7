/* noc_auth.h - the bearer token: read from a file, kept only as its
 * SHA-256, compared in constant time. */
#ifndef CALLSCOPE_NOC_AUTH_H
#define CALLSCOPE_NOC_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NOC_AUTH_MIN_TOKEN 16
#define NOC_AUTH_MAX_TOKEN 4096

typedef struct {
    uint8_t hash[32];
} noc_auth_t;

/* Reads the token (the file's first line, without trailing white space;
 * 16-4096 printable bytes) from a file that group and others cannot read.
 * false with err naming the file and the problem. */
bool noc_auth_load(noc_auth_t *a, const char *path, char *err, size_t errlen);
/* true when header is "Bearer <token>" with the right token. header may
 * be NULL. The comparison takes the same time for any wrong token. */
bool noc_auth_check(const noc_auth_t *a, const char *header);

#endif
