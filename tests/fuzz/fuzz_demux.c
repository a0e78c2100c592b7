/* fuzz_demux - media demultiplexing, demux_datagram(), on one UDP payload
 * (or one TCP frame): STUN, TURN ChannelData, Send/Data indications
 * (nested), then the RTP or RTCP parser on what was unwrapped, as the
 * probe does. Checks that the unwrapped view stays inside the datagram.
 */
#include <stddef.h>
#include <stdint.h>

#include "demux.h"
#include "fuzz_input.h"
#include "rtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    demux_result_t d;
    demux_datagram(data, size, &d);
    fuzz_input_check((unsigned)d.kind < DEMUX_KIND_COUNT, "demux kind in range");
    fuzz_input_check((unsigned)d.encap < ENCAP_COUNT, "demux encap in range");
    (void)demux_kind_name(d.kind);
    (void)demux_encap_name(d.encap);
    if (d.inner_len > 0)
        fuzz_input_check_view(data, size, d.inner, d.inner_len, "inner inside the datagram");
    if (d.kind == DEMUX_RTP) {
        rtp_hdr_t h;
        if (rtp_parse(d.inner, d.inner_len, &h))
            fuzz_input_check(h.header_len + (size_t)h.payload_len <= d.inner_len,
                             "RTP header + payload <= inner");
    } else if (d.kind == DEMUX_RTCP) {
        rtcp_info_t info;
        (void)rtcp_parse(d.inner, d.inner_len, &info);
    }
    return 0;
}
