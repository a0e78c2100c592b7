/* zsend - test tool: connects to a collector as a probe (CURVE) and sends
 * raw frames, printing each reply. Lets tests send what a real probe never
 * would: broken JSON, wrong schema, oversized and multipart messages.
 *
 *   zsend ENDPOINT KEY.key SERVER.pub FRAME...
 * FRAME: a file's bytes; "@big:N" N bytes of 'x'; "@two:HEAD:BODY" two files
 * as one two-frame message (a batch); "@three:FILE" the file thrice as one
 * three-frame message. Exit 0 when every message got a reply. Each reply's
 * round trip (send to reply) goes to stderr: "zsend: rtt_ms FRAME MS".
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "keyfile.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc(n > 0 ? (size_t)n : 1);
    *len = buf && n > 0 ? fread(buf, 1, (size_t)n, fp) : 0;
    fclose(fp);
    return buf;
}

static int send_parts(void *s, char **parts, size_t *lens, int n)
{
    for (int i = 0; i < n; i++)
        if (zmq_send(s, parts[i], lens[i], i + 1 < n ? ZMQ_SNDMORE : 0) < 0)
            return -1;
    return 0;
}

static int send_frame(void *s, const char *arg)
{
    char *parts[3] = {NULL, NULL, NULL};
    size_t lens[3] = {0, 0, 0};
    int n = 1;
    char tmp[4096];
    if (strncmp(arg, "@big:", 5) == 0) {
        lens[0] = strtoul(arg + 5, NULL, 10);
        parts[0] = malloc(lens[0] ? lens[0] : 1);
        if (parts[0])
            memset(parts[0], 'x', lens[0]);
    } else if (strncmp(arg, "@two:", 5) == 0) {
        snprintf(tmp, sizeof tmp, "%s", arg + 5);
        char *colon = strchr(tmp, ':');
        if (colon) {
            *colon = '\0';
            parts[0] = slurp(tmp, &lens[0]);
            parts[1] = slurp(colon + 1, &lens[1]);
        }
        n = 2;
    } else if (strncmp(arg, "@three:", 7) == 0) {
        for (n = 0; n < 3; n++)
            parts[n] = slurp(arg + 7, &lens[n]);
    } else {
        parts[0] = slurp(arg, &lens[0]);
    }
    int rc = -1;
    bool all = true;
    for (int i = 0; i < n; i++)
        all = all && parts[i];
    if (all)
        rc = send_parts(s, parts, lens, n);
    else
        fprintf(stderr, "zsend: cannot read %s\n", arg);
    for (int i = 0; i < 3; i++)
        free(parts[i]);
    return rc;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: zsend ENDPOINT KEY.key SERVER.pub FRAME...\n");
        return 2;
    }
    keyfile_t key, srv;
    char err[512];
    if (!keyfile_load(argv[2], true, &key, err, sizeof err) ||
        !keyfile_load(argv[3], false, &srv, err, sizeof err)) {
        fprintf(stderr, "zsend: %s\n", err);
        return 2;
    }
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int timeout = 5000, zero = 0;
    zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, srv.public_z85, 41);
    zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, key.public_z85, 41);
    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, key.secret_z85, 41);
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_connect(s, argv[1]);
    int failures = 0;
    for (int i = 4; i < argc; i++) {
        double t0 = now_ms();
        if (send_frame(s, argv[i]) != 0) {
            failures++;
            continue;
        }
        char reply[4096];
        int n = zmq_recv(s, reply, sizeof reply - 1, 0);
        if (n < 0) {
            printf("%s: no reply\n", argv[i]);
            failures++;
            continue;
        }
        fprintf(stderr, "zsend: rtt_ms %s %.3f\n", argv[i], now_ms() - t0);
        reply[n < (int)sizeof reply - 1 ? n : (int)sizeof reply - 1] = '\0';
        printf("%s: %s\n", argv[i], reply);
    }
    zmq_close(s);
    zmq_ctx_term(ctx);
    return failures ? 1 : 0;
}
