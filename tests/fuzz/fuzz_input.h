/* fuzz_input.h - what the harnesses share: cutting one fuzz input into
 * records, and checks that make ASan look at what a parser returned.
 *
 * Multi-record layout (fuzz_tcp_frame, fuzz_probe), after the harness's own
 * leading bytes, repeated to the end of the input:
 *
 *   u16be  head   low 12 bits: record length (0..4095); high 4: flags
 *   u16be  tag    harness-defined (time or sequence delta, signed)
 *   bytes  data   `length` bytes, or fewer when the input ends first
 *
 * The record is taken even when the input ends early, so a mutation that
 * cuts the input still feeds something. tests/fuzz/make_corpus.py writes
 * seeds in this layout.
 */
#ifndef CALLSCOPE_FUZZ_INPUT_H
#define CALLSCOPE_FUZZ_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cursor.h"

#define FUZZ_REC_LEN_MASK 0x0FFFu

typedef struct {
    uint8_t flags; /* the head's top 4 bits */
    int16_t tag;
    const uint8_t *data; /* borrowed from the input */
    size_t len;
} fuzz_rec_t;

/* Next record; false at the end of the input. */
bool fuzz_input_next(cur_t *c, fuzz_rec_t *r);

/* Reads every byte of [p, p+n) so ASan checks that a returned view is inside
 * its buffer; returns a value only to keep the reads. */
uint8_t fuzz_input_touch(const uint8_t *p, size_t n);

/* [p, p+n) lies within [base, base+len): aborts (a harness finding) if not. */
void fuzz_input_check_view(const uint8_t *base, size_t len, const uint8_t *p, size_t n,
                           const char *what);

/* Aborts with a message when an invariant of a parser's output is broken. */
void fuzz_input_check(bool ok, const char *what);

#endif
