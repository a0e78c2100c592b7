/* bench_pii.c - pii_open and pii_seal per second (a sealed client address,
 * as /api/buildings opens ~48,700 of on the month-sized store's 24 h).
 *
 *   bench_pii [OPS [THREADS]]     (default 200000 ops, 1 thread)
 *
 * Prints, for seal and for open: operations, wall time, process CPU time,
 * ops/s and CPU µs per op. Makes a throw-away org key in /tmp. Built on
 * demand: cmake --build build-dev --target bench_pii. Not a test. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pii.h"

#define ADDR "10.123.45.67"

static pii_t *pii;
static long ops_per_thread;
static uint8_t sealed[64];
static size_t sealed_len;

static double now_s(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *do_seal(void *arg)
{
    uint8_t out[64];
    size_t n;
    long bad = 0;
    for (long i = 0; i < ops_per_thread; i++)
        bad += !pii_seal(pii, PII_AAD_STREAMS_CLIENT_IP, ADDR, strlen(ADDR), out, sizeof out, &n);
    *(long *)arg = bad;
    return NULL;
}

static void *do_open(void *arg)
{
    char out[64];
    long bad = 0;
    for (long i = 0; i < ops_per_thread; i++)
        bad += !pii_open(pii, PII_AAD_STREAMS_CLIENT_IP, sealed, sealed_len, out, sizeof out) ||
               strcmp(out, ADDR) != 0;
    *(long *)arg = bad;
    return NULL;
}

static int run(const char *name, void *(*fn)(void *), int threads)
{
    pthread_t th[64];
    long bad[64] = {0}, total_bad = 0;
    double w0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    for (int i = 0; i < threads; i++)
        pthread_create(&th[i], NULL, fn, &bad[i]);
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        total_bad += bad[i];
    }
    double wall = now_s(CLOCK_MONOTONIC) - w0, cpu = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    long ops = ops_per_thread * threads;
    printf("%-5s %9ld ops  %2d thread(s)  wall %.3f s  cpu %.3f s  %10.0f ops/s  %.2f us "
           "cpu/op  failed %ld\n",
           name, ops, threads, wall, cpu, (double)ops / wall, cpu * 1e6 / (double)ops, total_bad);
    return total_bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    long ops = argc > 1 ? atol(argv[1]) : 200000;
    int threads = argc > 2 ? atoi(argv[2]) : 1;
    if (ops <= 0 || threads < 1 || threads > 64) {
        fprintf(stderr, "usage: bench_pii [OPS [THREADS 1-64]]\n");
        return 2;
    }
    ops_per_thread = ops / threads;
    char dir[] = "/tmp/bench_pii_XXXXXX", key[64], err[256];
    if (!mkdtemp(dir))
        return 1;
    snprintf(key, sizeof key, "%s/org.key", dir);
    const char *files[] = {key};
    if (pii_keygen(key, "bench.example", err, sizeof err) != 0 ||
        !(pii = pii_new(files, 1, NULL, err, sizeof err))) {
        fprintf(stderr, "bench_pii: %s\n", err);
        return 1;
    }
    unlink(key);
    rmdir(dir);
    pii_seal(pii, PII_AAD_STREAMS_CLIENT_IP, ADDR, strlen(ADDR), sealed, sizeof sealed,
             &sealed_len);
    double l[3] = {0};
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf %lf %lf", &l[0], &l[1], &l[2]) != 3)
            l[0] = -1;
        fclose(f);
    }
    printf("bench_pii: load average %.2f %.2f %.2f\n", l[0], l[1], l[2]);
    int rc = run("seal", do_seal, threads) | run("open", do_open, threads);
    pii_free(&pii);
    return rc;
}
