/* callscope-pcapgen: deterministic synthetic captures with ground truth.
 * Thin main: parse options, run the scenario, write pcap + truth. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_ctx.h"
#include "pg_scen.h"

#define PG_BENCH_TRUTH_MAX 100000u

typedef struct {
    const char *scenario;
    const char *out;
    uint32_t linktype;
    uint64_t seed;
    uint32_t calls;
    uint64_t packets;
} pg_opts;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: callscope-pcapgen SCENARIO OUT.pcap [--linktype "
            "en10mb|sll|sll2|raw|null] [--seed N]\n"
            "       callscope-pcapgen bench OUT.pcap [--calls N] [--packets M]\n"
            "       callscope-pcapgen --list\n"
            "Writes OUT.pcap and OUT.pcap.truth.json (bench: only when M <= "
            "%u).\n",
            PG_BENCH_TRUTH_MAX);
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_linktype(const char *s, uint32_t *lt)
{
    static const struct {
        const char *name;
        uint32_t lt;
    } map[] = {{"en10mb", PG_LT_EN10MB},
               {"sll", PG_LT_SLL},
               {"sll2", PG_LT_SLL2},
               {"raw", PG_LT_RAW},
               {"null", PG_LT_NULL}};

    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcmp(s, map[i].name) == 0) {
            *lt = map[i].lt;
            return 0;
        }
    }
    return -1;
}

static int parse_opt(pg_opts *o, const char *k, const char *v)
{
    uint64_t n;

    if (strcmp(k, "--linktype") == 0) {
        return parse_linktype(v, &o->linktype);
    }
    if (strcmp(k, "--seed") == 0) {
        return parse_u64(v, UINT64_MAX, &o->seed);
    }
    if (strcmp(k, "--calls") == 0 && parse_u64(v, 100000, &n) == 0 && n > 0) {
        o->calls = (uint32_t)n;
        return 0;
    }
    if (strcmp(k, "--packets") == 0) {
        return parse_u64(v, 1000000000ULL, &o->packets);
    }
    return -1;
}

static int parse_args(pg_opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof(*o));
    o->linktype = PG_LT_EN10MB;
    o->seed = 1;
    o->calls = 50;
    o->packets = 100000;
    if (argc < 3) {
        return -1;
    }
    o->scenario = argv[1];
    o->out = argv[2];
    for (int i = 3; i < argc; i += 2) {
        if (i + 1 >= argc || parse_opt(o, argv[i], argv[i + 1]) != 0) {
            fprintf(stderr, "pcapgen: bad option %s\n", argv[i]);
            return -1;
        }
    }
    return 0;
}

/* Each scenario gets its own stream of numbers for a given --seed. */
static uint64_t scenario_seed(uint64_t seed, const char *name)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (const char *p = name; *p != '\0'; p++) {
        h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
    }
    return h ^ (seed * 0x9E3779B97F4A7C15ULL);
}

int main(int argc, char **argv)
{
    pg_opts o;
    const pg_scen *sc;
    pg_ctx c;
    char truth[4096];
    int rc, want_truth;

    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        pg_scen_list(stdout);
        return 0;
    }
    if (parse_args(&o, argc, argv) != 0) {
        usage(stderr);
        return 2;
    }
    sc = pg_scen_find(o.scenario);
    if (sc == NULL) {
        fprintf(stderr, "pcapgen: unknown scenario %s (try --list)\n", o.scenario);
        return 2;
    }
    if (pg_ctx_open(&c, o.out, o.linktype, scenario_seed(o.seed, sc->name), sc->streaming) != 0) {
        fprintf(stderr, "pcapgen: cannot write %s: %s\n", o.out, strerror(errno));
        pg_pcap_close(&c.pcap);
        return 1;
    }
    c.bench_calls = o.calls;
    c.bench_packets = o.packets;
    rc = sc->fn(&c);
    want_truth = !sc->streaming || o.packets <= PG_BENCH_TRUTH_MAX;
    snprintf(truth, sizeof(truth), "%s.truth.json", o.out);
    if (pg_ctx_close(&c, want_truth ? truth : NULL) != 0 || rc != 0) {
        fprintf(stderr, "pcapgen: %s failed\n", sc->name);
        return 1;
    }
    return 0;
}
