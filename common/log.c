#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    if (lvl > g_log.max)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (g_log.journal)
        fprintf(stderr, "<%d>%s: %s\n", (int)lvl, level_name(lvl), line);
    else
        fprintf(stderr, "%s: %s: %s\n", g_log.prog, level_name(lvl), line);
}
