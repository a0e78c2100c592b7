/* Unit tests: organisation keys, AES-256-GCM sealing, lookup hashes. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "pii.h"

static char dir[] = "/tmp/pii_XXXXXX";

static void path(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", dir, name);
}

static void seal_open(void)
{
    char k1[256], err[512], out[64];
    path(k1, sizeof k1, "k1");
    CHECK_EQ_INT(pii_keygen(k1, "tenant-a", err, sizeof err), 0);
    CHECK(pii_keygen(k1, "tenant-a", err, sizeof err) != 0); /* never overwrites */
    const char *files[] = {k1};
    pii_t *p = pii_new(files, 1, "tenant-a", err, sizeof err);
    CHECK(p != NULL);
    if (!p)
        return;
    uint8_t sealed[64];
    size_t len = 0;
    CHECK(pii_seal(p, "caller_ip", "10.1.2.3", 8, sealed, sizeof sealed, &len));
    CHECK_EQ_INT(len, 8 + PII_OVERHEAD);
    CHECK_EQ_UINT((uint32_t)sealed[0] << 24 | (uint32_t)sealed[1] << 16 | (uint32_t)sealed[2] << 8 |
                      sealed[3],
                  pii_key_id(p));
    CHECK(pii_open(p, "caller_ip", sealed, len, out, sizeof out));
    CHECK_STR(out, "10.1.2.3");
    CHECK(!pii_open(p, "callee_ip", sealed, len, out, sizeof out)); /* other column */
    sealed[20] ^= 1;
    CHECK(!pii_open(p, "caller_ip", sealed, len, out, sizeof out)); /* tampered */
    uint8_t h1[32], h2[32], h3[32];
    CHECK(pii_lookup_ip(p, "2001:DB8::1", h1));
    CHECK(pii_lookup_ip(p, "2001:db8:0::1", h2));
    CHECK(memcmp(h1, h2, 32) == 0); /* canonical form */
    CHECK(pii_lookup(p, "ip", "10.1.2.3", h3));
    CHECK(memcmp(h1, h3, 32) != 0);
    CHECK(!pii_lookup_ip(p, "not an ip", h1));
    pii_free(&p);
    CHECK(p == NULL);
    CHECK(pii_new(files, 1, "tenant-b", err, sizeof err) == NULL); /* other tenant */
}

static void rotation(void)
{
    char k1[256], k2[256], err[512], out[64];
    path(k1, sizeof k1, "k1");
    path(k2, sizeof k2, "k2");
    CHECK_EQ_INT(pii_keygen(k2, "tenant-a", err, sizeof err), 0);
    const char *old_only[] = {k1}, *ring[] = {k2, k1};
    pii_t *o = pii_new(old_only, 1, NULL, err, sizeof err);
    pii_t *n = pii_new(ring, 2, NULL, err, sizeof err);
    CHECK(o && n);
    if (!o || !n)
        return;
    uint8_t sealed[64];
    size_t len;
    CHECK(pii_seal(o, "host", "PC-1", 4, sealed, sizeof sealed, &len));
    CHECK(pii_open(n, "host", sealed, len, out, sizeof out)); /* old data, new ring */
    CHECK_STR(out, "PC-1");
    CHECK(pii_seal(n, "host", "PC-1", 4, sealed, sizeof sealed, &len));
    CHECK(!pii_open(o, "host", sealed, len, out, sizeof out)); /* unknown key id */
    pii_free(&o);
    pii_free(&n);
}

static void file_mode(void)
{
    char k[256], err[512];
    path(k, sizeof k, "k1");
    chmod(k, 0640);
    const char *files[] = {k};
    CHECK(pii_new(files, 1, NULL, err, sizeof err) == NULL);
    CHECK(strstr(err, "refusing") != NULL);
    chmod(k, 0600);
    path(k, sizeof k, "garbage");
    FILE *f = fopen(k, "w");
    if (f) {
        fputs("key=zz\n", f);
        fclose(f);
    }
    chmod(k, 0600);
    CHECK(pii_new(files, 1, NULL, err, sizeof err) == NULL);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    RUN(seal_open);
    RUN(rotation);
    RUN(file_mode);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_finish("graph_unit_pii");
}
