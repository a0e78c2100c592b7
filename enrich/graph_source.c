#include "graph_source.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "graph_parse.h"
#include "log.h"

/* A callRecord rather than a session, a token or an error body. */
static bool is_record(const json_t *o)
{
    static const char *const marks[] = {"version",   "sessions",        "organizer_v2",
                                        "organizer", "participants_v2", "participants"};
    if (!json_is_object(o) || !json_is_string(json_object_get(o, "id")) ||
        json_object_get(o, "segments") || json_object_get(o, "caller"))
        return false;
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++)
        if (json_object_get(o, marks[i]))
            return true;
    return false;
}

static bool put_one(graph_store_t *st, const json_t *o, const char *path, graph_source_stats_t *s)
{
    char err[300];
    graph_record_t *rec = graph_parse_record(o, err, sizeof err);
    if (!rec) {
        LOG_WARN("graph import: %s: %s", path, err);
        return false;
    }
    /* Sessions of an expanded record are complete unless a nextLink says
     * otherwise (of sessions, or of participants_v2: a file cannot follow
     * it); a bare list entry has none at all. */
    bool complete = json_object_get(o, "sessions") &&
                    !json_object_get(o, "sessions@odata.nextLink") &&
                    !json_object_get(o, "participants_v2@odata.nextLink");
    graph_put_t put = graph_store_put(st, rec, "file", complete, err, sizeof err);
    const char *id = "?";
    graph_node_str(rec, REC_ID, &id);
    if (put == GRAPH_PUT_ERROR) {
        LOG_ERROR("graph import: %s: %s", path, err);
    } else {
        static const char *const said[] = {"stored", "updated", "unchanged"};
        LOG_INFO("graph import: %s: record %s %s", path, id, said[put]);
        s->records++;
        s->inserted += put == GRAPH_PUT_INSERTED;
        s->updated += put == GRAPH_PUT_UPDATED;
        s->unchanged += put == GRAPH_PUT_UNCHANGED;
    }
    graph_record_free(&rec);
    return put != GRAPH_PUT_ERROR;
}

static int import_file(graph_store_t *st, const char *path, graph_source_stats_t *s)
{
    struct stat sb;
    s->files++;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > GRAPH_SOURCE_MAX_FILE) {
        LOG_ERROR("graph import: %s: not a readable file of at most %u bytes", path,
                  GRAPH_SOURCE_MAX_FILE);
        s->bad_files++;
        return -1;
    }
    json_error_t je;
    json_t *root = json_load_file(path, GRAPH_PARSE_JSON_FLAGS, &je);
    if (!root) {
        LOG_ERROR("graph import: %s: malformed or truncated JSON at line %d", path, je.line);
        s->bad_files++;
        return -1;
    }
    bool ok = true;
    size_t found = 0;
    /* A list page {"value": [...]}, or a bare array of records. */
    const json_t *value = json_is_array(root) ? root : json_object_get(root, "value");
    if (is_record(root)) {
        found = 1;
        ok = put_one(st, root, path, s);
    } else if (json_is_array(value)) {
        size_t i;
        const json_t *o;
        json_array_foreach(value, i, o)
        {
            if (is_record(o)) {
                found++;
                ok = put_one(st, o, path, s) && ok;
            }
        }
    }
    if (found == 0) {
        LOG_INFO("graph import: %s: no call record in it; skipped", path);
        s->not_records++;
    }
    json_decref(root);
    if (!ok)
        s->bad_files++;
    return ok ? 0 : -1;
}

static int json_name(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return n > 5 && strcmp(d->d_name + n - 5, ".json") == 0;
}

int graph_source_import(graph_store_t *st, const char *path, graph_source_stats_t *stats)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        LOG_ERROR("graph import: %s: %s", path, strerror(errno));
        stats->bad_files++;
        return -1;
    }
    if (!S_ISDIR(sb.st_mode))
        return import_file(st, path, stats);
    struct dirent **names = NULL;
    int n = scandir(path, &names, json_name, alphasort);
    if (n < 0) {
        LOG_ERROR("graph import: %s: %s", path, strerror(errno));
        stats->bad_files++;
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char full[4096];
        int len = snprintf(full, sizeof full, "%s/%s", path, names[i]->d_name);
        if (len > 0 && (size_t)len < sizeof full && import_file(st, full, stats) != 0)
            rc = -1;
        free(names[i]);
    }
    free(names);
    return rc;
}
