#include "graph_worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graph_store.h"
#include "log.h"
#include "timefmt.h"

struct graph_worker {
    graph_poller_t *poller; /* the thread's once started */
    db_t *db;               /* the thread's */
    pthread_t th;
    bool started;
    atomic_bool stop;
    pthread_mutex_t mu; /* guards what follows, and cv */
    pthread_cond_t cv;  /* signalled to stop */
    graph_poller_stats_t stats;
    uint64_t cycles;
    bool running;
};

/* Waits until wake_us (wall clock) or a stop request. */
static void nap_until(graph_worker_t *w, int64_t wake_us)
{
    struct timespec ts = {(time_t)(wake_us / 1000000), (long)(wake_us % 1000000) * 1000};
    pthread_mutex_lock(&w->mu);
    while (!atomic_load(&w->stop) && timefmt_now() < wake_us)
        if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&w->mu);
}

static void *thread_main(void *arg)
{
    graph_worker_t *w = arg;
    int last = GRAPH_STEP_BUSY;
    while (!atomic_load(&w->stop)) {
        int64_t wake = timefmt_now();
        int s = graph_poller_step(w->poller, timefmt_now(), &wake);
        pthread_mutex_lock(&w->mu);
        graph_poller_stats(w->poller, &w->stats);
        if (s == GRAPH_STEP_IDLE && last != GRAPH_STEP_IDLE)
            w->cycles++;
        w->running = s != GRAPH_STEP_FATAL;
        pthread_mutex_unlock(&w->mu);
        if (s == GRAPH_STEP_FATAL) {
            LOG_ERROR("collector: Graph polling stopped: %s", graph_poller_error(w->poller));
            break;
        }
        last = s;
        nap_until(w, wake);
    }
    return NULL;
}

graph_worker_t *graph_worker_new(const graph_cfg_t *cfg, const char *db_target, char *err,
                                 size_t errlen)
{
    graph_worker_t *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    atomic_init(&w->stop, false);
    w->running = true;
    w->db = graph_store_open_db(db_target, err, errlen);
    w->poller = w->db ? graph_poller_new(cfg, w->db, err, errlen) : NULL;
    if (!w->poller) {
        graph_worker_free(&w);
        return NULL;
    }
    graph_poller_abort_on(w->poller, &w->stop);
    int rc = pthread_create(&w->th, NULL, thread_main, w);
    if (rc != 0) {
        snprintf(err, errlen, "Graph thread: %s", strerror(rc));
        graph_worker_free(&w);
        return NULL;
    }
    w->started = true;
    return w;
}

bool graph_worker_stats(graph_worker_t *w, graph_poller_stats_t *out)
{
    pthread_mutex_lock(&w->mu);
    *out = w->stats;
    bool running = w->running;
    pthread_mutex_unlock(&w->mu);
    return running;
}

uint64_t graph_worker_cycles(graph_worker_t *w)
{
    pthread_mutex_lock(&w->mu);
    uint64_t n = w->cycles;
    pthread_mutex_unlock(&w->mu);
    return n;
}

void graph_worker_free(graph_worker_t **pw)
{
    if (!pw || !*pw)
        return;
    graph_worker_t *w = *pw;
    if (w->started) {
        pthread_mutex_lock(&w->mu);
        atomic_store(&w->stop, true);
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->th, NULL);
    }
    graph_poller_free(&w->poller);
    db_close(&w->db);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
    *pw = NULL;
}
