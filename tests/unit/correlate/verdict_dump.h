/* verdict_dump.h - what the correlation tests on PostgreSQL share
 * (tests/pg/test_correlate_pg.c, tests/unit/correlate/test_correlate_sets.c):
 * the fixture's stores moved to PostgreSQL, and a table dumped as text to
 * compare the two backends' rows. Include after store_fixture.h. */
#ifndef CALLSCOPE_TEST_VERDICT_DUMP_H
#define CALLSCOPE_TEST_VERDICT_DUMP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

/* The fixture's stores moved to the PostgreSQL at uri (the same writers,
 * the same organisation key): ingest's and Graph's; who names the
 * connection. */
static bool fx_to_pg(fx_t *f, const char *uri, const char *who)
{
    char err[256];
    graph_store_free(&f->gs);
    db_close(&f->gdb);
    store_free(&f->st);
    bool ok = (f->st = store_open(uri, false, f->pii, err, sizeof err)) &&
              (f->gdb = db_open(uri, 0, who, err, sizeof err)) &&
              graph_store_migrate(f->gdb, err, sizeof err) &&
              (f->gs = graph_store_new(f->gdb, f->pii, err, sizeof err));
    if (!ok)
        fprintf(stderr, "fixture: %s\n", err);
    return ok;
}

/* One line per row of sql, each column as text ("NULL" when NULL; blobs
 * as hex (32 bytes at most), or "sealed"/"NULL" for the column named
 * client_ip_enc: a fresh nonce each time). NULL on an error. */
static char *dump(db_t *db, const char *sql)
{
    char err[256];
    db_stmt_t *st = db_prepare(db, sql, err, sizeof err);
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    int rc = DB_ERR;
    if (!st || !out) {
        fprintf(stderr, "dump: %s\n", err);
        free(out);
        db_finalize(&st);
        return NULL;
    }
    out[0] = '\0';
    while ((rc = db_step(st, err, sizeof err)) == DB_ROW) {
        for (int i = 0; i < db_col_count(st); i++) {
            char cell[80];
            const char *v = cell;
            switch (db_col_type(st, i)) {
            case DB_T_NULL:
                v = "NULL";
                break;
            case DB_T_INT:
                snprintf(cell, sizeof cell, "%lld", (long long)db_col_int(st, i));
                break;
            case DB_T_REAL:
                snprintf(cell, sizeof cell, "%.17g", db_col_real(st, i));
                break;
            case DB_T_TEXT:
                v = db_col_text(st, i);
                break;
            case DB_T_BLOB:
                v = "sealed";
                if (strcmp(db_col_name(st, i), "client_ip_enc") != 0) {
                    const uint8_t *b = db_col_blob(st, i);
                    size_t n = db_col_bytes(st, i) < 32 ? db_col_bytes(st, i) : 32;
                    for (size_t k = 0; k < n; k++)
                        snprintf(cell + 2 * k, 3, "%02x", b[k]);
                    cell[2 * n] = '\0';
                    v = cell;
                }
                break;
            }
            size_t vl = strlen(v);
            while (len + vl + 3 > cap) {
                char *nb = realloc(out, cap *= 2);
                if (!nb) {
                    free(out);
                    db_finalize(&st);
                    return NULL;
                }
                out = nb;
            }
            memcpy(out + len, v, vl);
            len += vl;
            out[len++] = i + 1 < db_col_count(st) ? '|' : '\n';
            out[len] = '\0';
        }
    }
    db_finalize(&st);
    if (rc != DB_DONE) {
        fprintf(stderr, "dump: %s: %s\n", sql, err);
        free(out);
        return NULL;
    }
    return out;
}

#endif
