/* replay_main - runs fuzz inputs through a harness without libFuzzer, so
 * corpora and crash reproducers are ordinary tests in every build (normal,
 * ASan/UBSan). Linked with one fuzz_<name>.c into fuzz_<name>_replay.
 *
 *   fuzz_<name>_replay PATH...   each PATH a file or a directory (its
 *                                files, sorted; dot files skipped)
 *
 * Prints each file before running it, so a crash names its input. Exit 0
 * when every path was read, 1 when one could not be (a crash aborts).
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional in a harness: weak, so replay links with or without it. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int run_file(const char *path, unsigned *ran)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    int rc = 0;
    while (buf) {
        len += fread(buf + len, 1, cap - len, fp);
        if (len < cap)
            break;
        uint8_t *bigger = realloc(buf, cap * 2);
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    if (!buf || ferror(fp)) {
        fprintf(stderr, "replay: %s: %s\n", path, buf ? "read error" : "out of memory");
        rc = -1;
    } else {
        printf("replay: %s (%zu bytes)\n", path, len);
        fflush(stdout);
        (void)LLVMFuzzerTestOneInput(buf, len);
        (*ran)++;
    }
    free(buf);
    fclose(fp);
    return rc;
}

static int skip_dot(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

static int run_dir(const char *dir, unsigned *ran)
{
    struct dirent **names;
    int n = scandir(dir, &names, skip_dot, alphasort);
    if (n < 0) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        int w = snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        if (w < 0 || (size_t)w >= sizeof path) {
            fprintf(stderr, "replay: %s/%s: path too long\n", dir, names[i]->d_name);
            rc = -1;
        } else if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && run_file(path, ran) != 0) {
            rc = -1;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    if (LLVMFuzzerInitialize)
        (void)LLVMFuzzerInitialize(&argc, &argv);
    unsigned ran = 0;
    int status = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        int rc;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            rc = -1;
        } else {
            rc = S_ISDIR(st.st_mode) ? run_dir(argv[i], &ran) : run_file(argv[i], &ran);
        }
        if (rc != 0)
            status = 1;
    }
    printf("replay: %u inputs, %s\n", ran, status ? "some paths unreadable" : "all passed");
    return status;
}
