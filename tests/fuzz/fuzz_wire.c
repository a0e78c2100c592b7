/* fuzz_wire - the collector's reading of what a probe sends: a message's
 * first frame (wire_parse), then, as a batch body, its lines and each
 * line's record check (wire_next_line, wire_record_check). The input is
 * split at the first NUL: header frame, then body frame.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_input.h"
#include "jscan.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t hl = nul ? (size_t)(nul - data) : size;
    const char *body = nul ? (const char *)nul + 1 : "";
    size_t bl = nul ? size - hl - 1 : 0;
    char err[256];
    wire_msg_t m;
    if (wire_parse((const char *)data, hl, &m, err, sizeof err)) {
        fuzz_input_check(m.root != NULL, "parsed message keeps its root");
        if (m.kind == WIRE_BATCH)
            fuzz_input_check(m.probe_id && m.site && m.seq >= 1 && m.records >= 0,
                             "batch header fields");
        wire_msg_clear(&m);
    } else {
        fuzz_input_check(err[0] != '\0', "a refusal says why");
    }
    size_t pos = 0, len;
    const char *line;
    while (wire_next_line(body, bl, &pos, &line, &len)) {
        fuzz_input_check(line >= body && line + len <= body + bl, "line inside the body");
        jscan_t js;
        const char *type;
        bool scanned = jscan_object(line, len, &js, err, sizeof err);
        json_error_t je;
        json_t *rec = json_loadb(line, len, JSON_DECODE_ANY, &je);
        /* jansson and jscan agree on what is JSON. jscan refuses more (escaped
         * or duplicate top-level keys, more than 128 members, nesting past
         * 32); jansson refuses numbers it cannot hold (RFC 8259 allows them). */
        bool number_limit = !rec && (strstr(je.text, "too big") || strstr(je.text, "overflow"));
        if (scanned && !number_limit)
            fuzz_input_check(rec != NULL, "jscan accepted what jansson refuses");
        json_decref(rec);
        for (size_t i = 0; scanned && i < js.n; i++) {
            const js_member_t *mb = &js.m[i];
            fuzz_input_check(mb->start >= line && mb->value + mb->value_len <= line + len,
                             "member inside the line");
            char buf[300];
            size_t sl;
            if (mb->type == JS_STRING && jscan_string(mb, buf, sizeof buf, &sl))
                fuzz_input_check(sl < sizeof buf, "unescaped length");
        }
        if (scanned && !wire_record_check(&js, &type, err, sizeof err))
            fuzz_input_check(err[0] != '\0', "a rejected record says why");
    }
    return 0;
}
