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

bool noc_auth_load(noc_auth_t *a, const char *path, char *err, size_t errlen)
{
    char buf[NOC_AUTH_MAX_TOKEN + 2];
    ssize_t n = read_file(path, buf, sizeof buf - 1, err, errlen);
    if (n < 0)
        return false;
    buf[n] = '\0';
    size_t len = strcspn(buf, "\r\n");
    while (len > 0 && (buf[len - 1] == ' ' || buf[len - 1] == '\t'))
        len--;
    bool ok = token_ok(buf, len) && sha256(buf, len, a->hash);
    OPENSSL_cleanse(buf, sizeof buf);
    if (!ok)
        snprintf(err, errlen,
                 "token file %s: the first line must be %d-%d printable characters without "
                 "spaces",
                 path, NOC_AUTH_MIN_TOKEN, NOC_AUTH_MAX_TOKEN);
    return ok;
}

bool noc_auth_check(const noc_auth_t *a, const char *header)
{
    if (!header || strncasecmp(header, "Bearer ", 7) != 0)
        return false;
    const char *t = header + 7;
    while (*t == ' ')
        t++;
    size_t n = strnlen(t, NOC_AUTH_MAX_TOKEN + 1);
    uint8_t h[32];
    if (n > NOC_AUTH_MAX_TOKEN || !sha256(t, n, h))
        return false;
    return CRYPTO_memcmp(h, a->hash, sizeof h) == 0;
}
