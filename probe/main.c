/* callscope-probe: parse options, run the probe, report. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "options.h"
#include "probe.h"
#include "export_resend.h"
#include "capture_workers.h"

static volatile sig_atomic_t g_stop;
static probe_t *g_probe;             /* for the signal handler only */
static capture_workers_t *g_workers; /* likewise */

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
    log_set_level(o.verbosity < 0    ? LOG_LVL_ERROR
                  : o.verbosity == 0 ? LOG_LVL_INFO
                                     : LOG_LVL_DEBUG);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
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
        rc = capture_workers_run(w, &g_stop);
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
    rc = probe_run(p, &g_stop);
    g_probe = NULL;
    probe_finish(p);
    probe_free(&p);
    options_free(&o);
    return rc;
}
