/* fuzz_graph - the Graph call-record parser (graph_parse_text) on any
 * bytes: JSON or not, any shape. A record comes back or an error says why.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_input.h"
#include "graph_model.h"
#include "graph_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256] = "";
    graph_record_t *r = graph_parse_text((const char *)data, size, err, sizeof err);
    if (r)
        graph_record_free(&r);
    else
        fuzz_input_check(err[0] != '\0', "a refused record says why");
    return 0;
}
