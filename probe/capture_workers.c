#include "capture_workers.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keyfile.h"
#include "log.h"

#define CAPTURE_WORKERS_MAX 64
#define PATH_MAX_LEN 4096

typedef struct {
    probe_t *probe;
    pthread_t th;
    volatile sig_atomic_t *stop;
    int rc;
    atomic_bool done;
    char json[PATH_MAX_LEN], spool[PATH_MAX_LEN];
} worker_t;

struct workers {
    worker_t w[CAPTURE_WORKERS_MAX];
    unsigned n;
};

/* Worker k's settings: its own fanout member, files and spool. */
static void worker_cfg(const probe_cfg_t *cfg, worker_t *wk, unsigned k, unsigned group,
                       probe_cfg_t *out)
{
    *out = *cfg;
    out->cap.fanout_group = group;
    out->table = false;
    if (cfg->json_path && strcmp(cfg->json_path, "-") != 0) {
        snprintf(wk->json, sizeof wk->json, "%s.w%u", cfg->json_path, k);
        out->json_path = wk->json;
    }
    if (cfg->exp.endpoint) {
        char leaf[32];
        snprintf(leaf, sizeof leaf, "spool-w%u", k);
        if (cfg->exp.spool_dir)
            snprintf(wk->spool, sizeof wk->spool, "%s/w%u", cfg->exp.spool_dir, k);
        else
            keyfile_state_path(leaf, wk->spool, sizeof wk->spool);
        out->exp.spool_dir = wk->spool;
    }
}

capture_workers_t *capture_workers_new(const probe_cfg_t *cfg, unsigned n, char *err, size_t errlen)
{
    if (n < 2 || n > CAPTURE_WORKERS_MAX || !cfg->cap.iface) {
        snprintf(err, errlen, "--workers: 2 to %d, with -i", CAPTURE_WORKERS_MAX);
        return NULL;
    }
    capture_workers_t *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    /* one group per process and interface; the kernel wants 1..65535 */
    unsigned group = 1 + (unsigned)getpid() % 65535;
    for (unsigned k = 0; k < n; k++) {
        probe_cfg_t c;
        worker_cfg(cfg, &w->w[k], k, group, &c);
        c.cap.workers = n;
        c.cap.worker = k;
        char e[512];
        w->w[k].probe = probe_new(&c, e, sizeof e);
        if (!w->w[k].probe) {
            snprintf(err, errlen, "worker %u: %s", k, e);
            w->n = k;
            capture_workers_free(&w);
            return NULL;
        }
        w->n = k + 1;
    }
    LOG_INFO("%u capture workers on %s (fanout group %u, by client address)", n, cfg->cap.iface,
             group);
    return w;
}

static void *run_one(void *arg)
{
    worker_t *wk = arg;
    wk->rc = probe_run(wk->probe, wk->stop);
    atomic_store(&wk->done, true);
    return NULL;
}

unsigned capture_workers_count(const capture_workers_t *w)
{
    return w->n;
}

probe_t *capture_workers_probe(capture_workers_t *w, unsigned k)
{
    return k < w->n ? w->w[k].probe : NULL;
}

/* The calling thread, while the workers run: reloads on request. */
static void watch(capture_workers_t *w, unsigned started, volatile sig_atomic_t *reload,
                  void (*on_reload)(void *ctx), void *ctx)
{
    const struct timespec tick = {0, 100 * 1000 * 1000};
    for (;;) {
        unsigned done = 0;
        for (unsigned k = 0; k < started; k++)
            done += atomic_load(&w->w[k].done);
        if (done == started)
            return;
        if (reload && *reload && on_reload) {
            *reload = 0;
            on_reload(ctx);
        }
        nanosleep(&tick, NULL); /* a signal cuts it short */
    }
}

int capture_workers_run(capture_workers_t *w, volatile sig_atomic_t *stop,
                        volatile sig_atomic_t *reload, void (*on_reload)(void *ctx), void *ctx)
{
    int rc = 0;
    unsigned started = 0;
    for (unsigned k = 0; k < w->n; k++) {
        w->w[k].stop = stop;
        if (pthread_create(&w->w[k].th, NULL, run_one, &w->w[k]) != 0) {
            LOG_ERROR("cannot start capture worker %u", k);
            *stop = 1;
            capture_workers_break(w);
            rc = 1;
            break;
        }
        started++;
    }
    watch(w, started, reload, on_reload, ctx);
    for (unsigned k = 0; k < started; k++) {
        pthread_join(w->w[k].th, NULL);
        if (w->w[k].rc)
            rc = 1;
    }
    for (unsigned k = 0; k < w->n && started; k++)
        probe_finish(w->w[k].probe);
    return rc;
}

void capture_workers_free(capture_workers_t **pw)
{
    if (!pw || !*pw)
        return;
    for (unsigned k = 0; k < (*pw)->n; k++)
        probe_free(&(*pw)->w[k].probe);
    free(*pw);
    *pw = NULL;
}

void capture_workers_break(capture_workers_t *w)
{
    for (unsigned k = 0; w && k < w->n; k++)
        probe_break(w->w[k].probe);
}
