/* test_opttab.c - common/opttab.h: defaults set through the parser, the
 * generated "(default X)", parts with a prefix and a row mask, and
 * configuration files naming prefixed rows. */
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

#include "check.h"
#include "opttab.h"

typedef struct {
    const char *name;
    unsigned count;
    bool on;
} shared_t;

typedef struct {
    unsigned level;
    shared_t sh;
} cmd_t;

#define SH(f) offsetof(shared_t, f)

/* A shared table: "name" is prefixed in a command that asks, "count" not;
 * "on" only for group 2. */
static const opttab_opt_t shared[] = {
    {{"name", 'n', OPTTAB_STR, SH(name), 0, 0, "NAME", "Who it is. More text."},
     "alice",
     0,
     OPTTAB_PREFIXED},
    {{"count", 0, OPTTAB_UINT, SH(count), 1, 99, "N", "How many (e.g. 3. or 4.) to keep."},
     "7",
     1 | 2,
     0},
    {{"no-on", 0, OPTTAB_NOFLAG, SH(on), 0, 0, NULL, "Switch it off."}, NULL, 2, 0},
};

static const opttab_opt_t own[] = {
    {{"level", 'l', OPTTAB_UINT, offsetof(cmd_t, level), 0, 10, "L", "The level."}, "3", 0, 0},
};

static void table(opttab_t *t, opttab_part_t parts[2], cmd_t *c, unsigned mask)
{
    parts[0] = (opttab_part_t){own, 1, 0, NULL, 0};
    parts[1] = (opttab_part_t){shared, 3, offsetof(cmd_t, sh), "x-", mask};
    *t = (opttab_t){.prog = "test", .parts = parts, .nparts = 2, .cfg = c};
}

static void test_defaults_and_parse(void)
{
    cmd_t c = {0};
    opttab_part_t parts[2];
    opttab_t t;
    table(&t, parts, &c, 2);
    CHECK_EQ_INT(opttab_defaults(&t), OPTTAB_RUN);
    CHECK_EQ_INT(c.level, 3);
    CHECK_EQ_INT(c.sh.count, 7);
    CHECK(c.sh.name && strcmp(c.sh.name, "alice") == 0);
    CHECK(c.sh.on); /* a NOFLAG row defaults to true */
    char *argv[] = {"test", "--x-name", "bob", "--count", "9", "--no-on", "-l", "5", NULL};
    int first = 0;
    CHECK_EQ_INT(opttab_parse(&t, 8, argv, &first), OPTTAB_RUN);
    CHECK_EQ_INT(first, 8);
    CHECK(strcmp(c.sh.name, "bob") == 0);
    CHECK_EQ_INT(c.sh.count, 9);
    CHECK(!c.sh.on);
    CHECK_EQ_INT(c.level, 5);
    /* the unprefixed name, the short name of a prefixed part, a masked row */
    char *a2[] = {"test", "--name", "x", NULL};
    CHECK_EQ_INT(opttab_parse(&t, 3, a2, &first), OPTTAB_EXIT_USAGE);
    char *a3[] = {"test", "-n", "x", NULL};
    CHECK_EQ_INT(opttab_parse(&t, 3, a3, &first), OPTTAB_EXIT_USAGE);
    table(&t, parts, &c, 1);
    char *a4[] = {"test", "--no-on", NULL};
    CHECK_EQ_INT(opttab_parse(&t, 2, a4, &first), OPTTAB_EXIT_USAGE);
    char *a5[] = {"test", "--count", "100", NULL};
    CHECK_EQ_INT(opttab_parse(&t, 3, a5, &first), OPTTAB_EXIT_USAGE);
}

static void test_help_text(void)
{
    char *s = opttab_help_text(&shared[0]);
    CHECK(s && strcmp(s, "Who it is (default 'alice'). More text.") == 0);
    free(s);
    /* ". " inside parentheses does not end the first sentence */
    s = opttab_help_text(&shared[1]);
    CHECK(s && strcmp(s, "How many (e.g. 3. or 4.) to keep (default 7).") == 0);
    free(s);
    s = opttab_help_text(&shared[2]);
    CHECK(s && strcmp(s, "Switch it off.") == 0);
    free(s);
}

static void test_config_text(void)
{
    cmd_t c = {0};
    opttab_part_t parts[2];
    opttab_t t;
    table(&t, parts, &c, 2);
    opttab_defaults(&t);
    const char conf[] = "x-name = carol\ncount = 2\nno-on\n";
    CHECK_EQ_INT(opttab_load_text(&t, "t.conf", conf, sizeof conf - 1), OPTTAB_RUN);
    CHECK(strcmp(c.sh.name, "carol") == 0);
    CHECK_EQ_INT(c.sh.count, 2);
    CHECK(!c.sh.on);
    const char bad[] = "name = dave\n";
    CHECK_EQ_INT(opttab_load_text(&t, "t.conf", bad, sizeof bad - 1), OPTTAB_EXIT_USAGE);
    opttab_free_strings(&t);
}

int main(void)
{
    test_defaults_and_parse();
    test_help_text();
    test_config_text();
    return check_finish("opttab");
}
