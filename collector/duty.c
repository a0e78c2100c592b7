#include "duty.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "pgdb.h"
#include "store.h"

/* A connection that fails again is logged at most this often. */
#define RETRY_LOG_MS 60000
/* duty_held() answers false when the thread has not confirmed the locks for
 * this many polls (a query stuck on a dead network path): better no
 * collector running a duty for a while than two. */
#define STALE_POLLS 5

struct duty {
    char *uri, name[64], app[64], where[256];
    char *tenant;
    bool want[DUTY_N];
    int32_t key[DUTY_N];
    unsigned poll_ms;
    bool pg;
    atomic_bool held[DUTY_N];
    atomic_bool give_up[DUTY_N]; /* duty_give_up(): unlock at the next poll */
    atomic_llong confirmed_ms;   /* the last poll that saw the connection alive */
    /* the thread's */
    PGconn *c;
    int64_t last_fail_log;
    bool failing;
    pthread_t th;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop; /* under mu */
};

static const char *const names[DUTY_N] = {"correlation", "graph", "retention", "alerts"};

const char *duty_name(duty_kind_t k)
{
    return k < DUTY_N ? names[k] : "?";
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* FNV-1a, 32 bits: the lock's second key from the duty's name (and tenant). */
static int32_t key_of(const char *name, const char *tenant)
{
    uint32_t h = 2166136261u;
    for (const char *p = name; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    if (tenant) {
        h = (h ^ (uint8_t)':') * 16777619u;
        for (const char *p = tenant; *p; p++)
            h = (h ^ (uint8_t)*p) * 16777619u;
    }
    return (int32_t)h;
}

bool duty_held(const duty_t *d, duty_kind_t k)
{
    if (!d || k >= DUTY_N || !atomic_load(&d->held[k]))
        return false;
    if (!d->pg)
        return true;
    int64_t stale = (int64_t)d->poll_ms * STALE_POLLS;
    return now_ms() - atomic_load(&d->confirmed_ms) < (stale < 5000 ? 5000 : stale);
}

static void label(const duty_t *d, duty_kind_t k, char *buf, size_t len)
{
    if (k == DUTY_GRAPH && d->tenant)
        snprintf(buf, len, "%s (tenant %s)", names[k], d->tenant);
    else
        snprintf(buf, len, "%s", names[k]);
}

/* The connection is gone: every duty with it, at once. */
static void lose_all(duty_t *d, const char *why)
{
    for (int k = 0; k < DUTY_N; k++) {
        if (atomic_exchange(&d->held[k], false)) {
            char l[128];
            label(d, (duty_kind_t)k, l, sizeof l);
            LOG_INFO("duty %s lost: %s", l, why);
        }
    }
    PQfinish(d->c);
    d->c = NULL;
}

static bool connect_db(duty_t *d)
{
    /* the server's keepalives end the session of a collector behind a dead
     * path (its locks with it); the client's notice a dead server */
    const char *keys[] = {"connect_timeout",
                          "keepalives",
                          "keepalives_idle",
                          "keepalives_interval",
                          "keepalives_count",
                          "options",
                          "dbname",
                          "application_name",
                          NULL};
    const char *vals[] = {"10",
                          "1",
                          "5",
                          "2",
                          "3",
                          "-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 "
                          "-c tcp_keepalives_count=3 -c statement_timeout=10000",
                          d->uri,
                          d->app,
                          NULL};
    d->c = PQconnectdbParams(keys, vals, 1);
    if (d->c && PQstatus(d->c) == CONNECTION_OK) {
        if (d->failing)
            LOG_INFO("duties: connected to PostgreSQL %s again", d->where);
        d->failing = false;
        return true;
    }
    int64_t now = now_ms();
    if (!d->failing || now - d->last_fail_log >= RETRY_LOG_MS) {
        char msg[300];
        snprintf(msg, sizeof msg, "%s", d->c ? PQerrorMessage(d->c) : "out of memory");
        msg[strcspn(msg, "\n")] = '\0';
        LOG_ERROR("duties: cannot connect to PostgreSQL %s: %s (no duty runs here until then)",
                  d->where, msg);
        d->last_fail_log = now;
    }
    d->failing = true;
    PQfinish(d->c);
    d->c = NULL;
    return false;
}

/* Duties given up: unlocked (and never tried again, poll_once). */
static void drop_given_up(duty_t *d)
{
    for (int k = 0; k < DUTY_N; k++) {
        if (!atomic_load(&d->give_up[k]) || !atomic_exchange(&d->held[k], false))
            continue;
        char sql[96];
        snprintf(sql, sizeof sql, "SELECT pg_advisory_unlock(%d, %d)", DUTY_LOCK_CLASS,
                 (int)d->key[k]);
        PGresult *r = PQexec(d->c, sql);
        PQclear(r); /* a failure ends the session, and the lock with it */
    }
}

/* One round trip: try every wanted duty not held yet; with none to try,
 * "SELECT 1" only checks that the session (and so its locks) is alive. */
static void poll_once(duty_t *d)
{
    if (!d->c && !connect_db(d))
        return;
    drop_given_up(d);
    char sql[512] = "SELECT 1";
    size_t used = 0;
    int cols[DUTY_N], ncols = 0;
    for (int k = 0; k < DUTY_N; k++) {
        if (!d->want[k] || atomic_load(&d->held[k]) || atomic_load(&d->give_up[k]))
            continue;
        used += (size_t)snprintf(sql + used, sizeof sql - used, "%s pg_try_advisory_lock(%d, %d)",
                                 ncols ? "," : "SELECT", DUTY_LOCK_CLASS, (int)d->key[k]);
        cols[ncols++] = k;
    }
    PGresult *r = PQexec(d->c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        char why[300];
        pgdb_error(d->c, r, "connection to PostgreSQL lost", why, sizeof why);
        PQclear(r);
        lose_all(d, why);
        return;
    }
    atomic_store(&d->confirmed_ms, now_ms());
    for (int i = 0; i < ncols; i++) {
        if (strcmp(PQgetvalue(r, 0, i), "t") == 0) {
            atomic_store(&d->held[cols[i]], true);
            char l[128];
            label(d, (duty_kind_t)cols[i], l, sizeof l);
            LOG_INFO("duty %s taken by %s", l, d->name);
        }
    }
    PQclear(r);
}

static void *run(void *arg)
{
    duty_t *d = arg;
    pthread_mutex_lock(&d->mu);
    while (!d->stop) {
        pthread_mutex_unlock(&d->mu);
        poll_once(d);
        pthread_mutex_lock(&d->mu);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += d->poll_ms / 1000;
        until.tv_nsec += (long)(d->poll_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!d->stop && pthread_cond_timedwait(&d->cv, &d->mu, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

duty_t *duty_new(const duty_cfg_t *cfg, char *err, size_t errlen)
{
    duty_t *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    d->poll_ms = cfg->poll_ms ? cfg->poll_ms : 1000;
    d->pg = cfg->db && store_is_uri(cfg->db);
    if (cfg->name && *cfg->name) {
        snprintf(d->name, sizeof d->name, "%s", cfg->name);
    } else {
        char host[64] = "collector";
        gethostname(host, sizeof host);
        host[sizeof host - 1] = '\0';
        snprintf(d->name, sizeof d->name, "%.40s:%ld", host, (long)getpid());
    }
    snprintf(d->app, sizeof d->app, "callscope-duty %.48s", d->name); /* NAMEDATALEN 64 */
    d->tenant = cfg->tenant ? strdup(cfg->tenant) : NULL;
    for (int k = 0; k < DUTY_N; k++) {
        d->want[k] = cfg->want[k] && (k != DUTY_GRAPH || d->tenant);
        d->key[k] = key_of(names[k], k == DUTY_GRAPH ? d->tenant : NULL);
        atomic_init(&d->held[k], !d->pg && d->want[k]);
        atomic_init(&d->give_up[k], false);
    }
    atomic_init(&d->confirmed_ms, 0);
    if (!d->pg)
        return d;
    d->uri = strdup(cfg->db);
    if (!d->uri || (cfg->tenant && !d->tenant)) {
        snprintf(err, errlen, "out of memory");
        duty_free(&d);
        return NULL;
    }
    pgdb_describe(cfg->db, d->where, sizeof d->where);
    poll_once(d); /* a lone collector starts with its duties */
    if (pthread_create(&d->th, NULL, run, d) != 0) {
        snprintf(err, errlen, "cannot start the duty thread");
        duty_free(&d);
        return NULL;
    }
    d->started = true;
    return d;
}

void duty_give_up(duty_t *d, duty_kind_t k, const char *why)
{
    if (!d || k >= DUTY_N)
        return;
    char l[128];
    label(d, k, l, sizeof l);
    LOG_ERROR("duty %s given up by %s: %s; another collector may take it", l, d->name, why);
    atomic_store(&d->give_up[k], true);
    if (!d->pg) /* SQLite: no lock, no thread */
        atomic_store(&d->held[k], false);
    else if (!d->started) /* before the thread: the first poll runs in duty_new */
        drop_given_up(d);
}

json_t *duty_json(const duty_t *d)
{
    json_t *a = json_array();
    for (int k = 0; d && k < DUTY_N; k++) {
        if (!d->want[k])
            continue;
        json_t *o =
            json_pack("{s:s, s:i}", "duty", names[k], "held", duty_held(d, (duty_kind_t)k) ? 1 : 0);
        if (o && k == DUTY_GRAPH && d->tenant)
            json_object_set_new(o, "tenant", json_string(d->tenant));
        json_array_append_new(a, o);
    }
    return a;
}

void duty_free(duty_t **pd)
{
    if (!pd || !*pd)
        return;
    duty_t *d = *pd;
    if (d->started) {
        pthread_mutex_lock(&d->mu);
        d->stop = true;
        pthread_cond_signal(&d->cv);
        pthread_mutex_unlock(&d->mu);
        pthread_join(d->th, NULL);
    }
    for (int k = 0; k < DUTY_N; k++) {
        if (d->pg && atomic_load(&d->held[k])) {
            char l[128];
            label(d, (duty_kind_t)k, l, sizeof l);
            LOG_INFO("duty %s released (collector stopping)", l);
        }
    }
    PQfinish(d->c);
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    free(d->uri);
    free(d->tenant);
    free(d);
    *pd = NULL;
}
