/* textwrap.h - word-wrapped help text for --help pages. */
#ifndef CALLSCOPE_TEXTWRAP_H
#define CALLSCOPE_TEXTWRAP_H

#include <stdio.h>

/* Writes text indented by indent columns, wrapped before width, then '\n'. */
void textwrap(FILE *to, const char *text, int indent, int width);

#endif
