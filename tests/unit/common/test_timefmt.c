/* test_timefmt.c - common/timefmt.h: the ISO 8601 text around the epoch,
 * leap days, the ends of years 0-9999 (written by hand) and beyond them
 * (written through gmtime_r). */
#include "check.h"
#include "timefmt.h"

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
    return check_finish("timefmt");
}
