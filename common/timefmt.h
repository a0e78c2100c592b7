/* timefmt.h - timestamps as microseconds since the epoch, and their text.
 *
 * Written: ISO 8601 UTC with microseconds. Read: ISO 8601 with 0-7
 * fractional digits and a Z or +hh:mm offset ("2020-02-25T18:52:21.2169889Z",
 * Microsoft Graph's form; "0001-01-01T00:00:00Z" means "none"), and ISO 8601
 * durations "PnDTnHnMn.nS" ("PT0.016S" = 16 ms). The parsers return false
 * for text they cannot read: the caller keeps the field unknown.
 */
#ifndef CALLSCOPE_TIMEFMT_H
#define CALLSCOPE_TIMEFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef int64_t usec_t;

#define USEC_PER_SEC 1000000LL

/* ISO 8601 UTC with microseconds: 2026-01-15T10:00:00.000000Z (28 bytes). */
const char *timefmt_iso(usec_t t, char *buf, size_t buflen);
usec_t timefmt_now(void);
/* The instant ms milliseconds from now on clock clk (ms >= 0): a deadline
 * for pthread_cond_timedwait (CLOCK_REALTIME unless the condition's clock
 * was set, e.g. to CLOCK_MONOTONIC). */
struct timespec timefmt_deadline(clockid_t clk, long ms);

/* Microseconds since the epoch. False for bad text, years before 1970 and
 * the year-1 "none". */
bool timefmt_parse_iso(const char *s, usec_t *usec);
/* Milliseconds (fractional). Years and months are refused (not fixed lengths). */
bool timefmt_parse_duration(const char *s, double *ms);
/* A span as people type it: a whole number with s, m, h, d or w, or bare
 * seconds ("90s", "30m", "24h", "7d", "52w"); 1 s to 10 years. */
bool timefmt_parse_span(const char *s, int64_t *seconds);

#endif
