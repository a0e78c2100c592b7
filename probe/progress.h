/* progress.h - the --progress line: what has been done, how fast, and on
 * files how much is left.
 *
 *   files: progress: 42.3 % of 1.20 GB read, about 1 min 5 s left; 123456
 *          packets (45000 pkt/s, 12.3 Mbit/s), 123400 decoded, 12 active
 *          flows, 30 streams reported
 *   live:  progress: 123456 packets (0 pkt/s, 0.0 Mbit/s), ... , 0 kernel
 *          drops
 *
 * Rates are over the wall time since the previous line, so an idle port
 * reads 0. The time left is the time so far scaled by the bytes still to
 * read (a steady rate over the whole run).
 */
#ifndef CALLSCOPE_PROGRESS_H
#define CALLSCOPE_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    double elapsed_s; /* wall time since the run began */
    double since_s;   /* wall time since the previous line */
    uint64_t packets, packets_since;
    uint64_t bytes_since; /* wire bytes */
    uint64_t decoded, streams;
    unsigned active_flows;
    bool files; /* read_bytes/total_bytes known */
    uint64_t read_bytes, total_bytes;
    bool live; /* kernel_drops known */
    uint64_t kernel_drops;
} progress_t;

/* The line, without the log prefix. */
void progress_format(const progress_t *p, char *buf, size_t len);
/* "1 h 2 min", "3 min 4 s", "5 s" */
void progress_duration(double s, char *buf, size_t len);

#endif
