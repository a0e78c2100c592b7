#include "zap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <zmq.h>

#include "keyfile.h"
#include "log.h"

#define ZAP_FRAMES 7 /* version, request id, domain, address, identity, mechanism, key */

struct zap {
    void *sock;
    char *dir;
    keyring_t *ring;
    struct timespec dir_mtime;
    zap_stats_t st;
    log_limit_t refusals; /* anyone who can reach the port can cause them */
};

#define REFUSALS "refused connections (counted in auth.refused)"

static bool dir_changed(zap_t *z)
{
    struct stat st;
    if (stat(z->dir, &st) != 0)
        return false;
    bool changed =
        st.st_mtim.tv_sec != z->dir_mtime.tv_sec || st.st_mtim.tv_nsec != z->dir_mtime.tv_nsec;
    z->dir_mtime = st.st_mtim;
    return changed;
}

bool zap_reload(zap_t *z, char *err, size_t errlen)
{
    keyring_t *k = keyring_load(z->dir, err, errlen);
    if (!k) {
        z->st.reload_failures++;
        return false;
    }
    keyring_free(&z->ring);
    z->ring = k;
    z->st.reloads++;
    return true;
}

zap_t *zap_new(void *ctx, const char *keys_dir, char *err, size_t errlen)
{
    zap_t *z = calloc(1, sizeof *z);
    if (!z || !(z->dir = strdup(keys_dir))) {
        free(z);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    dir_changed(z);
    if (!zap_reload(z, err, errlen))
        goto fail;
    z->st.reloads = 0;
    z->sock = zmq_socket(ctx, ZMQ_REP);
    if (!z->sock || zmq_bind(z->sock, "inproc://zeromq.zap.01") != 0) {
        snprintf(err, errlen, "ZAP handler: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    return z;
fail:
    zap_free(&z);
    return NULL;
}

void zap_free(zap_t **pz)
{
    if (!pz || !*pz)
        return;
    zap_t *z = *pz;
    if (z->sock) {
        int zero = 0;
        zmq_setsockopt(z->sock, ZMQ_LINGER, &zero, sizeof zero);
        zmq_close(z->sock);
    }
    keyring_free(&z->ring);
    free(z->dir);
    free(z);
    *pz = NULL;
}

void *zap_socket(zap_t *z)
{
    return z->sock;
}

size_t zap_key_count(const zap_t *z)
{
    return keyring_count(z->ring);
}

const zap_stats_t *zap_stats(const zap_t *z)
{
    return &z->st;
}

/* Reads one request's frames; n receives how many (all are consumed). */
static int recv_frames(void *sock, zmq_msg_t *f, int max)
{
    int n = 0;
    bool more = true;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close(&m);
            break;
        }
        more = zmq_msg_more(&m);
        if (n < max)
            f[n] = m; /* moved */
        else
            zmq_msg_close(&m);
        n++;
    }
    return n;
}

static void reply(void *sock, zmq_msg_t *reqid, const char *code, const char *text,
                  const char *user)
{
    zmq_send(sock, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(sock, zmq_msg_data(reqid), zmq_msg_size(reqid), ZMQ_SNDMORE);
    zmq_send(sock, code, strlen(code), ZMQ_SNDMORE);
    zmq_send(sock, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(sock, user, strlen(user), ZMQ_SNDMORE);
    zmq_send(sock, "", 0, 0);
}

static void decide(zap_t *z, zmq_msg_t *f)
{
    char addr[64] = "?";
    size_t al = zmq_msg_size(&f[3]) < sizeof addr - 1 ? zmq_msg_size(&f[3]) : sizeof addr - 1;
    memcpy(addr, zmq_msg_data(&f[3]), al);
    addr[al] = '\0';
    bool curve = zmq_msg_size(&f[5]) == 5 && memcmp(zmq_msg_data(&f[5]), "CURVE", 5) == 0;
    if (!curve || zmq_msg_size(&f[6]) != 32) {
        z->st.refused++;
        if (log_limit_pass(&z->refusals, LOG_LVL_WARN, REFUSALS))
            LOG_WARN("collector: refused a connection from %s: not CURVE", addr);
        reply(z->sock, &f[1], "400", "CURVE only", "");
        return;
    }
    if (dir_changed(z)) {
        char err[512];
        if (!zap_reload(z, err, sizeof err))
            LOG_ERROR("collector: authorised keys not reloaded (keeping the old set): %s", err);
        else
            LOG_INFO("collector: %zu authorised keys loaded", zap_key_count(z));
    }
    const char *name = keyring_find(z->ring, zmq_msg_data(&f[6]));
    if (!name) {
        char z85[41];
        zmq_z85_encode(z85, zmq_msg_data(&f[6]), 32);
        z->st.refused++;
        if (log_limit_pass(&z->refusals, LOG_LVL_WARN, REFUSALS))
            LOG_WARN("collector: refused probe at %s: public key %s is not in the authorised-keys "
                     "directory",
                     addr, z85);
        reply(z->sock, &f[1], "400", "unknown key", "");
        return;
    }
    z->st.accepted++;
    LOG_DEBUG("collector: probe '%s' authenticated from %s", name, addr);
    reply(z->sock, &f[1], "200", "OK", name);
}

void zap_tick(zap_t *z, bool force)
{
    log_limit_flush(&z->refusals, LOG_LVL_WARN, REFUSALS, force);
}

void zap_handle(zap_t *z)
{
    for (;;) {
        zmq_msg_t f[ZAP_FRAMES];
        int n = recv_frames(z->sock, f, ZAP_FRAMES);
        if (n == 0)
            return;
        if (n == ZAP_FRAMES) {
            decide(z, f);
        } else {
            z->st.malformed++;
            if (n >= 2)
                reply(z->sock, &f[1], "500", "malformed ZAP request", "");
            else
                zmq_send(z->sock, "", 0, 0); /* keep REP's send/receive turn */
        }
        for (int i = 0; i < n && i < ZAP_FRAMES; i++)
            zmq_msg_close(&f[i]);
    }
}
