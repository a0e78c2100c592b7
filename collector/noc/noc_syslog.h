/* noc_syslog.h - alert lines to syslog(3). Its own file: <syslog.h> names
 * clash with log.h's macros. openlog() state is the process's. */
#ifndef CALLSCOPE_NOC_SYSLOG_H
#define CALLSCOPE_NOC_SYSLOG_H

void noc_syslog_open(void);
void noc_syslog_warning(const char *line);
void noc_syslog_close(void);

#endif
