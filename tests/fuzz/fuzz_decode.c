/* fuzz_decode - the L2-L4 decoder, decode_frame(), on one frame.
 *
 * Input: byte 0 picks the link type (fuzz_dlt.c; bit 7 set: the frame was
 * cut by the snap length, wirelen = caplen + 1000), the rest is the frame.
 * Checks that the borrowed views (l3, payload) stay inside the frame and
 * that the lengths agree with each other.
 */
#include <stddef.h>
#include <stdint.h>

#include "decode.h"
#include "fuzz_dlt.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int dlt = fuzz_dlt_pick(data[0]);
    const uint8_t *frame = data + 1;
    uint32_t caplen = (uint32_t)(size - 1);
    uint32_t wirelen = (data[0] & 0x80) ? caplen + 1000 : caplen;
    pkt_t pk;
    decode_reason_t r = decode_frame(dlt, frame, caplen, wirelen, 1768471200000000, &pk);
    fuzz_input_check((unsigned)r < DECODE_REASON_COUNT, "decode reason in range");
    (void)decode_reason_name(r);
    (void)decode_reason_is_malformed(r);
    fuzz_input_check(r == DECODE_SKIP_LINKTYPE || decode_linktype_supported(dlt),
                     "unsupported link type decoded");
    if (pk.l3)
        fuzz_input_check_view(frame, caplen, pk.l3, pk.l3_len, "l3 inside the frame");
    if (r != DECODE_OK)
        return 0;
    fuzz_input_check(pk.payload_len <= pk.payload_wire_len, "payload_len <= payload_wire_len");
    fuzz_input_check(pk.snap_truncated == (pk.payload_len < pk.payload_wire_len),
                     "snap_truncated flag");
    fuzz_input_check(pk.vlan_count <= DECODE_MAX_VLANS, "vlan count");
    if (pk.payload_len > 0)
        fuzz_input_check_view(frame, caplen, pk.payload, pk.payload_len,
                              "payload inside the frame");
    return 0;
}
