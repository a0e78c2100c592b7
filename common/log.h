/* log.h - level-tagged logging to stderr (journald reads it).
 *
 * Lines read "callscope-probe: error: message". Under systemd (JOURNAL_STREAM
 * set) each line instead starts with the sd-daemon priority "<3>", so
 * journald files it at the right level. Never log PII: no names, no
 * addresses tied to people, no MACs.
 */
#ifndef CALLSCOPE_LOG_H
#define CALLSCOPE_LOG_H

enum log_level { LOG_LVL_ERROR = 3, LOG_LVL_WARN = 4, LOG_LVL_INFO = 6, LOG_LVL_DEBUG = 7 };

void log_init(const char *progname, enum log_level max_level);
void log_set_level(enum log_level max_level);
enum log_level log_get_level(void);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define LOG_ERROR(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define LOG_WARN(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define LOG_INFO(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#ifdef NDEBUG_LOG
#define LOG_DEBUG(...) ((void)0)
#else
#define LOG_DEBUG(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
#endif

#endif
