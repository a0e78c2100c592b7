/* noc_webhook.h - one JSON POST with libcurl, bounded in time and size. */
#ifndef CALLSCOPE_NOC_WEBHOOK_H
#define CALLSCOPE_NOC_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>

/* POSTs body (application/json) to url. true on a 2xx answer; otherwise
 * err says why (no URL or body text in it: either may carry secrets). */
bool noc_webhook_post(const char *url, const char *body, unsigned timeout_ms, char *err,
                      size_t errlen);

#endif
