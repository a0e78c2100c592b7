/* zap.h - ZeroMQ authentication (ZAP, RFC 27) for the collector: a CURVE
 * client is let in only when its public key is one of the authorised keys
 * (every NAME.pub in a directory); its ZAP user id is then NAME, which the
 * collector reads from each message as the probe's identity. The directory
 * is read again when it changes (checked at each handshake) or on
 * zap_reload().
 */
#ifndef CALLSCOPE_ZAP_H
#define CALLSCOPE_ZAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t accepted, refused, malformed, reloads, reload_failures;
} zap_stats_t;

typedef struct zap zap_t;

/* Binds inproc://zeromq.zap.01 in ctx. NULL with err on failure. */
zap_t *zap_new(void *ctx, const char *keys_dir, char *err, size_t errlen);
void zap_free(zap_t **z);
void *zap_socket(zap_t *z);
/* Answers the requests waiting on the socket. */
void zap_handle(zap_t *z);
/* Logs the summary of refusals held back by the log rate limit once its
 * minute is over (force: now, at shutdown). */
void zap_tick(zap_t *z, bool force);
/* Reads the directory again; keeps the old keys when it fails. */
bool zap_reload(zap_t *z, char *err, size_t errlen);
size_t zap_key_count(const zap_t *z);
const zap_stats_t *zap_stats(const zap_t *z);

#endif
