/* noc_audit.c - the access log of personal data (noc_audit.h). */
#include "noc_audit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "timefmt.h"

struct noc_audit {
    char *path;
    pthread_mutex_t lock; /* one line at a time, and the counters */
    uint64_t written, failed;
};

static int open_log(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
}

noc_audit_t *noc_audit_new(const char *path, char *err, size_t errlen)
{
    int fd = open_log(path);
    if (fd < 0) {
        snprintf(err, errlen, "audit log %s: %s (--audit-log names another file)", path,
                 strerror(errno));
        return NULL;
    }
    close(fd);
    noc_audit_t *a = calloc(1, sizeof *a);
    if (a)
        a->path = strdup(path);
    if (!a || !a->path || pthread_mutex_init(&a->lock, NULL) != 0) {
        snprintf(err, errlen, "out of memory");
        if (a)
            free(a->path);
        free(a);
        return NULL;
    }
    return a;
}

static json_t *call_ids(const noc_audit_entry_t *e, size_t *total)
{
    json_t *arr = json_array();
    *total = 0;
    if (e->path_call_id && *e->path_call_id) {
        json_array_append_new(arr, json_string(e->path_call_id));
        *total = 1;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)e->call_ids, k, v)
    {
        if (e->path_call_id && strcmp(k, e->path_call_id) == 0)
            continue;
        if (json_array_size(arr) < NOC_AUDIT_MAX_CALL_IDS)
            json_array_append_new(arr, json_string(k));
        (*total)++;
    }
    return arr;
}

static char *line_of(const noc_audit_entry_t *e)
{
    char t[40], ep[NOC_AUDIT_MAX_ENDPOINT + 4];
    size_t n = strlen(e->endpoint);
    snprintf(ep, sizeof ep, "%.*s%s",
             (int)(n > NOC_AUDIT_MAX_ENDPOINT ? NOC_AUDIT_MAX_ENDPOINT : n), e->endpoint,
             n > NOC_AUDIT_MAX_ENDPOINT ? "..." : "");
    size_t total = 0;
    json_t *fields = json_array();
    for (size_t i = 0; i < e->nfields; i++)
        json_array_append_new(fields, json_string(e->fields[i]));
    json_t *ids = call_ids(e, &total);
    json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:o, s:I, s:o, s:I}", "time",
                            timefmt_iso(e->time_us, t, sizeof t), "token", e->token, "role",
                            e->role, "endpoint", ep, "call_ids", ids, "call_ids_total",
                            (json_int_t)total, "fields", fields, "values", (json_int_t)e->values);
    char *s = rec ? json_dumps(rec, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(rec);
    return s;
}

/* false with errno set */
static bool append(const char *path, const char *s)
{
    int fd = open_log(path);
    if (fd < 0)
        return false;
    size_t n = strlen(s);
    /* one write(2), so concurrent writers (run and serve) never interleave */
    char *line = malloc(n + 1);
    bool ok = line != NULL;
    if (ok) {
        memcpy(line, s, n);
        line[n] = '\n';
        ok = write(fd, line, n + 1) == (ssize_t)(n + 1) && fdatasync(fd) == 0;
    }
    int saved = errno;
    free(line);
    close(fd);
    errno = saved;
    return ok;
}

bool noc_audit_write(noc_audit_t *a, const noc_audit_entry_t *e)
{
    char *s = line_of(e);
    pthread_mutex_lock(&a->lock);
    bool ok = s && append(a->path, s);
    int why = s ? errno : ENOMEM;
    if (ok)
        a->written++;
    else
        a->failed++;
    pthread_mutex_unlock(&a->lock);
    free(s);
    if (!ok)
        LOG_ERROR("noc: audit log %s: a record could not be written: %s", a->path, strerror(why));
    return ok;
}

void noc_audit_counts(noc_audit_t *a, uint64_t *written, uint64_t *failed)
{
    pthread_mutex_lock(&a->lock);
    *written = a->written;
    *failed = a->failed;
    pthread_mutex_unlock(&a->lock);
}

void noc_audit_free(noc_audit_t **pa)
{
    if (!pa || !*pa)
        return;
    pthread_mutex_destroy(&(*pa)->lock);
    free((*pa)->path);
    free(*pa);
    *pa = NULL;
}

/* ---- reading back ---------------------------------------------------------------- */

static bool record_ok(const json_t *r, int64_t *t)
{
    const char *time = json_string_value(json_object_get(r, "time"));
    return json_is_object(r) && time && timefmt_parse_iso(time, t) &&
           json_is_string(json_object_get(r, "token")) &&
           json_is_string(json_object_get(r, "endpoint")) &&
           json_is_array(json_object_get(r, "call_ids")) &&
           json_is_array(json_object_get(r, "fields"));
}

/* One line into buf (NUL-terminated, without its newline); a line longer
 * than the buffer is read to its end and reported as too long. */
static int read_line(FILE *f, char *buf, size_t cap, size_t *len)
{
    if (!fgets(buf, (int)cap, f))
        return -1;
    *len = strlen(buf);
    if (*len > 0 && buf[*len - 1] == '\n') {
        buf[--*len] = '\0';
        return 1;
    }
    if (feof(f))
        return 1;
    int c;
    while ((c = fgetc(f)) != EOF && c != '\n')
        ;
    return 0;
}

bool noc_audit_read(FILE *f, int64_t since_us, noc_audit_each_fn fn, void *ctx, size_t *bad,
                    char *err, size_t errlen)
{
    char *line = malloc(NOC_AUDIT_MAX_LINE + 2);
    bool ok = line != NULL;
    int got;
    size_t n = 0;
    *bad = 0;
    while (ok && (got = read_line(f, line, NOC_AUDIT_MAX_LINE + 2, &n)) >= 0) {
        int64_t t = 0;
        json_t *r = got == 1 ? json_loadb(line, n, 0, NULL) : NULL;
        if (!record_ok(r, &t))
            (*bad)++;
        else if (t >= since_us)
            ok = fn(ctx, r);
        json_decref(r);
    }
    if (!line)
        snprintf(err, errlen, "out of memory");
    else if (ok && ferror(f))
        snprintf(err, errlen, "read error: %s", strerror(errno));
    else if (!ok)
        snprintf(err, errlen, "output failed");
    ok = ok && !ferror(f);
    free(line);
    return ok;
}
