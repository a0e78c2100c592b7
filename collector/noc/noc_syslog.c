#include "noc_syslog.h"

#include <syslog.h>

void noc_syslog_open(void)
{
    openlog("callscope-collector", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void noc_syslog_warning(const char *line)
{
    syslog(LOG_WARNING, "%s", line);
}

void noc_syslog_close(void)
{
    closelog();
}
