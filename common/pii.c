#include "pii.h"

#include <ctype.h>
#include <stdatomic.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "netaddr.h"

#define KEY_LEN 32
#define TENANT_MAX 128
#define FILE_MAX 4096
#define INFO_ENC "callscope graph pii aes-256-gcm v1"
#define INFO_MAC "callscope graph pii hmac-sha256 v1"

typedef struct {
    uint32_t id;
    uint8_t enc[KEY_LEN];
    uint8_t mac[KEY_LEN];
    char tenant[TENANT_MAX];
} pii_key_t;

/* A cipher context kept for reuse, keyed (AES key schedule done) for one
 * key of the ring in one direction: the next seal or open with the same
 * key and direction only sets its nonce. Taken by one thread at a time
 * (busy, an atomic flag), so a pii_t is shared between threads without a
 * lock; a thread that finds every slot taken uses a context of its own
 * for that one call. */
typedef struct {
    atomic_flag busy;
    EVP_CIPHER_CTX *ctx; /* NULL: not made yet */
    int key;             /* index in keys[] it is keyed for; -1 none */
    int enc;             /* 1 seal, 0 open */
} pii_slot_t;

#define PII_SLOTS 16 /* serve's readers, refresher and connection threads */

struct pii {
    pii_key_t keys[PII_MAX_KEYS];
    size_t nkeys;
    EVP_MAC *hmac;    /* fetched once: a fetch per lookup costs more than the hash */
    EVP_CIPHER *gcm;  /* AES-256-GCM, fetched once (EVP_aes_256_gcm() fetches per init) */
    atomic_uint next; /* where the next call starts looking for a free slot */
    pii_slot_t slots[PII_SLOTS];
};

static void hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static bool unhex(const char *s, uint8_t *b, size_t n)
{
    if (strlen(s) != 2 * n)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            int c = tolower((unsigned char)s[2 * i + k]);
            int d = isdigit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
            if (d < 0)
                return false;
            v = v << 4 | (unsigned)d;
        }
        b[i] = (uint8_t)v;
    }
    return true;
}

int pii_keygen(const char *path, const char *tenant, char *err, size_t errlen)
{
    uint8_t key[KEY_LEN], kid[4];
    char keyhex[2 * KEY_LEN + 1], kidhex[9], text[512];
    if (!tenant || !*tenant || strlen(tenant) >= TENANT_MAX || strpbrk(tenant, "\n\r=")) {
        snprintf(err, errlen, "org key: a tenant id (--tenant) is required");
        return -1;
    }
    if (RAND_bytes(key, sizeof key) != 1 || RAND_bytes(kid, sizeof kid) != 1) {
        snprintf(err, errlen, "org key: no randomness from OpenSSL");
        return -1;
    }
    hex(key, sizeof key, keyhex);
    hex(kid, sizeof kid, kidhex);
    int n = snprintf(text, sizeof text,
                     "# callscope organisation master key: keep secret, mode 0600\n"
                     "tenant=%s\nkey_id=%s\nkey=%s\n",
                     tenant, kidhex, keyhex);
    OPENSSL_cleanse(key, sizeof key);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "org key %s: %s%s", path, strerror(errno),
                 errno == EEXIST ? " (refusing to overwrite a key)" : "");
        OPENSSL_cleanse(text, sizeof text);
        OPENSSL_cleanse(keyhex, sizeof keyhex);
        return -1;
    }
    bool ok = fchmod(fd, 0600) == 0 && write(fd, text, (size_t)n) == (ssize_t)n;
    ok = fsync(fd) == 0 && ok;
    ok = close(fd) == 0 && ok;
    OPENSSL_cleanse(text, sizeof text);
    OPENSSL_cleanse(keyhex, sizeof keyhex);
    if (!ok) {
        snprintf(err, errlen, "org key %s: write failed: %s", path, strerror(errno));
        unlink(path);
        return -1;
    }
    return 0;
}

static bool hkdf(const uint8_t *master, const char *salt, const char *info, uint8_t out[KEY_LEN])
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    bool ok = false;
    if (ctx) {
        OSSL_PARAM p[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)master, KEY_LEN),
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, strlen(salt)),
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info)),
            OSSL_PARAM_construct_end(),
        };
        ok = EVP_KDF_derive(ctx, out, KEY_LEN, p) == 1;
    }
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return ok;
}

