/* noc_fixture DB ORGKEY SQLFILE: opens (creating) the collector's store
 * with the organisation key, so the SQL may call pii_seal(aad, value) and
 * pii_hash(domain, value), and runs the SQL file in it. The NOC tests use
 * it to write verdict and stream rows. */
#include <stdio.h>
#include <stdlib.h>

#include "dynbuf.h"
#include "pii.h"
#include "store.h"

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
    store_t *st = pii ? store_open(argv[1], false, pii, err, sizeof err) : NULL;
    char *sql = st ? slurp(argv[3]) : NULL;
    char *msg = NULL;
    int rc = 1;
    if (!st)
        fprintf(stderr, "noc_fixture: %s\n", err);
    else if (!sql)
        fprintf(stderr, "noc_fixture: cannot read %s\n", argv[3]);
    else if (sqlite3_exec(store_db(st), sql, NULL, NULL, &msg) != SQLITE_OK)
        fprintf(stderr, "noc_fixture: %s\n", msg ? msg : "?");
    else
        rc = 0;
    sqlite3_free(msg);
    free(sql);
    store_free(&st);
    pii_free(&pii);
    return rc;
}
