#include "timefmt.h"

#include <stdio.h>
#include <time.h>

const char *timefmt_iso(usec_t t, char *buf, size_t buflen)
{
    time_t secs = (time_t)(t / USEC_PER_SEC);
    long frac = (long)(t % USEC_PER_SEC);
    if (frac < 0) {
        frac += USEC_PER_SEC;
        secs -= 1;
    }
    struct tm tm;
    if (!gmtime_r(&secs, &tm)) {
        snprintf(buf, buflen, "invalid");
        return buf;
    }
    snprintf(buf, buflen, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    return buf;
}

usec_t timefmt_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (usec_t)ts.tv_sec * USEC_PER_SEC + ts.tv_nsec / 1000;
}
