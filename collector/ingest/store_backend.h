/* store_backend.h - what collector/ingest/store.c (one per process: the
 * record maps, parsing, sealing, the batch logic) asks of a database
 * backend: store_sqlite.c (a file) and store_pg.c (PostgreSQL). Each
 * backend keeps all of its SQL in its own file.
 *
 * store.c turns each record line into a row of typed values (store_row_t)
 * with personal members already sealed and hashed in C (pii_cache), so
 * both backends write the same bytes and neither registers SQL functions
 * for ingest. Internal to collector/ingest.
 */
#ifndef CALLSCOPE_STORE_BACKEND_H
#define CALLSCOPE_STORE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pii_cache.h"

/* A record type's table: the JSON keys stored as same-named columns, with
 * the column's type, and the personal keys kept as <key>_enc, <key>_hmac. */
typedef enum { STORE_COL_TEXT = 'T', STORE_COL_INT = 'I', STORE_COL_REAL = 'R' } store_col_type_t;

typedef struct {
    const char *type; /* record type */
    const char *table;
    const char *cols[24];  /* JSON keys, same-named columns; NULL-terminated */
    const char *col_types; /* one store_col_type_t letter per column */
    const char *pii[8];    /* JSON keys kept sealed and hashed, taken out of the record */
    bool partitioned;      /* by day of `received` on PostgreSQL */
} store_map_t;

extern const store_map_t store_maps[];
extern const size_t store_nmaps;

/* A value as read from the record: strings unescaped, integers (up to 18
 * digits) as INT, other numbers as REAL, booleans as INT 0/1, null, absent,
 * objects and arrays as NULL. Pointers stay valid until the row is written. */
typedef enum { SV_NULL, SV_TEXT, SV_INT, SV_REAL, SV_BLOB } store_val_type_t;

typedef struct {
    store_val_type_t t;
    const void *p; /* TEXT, BLOB */
    size_t len;
    int64_t i;
    double d;
} store_val_t;

#define STORE_ROW_MAX 48

/* One row: probe_id, site, received, the map's cols..., <pii>_enc,
 * <pii>_hmac per personal key..., record; in that order. */
typedef struct {
    size_t map; /* index into store_maps */
    store_val_t v[STORE_ROW_MAX];
    size_t n;
} store_row_t;

typedef struct store_backend store_backend_t;

typedef struct {
    bool (*begin)(store_backend_t *b, char *err, size_t errlen);
    bool (*commit)(store_backend_t *b, char *err, size_t errlen);
    void (*rollback)(store_backend_t *b);
    /* Records (probe, epoch, seq) as stored: 1 when new, 0 when it already
     * was (a duplicate), -1 on error. */
    int (*claim_batch)(store_backend_t *b, const char *probe, int64_t epoch, int64_t seq,
                       const char *now, int64_t records, char *err, size_t errlen);
    /* One row of the batch claimed last (a backend may hold rows until
     * end_batch). */
    bool (*row)(store_backend_t *b, const store_row_t *r, char *err, size_t errlen);
    bool (*end_batch)(store_backend_t *b, char *err, size_t errlen);
    /* probes: inserted or its site, version (when not NULL), last_seen set. */
    bool (*probe_seen)(store_backend_t *b, const char *probe, const char *site, const char *version,
                       const char *now, char *err, size_t errlen);
    bool (*heartbeat)(store_backend_t *b, const char *probe, const char *now, const char *health,
                      char *err, size_t errlen);
    /* Deletes rows received before cutoff (ISO text); rows deleted or -1. */
    int64_t (*retention)(store_backend_t *b, const char *cutoff, char *err, size_t errlen);
    void (*free)(store_backend_t *b);
} store_ops_t;

struct store_backend {
    const store_ops_t *ops;
    const char *name; /* "SQLite", "PostgreSQL" */
};

/* The SQLite file at path; also sets *db (the connection, for store_db). */
store_backend_t *store_sqlite_open(const char *path, bool sync_full, pii_cache_t *pc, void **db,
                                   char *err, size_t errlen);
/* PostgreSQL at a postgresql:// (or postgres://) URI. */
store_backend_t *store_pg_open(const char *uri, bool sync_full, char *err, size_t errlen);

#endif
