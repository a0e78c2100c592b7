#include "export_spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define EXPORT_SPOOL_MAX_BATCH (64u << 20)

struct spool {
    char *dir;
    uint64_t max_bytes;
    bool fsync_each;
    export_spool_entry_t *e;
    size_t n, cap;
    export_spool_stats_t st;
};

static void entry_path(const export_spool_t *s, const export_spool_entry_t *e, char *buf,
                       size_t len)
{
    snprintf(buf, len, "%s/%020" PRId64 "-%020" PRId64 "-%c-%u.batch", s->dir, e->epoch, e->seq,
             e->interval ? 'i' : 'f', e->records);
}

static int cmp_entry(const void *a, const void *b)
{
    const export_spool_entry_t *x = a, *y = b;
    if (x->epoch != y->epoch)
        return x->epoch < y->epoch ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static bool reserve(export_spool_t *s)
{
    if (s->n < s->cap)
        return true;
    size_t cap = s->cap ? s->cap * 2 : 64;
    export_spool_entry_t *e = realloc(s->e, cap * sizeof *e);
    if (!e)
        return false;
    s->e = e;
    s->cap = cap;
    return true;
}

/* "EPOCH-SEQ-K-N.batch" -> entry; false for anything else. */
static bool parse_name(const char *name, export_spool_entry_t *e)
{
    char kind, tail[8];
    int64_t epoch, seq;
    unsigned recs;
    if (sscanf(name, "%20" SCNd64 "-%20" SCNd64 "-%c-%u.%7s", &epoch, &seq, &kind, &recs, tail) !=
            5 ||
        strcmp(tail, "batch") != 0 || (kind != 'i' && kind != 'f') || epoch < 0 || seq < 1)
        return false;
    memset(e, 0, sizeof *e);
    e->epoch = epoch;
    e->seq = seq;
    e->interval = kind == 'i';
    e->records = recs;
    return true;
}

static void recover(export_spool_t *s, DIR *d)
{
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", s->dir, de->d_name);
        size_t nl = strlen(de->d_name);
        if (nl > 4 && strcmp(de->d_name + nl - 4, ".tmp") == 0) {
            unlink(path); /* a write cut short by a crash */
            continue;
        }
        export_spool_entry_t e;
        struct stat st;
        if (!parse_name(de->d_name, &e) || stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
            !reserve(s))
            continue;
        e.bytes = (size_t)st.st_size;
        s->e[s->n++] = e;
        s->st.bytes += e.bytes;
    }
    if (s->n > 1)
        qsort(s->e, s->n, sizeof *s->e, cmp_entry);
    s->st.batches = s->n;
    s->st.recovered_batches = s->n;
}

export_spool_t *export_spool_open(const char *dir, uint64_t max_bytes, bool fsync_each, char *err,
                                  size_t errlen)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create spool directory %s: %s", dir, strerror(errno));
        return NULL;
    }
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "cannot read spool directory %s: %s", dir, strerror(errno));
        return NULL;
    }
    export_spool_t *s = calloc(1, sizeof *s);
    if (!s || !(s->dir = strdup(dir))) {
        free(s);
        closedir(d);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->max_bytes = max_bytes;
    s->fsync_each = fsync_each;
    recover(s, d);
    closedir(d);
    if (access(dir, W_OK) != 0) {
        snprintf(err, errlen, "spool directory %s is not writable: %s", dir, strerror(errno));
        export_spool_free(&s);
    }
    return s;
}

void export_spool_free(export_spool_t **ps)
{
    if (!ps || !*ps)
        return;
    free((*ps)->e);
    free((*ps)->dir);
    free(*ps);
    *ps = NULL;
}

static void drop_at(export_spool_t *s, size_t i, bool evicted)
{
    char path[4096];
    entry_path(s, &s->e[i], path, sizeof path);
    unlink(path);
    if (evicted) {
        s->st.evicted_batches++;
        if (s->e[i].interval)
            s->st.evicted_interval += s->e[i].records;
        else
            s->st.evicted_final += s->e[i].records;
    }
    s->st.bytes -= s->e[i].bytes;
    memmove(&s->e[i], &s->e[i + 1], (s->n - i - 1) * sizeof *s->e);
    s->n--;
    s->st.batches = s->n;
}

/* Room for len more bytes: oldest interval batches first, then the oldest. */
static void make_room(export_spool_t *s, size_t len)
{
    size_t i = 0;
    while (s->st.bytes + len > s->max_bytes && i < s->n) {
        if (s->e[i].interval)
            drop_at(s, i, true);
        else
            i++;
    }
    while (s->st.bytes + len > s->max_bytes && s->n > 0)
        drop_at(s, 0, true);
}

static bool write_file(const export_spool_t *s, const export_spool_entry_t *e, const char *data,
                       size_t len, char *err, size_t errlen)
{
    char path[4096], tmp[4200];
    entry_path(s, e, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "spool %s: %s", tmp, strerror(errno));
        return false;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w <= 0) {
            snprintf(err, errlen, "spool %s: %s", tmp, w < 0 ? strerror(errno) : "short write");
            close(fd);
            unlink(tmp);
            return false;
        }
        off += (size_t)w;
    }
    if ((s->fsync_each && fdatasync(fd) != 0) || close(fd) != 0 || rename(tmp, path) != 0) {
        snprintf(err, errlen, "spool %s: %s", path, strerror(errno));
        unlink(tmp);
        return false;
    }
    return true;
}

bool export_spool_put(export_spool_t *s, int64_t epoch, int64_t seq, bool interval,
                      unsigned records, const char *data, size_t len, char *err, size_t errlen)
{
    export_spool_entry_t e = {
        .epoch = epoch, .seq = seq, .bytes = len, .records = records, .interval = interval};
    bool ok = len <= s->max_bytes && len <= EXPORT_SPOOL_MAX_BATCH && reserve(s);
    if (!ok)
        snprintf(err, errlen, "batch of %zu bytes does not fit the spool (max %" PRIu64 ")", len,
                 s->max_bytes);
    if (ok) {
        make_room(s, len);
        ok = write_file(s, &e, data, len, err, errlen);
    }
    if (!ok) {
        s->st.write_failures++;
        s->st.write_failed_records += records;
        return false;
    }
    s->e[s->n++] = e; /* epochs and seqs only grow within a run */
    s->st.bytes += len;
    s->st.batches = s->n;
    return true;
}

char *export_spool_read(export_spool_t *s, const export_spool_entry_t *e, size_t *len)
{
    char path[4096];
    entry_path(s, e, path, sizeof path);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    char *buf = malloc(e->bytes + 1);
    size_t got = buf ? fread(buf, 1, e->bytes, fp) : 0;
    fclose(fp);
    if (!buf || got != e->bytes) {
        free(buf);
        return NULL;
    }
    buf[got] = '\0';
    *len = got;
    return buf;
}

bool export_spool_remove(export_spool_t *s, int64_t epoch, int64_t seq)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->e[i].epoch == epoch && s->e[i].seq == seq) {
            drop_at(s, i, false);
            return true;
        }
    }
    return false;
}

size_t export_spool_count(const export_spool_t *s)
{
    return s->n;
}

export_spool_entry_t *export_spool_at(export_spool_t *s, size_t i)
{
    return i < s->n ? &s->e[i] : NULL;
}

const export_spool_stats_t *export_spool_stats(const export_spool_t *s)
{
    return &s->st;
}
