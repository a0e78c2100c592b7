#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Logging is the one process-wide setting: a log level and a name. */
static struct {
    const char *prog;
    enum log_level max;
    int journal;
} g_log = {"callscope", LOG_LVL_INFO, 0};

void log_init(const char *progname, enum log_level max_level)
{
    g_log.prog = progname;
    g_log.max = max_level;
    g_log.journal = getenv("JOURNAL_STREAM") != NULL;
}

void log_set_level(enum log_level max_level)
{
    g_log.max = max_level;
}

enum log_level log_get_level(void)
{
    return g_log.max;
}

static const char *level_name(enum log_level lvl)
{
    switch (lvl) {
    case LOG_LVL_ERROR:
        return "error";
    case LOG_LVL_WARN:
        return "warning";
    case LOG_LVL_INFO:
        return "info";
    default:
        return "debug";
    }
}

/* Control bytes as \xHH (UTF-8 and printable ASCII pass). */
static void escape_controls(const char *in, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p && o + 5 < outlen; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        } else {
            out[o++] = (char)*p;
        }
    }
    out[o] = '\0';
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    if (lvl > g_log.max)
        return;
    char raw[1024], line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    escape_controls(raw, line, sizeof line);
    if (g_log.journal)
        fprintf(stderr, "<%d>%s: %s\n", (int)lvl, level_name(lvl), line);
    else
        fprintf(stderr, "%s: %s: %s\n", g_log.prog, level_name(lvl), line);
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void log_limit_flush(log_limit_t *l, enum log_level lvl, const char *what, bool force)
{
    if (l->window_start_ms == 0)
        return;
    long long now = mono_ms(), age = now - l->window_start_ms;
    if (!force && age < LOG_LIMIT_WINDOW_S * 1000LL)
        return;
    if (l->suppressed)
        log_msg(lvl, "... and %llu more %s in the last %lld s", l->suppressed, what,
                (age + 999) / 1000);
    l->window_start_ms = 0;
    l->logged = 0;
    l->suppressed = 0;
}

bool log_limit_pass(log_limit_t *l, enum log_level lvl, const char *what)
{
    log_limit_flush(l, lvl, what, false);
    if (l->window_start_ms == 0)
        l->window_start_ms = mono_ms() | 1; /* never 0 */
    if (l->logged < LOG_LIMIT_BURST) {
        l->logged++;
        return true;
    }
    l->suppressed++;
    return false;
}
