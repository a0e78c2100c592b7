#include "graph_model.h"

#include <stdlib.h>

#define GRAPH_FIELD_ROW(e, b, p, c, t, pii) {b, p, c, t, pii},
static const graph_field_t record_fields[] = {GRAPH_RECORD_FIELDS(GRAPH_FIELD_ROW)};
static const graph_field_t session_fields[] = {GRAPH_SESSION_FIELDS(GRAPH_FIELD_ROW)};
static const graph_field_t segment_fields[] = {GRAPH_SEGMENT_FIELDS(GRAPH_FIELD_ROW)};
static const graph_field_t media_fields[] = {GRAPH_MEDIA_FIELDS(GRAPH_FIELD_ROW)};
static const graph_field_t stream_fields[] = {GRAPH_STREAM_FIELDS(GRAPH_FIELD_ROW)};
static const graph_field_t participant_fields[] = {GRAPH_PARTICIPANT_FIELDS(GRAPH_FIELD_ROW)};
#undef GRAPH_FIELD_ROW

#define NF(a) (sizeof a / sizeof a[0])
static const graph_kind_info_t kinds[GRAPH_NKINDS_ALL] = {
    {"record", "graph_record", "sessions", record_fields, NF(record_fields)},
    {"session", "graph_session", "segments", session_fields, NF(session_fields)},
    {"segment", "graph_segment", "media", segment_fields, NF(segment_fields)},
    {"media", "graph_media", "streams", media_fields, NF(media_fields)},
    {"stream", "graph_stream", NULL, stream_fields, NF(stream_fields)},
    {"participant", "graph_participant", NULL, participant_fields, NF(participant_fields)},
};

const graph_kind_info_t *graph_kind(graph_kind_t kind)
{
    return &kinds[kind];
}

bool graph_node_init(graph_node_t *n, graph_kind_t kind)
{
    n->kind = kind;
    n->kids = NULL;
    n->nkids = 0;
    n->parts = NULL;
    n->nparts = 0;
    n->v = calloc(kinds[kind].nfields, sizeof *n->v);
    return n->v != NULL;
}

void graph_node_clear(graph_node_t *n)
{
    if (n->v) {
        for (size_t i = 0; i < kinds[n->kind].nfields; i++)
            free(n->v[i].s);
        free(n->v);
        n->v = NULL;
    }
    for (size_t i = 0; i < n->nkids; i++)
        graph_node_clear(&n->kids[i]);
    free(n->kids);
    n->kids = NULL;
    n->nkids = 0;
    for (size_t i = 0; i < n->nparts; i++)
        graph_node_clear(&n->parts[i]);
    free(n->parts);
    n->parts = NULL;
    n->nparts = 0;
}

void graph_record_free(graph_record_t **rec)
{
    if (!rec || !*rec)
        return;
    graph_node_clear(*rec);
    free(*rec);
    *rec = NULL;
}

static const graph_val_t *val(const graph_node_t *n, int field)
{
    if (field < 0 || (size_t)field >= kinds[n->kind].nfields || !n->v[field].known)
        return NULL;
    return &n->v[field];
}

bool graph_node_str(const graph_node_t *n, int field, const char **s)
{
    const graph_val_t *v = val(n, field);
    if (!v || !v->s)
        return false;
    *s = v->s;
    return true;
}

bool graph_node_int(const graph_node_t *n, int field, int64_t *out)
{
    const graph_val_t *v = val(n, field);
    graph_type_t t = kinds[n->kind].fields[field].type;
    if (!v || !(t == GT_INT || t == GT_TIME || t == GT_BOOL || t == GT_SPEED))
        return false;
    *out = v->i;
    return true;
}

bool graph_node_real(const graph_node_t *n, int field, double *out)
{
    const graph_val_t *v = val(n, field);
    graph_type_t t = kinds[n->kind].fields[field].type;
    if (!v || !(t == GT_REAL || t == GT_DUR))
        return false;
    *out = v->d;
    return true;
}

static void count(const graph_node_t *n, size_t counts[GRAPH_NKINDS])
{
    counts[n->kind]++;
    for (size_t i = 0; i < n->nkids; i++)
        count(&n->kids[i], counts);
}

void graph_record_count(const graph_record_t *rec, size_t counts[GRAPH_NKINDS])
{
    for (int k = 0; k < GRAPH_NKINDS; k++)
        counts[k] = 0;
    count(rec, counts);
}
