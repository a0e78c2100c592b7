/* graph_model.h - a call record as the collector holds it.
 *
 * A record is a tree of nodes, five kinds deep, exactly as Graph nests it:
 * record > sessions > segments > media > streams. Each node carries one
 * value per field of its kind (graph_fields.h); a value is either known or
 * unknown - missing, null, "" and documented sentinels (linkSpeed
 * 4294967295, the year-1 timestamp, an all-zero or privacy MAC) are all
 * unknown, never zero. Field indexes are the enums below (REC_ID,
 * SEG_CALLER_USER_ID, MED_CALLER_IP, STR_AVG_JITTER ...).
 *
 * Ownership: a graph_record_t owns its whole tree; graph_record_free()
 * releases it and NULLs the caller's pointer. Strings returned by the
 * accessors are borrowed from the node.
 */
#ifndef CALLSCOPE_GRAPH_MODEL_H
#define CALLSCOPE_GRAPH_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "graph_fields.h"

typedef enum {
    GT_STR,   /* text */
    GT_INT,   /* integer */
    GT_REAL,  /* number */
    GT_DUR,   /* ISO 8601 duration, kept as milliseconds (real) */
    GT_TIME,  /* ISO 8601 timestamp, kept as microseconds since the epoch */
    GT_BOOL,  /* true/false, kept as 1/0 */
    GT_JSON,  /* object or array, kept as compact JSON text */
    GT_IP,    /* IPv4/IPv6 address, kept in canonical text form */
    GT_MAC,   /* MAC address, kept as lower-case aa:bb:cc:dd:ee:ff */
    GT_SPEED, /* integer where 4294967295 means unknown */
} graph_type_t;

typedef enum { GP_NONE, GP_ENC, GP_LOOKUP } graph_privacy_t;

typedef struct {
    const char *base;
    const char *path;
    const char *column;
    graph_type_t type;
    graph_privacy_t pii;
} graph_field_t;

#define GRAPH_ENUM_ROW(e, b, p, c, t, pii) e,
enum graph_record_field { GRAPH_RECORD_FIELDS(GRAPH_ENUM_ROW) REC_NFIELDS };
enum graph_session_field { GRAPH_SESSION_FIELDS(GRAPH_ENUM_ROW) SES_NFIELDS };
enum graph_segment_field { GRAPH_SEGMENT_FIELDS(GRAPH_ENUM_ROW) SEG_NFIELDS };
enum graph_media_field { GRAPH_MEDIA_FIELDS(GRAPH_ENUM_ROW) MED_NFIELDS };
enum graph_stream_field { GRAPH_STREAM_FIELDS(GRAPH_ENUM_ROW) STR_NFIELDS };
enum graph_participant_field { GRAPH_PARTICIPANT_FIELDS(GRAPH_ENUM_ROW) PAR_NFIELDS };
#undef GRAPH_ENUM_ROW

typedef enum {
    GRAPH_RECORD,
    GRAPH_SESSION,
    GRAPH_SEGMENT,
    GRAPH_MEDIA,
    GRAPH_STREAM,
    GRAPH_PARTICIPANT, /* beside the tree: a record's participants (graph_node_t.parts) */
} graph_kind_t;
#define GRAPH_NKINDS 5     /* the tree, record to stream */
#define GRAPH_NKINDS_ALL 6 /* and the participants */

typedef struct {
    const char *name;     /* "segment" */
    const char *table;    /* "graph_segment" */
    const char *children; /* JSON member holding the child array ("media"), NULL for streams */
    const graph_field_t *fields;
    size_t nfields;
} graph_kind_info_t;

typedef struct {
    bool known;
    int64_t i; /* GT_INT, GT_TIME, GT_BOOL, GT_SPEED */
    double d;  /* GT_REAL, GT_DUR */
    char *s;   /* GT_STR, GT_JSON, GT_IP, GT_MAC (owned) */
} graph_val_t;

typedef struct graph_node {
    graph_kind_t kind;
    graph_val_t *v;          /* graph_kind(kind)->nfields values */
    struct graph_node *kids; /* next kind down; NULL for streams */
    size_t nkids;
    struct graph_node *parts; /* records only: participants_v2, else participants */
    size_t nparts;
} graph_node_t;

typedef graph_node_t graph_record_t;

const graph_kind_info_t *graph_kind(graph_kind_t kind);

/* Allocates a node's values (all unknown). False on memory exhaustion. */
bool graph_node_init(graph_node_t *n, graph_kind_t kind);
void graph_node_clear(graph_node_t *n);
void graph_record_free(graph_record_t **rec);

/* Accessors: false when the field is unknown (or of another type). */
bool graph_node_str(const graph_node_t *n, int field, const char **s);
bool graph_node_int(const graph_node_t *n, int field, int64_t *v);
bool graph_node_real(const graph_node_t *n, int field, double *v);

/* Counts nodes of each kind below and including rec (counts[GRAPH_NKINDS];
 * rec->nparts counts the participants). */
void graph_record_count(const graph_record_t *rec, size_t counts[GRAPH_NKINDS]);

#endif
