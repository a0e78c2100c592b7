/* noc_people.h - who was in a call, and where: the people side of the NOC
 * outputs (docs/noc.md "People and meetings"), shared by the JSON API and
 * `report`.
 *
 * A verdict participant is named by the hash correlation merged it on
 * (docs/verdicts.md): "ip-" + 24 hex digits of a Graph side's address
 * hash (graph_media.<side>_ip_hmac), else "user-" + 24 hex digits of its
 * segment's user id hash. The same ids are computed here over the call's
 * Graph record (graph_record_id), so each participant gets the fields of
 * its sides: identity, user agent and feedback from the segment (the
 * session's when the segment has none), network and device from the
 * media. Sealed values are opened with the organisation key for the
 * answer only; nothing is logged or written.
 *
 * JSON keys (a contract: the viewer role's response filter pseudonymises
 * the personal ones by these names):
 *   participant  display_name guest_name phone upn user_id host
 *                capture_device render_device client_mac feedback_text
 *                (personal), platform product version connection_type
 *                wifi_band wifi_channel wifi_signal bssid subnet rating
 *                rated_poor (not personal); "building": the CQD building
 *                object (building_map_json) or null.
 *   call         organizer_name organizer_upn organizer_id join_url
 *                (personal), thread_id type modalities duration_s.
 * A value Graph did not give is null, never 0 or "".
 */
#ifndef CALLSCOPE_NOC_PEOPLE_H
#define CALLSCOPE_NOC_PEOPLE_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "building_map.h"
#include "db.h"
#include "pii.h"

/* Sets the call fields on call and the participant fields on each object
 * of parts (matched by its "participant" id) from the Graph record
 * record_id (NULL or not stored: every field null; duration_s then from
 * the call's "start"/"end"). Each participant's building comes from its
 * "client_ip" when parts carry it opened, else from its Graph subnet; bm
 * NULL: no building. false with err on a database error. */
bool noc_people_add(db_t *db, const pii_t *pii, const building_map_t *bm, const char *record_id,
                    json_t *call, json_t *parts, char *err, size_t errlen);

/* Does the store have the Graph tables with the person lookup columns
 * (graph migration 2)? A store without them (probe data only, or not yet
 * opened by a collector of this version) has no people: their fields are
 * null and a search by person or rating finds nothing. */
bool noc_people_ready(db_t *db);

/* The meeting's thread id from a Teams join URL ("https://teams.microsoft.
 * com/l/meetup-join/19%3ameeting_X%40thread.v2/0?context=..." ->
 * "19:meeting_X@thread.v2"); false when the URL has none. */
bool noc_people_thread_id(const char *join_url, char *out, size_t cap);

/* Search by person: the three lookup hashes of what a user typed (a UPN or
 * e-mail, an Entra object id, a full display name), any case. The text is
 * not kept. false when it is none of them (empty after normalising). */
typedef struct {
    uint8_t upn[PII_HASH_LEN], id[PII_HASH_LEN], name[PII_HASH_LEN];
} noc_people_user_t;
bool noc_people_user(const pii_t *pii, const char *text, noc_people_user_t *out);

/* SQL: the Graph record ids with a participant (session or segment, either
 * side) whose UPN hash is ?U, object id hash ?I or display or guest name
 * key ?N; every term is an indexed equality (graph migration 2). The
 * numbers are the caller's, e.g. NOC_PEOPLE_USER_RECORDS("20","21","22"). */
#define NOC_PEOPLE_SIDE_(T, S, U, I, N)                                                            \
    "SELECT record_id FROM " T " WHERE " S "_user_upn_hmac = ?" U                                  \
    " UNION SELECT record_id FROM " T " WHERE " S "_user_id_hmac = ?" I                            \
    " UNION SELECT record_id FROM " T " WHERE " S "_user_name_key_hmac = ?" N                      \
    " UNION SELECT record_id FROM " T " WHERE " S "_guest_name_key_hmac = ?" N
#define NOC_PEOPLE_USER_RECORDS(U, I, N)                                                           \
    NOC_PEOPLE_SIDE_("graph_segment", "caller", U, I, N)                                           \
    " UNION " NOC_PEOPLE_SIDE_("graph_segment", "callee", U, I, N) " UNION " NOC_PEOPLE_SIDE_(     \
        "graph_session", "caller", U, I, N) " UNION " NOC_PEOPLE_SIDE_("graph_session", "callee",  \
                                                                       U, I, N)

/* The whole search by person: NOC_PEOPLE_USER_RECORDS(U, I, N), and also
 * the records whose organiser (graph_record.organizer_upn/id/name key) is
 * the person, and those listing them only in participants_v2
 * (graph_participant: user UPN, object id, display or guest name key;
 * large meetings), where the store has those tables. Every term is an
 * indexed equality on a lookup hash (graph migrations 2 and 3,
 * graph_participant 2); nothing is opened. U, I, N: parameter numbers as
 * text. false when out is too small. Both backends (which tables and
 * columns exist: SQLite's table_info, PostgreSQL's information_schema). */
bool noc_people_user_sql(db_t *db, const char *u, const char *i, const char *n, char *out,
                         size_t len);

/* Ratings: "poor" = 1-2 stars (Graph's userFeedback.rating bad or poor, or
 * a number 1 or 2), "fair" = 3, "good" = 4-5 (good, excellent). The SQL
 * list for a rating word, or NULL for another word. */
const char *noc_people_rating_list(const char *rating);
/* SQL: the Graph record ids where a participant's rating is in LIST (from
 * noc_people_rating_list; indexed, graph migration 2). */
#define NOC_PEOPLE_RATED_RECORDS(LIST)                                                             \
    "SELECT record_id FROM graph_segment WHERE caller_rating IN " LIST                             \
    " UNION SELECT record_id FROM graph_segment WHERE callee_rating IN " LIST                      \
    " UNION SELECT record_id FROM graph_session WHERE caller_rating IN " LIST                      \
    " UNION SELECT record_id FROM graph_session WHERE callee_rating IN " LIST

/* Filter by building, on SQLite only (no SQL function is registered on
 * PostgreSQL: the call list looks its participants up in C there,
 * noc_api.c): registers the SQL function noc_building(enc, subnet)
 * on db for this request: the name of the building holding the opened
 * verdict_participants address enc, else the Graph subnet's network, else
 * NULL; noc_building(enc, subnet, 'region') gives that building's region
 * (NULL when it has none). ctx must outlive the statements; unregister
 * before it goes. */
typedef struct {
    const pii_t *pii;
    const building_map_t *bm;
} noc_people_building_ctx_t;
bool noc_people_building_fn(sqlite3 *db, noc_people_building_ctx_t *ctx);
void noc_people_building_fn_drop(sqlite3 *db);

#endif
