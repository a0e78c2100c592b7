/* noc_fixture DB ORGKEY SQLFILE: opens (creating) the collector's store
 * with the organisation key and runs the SQL file in it, with two SQL
 * functions registered on this connection only: pii_seal(aad, value)
 * seals, pii_hash(domain, value) gives the lookup hash ('ip'
 * canonicalises), with the same code and key the collector seals with in
 * C. The NOC tests and benches use it to write verdict and stream rows.
 * The collector itself registers no SQL function in its database (issue
 * 16: both backends hold the same sealed bytes, sealed before the write). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "dynbuf.h"
#include "pii.h"
#include "pii_cache.h"
#include "store.h"

static void sql_seal(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    pii_cache_t *pc = sqlite3_user_data(ctx);
    const char *aad = (const char *)sqlite3_value_text(argv[0]);
    const char *v = (const char *)sqlite3_value_text(argv[1]);
    if (argc != 2 || !aad || !v || sqlite3_value_type(argv[1]) == SQLITE_NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    size_t outlen = 0;
    const uint8_t *out = pii_cache_seal(pc, aad, v, (size_t)sqlite3_value_bytes(argv[1]), &outlen);
    if (out)
        sqlite3_result_blob(ctx, out, (int)outlen, SQLITE_TRANSIENT);
    else
        sqlite3_result_error(ctx, "pii_seal failed", -1);
}

static void sql_hash(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    pii_cache_t *pc = sqlite3_user_data(ctx);
    const char *dom = (const char *)sqlite3_value_text(argv[0]);
    const char *v = (const char *)sqlite3_value_text(argv[1]);
    uint8_t h[PII_HASH_LEN];
    if (argc != 2 || !dom || !v || sqlite3_value_type(argv[1]) == SQLITE_NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    if (pii_cache_hash(pc, dom, v, (size_t)sqlite3_value_bytes(argv[1]), h))
        sqlite3_result_blob(ctx, h, sizeof h, SQLITE_TRANSIENT);
    else
        sqlite3_result_null(ctx);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    dynbuf_t b;
    dynbuf_init(&b, 16u << 20);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        dynbuf_add(&b, chunk, n);
    fclose(f);
    return dynbuf_take(&b, &n);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: noc_fixture DB ORGKEY SQLFILE\n");
        return 2;
    }
    char err[512];
    const char *keys[] = {argv[2]};
    pii_t *pii = pii_new(keys, 1, NULL, err, sizeof err);
    /* The store is opened once to create or migrate its tables, then closed:
     * the SQL runs on a connection of its own, the only one open, so a
     * script may change the journal mode (bench/gen_noc_store.py loads with
     * journal_mode OFF, which the store's checkpoint connection would refuse
     * with "database is locked"). */
    store_t *st = pii ? store_open(argv[1], false, pii, err, sizeof err) : NULL;
    bool opened = st != NULL;
    store_free(&st);
    sqlite3 *db = NULL;
    if (opened && sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        snprintf(err, sizeof err, "%s: %s", argv[1], db ? sqlite3_errmsg(db) : "out of memory");
        opened = false;
    }
    if (db)
        sqlite3_busy_timeout(db, 5000);
    pii_cache_t *pc = opened ? pii_cache_new(pii) : NULL;
    char *sql = pc ? slurp(argv[3]) : NULL;
    char *msg = NULL;
    int rc = 1;
    if (!opened)
        fprintf(stderr, "noc_fixture: %s\n", err);
    else if (!pc)
        fprintf(stderr, "noc_fixture: out of memory\n");
    else if (!sql)
        fprintf(stderr, "noc_fixture: cannot read %s\n", argv[3]);
    else if (sqlite3_create_function(db, "pii_seal", 2, SQLITE_UTF8, pc, sql_seal, NULL, NULL) !=
                 SQLITE_OK ||
             sqlite3_create_function(db, "pii_hash", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, pc,
                                     sql_hash, NULL, NULL) != SQLITE_OK)
        fprintf(stderr, "noc_fixture: %s\n", sqlite3_errmsg(db));
    else if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fprintf(stderr, "noc_fixture: %s\n", msg ? msg : "?");
    else
        rc = 0;
    sqlite3_free(msg);
    free(sql);
    sqlite3_close(db);
    pii_cache_free(&pc);
    pii_free(&pii);
    return rc;
}
