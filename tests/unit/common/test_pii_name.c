/* Unit tests: the display-name normaliser and its lookup hash (search by
 * person, docs/graph.md). */
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "pii.h"

static char dir[] = "/tmp/pii_name_XXXXXX";

static void normalise(void)
{
    char out[64];
    CHECK(pii_name_normalise("  Jane \t DOE  ", out, sizeof out));
    CHECK_STR(out, "jane doe");
    CHECK(pii_name_normalise("Jane\r\nvan  der\xc2\xa0"
                             "Berg",
                             out, sizeof out));
    CHECK_STR(out, "jane van der berg");
    CHECK(pii_name_normalise("\xc3\x89lodie \xc3\x98stby", out, sizeof out)); /* Élodie Østby */
    CHECK_STR(out, "\xc3\xa9lodie \xc3\xb8stby");
    CHECK(pii_name_normalise("A\xc3\x97"
                             "B",
                             out, sizeof out)); /* × is no letter */
    CHECK_STR(out, "a\xc3\x97"
                   "b");
    CHECK(pii_name_normalise("\xe5\xbc\xa0\xe4\xbc\x9f", out, sizeof out)); /* kept as is */
    CHECK_STR(out, "\xe5\xbc\xa0\xe4\xbc\x9f");
    CHECK(!pii_name_normalise(" \t ", out, sizeof out));
    CHECK(!pii_name_normalise("", out, sizeof out));
    CHECK(!pii_name_normalise("abcdef", out, 6)); /* no room for the NUL */
    CHECK(pii_name_normalise("abcde", out, 6));
    CHECK(!pii_name_normalise("a  b", out, 3));
}

static void lookup(void)
{
    char key[300], err[256];
    snprintf(key, sizeof key, "%s/org.key", dir);
    CHECK_EQ_INT(pii_keygen(key, "t", err, sizeof err), 0);
    const char *files[] = {key};
    pii_t *pii = pii_new(files, 1, NULL, err, sizeof err);
    CHECK(pii != NULL);
    if (!pii)
        return;
    uint8_t a[PII_HASH_LEN], b[PII_HASH_LEN], c[PII_HASH_LEN], d[PII_HASH_LEN];
    CHECK(pii_lookup_name(pii, "Jane  Doe", a));
    CHECK(pii_lookup_name(pii, " jane doe\n", b));
    CHECK(pii_lookup_name(pii, "Jane Do", c));
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK(memcmp(a, c, sizeof a) != 0);
    /* a name hash is not the hash of the same text in another domain */
    CHECK(pii_lookup(pii, "upn", "jane doe", d));
    CHECK(memcmp(a, d, sizeof a) != 0);
    CHECK(pii_lookup(pii, "name", "jane doe", d));
    CHECK(memcmp(a, d, sizeof a) == 0);
    /* UPNs: pii_lookup lower-cases, so any case finds the stored hash */
    CHECK(pii_lookup(pii, "upn", "Jane.Doe@Contoso.example", c));
    CHECK(pii_lookup(pii, "upn", "jane.doe@contoso.example", d));
    CHECK(memcmp(c, d, sizeof c) == 0);
    CHECK(!pii_lookup_name(pii, "   ", a));
    pii_free(&pii);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    normalise();
    lookup();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_finish("unit_pii_name");
}
