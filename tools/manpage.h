/* manpage.h - a program's --help text, as opttab_help() and textwrap()
 * lay it out, turned into a manual page's roff (man(7)). The options of a
 * page are the rows --help prints from the option tables, so the page and
 * --help cannot say different things: the page is made from --help at
 * build time (tools/callscope_man.c).
 *
 * What the converter recognises, all of it made by the help functions:
 *   "Usage: PROG ..." (continued by deeper-indented lines)  -> synopsis
 *   a line alone, all capitals ("OPTIONS", "EXIT STATUS", "THRESHOLDS
 *   (...)"), or "Options:" / "Examples:" ending in a colon   -> a heading
 *   "Exit status: 0 x; 1 y; 2 z." and a heading EXIT STATUS  -> a list
 *   a term line (indent 2-4, "-x, --name ARG", "name (default X)") whose
 *   text follows indented 8                                   -> .TP rows
 *   "  name   summary" lines under "Commands:"                -> .TP rows
 *   lines under a heading EXAMPLE(S), or with ragged indents  -> no-fill
 *   anything else: a paragraph, its lines joined.
 */
#ifndef CALLSCOPE_MANPAGE_H
#define CALLSCOPE_MANPAGE_H

#include <stdbool.h>
#include <stdio.h>

/* One piece of a parsed --help. */
typedef enum {
    MP_HEADING,  /* text: the heading as printed ("Options", "EXIT STATUS") */
    MP_SYNOPSIS, /* text: one usage line */
    MP_PARA,     /* text: a paragraph */
    MP_ROW,      /* term, text: an option or a named item */
    MP_PRE,      /* text: lines kept as they are ('\n' between) */
    MP_STATUS    /* term: the code ("0"), text: what it means */
} manpage_kind_t;

typedef struct {
    manpage_kind_t kind;
    char *term; /* MP_ROW, MP_STATUS; else NULL */
    char *text;
} manpage_item_t;

typedef struct {
    manpage_item_t *items;
    size_t n, cap;
} manpage_doc_t;

/* Parses help text; false only when out of memory. Free with
 * manpage_doc_free(). */
bool manpage_parse(const char *help, manpage_doc_t *doc);
void manpage_doc_free(manpage_doc_t *doc);

/* Text for roff: backslashes, hyphens (\- so options copy as typed) and a
 * leading '.' or '\'' escaped. */
void manpage_escape(FILE *to, const char *text);

/* The items [from, end) as roff. top: the caller writes the sections
 * (.SH) and a heading among the items becomes one too; else the items are
 * inside a subsection (.SS), and a heading becomes a paragraph's italic
 * lead ("Options:"). prog, cmd: a synopsis line that begins with cmd
 * alone (graph-poll's) gets "prog " before it (both may be NULL). */
void manpage_render(FILE *to, const manpage_doc_t *doc, size_t from, size_t end, bool top,
                    const char *prog, const char *cmd);

/* The items under a heading, the heading itself not included: [*from,
 * *end) of doc; false when there is none. Headings are kept in one
 * spelling: upper case, no colon, no parenthesis, EXAMPLE as EXAMPLES;
 * the text after "Usage:" is SYNOPSIS, what follows it DESCRIPTION. */
bool manpage_section(const manpage_doc_t *doc, const char *name, size_t *from, size_t *end);

#endif
