/* fuzz_config - configuration files (opttab_load_text) against the probe's
 * own option table: every line is checked, nothing is trusted.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fuzz_input.h"
#include "options.h"
#include "opttab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* messages about bad lines go to stderr; keep the fuzzer's output readable */
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w");
    if (!stderr) {
        stderr = saved;
        return 0;
    }
    options_t o;
    char *argv[] = {(char *)"callscope-probe", (char *)"-r", (char *)"x.pcap", NULL};
    options_parse(3, argv, &o);
    opttab_t t = {0};
    options_table(&t, &o);
    opttab_load_text(&t, "fuzz.conf", (const char *)data, size);
    opttab_free_strings(&t);
    options_free(&o);
    fclose(stderr);
    stderr = saved;
    return 0;
}
