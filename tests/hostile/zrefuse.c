/* zrefuse - test tool: N ZeroMQ sockets with fresh, unknown CURVE keys keep
 * connecting to a collector for S seconds (every 100 ms, new sockets with
 * new keys), the refusal loop that once logged 4,394 lines in 6 s.
 *
 *   zrefuse ENDPOINT SERVER.pub N SECONDS
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "keyfile.h"

#define MAX_SOCKS 256

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: zrefuse ENDPOINT SERVER.pub N SECONDS\n");
        return 2;
    }
    keyfile_t srv;
    char err[512];
    if (!keyfile_load(argv[2], false, &srv, err, sizeof err)) {
        fprintf(stderr, "zrefuse: %s\n", err);
        return 2;
    }
    int n = atoi(argv[3]), secs = atoi(argv[4]);
    if (n < 1 || n > MAX_SOCKS || secs < 1 || secs > 60) {
        fprintf(stderr, "zrefuse: N 1-%d, SECONDS 1-60\n", MAX_SOCKS);
        return 2;
    }
    void *ctx = zmq_ctx_new();
    void *socks[MAX_SOCKS];
    int zero = 0;
    time_t end = time(NULL) + secs;
    long rounds = 0;
    while (time(NULL) < end) {
        for (int i = 0; i < n; i++) {
            char pub[41], sec[41];
            zmq_curve_keypair(pub, sec);
            socks[i] = zmq_socket(ctx, ZMQ_DEALER);
            zmq_setsockopt(socks[i], ZMQ_CURVE_SERVERKEY, srv.public_z85, 41);
            zmq_setsockopt(socks[i], ZMQ_CURVE_PUBLICKEY, pub, 41);
            zmq_setsockopt(socks[i], ZMQ_CURVE_SECRETKEY, sec, 41);
            zmq_setsockopt(socks[i], ZMQ_LINGER, &zero, sizeof zero);
            if (zmq_connect(socks[i], argv[1]) != 0) {
                fprintf(stderr, "zrefuse: connect: %s\n", zmq_strerror(zmq_errno()));
                return 1;
            }
        }
        usleep(100000); /* the handshakes, and their refusals */
        for (int i = 0; i < n; i++)
            zmq_close(socks[i]);
        rounds++;
    }
    zmq_ctx_term(ctx);
    printf("zrefuse: %ld rounds of %d sockets in %d s\n", rounds, n, secs);
    return 0;
}
