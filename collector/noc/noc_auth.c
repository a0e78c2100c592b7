#include "noc_auth.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static bool sha256(const void *p, size_t n, uint8_t out[32])
{
    unsigned len = 0;
    return EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) == 1 && len == 32;
}

static bool token_ok(const char *t, size_t n)
{
    if (n < NOC_AUTH_MIN_TOKEN || n > NOC_AUTH_MAX_TOKEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
            return false;
    return true;
}

static ssize_t read_file(const char *path, char *buf, size_t cap, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        snprintf(err, errlen, "token file %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (sb.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf(err, errlen, "token file %s: readable by group or others (chmod 600 it)", path);
        close(fd);
        return -1;
    }
    ssize_t n = read(fd, buf, cap);
    if (n < 0)
        snprintf(err, errlen, "token file %s: %s", path, strerror(errno));
    close(fd);
    return n;
}

static bool load_hash(const char *path, uint8_t hash[32], char *err, size_t errlen)
{
    char buf[NOC_AUTH_MAX_TOKEN + 2];
    ssize_t n = read_file(path, buf, sizeof buf - 1, err, errlen);
    if (n < 0)
        return false;
    buf[n] = '\0';
    size_t len = strcspn(buf, "\r\n");
    while (len > 0 && (buf[len - 1] == ' ' || buf[len - 1] == '\t'))
        len--;
    bool ok = token_ok(buf, len) && sha256(buf, len, hash);
    OPENSSL_cleanse(buf, sizeof buf);
    if (!ok)
        snprintf(err, errlen,
                 "token file %s: the first line must be %d-%d printable characters without "
                 "spaces",
                 path, NOC_AUTH_MIN_TOKEN, NOC_AUTH_MAX_TOKEN);
    return ok;
}

static void base_name(const char *path, char *out, size_t outlen)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    snprintf(out, outlen, "%s", *b ? b : path);
}

bool noc_auth_add(noc_auth_t *a, noc_role_t role, const char *path, char *err, size_t errlen)
{
    noc_auth_token_t t = {.role = role};
    for (size_t i = 0; i < a->n; i++)
        if (a->tok[i].role == role) {
            snprintf(err, errlen, "token file %s: a second %s token", path,
                     noc_auth_role_name(role));
            return false;
        }
    if (a->n == NOC_AUTH_MAX_TOKENS || !load_hash(path, t.hash, err, errlen)) {
        if (a->n == NOC_AUTH_MAX_TOKENS)
            snprintf(err, errlen, "token file %s: too many token files", path);
        return false;
    }
    for (size_t i = 0; i < a->n; i++)
        if (CRYPTO_memcmp(a->tok[i].hash, t.hash, sizeof t.hash) == 0) {
            snprintf(err, errlen,
                     "token file %s holds the same token as the %s token file: each role needs "
                     "a token of its own",
                     path, noc_auth_role_name(a->tok[i].role));
            OPENSSL_cleanse(&t, sizeof t);
            return false;
        }
    base_name(path, t.name, sizeof t.name);
    a->tok[a->n++] = t;
    OPENSSL_cleanse(&t, sizeof t);
    return true;
}

const noc_auth_token_t *noc_auth_match(const noc_auth_t *a, const char *header)
{
    if (!header || strncasecmp(header, "Bearer ", 7) != 0)
        return NULL;
    const char *t = header + 7;
    while (*t == ' ')
        t++;
    size_t n = strnlen(t, NOC_AUTH_MAX_TOKEN + 1);
    uint8_t h[32];
    if (n > NOC_AUTH_MAX_TOKEN || !sha256(t, n, h))
        return NULL;
    const noc_auth_token_t *hit = NULL;
    for (size_t i = 0; i < a->n; i++) /* no early exit: every token is compared */
        if (CRYPTO_memcmp(h, a->tok[i].hash, sizeof h) == 0)
            hit = &a->tok[i];
    return hit;
}

const char *noc_auth_role_name(noc_role_t role)
{
    switch (role) {
    case NOC_ROLE_VIEWER:
        return "viewer";
    case NOC_ROLE_INVESTIGATOR:
        return "investigator";
    default:
        return "none";
    }
}

void noc_auth_clear(noc_auth_t *a)
{
    OPENSSL_cleanse(a, sizeof *a);
}
