#include "textwrap.h"

#include <string.h>

void textwrap(FILE *to, const char *text, int indent, int width)
{
    int col = indent;
    const char *p = text;
    fprintf(to, "%*s", indent, "");
    while (*p) {
        size_t w = strcspn(p, " ");
        if (col + (int)w > width && col > indent) {
            fprintf(to, "\n%*s", indent, "");
            col = indent;
        }
        fprintf(to, "%.*s", (int)w, p);
        col += (int)w;
        p += w;
        if (*p == ' ') {
            fputc(' ', to);
            col++;
            p++;
        }
    }
    fputc('\n', to);
}
