#include "manpage.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ---- parsing -------------------------------------------------------------- */

typedef struct {
    char **line;
    size_t n;
} lines_t;

static size_t indent(const char *s)
{
    return strspn(s, " ");
}

static bool blank(const char *s)
{
    return s[indent(s)] == '\0';
}

/* The text split into lines without their trailing blanks. */
static bool split(const char *text, lines_t *l)
{
    size_t cap = 1;
    for (const char *p = text; *p; p++)
        cap += *p == '\n';
    l->line = calloc(cap, sizeof *l->line);
    l->n = 0;
    if (!l->line)
        return false;
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r'))
            len--;
        l->line[l->n] = strndup(p, len);
        if (!l->line[l->n])
            return false;
        l->n++;
        p += (nl ? (size_t)(nl - p) + 1 : strlen(p));
    }
    return true;
}

static void lines_free(lines_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->line[i]);
    free(l->line);
}

static bool add(manpage_doc_t *d, manpage_kind_t kind, const char *term, size_t tlen,
                const char *text, size_t len)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 32;
        manpage_item_t *grown = realloc(d->items, cap * sizeof *grown);
        if (!grown)
            return false;
        d->items = grown;
        d->cap = cap;
    }
    manpage_item_t *it = &d->items[d->n];
    it->kind = kind;
    it->term = term ? strndup(term, tlen) : NULL;
    it->text = strndup(text, len);
    if (!it->text || (term && !it->term)) {
        free(it->term);
        free(it->text);
        return false;
    }
    d->n++;
    return true;
}

static bool add_text(manpage_doc_t *d, manpage_kind_t kind, const char *text)
{
    return add(d, kind, NULL, 0, text, strlen(text));
}

/* Appends " more" (trimmed) to the last item's text. */
static bool join_last(manpage_doc_t *d, const char *more)
{
    manpage_item_t *it = &d->items[d->n - 1];
    more += indent(more);
    size_t a = strlen(it->text), b = strlen(more);
    char *s = realloc(it->text, a + b + 2);
    if (!s)
        return false;
    s[a] = ' ';
    memcpy(s + a + 1, more, b + 1);
    it->text = s;
    return true;
}

/* "Options:", "EXIT STATUS", "THRESHOLDS (...)": the heading in its one
 * spelling into name, the parenthesis (if any) into *note. */
static bool heading(const char *s, char *name, size_t len, const char **note)
{
    *note = NULL;
    if (indent(s) != 0 || !isupper((unsigned char)s[0]))
        return false;
    size_t n = strlen(s), words = 1, upper = 0;
    const char *paren = strstr(s, " (");
    size_t end = paren ? (size_t)(paren - s) : n;
    bool caps = true;
    for (size_t i = 0; i < end; i++) {
        words += s[i] == ' ';
        upper += isupper((unsigned char)s[i]) != 0;
        caps = caps && (isupper((unsigned char)s[i]) || s[i] == ' ');
    }
    bool colon = !paren && s[n - 1] == ':' && words <= 2;
    if (!(caps && upper >= 3) && !colon)
        return false;
    if (colon)
        end = n - 1;
    if (end >= len)
        return false;
    for (size_t i = 0; i < end; i++)
        name[i] = (char)toupper((unsigned char)s[i]);
    name[end] = '\0';
    if (strcmp(name, "EXAMPLE") == 0)
        snprintf(name, len, "EXAMPLES");
    *note = paren ? paren + 1 : NULL;
    return true;
}

/* A row's term: indent 2 to 6 (a long option alone is indented 6), one phrase (no run of spaces),
 * its text on the next line indented 8. */
static bool term_line(const lines_t *l, size_t i)
{
    const char *s = l->line[i];
    size_t in = indent(s);
    return in >= 2 && in <= 6 && !strstr(s + in, "  ") && strlen(s) < 64 && i + 1 < l->n &&
           indent(l->line[i + 1]) == 8 && !blank(l->line[i + 1]);
}

/* The end of "0 x; 1 y (a; b); 2 z." : the first '.' outside parentheses
 * that ends a sentence. */
static size_t list_end(const char *t)
{
    int depth = 0;
    for (size_t i = 0; t[i]; i++) {
        depth += t[i] == '(' ? 1 : t[i] == ')' ? -1 : 0;
        if (depth == 0 && t[i] == '.' && (t[i + 1] == ' ' || t[i + 1] == '\0'))
            return i;
    }
    return strlen(t);
}

