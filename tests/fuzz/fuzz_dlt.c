#include "fuzz_dlt.h"

/* Ethernet, cooked SLL / SLL2, raw IP (three spellings), IPv4, IPv6,
 * BSD loopback (NULL and LOOP), and DLT_USER0 (unsupported). Order matters:
 * make_corpus.py writes these indices. */
static const int dlts[] = {1, 113, 276, 12, 14, 101, 228, 229, 0, 108, 147};

int fuzz_dlt_pick(uint8_t b)
{
    return dlts[(b & 0x0Fu) % (sizeof dlts / sizeof dlts[0])];
}
