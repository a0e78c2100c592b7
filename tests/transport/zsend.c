/* zsend - test tool: connects to a collector as a probe (CURVE) and sends
 * raw frames, printing each reply. Lets tests send what a real probe never
 * would: broken JSON, wrong schema, oversized and multipart messages.
 *
 *   zsend ENDPOINT KEY.key SERVER.pub FRAME...
 * FRAME: a file's bytes; "@big:N" N bytes of 'x'; "@multi:FILE" the file as
 * the first of two frames. Exit 0 when every frame got a reply.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static int send_frame(void *s, const char *arg)
{
    size_t len = 0;
    char *data;
    int more = 0;
    if (strncmp(arg, "@big:", 5) == 0) {
        len = strtoul(arg + 5, NULL, 10);
        data = malloc(len ? len : 1);
        if (data)
            memset(data, 'x', len);
    } else if (strncmp(arg, "@multi:", 7) == 0) {
        data = slurp(arg + 7, &len);
        more = ZMQ_SNDMORE;
    } else {
        data = slurp(arg, &len);
    }
    if (!data) {
        fprintf(stderr, "zsend: cannot read %s\n", arg);
        return -1;
    }
    int rc = zmq_send(s, data, len, more);
    if (rc >= 0 && more)
        rc = zmq_send(s, "tail", 4, 0);
    free(data);
    return rc < 0 ? -1 : 0;
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
        reply[n < (int)sizeof reply - 1 ? n : (int)sizeof reply - 1] = '\0';
        printf("%s: %s\n", argv[i], reply);
    }
    zmq_close(s);
    zmq_ctx_term(ctx);
    return failures ? 1 : 0;
}
