/* timefmt.h - timestamps as microseconds since the epoch, and their text. */
#ifndef CALLSCOPE_TIMEFMT_H
#define CALLSCOPE_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

typedef int64_t usec_t;

#define USEC_PER_SEC 1000000LL

/* ISO 8601 UTC with microseconds: 2026-01-15T10:00:00.000000Z (28 bytes). */
const char *timefmt_iso(usec_t t, char *buf, size_t buflen);
usec_t timefmt_now(void);

#endif
