/* test_timefmt.c - common/timefmt.h: the ISO 8601 text around the epoch,
 * leap days, the ends of years 0-9999 (written by hand) and beyond them
 * (written through gmtime_r); timefmt_deadline across second boundaries. */
#include "check.h"
#include "timefmt.h"

/* A deadline ms from now on the monotonic clock: normalised, and between
 * ms after the clock read before it and ms after the one after it. */
static void deadline(long ms)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    struct timespec d = timefmt_deadline(CLOCK_MONOTONIC, ms);
    clock_gettime(CLOCK_MONOTONIC, &b);
    int64_t ns = (int64_t)d.tv_sec * 1000000000LL + d.tv_nsec,
            lo = (int64_t)a.tv_sec * 1000000000LL + a.tv_nsec + ms * 1000000LL,
            hi = (int64_t)b.tv_sec * 1000000000LL + b.tv_nsec + ms * 1000000LL;
    CHECK(d.tv_nsec >= 0 && d.tv_nsec < 1000000000L);
    CHECK(ns >= lo && ns <= hi);
}

static void expect(usec_t t, const char *want)
{
    char buf[40];
    CHECK_STR(timefmt_iso(t, buf, sizeof buf), want);
}

int main(void)
{
    expect(0, "1970-01-01T00:00:00.000000Z");
    expect(-1, "1969-12-31T23:59:59.999999Z");
    expect(1768471200000123LL, "2026-01-15T10:00:00.000123Z");
    expect(951782400000000LL, "2000-02-29T00:00:00.000000Z");
    expect(4107542399999999LL, "2100-02-28T23:59:59.999999Z");
    expect(-2147483648LL * USEC_PER_SEC, "1901-12-13T20:45:52.000000Z");
    expect(-62167219200LL * USEC_PER_SEC, "0000-01-01T00:00:00.000000Z");
    expect(253402300799999999LL, "9999-12-31T23:59:59.999999Z");
    expect(253402300800000000LL, "10000-01-01T00:00:00.000000Z");
    expect(-62167219200LL * USEC_PER_SEC - 1, "-001-12-31T23:59:59.999999Z");
    for (long ms = 0; ms <= 2000; ms += 250)
        deadline(ms);
    deadline(999);
    deadline(123456);
    return check_finish("timefmt");
}