/* One "N meaning" of an exit status list, or "lead: N meaning". */
static bool status_piece(const char *p, size_t len, size_t *lead)
{
    *lead = 0;
    if (len && isdigit((unsigned char)p[0]))
        return true;
    for (size_t i = 0; i + 2 < len; i++)
        if (p[i] == ':' && p[i + 1] == ' ' && isdigit((unsigned char)p[i + 2])) {
            *lead = i + 1;
            return true;
        }
    return false;
}

/* "0 success; 1 failed; 2 usage. More." as MP_STATUS items (and a
 * paragraph for what follows the list); a paragraph when it is not one. */
static bool statuses(manpage_doc_t *d, const char *t)
{
    size_t end = list_end(t), lead;
    bool list = end > 0;
    for (size_t i = 0, start = 0, depth = 0; list && i <= end; i++) {
        depth += t[i] == '(' ? 1 : t[i] == ')' ? (size_t)-1 : 0;
        if (i == end || (depth == 0 && t[i] == ';')) {
            size_t s = start + indent(t + start);
            list = status_piece(t + s, i - s, &lead);
            start = i + 1;
        }
    }
    if (!list)
        return add_text(d, MP_PARA, t);
    for (size_t i = 0, start = 0, depth = 0; i <= end; i++) {
        depth += t[i] == '(' ? 1 : t[i] == ')' ? (size_t)-1 : 0;
        if (i != end && !(depth == 0 && t[i] == ';'))
            continue;
        size_t s = start + indent(t + start);
        start = i + 1;
        status_piece(t + s, i - s, &lead);
        if (lead && !add(d, MP_PARA, NULL, 0, t + s, lead))
            return false;
        s += lead + (lead ? 1 : 0);
        size_t code = strspn(t + s, "0123456789");
        size_t m = s + code + indent(t + s + code);
        if (!add(d, MP_STATUS, t + s, code, t + m, i - m))
            return false;
    }
    const char *rest = t[end] ? t + end + 1 : t + end;
    rest += indent(rest);
    return *rest == '\0' || add_text(d, MP_PARA, rest);
}

/* The nonblank lines from *i, joined with spaces. */
static char *joined(const lines_t *l, size_t *i, size_t min_indent)
{
    size_t cap = 1;
    for (size_t k = *i; k < l->n && !blank(l->line[k]); k++)
        cap += strlen(l->line[k]) + 1;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    s[0] = '\0';
    size_t len = 0;
    for (; *i < l->n && !blank(l->line[*i]) && indent(l->line[*i]) >= min_indent; (*i)++) {
        const char *p = l->line[*i] + indent(l->line[*i]);
        len += (size_t)snprintf(s + len, cap - len, "%s%s", len ? " " : "", p);
    }
    return s;
}

/* A block of lines under no special heading: a paragraph when its lines
 * share one indent, else kept as laid out (minus the common indent). */
static bool block(manpage_doc_t *d, const lines_t *l, size_t *i, bool pre)
{
    size_t k = *i, min = (size_t)-1;
    bool same = true;
    for (; k < l->n && !blank(l->line[k]); k++) {
        size_t in = indent(l->line[k]);
        same = same && (k == *i || in == indent(l->line[*i]));
        min = in < min ? in : min;
    }
    if (same && !pre) {
        char *s = joined(l, i, 0);
        bool ok = s && add_text(d, MP_PARA, s);
        free(s);
        return ok;
    }
    size_t cap = 1;
    for (size_t j = *i; j < k; j++)
        cap += strlen(l->line[j]) + 1;
    char *s = malloc(cap);
    if (!s)
        return false;
    size_t len = 0;
    for (; *i < k; (*i)++)
        len += (size_t)snprintf(s + len, cap - len, "%s%s", len ? "\n" : "", l->line[*i] + min);
    bool ok = add_text(d, MP_PRE, s);
    free(s);
    return ok;
}

static bool rows(manpage_doc_t *d, const lines_t *l, size_t *i)
{
    while (*i < l->n && term_line(l, *i)) {
        const char *t = l->line[*i] + indent(l->line[*i]);
        (*i)++;
        char *text = joined(l, i, 8);
        bool ok = text && add(d, MP_ROW, t, strlen(t), text, strlen(text));
        free(text);
        if (!ok)
            return false;
    }
    return true;
}

