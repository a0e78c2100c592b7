/* rtp_clock.h - RTP clock rates without SDP.
 *
 * Static payload types use RFC 3551's table (G.722 runs an 8000 Hz RTP clock
 * though it samples at 16 kHz). Teams/Skype dynamic types have known
 * mappings (ARCHITECTURE.md). Anything else is inferred: timestamp advance
 * over arrival time across the first packets, snapped to 8k/16k/48k/90k.
 */
#ifndef CALLSCOPE_RTP_CLOCK_H
#define CALLSCOPE_RTP_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

/* RFC 3551 clock for a static payload type (0..95), 0 if none. */
uint32_t rtp_clock_static(uint8_t pt);
/* Teams/Skype mapping for a dynamic payload type, 0 if none. */
uint32_t rtp_clock_teams(uint8_t pt);
/* Codec name for display ("PCMU", "SILK", ...), or NULL. */
const char *rtp_codec_name(uint8_t pt, bool teams);
/* Snap a measured rate to the nearest of 8000/16000/48000/90000 (log
 * distance); 0 if it is not within a factor 1.25 of any. */
uint32_t rtp_clock_snap(double measured_hz);
/* True for comfort-noise payload types (13, and Teams' 118). */
bool rtp_pt_is_cn(uint8_t pt, bool teams);

#endif
