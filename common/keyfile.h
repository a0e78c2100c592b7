/* keyfile.h - CURVE key files for the probe/collector link.
 *
 * A key pair NAME lives in two text files made by `callscope-collector
 * keygen NAME`:
 *   NAME.key  (0600) "name = NAME", "public-key = <Z85>", "secret-key = <Z85>"
 *   NAME.pub  (0644) "name = NAME", "public-key = <Z85>"
 * Lines starting with '#' are comments. Keys are 40-character Z85 (32 bytes,
 * Curve25519, as libzmq's zmq_curve_keypair makes them). A secret key file
 * that its group or others can read is refused. The authorised-keys
 * directory and its *.pub files are refused when group or others may write
 * them, when owned by anyone but root or the running user, and (the files)
 * when they are symbolic links; each error names the chmod/chown to run.
 */
#ifndef CALLSCOPE_KEYFILE_H
#define CALLSCOPE_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>

#define KEYFILE_Z85_LEN 40
#define KEYFILE_NAME_MAX 64

typedef struct {
    char name[KEYFILE_NAME_MAX + 1];
    char public_z85[KEYFILE_Z85_LEN + 1];
    char secret_z85[KEYFILE_Z85_LEN + 1]; /* "" when loaded from a .pub */
} keyfile_t;

/* A name is 1-64 of [A-Za-z0-9._-], not starting with '.'. */
bool keyfile_name_ok(const char *name);
/* Loads PATH. need_secret: the file must hold a secret key and be 0600
 * (or stricter). false with err naming the file and the problem. */
bool keyfile_load(const char *path, bool need_secret, keyfile_t *out, char *err, size_t errlen);
/* Makes DIR/NAME.key and DIR/NAME.pub; refuses to overwrite. */
bool keyfile_generate(const char *dir, const char *name, char *err, size_t errlen);

/* Creates path 0600 when absent (an existing file is left as it is), so a
 * store or output with personal data is private whatever the umask. */
bool keyfile_create_private(const char *path, char *err, size_t errlen);

/* $CREDENTIALS_DIRECTORY/name (systemd LoadCredential=) into buf when that
 * file exists, else NULL. */
const char *keyfile_credential(const char *name, char *buf, size_t len);

/* $STATE_DIRECTORY/leaf (systemd StateDirectory=; its first entry) into
 * buf, else /var/lib/callscope/leaf. Returns buf. */
const char *keyfile_state_path(const char *leaf, char *buf, size_t len);

/* The authorised public keys: every *.pub in a directory. */
typedef struct keyring keyring_t;
keyring_t *keyring_load(const char *dir, char *err, size_t errlen);
void keyring_free(keyring_t **k);
/* The key's name, or NULL when the 32-byte public key is not authorised. */
const char *keyring_find(const keyring_t *k, const unsigned char pub[32]);
size_t keyring_count(const keyring_t *k);

#endif