/* "  name   summary" lines. */
static bool command_rows(manpage_doc_t *d, const lines_t *l, size_t *i)
{
    for (; *i < l->n && !blank(l->line[*i]); (*i)++) {
        const char *s = l->line[*i] + indent(l->line[*i]);
        size_t w = strcspn(s, " ");
        const char *text = s + w + indent(s + w);
        if (!add(d, MP_ROW, s, w, text, strlen(text)))
            return false;
    }
    return true;
}

/* A usage line; a note after it ("   (COMMAND --help for its own)")
 * becomes a paragraph. */
static bool usage_line(manpage_doc_t *d, const char *s)
{
    const char *note = strstr(s, "   (");
    if (!note)
        return add_text(d, MP_SYNOPSIS, s);
    return add(d, MP_SYNOPSIS, NULL, 0, s, (size_t)(note - s)) &&
           add_text(d, MP_PARA, note + indent(note));
}

static bool synopsis(manpage_doc_t *d, const lines_t *l, size_t *i, size_t first_indent)
{
    for (; *i < l->n && !blank(l->line[*i]); (*i)++) {
        const char *s = l->line[*i];
        bool more = indent(s) > first_indent && d->n && d->items[d->n - 1].kind == MP_SYNOPSIS;
        if (!(more ? join_last(d, s) : usage_line(d, s + indent(s))))
            return false;
    }
    return true;
}

bool manpage_parse(const char *help, manpage_doc_t *doc)
{
    memset(doc, 0, sizeof *doc);
    lines_t l;
    bool ok = split(help, &l);
    char section[64] = "";
    bool in_usage = false;
    for (size_t i = 0; ok && i < l.n;) {
        const char *s = l.line[i], *note;
        char name[64];
        if (blank(s)) {
            if (in_usage) {
                in_usage = false;
                snprintf(section, sizeof section, "DESCRIPTION");
                ok = add_text(doc, MP_HEADING, section);
            }
            i++;
        } else if (strncmp(s, "Usage: ", 7) == 0) {
            in_usage = true;
            snprintf(section, sizeof section, "SYNOPSIS");
            ok = add_text(doc, MP_HEADING, section) && usage_line(doc, s + 7);
            i++;
            ok = ok && synopsis(doc, &l, &i, 7);
        } else if (strncmp(s, "Exit status: ", 13) == 0) {
            snprintf(section, sizeof section, "EXIT STATUS");
            ok = add_text(doc, MP_HEADING, section);
            size_t j = i;
            char *t = ok ? joined(&l, &j, 0) : NULL;
            ok = t && statuses(doc, t + 13);
            free(t);
            i = j;
        } else if (heading(s, name, sizeof name, &note)) {
            snprintf(section, sizeof section, "%s", name);
            ok = add_text(doc, MP_HEADING, name) && (!note || add_text(doc, MP_PARA, note));
            i++;
        } else if (strcmp(section, "SYNOPSIS") == 0) {
            ok = synopsis(doc, &l, &i, indent(s));
        } else if (strcmp(section, "EXIT STATUS") == 0) {
            char *t = joined(&l, &i, 0);
            ok = t && statuses(doc, t);
            free(t);
        } else if (strcmp(section, "COMMANDS") == 0) {
            ok = command_rows(doc, &l, &i);
        } else if (term_line(&l, i)) {
            ok = rows(doc, &l, &i);
        } else {
            ok = block(doc, &l, &i, strcmp(section, "EXAMPLES") == 0);
        }
    }
    lines_free(&l);
    return ok;
}

void manpage_doc_free(manpage_doc_t *doc)
{
    for (size_t i = 0; i < doc->n; i++) {
        free(doc->items[i].term);
        free(doc->items[i].text);
    }
    free(doc->items);
    memset(doc, 0, sizeof *doc);
}

bool manpage_section(const manpage_doc_t *doc, const char *name, size_t *from, size_t *end)
{
    size_t i = 0;
    if (name[0] != '\0') {
        while (i < doc->n &&
               !(doc->items[i].kind == MP_HEADING && strcmp(doc->items[i].text, name) == 0))
            i++;
        if (i == doc->n)
            return false;
        i++;
    }
    *from = i;
    while (i < doc->n && doc->items[i].kind != MP_HEADING)
        i++;
    *end = i;
    return *end > *from;
}

