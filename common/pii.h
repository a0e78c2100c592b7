/* pii.h - personal data at rest: one key per organisation (tenant).
 *
 * A master key file per organisation (pii_keygen: 32 random bytes, a
 * random 32-bit key id, the tenant id; mode 0600; a group- or
 * world-readable file is refused) yields two keys through HKDF-SHA256
 * (OpenSSL EVP_KDF "HKDF", salt = tenant id):
 *   info "callscope graph pii aes-256-gcm v1"  -> encryption key
 *   info "callscope graph pii hmac-sha256 v1"  -> lookup (keyed hash) key
 * A sealed value is  key id (4, big-endian) | nonce (12) | ciphertext | tag (16),
 * AES-256-GCM with the column name as additional data, so a ciphertext
 * cannot be moved to another column unnoticed. Lookups are
 * HMAC-SHA256(lookup key, domain "\0" lower-cased value): equal values give
 * equal hashes within one organisation, so joins work without decrypting.
 *
 * Rotation: a keyring holds the current key (first file) and older ones
 * (further files); seal always uses the current key, open picks the key by
 * the id stored in front of each ciphertext. docs/graph.md.
 */
#ifndef CALLSCOPE_PII_H
#define CALLSCOPE_PII_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Additional-data labels: the name a personal column is sealed under, so a
 * value opens only under the label it was sealed with. Every seal and open
 * of a column takes its label from here (a label written twice drifted
 * once: the NOC API opened stream addresses under "client_ip" while ingest
 * sealed them under "streams.client_ip", so every stream's client_ip was
 * null). Three families:
 *   probe records  "<table>.<column>" (collector/ingest/store.c seals every
 *                  personal member of its record map with PII_AAD_RECORD_FMT)
 *   Graph records  the bare graph_* column name (enrich/graph_store.c seals
 *                  each GP_ENC/GP_LOOKUP field of graph_fields.h under it)
 *   verdicts       "verdict_participants.client_ip" (collector/correlate) */
#define PII_AAD_RECORD_FMT "%s.%s"
#define PII_AAD_RECORD(table, column) table "." column
#define PII_AAD_STREAMS_CLIENT_IP PII_AAD_RECORD("streams", "client_ip")
#define PII_AAD_GRAPH_CALLER_IP "caller_ip" /* graph_media_segment.caller_ip_enc */
#define PII_AAD_GRAPH_CALLEE_IP "callee_ip" /* graph_media_segment.callee_ip_enc */
#define PII_AAD_PARTICIPANT_IP PII_AAD_RECORD("verdict_participants", "client_ip")

#define PII_OVERHEAD (4 + 12 + 16)
#define PII_HASH_LEN 32
#define PII_MAX_KEYS 8

typedef struct pii pii_t;

/* Writes a new master key file (created exclusively, 0600). 0 or -1 + err. */
int pii_keygen(const char *path, const char *tenant, char *err, size_t errlen);

/* Loads a keyring: files[0] is the current key, the rest older keys still
 * readable. tenant, when not NULL, must match every file's tenant. */
pii_t *pii_new(const char *const *files, size_t nfiles, const char *tenant, char *err,
               size_t errlen);
void pii_free(pii_t **pii);

uint32_t pii_key_id(const pii_t *pii);
/* The tenant named in the current key file (borrowed). */
const char *pii_tenant(const pii_t *pii);

/* Seals len bytes; out needs len + PII_OVERHEAD bytes. */
bool pii_seal(const pii_t *pii, const char *aad, const void *pt, size_t len, uint8_t *out,
              size_t outcap, size_t *outlen);
/* Opens a sealed value into out (NUL-terminated; outcap >= len - overhead + 1).
 * False for an unknown key id, a wrong column or tampering. */
bool pii_open(const pii_t *pii, const char *aad, const uint8_t *in, size_t len, char *out,
              size_t outcap);
/* Keyed hash of a value under a domain ("ip", "mac", "id", "upn", ...). */
bool pii_lookup(const pii_t *pii, const char *domain, const char *value, uint8_t out[PII_HASH_LEN]);
/* Lookup hash of an IP address in any text form (canonicalised first), as
 * stored in the *_ip_hmac columns. False when text is not an address. */
bool pii_lookup_ip(const pii_t *pii, const char *ip, uint8_t out[PII_HASH_LEN]);

/* A display name in the form its lookup hash is taken of ("name" domain,
 * the *_name_key_hmac columns): leading and trailing white space dropped,
 * each inner run of white space (space, tab, CR, LF, NBSP U+00A0) one
 * space, ASCII and Latin-1 letters (U+00C0-U+00DE, UTF-8 C3 80-9E but
 * not the multiplication sign) lower-cased; other bytes kept. So "  Jane
 * \tDOE " and "jane doe" match; "Élodie" and "élodie" match. false when
 * the result is empty or does not fit in cap (NUL included). */
bool pii_name_normalise(const char *name, char *out, size_t cap);
/* Lookup hash of a display name: pii_lookup(pii, "name", normalised). */
bool pii_lookup_name(const pii_t *pii, const char *name, uint8_t out[PII_HASH_LEN]);

#endif
