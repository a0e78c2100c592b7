#include "noc_dashboard.h"

#include <string.h>

/* Generated at build time (noc_dashboard_assets.c). */
extern const noc_dashboard_asset_t noc_dashboard_assets[];
extern const size_t noc_dashboard_nassets;

const noc_dashboard_asset_t *noc_dashboard_find(const char *path)
{
    if (strcmp(path, "/") == 0 || strcmp(path, "/dashboard") == 0)
        path = "/index.html";
    for (size_t i = 0; i < noc_dashboard_nassets; i++)
        if (strcmp(path, noc_dashboard_assets[i].path) == 0)
            return &noc_dashboard_assets[i];
    return NULL;
}
