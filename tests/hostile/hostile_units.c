/* hostile_units CASE - the small hostile inputs of issue 15 against the
 * functions that take them, one case per run (exit 0 pass, 1 fail):
 *   retry_after  Graph's Retry-After: huge, overflowing, dated years ahead
 *   graph_nul    a "\u0000" inside a Graph name: the record still parses
 *   log_escape   control characters in a log line: no forged line, no
 *                terminal sequence
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "graph_http.h"
#include "graph_parse.h"
#include "log.h"

static int failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (cond) {                                                                                \
            printf("ok: ");                                                                        \
        } else {                                                                                   \
            printf("FAIL: ");                                                                      \
            failures++;                                                                            \
        }                                                                                          \
        printf(__VA_ARGS__);                                                                       \
        printf("\n");                                                                              \
    } while (0)

static void retry_after(void)
{
    const struct {
        const char *v;
        double want;
    } cases[] = {
        {"2.128", 2.128},
        {"120", 120},
        {"99999999", GRAPH_HTTP_RETRY_AFTER_MAX_S},
        {"1e300", GRAPH_HTTP_RETRY_AFTER_MAX_S},
        {"1e999", GRAPH_HTTP_RETRY_AFTER_MAX_S},
        {"1e-999", 0},
        {"Wed, 21 Oct 2099 07:28:00 GMT", GRAPH_HTTP_RETRY_AFTER_MAX_S},
        {"Wed, 21 Oct 2015 07:28:00 GMT", 0},
        {"-5", -1},
        {"nan", -1},
        {"12abc", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double got = graph_http_retry_after(cases[i].v);
        CHECK(got == cases[i].want, "Retry-After '%s' -> %g (want %g)", cases[i].v, got,
              cases[i].want);
    }
}

static void graph_nul(void)
{
    static const char rec[] =
        "{\"id\": \"2f1a1100-b174-40a0-aba7-0b405e01ed92\", \"version\": 1,"
        " \"startDateTime\": \"2026-01-15T10:00:00Z\", \"endDateTime\": \"2026-01-15T10:05:00Z\","
        " \"organizer\": {\"user\": {\"id\": \"u1\", \"displayName\": \"Eve\\u0000Mallory\"}}}";
    char err[256] = "";
    graph_record_t *r = graph_parse_text(rec, sizeof rec - 1, err, sizeof err);
    CHECK(r != NULL, "a record with \\u0000 in a name parses (%s)", r ? "ok" : err);
    const char *name = NULL;
    bool known = r && graph_node_str(r, REC_ORG_NAME, &name);
    CHECK(known && strcmp(name, "Eve\xEF\xBF\xBDMallory") == 0,
          "the NUL is stored as U+FFFD, the rest of the name kept");
    graph_record_free(&r);
}

static void log_escape(void)
{
    int fds[2];
    if (pipe(fds) != 0) {
        CHECK(false, "pipe");
        return;
    }
    fflush(stderr);
    int saved = dup(2);
    dup2(fds[1], 2);
    log_init("hostile", LOG_LVL_INFO);
    LOG_ERROR("record %s not stored", "x\x1b]0;owned\x07\x1b[2J\ncallscope-collector: error: FAKE");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(fds[1]);
    char buf[1024] = "";
    ssize_t n = read(fds[0], buf, sizeof buf - 1);
    close(fds[0]);
    buf[n > 0 ? n : 0] = '\0';
    printf("logged: %s", buf);
    size_t lines = 0, ctl = 0;
    for (char *p = buf; *p; p++) {
        lines += *p == '\n';
        ctl += (*p > 0 && *p < 0x20 && *p != '\n') || *p == 0x7f;
    }
    CHECK(lines == 1, "one line, not a forged second one (%zu)", lines);
    CHECK(ctl == 0, "no control character reaches the log (%zu)", ctl);
    CHECK(strstr(buf, "\\x1b]0;owned\\x07\\x1b[2J\\x0acallscope") != NULL,
          "they are written as \\xHH");
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    if (strcmp(argv[1], "retry_after") == 0)
        retry_after();
    else if (strcmp(argv[1], "graph_nul") == 0)
        graph_nul();
    else if (strcmp(argv[1], "log_escape") == 0)
        log_escape();
    else
        return 2;
    return failures ? 1 : 0;
}
