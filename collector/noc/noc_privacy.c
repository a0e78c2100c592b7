/* noc_privacy.c - personal keys, pseudonyms, and the walk over an answer
 * (noc_privacy.h; docs/noc.md "Roles, pseudonyms and the audit log"). */
#include "noc_privacy.h"

#include <ctype.h>
#include <inttypes.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_LEN 32 /* the derived key, an HMAC-SHA256 output */

/* The personal keys: the contract with every handler of the API (present
 * and future) and with the dashboard. A key added to an answer that holds
 * a person's name, identifier, address, device or words goes here, and in
 * docs/noc.md's table. kind NULL: withheld (null) for a viewer: free text
 * (anything may be written in it, so no pseudonym could stand for it) and
 * meeting links (they carry the tenant, the organiser's object id and the
 * meeting's thread). */
static const struct {
    const char *key;
    const char *kind;
} personal[] = {
    {"display_name", "name"},   {"upn", "upn"},           {"user_id", "user"},
    {"phone", "phone"},         {"guest_name", "name"},   {"host", "host"},
    {"capture_device", "dev"},  {"render_device", "dev"}, {"client_ip", "ip"},
    {"client_mac", "mac"},      {"src_ip", "ip"},         {"dst_ip", "ip"},
    {"remote_ip", "ip"},        {"feedback_text", NULL},  {"join_url", NULL},
    {"organizer_name", "name"}, {"organizer_upn", "upn"}, {"organizer_id", "user"},
};

#define NPERSONAL (sizeof personal / sizeof personal[0])
_Static_assert(NPERSONAL <= 32, "noc_privacy_seen_t.keys is a 32-bit set");

/* Query parameters that search by person: a viewer may not use them. */
static const char *const person_params[] = {"user", "client"};

struct noc_privacy {
    EVP_MAC *hmac;
    /* keyed once; each pseudonym works on a copy (EVP_MAC_CTX_dup only
     * reads it, so threads share it). Measured on 1,000 addresses (best of
     * 20, 2 loaded cores): 0.81 ms, against 1.32 ms keying a new context
     * for each value; the walk alone (an investigator's answer) 0.18 ms */
    EVP_MAC_CTX *keyed;
};

typedef struct {
    const noc_privacy_t *p;
    bool mask;
    noc_privacy_seen_t *seen;
    bool ok;
} walk_t;

size_t noc_privacy_nkeys(void)
{
    return NPERSONAL;
}

const char *noc_privacy_key(size_t i)
{
    return i < NPERSONAL ? personal[i].key : NULL;
}

bool noc_privacy_withheld(size_t i)
{
    return i < NPERSONAL && !personal[i].kind;
}

static int key_index(const char *key)
{
    for (size_t i = 0; i < NPERSONAL; i++)
        if (strcmp(key, personal[i].key) == 0)
            return (int)i;
    return -1;
}

