#include "graph_time.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Reads exactly n digits. */
static bool digits(const char **p, int n, int *out)
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

bool graph_time_parse(const char *s, int64_t *usec)
{
    if (!s)
        return false;
    const char *p = s;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int y, mo, d, h, mi, se;
    if (!digits(&p, 4, &y) || !expect(&p, '-') || !digits(&p, 2, &mo) || !expect(&p, '-') ||
        !digits(&p, 2, &d) || !expect(&p, 'T') || !digits(&p, 2, &h) || !expect(&p, ':') ||
        !digits(&p, 2, &mi) || !expect(&p, ':') || !digits(&p, 2, &se))
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
        if (!digits(&p, 2, &oh) || !expect(&p, ':') || !digits(&p, 2, &om))
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

bool graph_duration_parse(const char *s, double *ms)
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
