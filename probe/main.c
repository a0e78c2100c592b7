/* callscope-probe: parse options, run the probe, report. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "options.h"
#include "probe.h"
#include "export_resend.h"
#include "capture_workers.h"

static volatile sig_atomic_t g_stop, g_reload;
static probe_t *g_probe;             /* for the signal handler only */
static capture_workers_t *g_workers; /* likewise */

static void on_hup(int sig)
{
    (void)sig;
    g_reload = 1; /* the probe's loop (or the workers' watcher) acts on it */
}

static enum log_level level_of(int verbosity)
{
    return verbosity < 0 ? LOG_LVL_ERROR : verbosity == 0 ? LOG_LVL_INFO : LOG_LVL_DEBUG;
}

/* What a reload (SIGHUP) works with: the command line to read again, the
 * settings in force, and the probes to hand the new ones to. */
typedef struct {
    int argc;
    char **argv;
    options_t *cur;
    probe_t *probes[64];
    unsigned n;
    char ranges[4096]; /* cur->cfg.ranges_file after a reload */
    char restart[512]; /* settings that changed but need a restart */
} reload_ctx_t;

static void note_changed(const char *name, void *ctx)
{
    reload_ctx_t *rc = ctx;
    if (options_reloadable(name))
        return;
    size_t len = strlen(rc->restart);
    snprintf(rc->restart + len, sizeof rc->restart - len, "%s--%s", len ? ", " : "", name);
}

/* SIGHUP: the command line and its --config files read again; the ranges
 * file read into new state for every probe; nothing is swapped unless all
 * of it is good. */
static void reload(void *ctx)
{
    reload_ctx_t *rc = ctx;
    options_t next;
    LOG_INFO("SIGHUP: reading the settings again");
    options_result_t r = options_parse(rc->argc, rc->argv, &next);
    if (r != OPTIONS_RUN || next.check_only) {
        LOG_ERROR("reload: the settings are not valid (see above); keeping the previous ones");
        options_free(&next);
        return;
    }
    probe_reload_t *built[64] = {0};
    char err[512];
    for (unsigned k = 0; k < rc->n; k++) {
        built[k] = probe_reload_new(&next.cfg, err, sizeof err);
        if (!built[k]) {
            LOG_ERROR("reload: %s; keeping the previous settings", err);
            for (unsigned j = 0; j < k; j++)
                probe_reload_free(&built[j]);
            options_free(&next);
            return;
        }
    }
    rc->restart[0] = '\0';
    options_diff(rc->cur, &next, note_changed, rc);
    if (rc->restart[0])
        LOG_WARN("reload: %s changed but take effect only at a restart; still as started",
                 rc->restart);
    for (unsigned k = 0; k < rc->n; k++)
        probe_reload_post(rc->probes[k], built[k]);
    /* what is now in force, for the next comparison */
    probe_cfg_t *c = &rc->cur->cfg;
    snprintf(rc->ranges, sizeof rc->ranges, "%s", next.cfg.ranges_file);
    c->ranges_file = rc->ranges;
    c->interval_s = next.cfg.interval_s;
    c->progress_s = next.cfg.progress_s;
    c->min_stream_packets = next.cfg.min_stream_packets;
    if (rc->cur->verbosity != next.verbosity) {
        rc->cur->verbosity = next.verbosity;
        log_set_level(level_of(next.verbosity));
        LOG_INFO("reload: log level %s", next.verbosity < 0    ? "errors only"
                                         : next.verbosity == 0 ? "info"
                                                               : "debug");
    }
    options_free(&next);
}

/* One probe: a thread of its own builds reloads, so the capture thread
 * never stops for the ranges file and nDPI (the workers' watcher does the
 * same for several). */
static atomic_bool g_run_over;

static void *reload_thread(void *ctx)
{
    const struct timespec tick = {0, 100 * 1000 * 1000};
    while (!atomic_load(&g_run_over)) {
        if (g_reload) {
            g_reload = 0;
            reload(ctx);
        }
        nanosleep(&tick, NULL);
    }
    return NULL;
}

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
    if (g_probe)
        probe_break(g_probe); /* wakes a capture blocked in poll() */
    if (g_workers)
        capture_workers_break(g_workers);
}

int main(int argc, char **argv)
{
    options_t o;
    log_init("callscope-probe", LOG_LVL_INFO);
    options_result_t r = options_parse(argc, argv, &o);
    if (r != OPTIONS_RUN) {
        options_free(&o);
        return r == OPTIONS_EXIT_OK ? 0 : 2;
    }
    log_set_level(level_of(o.verbosity));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    struct sigaction hup;
    memset(&hup, 0, sizeof hup);
    hup.sa_handler = on_hup;
    sigaction(SIGHUP, &hup, NULL);
    static reload_ctx_t rctx; /* large; lives as long as the run */
    rctx.argc = argc;
    rctx.argv = argv;
    rctx.cur = &o;
    int rc = 2;
    if (o.cfg.from_jsonl) {
        rc = export_resend_jsonl(&o.cfg, &g_stop);
        options_free(&o);
        return rc;
    }
    char err[512];
    if (o.cfg.workers > 1) {
        capture_workers_t *w = capture_workers_new(&o.cfg, o.cfg.workers, err, sizeof err);
        if (!w) {
            LOG_ERROR("%s", err);
            options_free(&o);
            return 2;
        }
        g_workers = w;
        rctx.n = capture_workers_count(w);
        for (unsigned k = 0; k < rctx.n; k++)
            rctx.probes[k] = capture_workers_probe(w, k);
        rc = capture_workers_run(w, &g_stop, &g_reload, reload, &rctx);
        g_workers = NULL;
        capture_workers_free(&w);
        options_free(&o);
        return rc;
    }
    probe_t *p = probe_new(&o.cfg, err, sizeof err);
    if (!p) {
        LOG_ERROR("%s", err);
        options_free(&o);
        return 2;
    }
    g_probe = p;
    rctx.n = 1;
    rctx.probes[0] = p;
    pthread_t rth;
    bool rth_ok = pthread_create(&rth, NULL, reload_thread, &rctx) == 0;
    if (!rth_ok)
        LOG_WARN("cannot start the reload thread: SIGHUP is ignored");
    rc = probe_run(p, &g_stop);
    atomic_store(&g_run_over, true);
    if (rth_ok)
        pthread_join(rth, NULL);
    g_probe = NULL;
    probe_finish(p);
    probe_free(&p);
    options_free(&o);
    return rc;
}
