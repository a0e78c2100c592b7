/* Unit tests: Graph timestamps and ISO 8601 durations. */
#include "check.h"
#include "timefmt.h"

static void timestamps(void)
{
    int64_t t = 0;
    CHECK(timefmt_parse_iso("2020-02-25T18:52:21.2169889Z", &t)); /* 7 fractional digits */
    CHECK_EQ_INT(t, 1582656741216988LL);
    CHECK(timefmt_parse_iso("2023-09-25T10:36:40Z", &t));
    CHECK_EQ_INT(t, 1695638200000000LL);
    CHECK(timefmt_parse_iso("2023-09-25T12:36:40+02:00", &t));
    CHECK_EQ_INT(t, 1695638200000000LL);
    CHECK(!timefmt_parse_iso("0001-01-01T00:00:00Z", &t)); /* Graph's "none" */
    CHECK(!timefmt_parse_iso("2023-09-25 10:36:40Z", &t));
    CHECK(!timefmt_parse_iso("2023-09-25T10:36:40", &t));
    CHECK(!timefmt_parse_iso("", &t));
    CHECK(!timefmt_parse_iso(NULL, &t));
}

static void durations(void)
{
    double ms = -1;
    CHECK(timefmt_parse_duration("PT0.016S", &ms));
    CHECK_NEAR(ms, 16.0, 1e-9);
    CHECK(timefmt_parse_duration("PT0.474S", &ms));
    CHECK_NEAR(ms, 474.0, 1e-9);
    CHECK(timefmt_parse_duration("PT1M2.5S", &ms));
    CHECK_NEAR(ms, 62500.0, 1e-9);
    CHECK(timefmt_parse_duration("P1DT1H", &ms));
    CHECK_NEAR(ms, 90000000.0, 1e-6);
    CHECK(timefmt_parse_duration("PT0S", &ms));
    CHECK_NEAR(ms, 0.0, 1e-9);
    CHECK(!timefmt_parse_duration("P1M", &ms)); /* months have no fixed length */
    CHECK(!timefmt_parse_duration("PT", &ms));
    CHECK(!timefmt_parse_duration("0.016", &ms));
    CHECK(!timefmt_parse_duration("PT0.016", &ms));
    CHECK(!timefmt_parse_duration("PTxS", &ms));
}

int main(void)
{
    RUN(timestamps);
    RUN(durations);
    return check_finish("unit_timefmt_parse");
}
