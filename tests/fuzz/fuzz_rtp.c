/* fuzz_rtp - the RTP (RFC 3550, RFC 8285 extensions) and RTCP header
 * parsers on one datagram: rtp_parse(), rtp_looks_like_rtcp(),
 * rtcp_parse(). Checks the lengths and counts they return.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_input.h"
#include "rtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rtp_hdr_t h;
    if (rtp_parse(data, size, &h)) {
        fuzz_input_check(h.header_len >= 12 && h.header_len <= size, "RTP header length");
        fuzz_input_check(h.header_len + (size_t)h.payload_len <= size,
                         "RTP header + payload <= datagram");
        fuzz_input_check(h.ext_count <= RTP_MAX_EXT_ELEMS, "RTP extension count");
        fuzz_input_check(h.payload_type < 128 && h.csrc_count < 16, "RTP header fields");
    }
    bool looks = rtp_looks_like_rtcp(data, size);
    rtcp_info_t info;
    bool ok = rtcp_parse(data, size, &info);
    fuzz_input_check(!ok || looks, "RTCP parsed without looking like RTCP");
    if (ok)
        fuzz_input_check(info.rb_count <= 4, "RTCP report blocks kept");
    return 0;
}