/* Reads the whole key file after checking it is a private regular file. */
static bool read_key_file(const char *path, char *buf, size_t cap, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        snprintf(err, errlen, "org key %s: %s", path, strerror(errno));
        return false;
    }
    struct stat st;
    bool ok = false;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "org key %s: not a regular file", path);
    } else if (st.st_mode & 077) {
        snprintf(err, errlen,
                 "org key %s: mode %04o lets group or others read it; refusing to use it "
                 "(chmod 600 %s)",
                 path, (unsigned)(st.st_mode & 07777), path);
    } else {
        ssize_t n = read(fd, buf, cap - 1);
        if (n < 0 || (size_t)n >= cap - 1) {
            snprintf(err, errlen, "org key %s: unreadable or too large", path);
        } else {
            buf[n] = '\0';
            ok = true;
        }
    }
    close(fd);
    return ok;
}

/* Parses "name=value" lines; fills the tenant, id and master key. */
static bool parse_key_file(char *text, pii_key_t *k, uint8_t master[KEY_LEN])
{
    bool have_key = false, have_id = false;
    k->tenant[0] = '\0';
    char *line = text;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        char *eq = strchr(line, '=');
        if (line[0] != '#' && eq) {
            *eq = '\0';
            const char *v = eq + 1;
            uint8_t kid[4];
            if (strcmp(line, "tenant") == 0 && strlen(v) < TENANT_MAX) {
                snprintf(k->tenant, sizeof k->tenant, "%s", v);
            } else if (strcmp(line, "key_id") == 0 && unhex(v, kid, 4)) {
                k->id = (uint32_t)kid[0] << 24 | (uint32_t)kid[1] << 16 | (uint32_t)kid[2] << 8 |
                        kid[3];
                have_id = true;
            } else if (strcmp(line, "key") == 0) {
                have_key = unhex(v, master, KEY_LEN);
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    return have_key && have_id && k->tenant[0];
}

static bool load_key(const char *path, const char *tenant, pii_key_t *k, char *err, size_t errlen)
{
    char text[FILE_MAX];
    uint8_t master[KEY_LEN];
    if (!read_key_file(path, text, sizeof text, err, errlen))
        return false;
    bool ok = parse_key_file(text, k, master);
    OPENSSL_cleanse(text, sizeof text);
    if (!ok) {
        snprintf(err, errlen, "org key %s: not a callscope key file (need tenant=, key_id=, key=)",
                 path);
    } else if (tenant && strcmp(tenant, k->tenant) != 0) {
        snprintf(err, errlen, "org key %s belongs to tenant %s, not %s", path, k->tenant, tenant);
        ok = false;
    } else if (!hkdf(master, k->tenant, INFO_ENC, k->enc) ||
               !hkdf(master, k->tenant, INFO_MAC, k->mac)) {
        snprintf(err, errlen, "org key %s: HKDF failed", path);
        ok = false;
    }
    OPENSSL_cleanse(master, sizeof master);
    return ok;
}

pii_t *pii_new(const char *const *files, size_t nfiles, const char *tenant, char *err,
               size_t errlen)
{
    if (nfiles == 0 || nfiles > PII_MAX_KEYS) {
        snprintf(err, errlen, "org key: give 1 to %d key files", PII_MAX_KEYS);
        return NULL;
    }
    pii_t *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < nfiles; i++) {
        if (!load_key(files[i], tenant, &p->keys[i], err, errlen)) {
            pii_free(&p);
            return NULL;
        }
        p->nkeys++;
    }
    for (size_t i = 0; i < PII_SLOTS; i++) {
        atomic_flag_clear(&p->slots[i].busy);
        p->slots[i].key = -1;
    }
    p->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    p->gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    if (!p->hmac || !p->gcm) {
        snprintf(err, errlen, "OpenSSL has no %s", p->hmac ? "AES-256-GCM" : "HMAC");
        pii_free(&p);
    }
    return p;
}

void pii_free(pii_t **pii)
{
    if (!pii || !*pii)
        return;
    EVP_MAC_free((*pii)->hmac);
    EVP_CIPHER_free((*pii)->gcm);
    for (size_t i = 0; i < PII_SLOTS; i++)
        EVP_CIPHER_CTX_free((*pii)->slots[i].ctx); /* cleanses the key schedule */
    OPENSSL_cleanse(*pii, sizeof **pii);
    free(*pii);
    *pii = NULL;
}

uint32_t pii_key_id(const pii_t *pii)
{
    return pii->keys[0].id;
}

const char *pii_tenant(const pii_t *pii)
{
    return pii->keys[0].tenant;
}

/* Gives back a context of cipher_take: to its slot, or freed. */
static void cipher_give(EVP_CIPHER_CTX *c, pii_slot_t *slot)
{
    if (slot)
        atomic_flag_clear_explicit(&slot->busy, memory_order_release);
    else
        EVP_CIPHER_CTX_free(c);
}

/* A context keyed for keys[key] in direction enc with its nonce set:
 * a free slot's (kept keyed from its last use when it matches), else a
 * new one; NULL when OpenSSL fails. Give it back with cipher_give. */
static EVP_CIPHER_CTX *cipher_take(pii_t *p, int key, int enc, const uint8_t *nonce,
                                   pii_slot_t **slot)
{
    *slot = NULL;
    unsigned start = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
    for (unsigned i = 0; i < PII_SLOTS && !*slot; i++) {
        pii_slot_t *s = &p->slots[(start + i) % PII_SLOTS];
        if (!atomic_flag_test_and_set_explicit(&s->busy, memory_order_acquire))
            *slot = s;
    }
    pii_slot_t *s = *slot;
    EVP_CIPHER_CTX *c = s ? s->ctx : NULL;
    if (!c && !(c = EVP_CIPHER_CTX_new())) {
        if (s)
            atomic_flag_clear_explicit(&s->busy, memory_order_release);
        *slot = NULL;
        return NULL;
    }
    bool keyed = s && s->ctx && s->key == key && s->enc == enc;
    /* keyed: the nonce alone (GCM's state starts again), else key and nonce */
    bool ok = keyed ? EVP_CipherInit_ex2(c, NULL, NULL, nonce, enc, NULL) == 1
                    : EVP_CipherInit_ex2(c, p->gcm, p->keys[key].enc, nonce, enc, NULL) == 1;
    if (s) {
        s->ctx = c;
        s->key = ok ? key : -1;
        s->enc = enc;
    }
    if (!ok) {
        cipher_give(c, s);
        *slot = NULL;
        return NULL;
    }
    return c;
}

bool pii_seal(const pii_t *pii, const char *aad, const void *pt, size_t len, uint8_t *out,
              size_t outcap, size_t *outlen)
{
    const pii_key_t *k = &pii->keys[0];
    if (len > (size_t)INT32_MAX || outcap < len + PII_OVERHEAD)
        return false;
    out[0] = (uint8_t)(k->id >> 24);
    out[1] = (uint8_t)(k->id >> 16);
    out[2] = (uint8_t)(k->id >> 8);
    out[3] = (uint8_t)k->id;
    uint8_t *nonce = out + 4, *ct = out + 16, *tag = out + 16 + len;
    if (RAND_bytes(nonce, 12) != 1)
        return false;
    pii_slot_t *slot;
    /* the slots are the shared handle's mutable part: each taken by one thread */
    EVP_CIPHER_CTX *c = cipher_take((pii_t *)pii, 0, 1, nonce, &slot);
    int n = 0, fin = 0;
    bool ok = c && EVP_EncryptUpdate(c, NULL, &n, (const uint8_t *)aad, (int)strlen(aad)) == 1 &&
              EVP_EncryptUpdate(c, ct, &n, pt, (int)len) == 1 &&
              EVP_EncryptFinal_ex(c, ct + n, &fin) == 1 &&
              EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
    if (c)
        cipher_give(c, slot);
    *outlen = len + PII_OVERHEAD;
    return ok;
}

bool pii_open(const pii_t *pii, const char *aad, const uint8_t *in, size_t len, char *out,
              size_t outcap)
{
    if (len < PII_OVERHEAD || outcap < len - PII_OVERHEAD + 1)
        return false;
    uint32_t id = (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
    int key = -1;
    for (size_t i = 0; i < pii->nkeys && key < 0; i++)
        if (pii->keys[i].id == id)
            key = (int)i;
    if (key < 0)
        return false;
    size_t ctlen = len - PII_OVERHEAD;
    pii_slot_t *slot;
    EVP_CIPHER_CTX *c = cipher_take((pii_t *)pii, key, 0, in + 4, &slot);
    int n = 0, fin = 0;
    bool ok = c && EVP_DecryptUpdate(c, NULL, &n, (const uint8_t *)aad, (int)strlen(aad)) == 1 &&
              EVP_DecryptUpdate(c, (uint8_t *)out, &n, in + 16, (int)ctlen) == 1 &&
              EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, (void *)(in + 16 + ctlen)) == 1 &&
              EVP_DecryptFinal_ex(c, (uint8_t *)out + n, &fin) == 1;
    if (c)
        cipher_give(c, slot);
    out[ok ? ctlen : 0] = '\0';
    return ok;
}

/* HMAC(lookup key, domain "\0" value): the value lower-cased, and for MACs
 * with '-' written ':' (Graph writes both forms; the probe writes ':'). */
bool pii_lookup(const pii_t *pii, const char *domain, const char *value, uint8_t out[PII_HASH_LEN])
{
    char norm[256];
    size_t n = strlen(value);
    if (n >= sizeof norm)
        return false;
    bool is_mac = strcmp(domain, "mac") == 0;
    for (size_t i = 0; i < n; i++) {
        char c = (char)tolower((unsigned char)value[i]);
        norm[i] = is_mac && c == '-' ? ':' : c;
    }
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(pii->hmac);
    OSSL_PARAM p[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    size_t outl = 0;
    bool ok = ctx && EVP_MAC_init(ctx, pii->keys[0].mac, KEY_LEN, p) == 1 &&
              EVP_MAC_update(ctx, (const uint8_t *)domain, strlen(domain) + 1) == 1 &&
              EVP_MAC_update(ctx, (const uint8_t *)norm, n) == 1 &&
              EVP_MAC_final(ctx, out, &outl, PII_HASH_LEN) == 1 && outl == PII_HASH_LEN;
    EVP_MAC_CTX_free(ctx);
    OPENSSL_cleanse(norm, n);
    return ok;
}

bool pii_lookup_ip(const pii_t *pii, const char *ip, uint8_t out[PII_HASH_LEN])
{
    netaddr_t a;
    char buf[NETADDR_STRLEN];
    if (!netaddr_parse(ip, &a))
        return false;
    return pii_lookup(pii, "ip", netaddr_fmt(&a, buf, sizeof buf), out);
}

bool pii_name_normalise(const char *name, char *out, size_t cap)
{
    const unsigned char *s = (const unsigned char *)name;
    size_t n = 0;
    bool space = false;
    if (cap == 0)
        return false;
    while (*s) {
        size_t w = 1;
        bool ws = *s == ' ' || *s == '\t' || *s == '\r' || *s == '\n' || *s == '\v' || *s == '\f';
        if (s[0] == 0xc2 && s[1] == 0xa0) { /* no-break space */
            ws = true;
            w = 2;
        }
        if (ws) {
            space = n > 0;
            s += w;
            continue;
        }
        if (space) {
            if (n + 1 >= cap)
                return false;
            out[n++] = ' ';
            space = false;
        }
        if (s[0] == 0xc3 && s[1] >= 0x80 && s[1] <= 0x9e && s[1] != 0x97) { /* À..Þ, not × */
            if (n + 2 >= cap)
                return false;
            out[n++] = (char)0xc3;
            out[n++] = (char)(s[1] + 0x20);
            s += 2;
            continue;
        }
        if (n + 1 >= cap)
            return false;
        out[n++] = (char)tolower(*s);
        s++;
    }
    out[n] = '\0';
    return n > 0;
}

bool pii_lookup_name(const pii_t *pii, const char *name, uint8_t out[PII_HASH_LEN])
{
    char norm[256];
    bool ok = pii_name_normalise(name, norm, sizeof norm) && pii_lookup(pii, "name", norm, out);
    OPENSSL_cleanse(norm, sizeof norm);
    return ok;
}
