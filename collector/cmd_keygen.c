/* callscope-collector keygen NAME [--dir DIR] */
#include <stddef.h>
#include <stdio.h>

#include "commands.h"
#include "keyfile.h"
#include "log.h"
#include "opttab.h"

typedef struct {
    const char *dir;
} keygen_cfg_t;

static const opttab_def_t opts[] = {
    {"dir", 'd', OPTTAB_STR, offsetof(keygen_cfg_t, dir), 0, 0, "DIR",
     "Where to write NAME.key and NAME.pub (default: the current directory)."},
    {"help", 'h', OPTTAB_SPECIAL, 0, 0, 0, NULL, "This help."},
};

static opttab_result_t help(opttab_t *t, const opttab_def_t *d, const char *val)
{
    printf("Usage: callscope-collector keygen NAME [--dir DIR]\n\n"
           "Makes a CURVE key pair: NAME.key (secret, mode 0600) and NAME.pub (public).\n"
           "NAME is who the key belongs to: a probe's name (its records are filed under\n"
           "it) or the collector's. Existing files are never overwritten.\n\n"
           "  For a probe:     give the probe NAME.key (--key) and put NAME.pub in the\n"
           "                   collector's authorised-keys directory (--authorized-keys).\n"
           "  For a collector: give it NAME.key (--key) and each probe NAME.pub\n"
           "                   (--collector-key).\n\nOptions:\n");
    opttab_help(t, stdout);
    return OPTTAB_EXIT_OK;
}

int cmd_keygen(int argc, char **argv)
{
    keygen_cfg_t cfg = {"."};
    opttab_t t = {.prog = "callscope-collector keygen",
                  .defs = opts,
                  .ndefs = sizeof opts / sizeof opts[0],
                  .cfg = &cfg,
                  .special = help};
    int first = 1;
    opttab_result_t r = opttab_parse(&t, argc, argv, &first);
    if (r != OPTTAB_RUN)
        return r == OPTTAB_EXIT_OK ? 0 : 2;
    if (argc - first != 1) {
        fprintf(stderr, "callscope-collector keygen: give one NAME (see --help)\n");
        return 2;
    }
    char err[512];
    if (!keyfile_generate(cfg.dir, argv[first], err, sizeof err)) {
        LOG_ERROR("%s", err);
        return 1;
    }
    printf("%s/%s.key (secret, 0600) and %s/%s.pub written\n", cfg.dir, argv[first], cfg.dir,
           argv[first]);
    return 0;
}
