/* capture_fanout.h - several capture workers on one interface (Linux
 * PACKET_FANOUT). Each worker's packet socket joins one fanout group; the
 * kernel hands each packet to one socket, chosen by a classic BPF program
 * (PACKET_FANOUT_CBPF) from the client's address: for IPv4 the private
 * (RFC 1918) end of the packet, so all of a client's flows, in both
 * directions and to every server, reach the same worker and its own nDPI
 * module, flow table and client table; for IPv6 the two addresses' low
 * words combined (both directions of a flow agree). Other frames go to the
 * first worker.
 */
#ifndef CALLSCOPE_FANOUT_H
#define CALLSCOPE_FANOUT_H

#include <stdbool.h>
#include <stddef.h>

/* Joins the packet socket fd (Ethernet link type) to fanout group id. */
bool capture_fanout_join(int fd, unsigned group, char *err, size_t errlen);

#endif
