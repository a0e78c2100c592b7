#include "capture_fanout.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* Returns a hash of the client's address; the kernel takes it modulo the
 * number of sockets in the group. The program runs before the packet
 * socket sees the frame: the data starts at the network header and the
 * ethertype is the ancillary skb->protocol (VLAN tags already taken off by
 * the device, or the frame is not IP and goes to the first worker). Jump
 * offsets count from the next instruction (cBPF only jumps forward). */
static const struct sock_filter client_hash[] = {
    /*  0 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, SKF_AD_OFF + SKF_AD_PROTOCOL),
    /*  1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x0800, 0, 17), /* IPv4: 2, else 19 */
    /*  2 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 12),             /* source */
    /*  3 */ BPF_STMT(BPF_ST, 0),
    /*  4 */ BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xff000000),
    /*  5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x0a000000, 8, 0), /* 10/8: 14 */
    /*  6 */ BPF_STMT(BPF_LD | BPF_MEM, 0),
    /*  7 */ BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xfff00000),
    /*  8 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xac100000, 5, 0), /* 172.16/12: 14 */
    /*  9 */ BPF_STMT(BPF_LD | BPF_MEM, 0),
    /* 10 */ BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xffff0000),
    /* 11 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xc0a80000, 2, 0), /* 192.168/16: 14 */
    /* 12 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 16),                /* else the destination */
    /* 13 */ BPF_STMT(BPF_ST, 0),
    /* 14 */ BPF_STMT(BPF_LD | BPF_MEM, 0), /* the client address: mix its halves */
    /* 15 */ BPF_STMT(BPF_MISC | BPF_TAX, 0),
    /* 16 */ BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16),
    /* 17 */ BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
    /* 18 */ BPF_STMT(BPF_RET | BPF_A, 0),
    /* 19 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x86dd, 0, 4), /* IPv6: 20, else 24 */
    /* 20 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 36),            /* destination, low word */
    /* 21 */ BPF_STMT(BPF_MISC | BPF_TAX, 0),
    /* 22 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 20), /* source, low word */
    /* 23 */ BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
    /* 24 */ BPF_STMT(BPF_RET | BPF_A, 0), /* IPv6: the mix; not IP: A is the ethertype */
};

bool capture_fanout_join(int fd, unsigned group, char *err, size_t errlen)
{
    int arg = (int)((group & 0xffff) | ((unsigned)PACKET_FANOUT_CBPF << 16));
    if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) != 0) {
        snprintf(err, errlen, "cannot join capture fanout group %u: %s", group, strerror(errno));
        return false;
    }
    struct sock_fprog prog = {sizeof client_hash / sizeof client_hash[0],
                              (struct sock_filter *)client_hash};
    if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT_DATA, &prog, sizeof prog) != 0) {
        snprintf(err, errlen, "cannot set the fanout program: %s", strerror(errno));
        return false;
    }
    return true;
}