noc_privacy_t *noc_privacy_new(const pii_t *pii, char *err, size_t errlen)
{
    noc_privacy_t *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    /* A key of its own, derived from the lookup key under a domain nothing
     * else uses: a pseudonym is never a prefix of a stored lookup hash. */
    uint8_t key[KEY_LEN];
    OSSL_PARAM par[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    p->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    p->keyed = p->hmac ? EVP_MAC_CTX_new(p->hmac) : NULL;
    if (!p->keyed || !pii_lookup(pii, "noc pseudonym key", "v1", key) ||
        EVP_MAC_init(p->keyed, key, KEY_LEN, par) != 1) {
        snprintf(err, errlen, "cannot derive the pseudonym key from the organisation key");
        noc_privacy_free(&p);
    }
    OPENSSL_cleanse(key, sizeof key);
    return p;
}

void noc_privacy_free(noc_privacy_t **pp)
{
    if (!pp || !*pp)
        return;
    EVP_MAC_CTX_free((*pp)->keyed);
    EVP_MAC_free((*pp)->hmac);
    OPENSSL_cleanse(*pp, sizeof **pp);
    free(*pp);
    *pp = NULL;
}

/* HMAC(key, kind "\0" value lower-cased; a MAC's '-' as ':'), in chunks. */
static bool mac_of(const noc_privacy_t *p, const char *kind, const char *v, size_t n,
                   uint8_t out[32])
{
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(p->keyed);
    bool is_mac = strcmp(kind, "mac") == 0;
    bool ok = ctx && EVP_MAC_update(ctx, (const uint8_t *)kind, strlen(kind) + 1) == 1;
    uint8_t chunk[256];
    for (size_t at = 0; ok && at < n;) {
        size_t k = 0;
        for (; k < sizeof chunk && at < n; k++, at++) {
            char c = (char)tolower((unsigned char)v[at]);
            chunk[k] = (uint8_t)(is_mac && c == '-' ? ':' : c);
        }
        ok = EVP_MAC_update(ctx, chunk, k) == 1;
    }
    size_t outl = 0;
    ok = ok && EVP_MAC_final(ctx, out, &outl, 32) == 1 && outl == 32;
    EVP_MAC_CTX_free(ctx);
    OPENSSL_cleanse(chunk, sizeof chunk);
    return ok;
}

static bool pseudonym(const noc_privacy_t *p, const char *kind, const char *v, size_t n, char *out,
                      size_t outlen)
{
    uint8_t h[32];
    if (!mac_of(p, kind, v, n, h))
        return false;
    snprintf(out, outlen, "%s-%02x%02x%02x%02x", kind, h[0], h[1], h[2], h[3]);
    return true;
}

bool noc_privacy_pseudonym(const noc_privacy_t *p, const char *key, const char *value, char *out,
                           size_t outlen)
{
    int i = key_index(key);
    if (i < 0 || !personal[i].kind)
        return false;
    return pseudonym(p, personal[i].kind, value, strlen(value), out, outlen);
}

/* A scalar's text: a string as it is, a number as JSON writes it. */
static bool scalar_text(const json_t *v, char *buf, size_t buflen, const char **s, size_t *n)
{
    if (json_is_string(v)) {
        *s = json_string_value(v);
        *n = json_string_length(v);
    } else if (json_is_integer(v)) {
        *n = (size_t)snprintf(buf, buflen, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        *s = buf;
    } else if (json_is_real(v)) {
        *n = (size_t)snprintf(buf, buflen, "%.17g", json_real_value(v));
        *s = buf;
    } else {
        return false; /* null, true, false: nothing personal */
    }
    return *n > 0;
}

/* The replacement of a personal value (new reference), or NULL to keep it. */
static json_t *personal_value(walk_t *w, size_t ki, json_t *v, int depth);

static void personal_members(walk_t *w, size_t ki, json_t *v, int depth)
{
    if (json_is_object(v)) {
        for (void *it = json_object_iter(v); it && w->ok; it = json_object_iter_next(v, it)) {
            json_t *r = personal_value(w, ki, json_object_iter_value(it), depth + 1);
            if (r && json_object_iter_set_new(v, it, r) != 0)
                w->ok = false;
        }
        return;
    }
    for (size_t i = 0; i < json_array_size(v) && w->ok; i++) {
        json_t *r = personal_value(w, ki, json_array_get(v, i), depth + 1);
        if (r && json_array_set_new(v, i, r) != 0)
            w->ok = false;
    }
}

static json_t *personal_value(walk_t *w, size_t ki, json_t *v, int depth)
{
    if (depth > NOC_PRIVACY_MAX_DEPTH) {
        w->ok = false;
        return NULL;
    }
    if (json_is_object(v) || json_is_array(v)) {
        personal_members(w, ki, v, depth);
        return NULL;
    }
    char num[64], ps[NOC_PRIVACY_PSEUDONYM_MAX];
    const char *s = NULL;
    size_t n = 0;
    if (!scalar_text(v, num, sizeof num, &s, &n))
        return NULL;
    if (w->seen) {
        w->seen->values++;
        w->seen->keys |= 1u << ki;
    }
    if (!w->mask)
        return NULL;
    if (!personal[ki].kind)
        return json_null();
    if (!pseudonym(w->p, personal[ki].kind, s, n, ps, sizeof ps)) {
        w->ok = false;
        return NULL;
    }
    json_t *r = json_string(ps);
    w->ok = w->ok && r;
    return r;
}

static void note_call_id(walk_t *w, const json_t *v)
{
    if (!w->seen || !json_is_string(v) || json_string_length(v) == 0)
        return;
    if (!w->seen->call_ids)
        w->seen->call_ids = json_object();
    if (!w->seen->call_ids ||
        json_object_set_new(w->seen->call_ids, json_string_value(v), json_true()) != 0)
        w->ok = false;
}

static void walk(walk_t *w, json_t *j, int depth)
{
    if (depth > NOC_PRIVACY_MAX_DEPTH) {
        w->ok = false;
        return;
    }
    if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j) && w->ok; i++)
            walk(w, json_array_get(j, i), depth + 1);
        return;
    }
    if (!json_is_object(j))
        return;
    for (void *it = json_object_iter(j); it && w->ok; it = json_object_iter_next(j, it)) {
        const char *k = json_object_iter_key(it);
        json_t *v = json_object_iter_value(it);
        int ki = key_index(k);
        if (ki < 0) {
            if (strcmp(k, "call_id") == 0)
                note_call_id(w, v);
            walk(w, v, depth + 1);
            continue;
        }
        json_t *r = personal_value(w, (size_t)ki, v, depth + 1);
        if (r && json_object_iter_set_new(j, it, r) != 0)
            w->ok = false;
    }
}

bool noc_privacy_apply(const noc_privacy_t *p, json_t *j, bool mask, noc_privacy_seen_t *seen)
{
    walk_t w = {p, mask, seen, true};
    walk(&w, j, 0);
    return w.ok;
}

void noc_privacy_seen_free(noc_privacy_seen_t *seen)
{
    json_decref(seen->call_ids);
    memset(seen, 0, sizeof *seen);
}

const char *noc_privacy_person_param(const char *name, size_t len)
{
    for (size_t k = 0; k < sizeof person_params / sizeof person_params[0]; k++)
        if (len == strlen(person_params[k]) && memcmp(name, person_params[k], len) == 0)
            return person_params[k];
    return NULL;
}