/* ---- roff ----------------------------------------------------------------- */

static void escape_n(FILE *to, const char *s, size_t n, bool line_start)
{
    for (size_t i = 0; i < n && s[i]; i++) {
        if (line_start && (s[i] == '.' || s[i] == '\''))
            fputs("\\&", to);
        line_start = s[i] == '\n';
        if (s[i] == '\\')
            fputs("\\e", to);
        else if (s[i] == '-')
            fputs("\\-", to);
        else
            fputc(s[i], to);
    }
}

void manpage_escape(FILE *to, const char *text)
{
    escape_n(to, text, strlen(text), true);
}

/* "-x, --name ARG": options bold, the argument italic; "name (default X)"
 * and "run": the name bold. */
static void term(FILE *to, const char *t)
{
    if (t[0] != '-') {
        size_t w = strcspn(t, " ");
        fputs("\\fB", to);
        escape_n(to, t, w, true);
        fputs("\\fR", to);
        escape_n(to, t + w, strlen(t + w), false);
        fputc('\n', to);
        return;
    }
    for (const char *p = t; *p;) {
        size_t w = strcspn(p, " ");
        bool comma = w && p[w - 1] == ',';
        fputs(p[0] == '-' ? "\\fB" : "\\fI", to);
        escape_n(to, p, w - comma, p == t);
        fputs("\\fR", to);
        fputs(comma ? "," : "", to);
        p += w;
        if (*p == ' ')
            fputc(*p++, to);
    }
    fputc('\n', to);
}

/* A usage line: its leading command words bold. */
static void synopsis_line(FILE *to, const char *s, const char *prog, const char *cmd)
{
    size_t cl = cmd ? strlen(cmd) : 0;
    bool prefix = prog && cmd && strncmp(s, cmd, cl) == 0 && s[cl] == ' ';
    size_t w = 0;
    while (s[w] && (islower((unsigned char)s[w]) || isdigit((unsigned char)s[w]) || s[w] == '-' ||
                    (s[w] == ' ' && islower((unsigned char)s[w + 1]))))
        w++;
    fputs("\\fB", to);
    if (prefix) {
        escape_n(to, prog, strlen(prog), true);
        fputc(' ', to);
    }
    escape_n(to, s, w, !prefix);
    fputs("\\fR", to);
    escape_n(to, s + w, strlen(s + w), false);
    fputc('\n', to);
}

static void sub_heading(FILE *to, const char *name)
{
    if (strcmp(name, "SYNOPSIS") == 0 || strcmp(name, "DESCRIPTION") == 0)
        return;
    fputs(".PP\n\\fI", to);
    for (size_t i = 0; name[i]; i++)
        fputc(i ? tolower((unsigned char)name[i]) : name[i], to);
    fputs(":\\fR\n", to);
}

void manpage_render(FILE *to, const manpage_doc_t *doc, size_t from, size_t end, bool top,
                    const char *prog, const char *cmd)
{
    for (size_t i = from; i < end && i < doc->n; i++) {
        const manpage_item_t *it = &doc->items[i];
        switch (it->kind) {
        case MP_HEADING:
            if (top)
                fprintf(to, ".SH \"%s\"\n", it->text);
            else
                sub_heading(to, it->text);
            break;
        case MP_SYNOPSIS: /* filled, so a long one wraps; a line each */
            if (!top && (i == from || doc->items[i - 1].kind != MP_SYNOPSIS))
                fputs(".PP\n", to);
            synopsis_line(to, it->text, prog, cmd);
            fputs(".br\n", to);
            break;
        case MP_PARA:
            fputs(".PP\n", to);
            manpage_escape(to, it->text);
            fputc('\n', to);
            break;
        case MP_ROW:
            fputs(".TP\n", to);
            term(to, it->term);
            manpage_escape(to, it->text);
            fputc('\n', to);
            break;
        case MP_STATUS:
            fprintf(to, ".TP\n.B %s\n", it->term);
            manpage_escape(to, it->text);
            fputc('\n', to);
            break;
        case MP_PRE:
            fputs(".PP\n.RS 4\n.nf\n", to);
            manpage_escape(to, it->text);
            fputs("\n.fi\n.RE\n", to);
            break;
        }
    }
}
