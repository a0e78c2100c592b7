#include "timefmt.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's
 * civil_from_days): plain arithmetic, where gmtime_r() takes glibc's time
 * zone lock on every call. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static char *digits(char *p, unsigned v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + n;
}

/* Years 0-9999 by hand; anything else as before, through gmtime_r(). */
static bool iso_fast(int64_t secs, long frac, char *buf, size_t buflen)
{
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    unsigned sod = (unsigned)(secs - days * 86400);
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999 || buflen < 28)
        return false;
    char *p = digits(buf, (unsigned)y, 4);
    *p++ = '-';
    p = digits(p, m, 2);
    *p++ = '-';
    p = digits(p, d, 2);
    *p++ = 'T';
    p = digits(p, sod / 3600, 2);
    *p++ = ':';
    p = digits(p, sod / 60 % 60, 2);
    *p++ = ':';
    p = digits(p, sod % 60, 2);
    *p++ = '.';
    p = digits(p, (unsigned)frac, 6);
    *p++ = 'Z';
    *p = '\0';
    return true;
}

const char *timefmt_iso(usec_t t, char *buf, size_t buflen)
{
    time_t secs = (time_t)(t / USEC_PER_SEC);
    long frac = (long)(t % USEC_PER_SEC);
    if (frac < 0) {
        frac += USEC_PER_SEC;
        secs -= 1;
    }
    if (iso_fast(secs, frac, buf, buflen))
        return buf;
    struct tm tm;
    if (!gmtime_r(&secs, &tm)) {
        snprintf(buf, buflen, "invalid");
        return buf;
    }
    snprintf(buf, buflen, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    return buf;
}

usec_t timefmt_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (usec_t)ts.tv_sec * USEC_PER_SEC + ts.tv_nsec / 1000;
}

struct timespec timefmt_deadline(clockid_t clk, long ms)
{
    struct timespec t;
    clock_gettime(clk, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

/* ---- parsing: ISO 8601 timestamps and durations (Graph's formats) ---- */

/* Reads exactly n digits. */
static bool read_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool expect(const char **p, char c)
{
    if (**p != c)
        return false;
    (*p)++;
    return true;
}

bool timefmt_parse_iso(const char *s, usec_t *usec)
{
    if (!s)
        return false;
    const char *p = s;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int y, mo, d, h, mi, se;
    if (!read_digits(&p, 4, &y) || !expect(&p, '-') || !read_digits(&p, 2, &mo) ||
        !expect(&p, '-') || !read_digits(&p, 2, &d) || !expect(&p, 'T') ||
        !read_digits(&p, 2, &h) || !expect(&p, ':') || !read_digits(&p, 2, &mi) ||
        !expect(&p, ':') || !read_digits(&p, 2, &se))
        return false;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return false;
    int64_t frac = 0;
    if (*p == '.') {
        p++;
        int n = 0;
        while (isdigit((unsigned char)*p)) {
            if (n < 6) {
                frac = frac * 10 + (*p - '0');
                n++;
            }
            p++;
        }
        if (n == 0)
            return false;
        for (; n < 6; n++)
            frac *= 10;
    }
    int64_t offset_s = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        int oh, om;
        p++;
        if (!read_digits(&p, 2, &oh) || !expect(&p, ':') || !read_digits(&p, 2, &om))
            return false;
        offset_s = sign * (oh * 3600 + om * 60);
    } else {
        return false;
    }
    if (*p != '\0')
        return false;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    time_t t = timegm(&tm);
    *usec = ((int64_t)t - offset_s) * 1000000 + frac;
    return true;
}

/* One "<number><unit>" component; the number may have a fraction. */
static bool component(const char **p, double *num, char *unit)
{
    char *end;
    errno = 0;
    if (!isdigit((unsigned char)**p))
        return false;
    double v = strtod(*p, &end);
    if (errno != 0 || end == *p || !isfinite(v) || v < 0)
        return false;
    *num = v;
    *unit = *end;
    if (*unit == '\0')
        return false;
    *p = end + 1;
    return true;
}

bool timefmt_parse_duration(const char *s, double *ms)
{
    if (!s)
        return false;
    const char *p = s;
    int sign = 1;
    if (*p == '-') {
        sign = -1;
        p++;
    }
    if (*p++ != 'P')
        return false;
    double total = 0;
    bool in_time = false, any = false;
    while (*p) {
        if (*p == 'T') {
            if (in_time)
                return false;
            in_time = true;
            p++;
            continue;
        }
        double v;
        char unit;
        if (!component(&p, &v, &unit))
            return false;
        any = true;
        if (!in_time && unit == 'D')
            total += v * 86400e3;
        else if (!in_time && unit == 'W')
            total += v * 7 * 86400e3;
        else if (in_time && unit == 'H')
            total += v * 3600e3;
        else if (in_time && unit == 'M')
            total += v * 60e3;
        else if (in_time && unit == 'S')
            total += v * 1e3;
        else
            return false;
    }
    if (!any)
        return false;
    *ms = sign * total;
    return true;
}

bool timefmt_parse_span(const char *s, int64_t *seconds)
{
    static const struct {
        char unit;
        int64_t mult;
    } units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 7 * 86400}};
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || v <= 0 || v > 10LL * 366 * 86400)
        return false;
    int64_t mult = 0;
    if (*end == '\0')
        mult = 1;
    for (size_t i = 0; i < sizeof units / sizeof units[0] && !mult; i++)
        if (end[0] == units[i].unit && end[1] == '\0')
            mult = units[i].mult;
    if (!mult || v > 10LL * 366 * 86400 / mult)
        return false;
    *seconds = (int64_t)v * mult;
    return true;
}
