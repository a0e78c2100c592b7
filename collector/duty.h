/* duty.h - work that must run on one collector at a time when several share
 * one PostgreSQL store: correlation, Graph polling (per tenant), retention,
 * alert evaluation.
 *
 * Each duty is a PostgreSQL session advisory lock (pg_try_advisory_lock
 * with two int4 keys: DUTY_LOCK_CLASS and a hash of the duty's name) held
 * on a connection of its own (application_name "callscope-duty NAME"). A
 * thread tries to take every wanted duty it does not hold once per
 * poll_ms (1 s) and checks the connection with the same round trip. A
 * collector that dies ends its session, and the server releases its locks
 * with it: another collector takes them at its next poll (measured in
 * tests/pg/failover_test.py). When the holder loses its connection it marks
 * every duty lost at once (the caller stops running them before its next
 * step) and reconnects; a lock is never assumed held across connections.
 * The duty connection asks the server for TCP keepalives (5 s idle, 2 s
 * interval, 3 probes) so that a session behind a dead network path ends
 * within about 11 s instead of the kernel's two hours.
 *
 * On SQLite (one collector per store) every wanted duty is held from the
 * start, with no thread and no connection.
 *
 * Threads: duty_held() and duty_json() may be called from any thread;
 * duty_new() and duty_free() from one.
 */
#ifndef CALLSCOPE_DUTY_H
#define CALLSCOPE_DUTY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The first key of every duty lock ('csD1'); pgdb's migration lock uses the
 * one-bigint form, a separate key space in pg_locks (objsubid 1, ours 2). */
#define DUTY_LOCK_CLASS 0x63734431

typedef enum { DUTY_CORRELATION, DUTY_GRAPH, DUTY_RETENTION, DUTY_ALERTS, DUTY_N } duty_kind_t;

typedef struct {
    const char *db;     /* --db: a SQLite path or a postgresql:// URI */
    const char *name;   /* this collector's name (logs, application_name); NULL: host:pid */
    const char *tenant; /* the Graph tenant of DUTY_GRAPH (one lock per tenant) */
    bool want[DUTY_N];  /* duties this collector is configured to run */
    unsigned poll_ms;   /* 0: 1000 */
} duty_cfg_t;

typedef struct duty duty_t;

/* SQLite: every wanted duty held. PostgreSQL: connects and tries each
 * wanted duty once before returning (so a lone collector starts with its
 * duties), then polls in a thread. A failed first connection is logged
 * and retried by the thread; NULL only when out of memory or threads. */
duty_t *duty_new(const duty_cfg_t *cfg, char *err, size_t errlen);
bool duty_held(const duty_t *d, duty_kind_t k);
/* This collector cannot run duty k (e.g. Graph polling failed to start):
 * released at the next poll so that another collector takes it, and never
 * taken here again. */
void duty_give_up(duty_t *d, duty_kind_t k, const char *why);
/* "correlation", "graph", "retention", "alerts". */
const char *duty_name(duty_kind_t k);
/* The /metrics gauges callscope_collector_duty{duty=...,tenant=...}: an
 * array of {"duty": name, ["tenant": t,] "held": 0|1} of the wanted duties
 * (new reference). */
json_t *duty_json(const duty_t *d);
/* Stops the thread and closes the connection (the server releases the locks). */
void duty_free(duty_t **d);

#endif
