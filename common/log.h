/* log.h - level-tagged logging to stderr (journald reads it).
 *
 * Lines read "callscope-probe: error: message". Under systemd (JOURNAL_STREAM
 * set) each line instead starts with the sd-daemon priority "<3>", so
 * journald files it at the right level. Never log PII: no names, no
 * addresses tied to people, no MACs.
 *
 * Control characters in a message (newline, ESC, BEL, DEL, ...) are written
 * as \xHH, so a hostile string (a record id, a peer's text) can neither
 * forge a log line nor drive the terminal.
 *
 * Lines an outsider can cause (refused handshakes, rejected batches) go
 * through a log_limit_t: at most LOG_LIMIT_BURST of them per minute, the
 * rest counted and told in one summary line ("... and 4300 more refused
 * connections in the last 60 s").
 */
#ifndef CALLSCOPE_LOG_H
#define CALLSCOPE_LOG_H

#include <stdbool.h>

enum log_level { LOG_LVL_ERROR = 3, LOG_LVL_WARN = 4, LOG_LVL_INFO = 6, LOG_LVL_DEBUG = 7 };

void log_init(const char *progname, enum log_level max_level);
void log_set_level(enum log_level max_level);
enum log_level log_get_level(void);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define LOG_LIMIT_BURST 5
#define LOG_LIMIT_WINDOW_S 60

typedef struct {
    long long window_start_ms; /* CLOCK_MONOTONIC; 0: no window open */
    unsigned logged;
    unsigned long long suppressed;
} log_limit_t;

/* True when this line may be logged now; false: it was counted instead.
 * Ends an expired window first (its summary line, at lvl, names 'what'). */
bool log_limit_pass(log_limit_t *l, enum log_level lvl, const char *what);
/* Ends the window if it expired (or at once with force): logs the summary
 * of the lines it held back. Call it now and then, and at shutdown. */
void log_limit_flush(log_limit_t *l, enum log_level lvl, const char *what, bool force);

#define LOG_ERROR(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define LOG_WARN(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define LOG_INFO(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#ifdef NDEBUG_LOG
#define LOG_DEBUG(...) ((void)0)
#else
#define LOG_DEBUG(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
#endif

#endif
