/* fuzz_dlt.h - the link types a fuzz input's first byte chooses from: every
 * DLT decode_frame() supports, plus one it does not (the skip path). */
#ifndef CALLSCOPE_FUZZ_DLT_H
#define CALLSCOPE_FUZZ_DLT_H

#include <stdint.h>

/* Index (byte & 0x0F) modulo the count; the harnesses use bit 7 of the
 * same byte or per-record flags for other choices. */
int fuzz_dlt_pick(uint8_t b);

#endif
