/* graph_time.h - the two time formats Microsoft Graph uses.
 *
 * Timestamps are ISO 8601 UTC with 0-7 fractional digits
 * ("2020-02-25T18:52:21.2169889Z"); "0001-01-01T00:00:00Z" means "none".
 * Durations are ISO 8601 "PnDTnHnMn.nS" ("PT0.016S" = 16 ms).
 * Both parsers return false for text they cannot read: the caller keeps the
 * field unknown.
 */
#ifndef CALLSCOPE_GRAPH_TIME_H
#define CALLSCOPE_GRAPH_TIME_H

#include <stdbool.h>
#include <stdint.h>

/* Microseconds since the epoch. False for bad text and for the year-1 "none". */
bool graph_time_parse(const char *s, int64_t *usec);
/* Milliseconds (fractional). Years and months are refused (not fixed lengths). */
bool graph_duration_parse(const char *s, double *ms);

#endif
