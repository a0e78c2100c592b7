/* noc_dashboard.h - the dashboard's static files (collector/dashboard/),
 * compiled into the binary by collector/dashboard/embed.cmake. They hold
 * no data: the page's script asks the JSON API, with the bearer token the
 * user gives it (kept in the tab's sessionStorage). */
#ifndef CALLSCOPE_NOC_DASHBOARD_H
#define CALLSCOPE_NOC_DASHBOARD_H

#include <stddef.h>

typedef struct {
    const char *path; /* "/", "/app.js", ... */
    const char *mime;
    const unsigned char *data;
    size_t len;
} noc_dashboard_asset_t;

/* The file served at path, or NULL. */
const noc_dashboard_asset_t *noc_dashboard_find(const char *path);

#endif
