#include "building_map.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELD 256 /* a text column longer than this is not a building's name */
#define MAX_DIAG 20   /* skipped lines named on diag; the rest are counted */

static const char *const column_names[BUILDING_MAP_COLUMNS + 1] = {"NetworkIP",
                                                                   "NetworkName",
                                                                   "NetworkRange",
                                                                   "BuildingName",
                                                                   "OwnershipType",
                                                                   "BuildingType",
                                                                   "BuildingOfficeType",
                                                                   "City",
                                                                   "ZipCode",
                                                                   "Country",
                                                                   "State",
                                                                   "Region",
                                                                   "InsideCorp",
                                                                   "ExpressRoute",
                                                                   "VPN"};

/* file column (0-based) of each text field */
static const int field_column[BUILDING_F_COUNT] = {1, 3, 4, 5, 6, 7, 8, 9, 10, 11};

static const char *const field_keys[BUILDING_F_COUNT] = {
    "network_name", "building", "ownership_type", "building_type", "office_type",
    "city",         "zip_code", "country",        "state",         "region"};

typedef struct {
    building_t b;
    size_t off[BUILDING_F_COUNT]; /* into the arena until finished */
} entry_t;

/* A run of one family and prefix length in the sorted entries. */
typedef struct {
    uint8_t family, len;
    size_t start, end;
} run_t;

struct building_map {
    entry_t *e;
    size_t n, cap;
    char *arena;
    size_t alen, acap;
    run_t runs[33 + 129];
    size_t nruns;
    bool finished;
};

const char *building_map_column_name(int column)
{
    return column >= 0 && column <= BUILDING_MAP_COLUMNS ? column_names[column] : "?";
}

const char *building_map_field_key(building_field_t f)
{
    return (unsigned)f < BUILDING_F_COUNT ? field_keys[f] : "?";
}

building_map_t *building_map_new(void)
{
    return calloc(1, sizeof(building_map_t));
}

void building_map_free(building_map_t **m)
{
    if (!m || !*m)
        return;
    free((*m)->e);
    free((*m)->arena);
    free(*m);
    *m = NULL;
}

static bool arena_put(building_map_t *m, const char *s, size_t n, size_t *off)
{
    if (m->alen + n + 1 > m->acap) {
        size_t cap = m->acap ? m->acap * 2 : 4096;
        while (cap < m->alen + n + 1)
            cap *= 2;
        char *a = realloc(m->arena, cap);
        if (!a)
            return false;
        m->arena = a;
        m->acap = cap;
    }
    memcpy(m->arena + m->alen, s, n);
    m->arena[m->alen + n] = '\0';
    *off = m->alen;
    m->alen += n + 1;
    return true;
}

static void mask(const uint8_t in[16], unsigned len, uint8_t out[16])
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned bits = len > i * 8 ? len - i * 8 : 0;
        out[i] = bits >= 8 ? in[i] : (uint8_t)(in[i] & (uint8_t)(0xff00u >> bits));
    }
}

static bool add_n(building_map_t *m, const building_t *b, const char *const *text,
                  const size_t *tlen, char *err, size_t errlen)
{
    if (m->n >= BUILDING_MAP_MAX_ROWS) {
        snprintf(err, errlen, "more than %u networks", BUILDING_MAP_MAX_ROWS);
        return false;
    }
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 256;
        entry_t *e = realloc(m->e, cap * sizeof *e);
        if (!e) {
            snprintf(err, errlen, "out of memory");
            return false;
        }
        m->e = e;
        m->cap = cap;
    }
    entry_t *e = &m->e[m->n];
    memset(e, 0, sizeof *e);
    e->b = *b;
    memset(e->b.net.addr.a, 0, sizeof e->b.net.addr.a);
    mask(b->net.addr.a, b->net.len, e->b.net.addr.a);
    for (int i = 0; i < BUILDING_F_COUNT; i++) {
        e->b.f[i] = NULL;
        if (!arena_put(m, text[i] ? text[i] : "", text[i] ? tlen[i] : 0, &e->off[i])) {
            snprintf(err, errlen, "out of memory");
            return false;
        }
    }
    m->n++;
    m->finished = false;
    return true;
}

bool building_map_add(building_map_t *m, const building_t *b, char *err, size_t errlen)
{
    size_t tlen[BUILDING_F_COUNT];
    for (int i = 0; i < BUILDING_F_COUNT; i++)
        tlen[i] = b->f[i] ? strlen(b->f[i]) : 0;
    if (b->net.addr.family != 4 && b->net.addr.family != 6) {
        snprintf(err, errlen, "network without an address family");
        return false;
    }
    if (b->net.len > (b->net.addr.family == 4 ? 32 : 128)) {
        snprintf(err, errlen, "prefix length %u too long", b->net.len);
        return false;
    }
    return add_n(m, b, b->f, tlen, err, errlen);
}

/* family, longest prefix first, address, then file order */
static int entry_cmp(const void *pa, const void *pb)
{
    const building_t *a = &((const entry_t *)pa)->b, *b = &((const entry_t *)pb)->b;
    if (a->net.addr.family != b->net.addr.family)
        return a->net.addr.family < b->net.addr.family ? -1 : 1;
    if (a->net.len != b->net.len)
        return a->net.len > b->net.len ? -1 : 1;
    int c = memcmp(a->net.addr.a, b->net.addr.a, 16);
    if (c)
        return c;
    return a->line < b->line ? -1 : a->line > b->line;
}

static void finish(building_map_t *m, building_map_stats_t *st, FILE *diag, const char *name,
                   size_t *named)
{
    if (m->n > 1) /* qsort() wants a non-null array even for none */
        qsort(m->e, m->n, sizeof *m->e, entry_cmp);
    size_t out = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (out > 0 && m->e[out - 1].b.net.len == m->e[i].b.net.len &&
            m->e[out - 1].b.net.addr.family == m->e[i].b.net.addr.family &&
            memcmp(m->e[out - 1].b.net.addr.a, m->e[i].b.net.addr.a, 16) == 0) {
            if (st) {
                st->duplicates++;
                st->skipped++;
            }
            if (diag && named && (*named)++ < MAX_DIAG)
                fprintf(diag,
                        "%s:%u: column 1 (NetworkIP): network already on line %u; line "
                        "skipped\n",
                        name, m->e[i].b.line, m->e[out - 1].b.line);
            continue;
        }
        m->e[out++] = m->e[i];
    }
    m->n = out;
    m->nruns = 0;
    for (size_t i = 0; i < m->n; i++) {
        building_t *b = &m->e[i].b;
        for (int f = 0; f < BUILDING_F_COUNT; f++)
            b->f[f] = m->arena + m->e[i].off[f];
        run_t *r = m->nruns ? &m->runs[m->nruns - 1] : NULL;
        if (!r || r->family != b->net.addr.family || r->len != b->net.len) {
            r = &m->runs[m->nruns++];
            r->family = b->net.addr.family;
            r->len = b->net.len;
            r->start = i;
        }
        r->end = i + 1;
    }
    m->finished = true;
    if (st) {
        st->loaded = m->n;
        st->v4 = st->v6 = 0;
        for (size_t i = 0; i < m->nruns; i++)
            *(m->runs[i].family == 4 ? &st->v4 : &st->v6) += m->runs[i].end - m->runs[i].start;
    }
}

void building_map_finish(building_map_t *m, building_map_stats_t *stats)
{
    finish(m, stats, NULL, NULL, NULL);
}

const building_t *building_map_lookup(const building_map_t *m, const netaddr_t *a)
{
    if (!m || !m->finished || !a || (a->family != 4 && a->family != 6))
        return NULL;
    uint8_t key[16];
    for (size_t r = 0; r < m->nruns; r++) {
        const run_t *run = &m->runs[r];
        if (run->family != a->family)
            continue;
        mask(a->a, run->len, key);
        size_t lo = run->start, hi = run->end;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            int c = memcmp(m->e[mid].b.net.addr.a, key, 16);
            if (c == 0)
                return &m->e[mid].b;
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
    }
    return NULL;
}

const building_t *building_map_lookup_text(const building_map_t *m, const char *addr)
{
    netaddr_t a;
    if (!addr || !netaddr_parse(addr, &a))
        return NULL;
    return building_map_lookup(m, &a);
}

const building_t *building_map_lookup_bytes(const building_map_t *m, const uint8_t *b, size_t n)
{
    netaddr_t a;
    if (!b || (n != 4 && n != 16))
        return NULL;
    if (n == 4)
        netaddr_set4(&a, b);
    else
        netaddr_set6(&a, b);
    return building_map_lookup(m, &a);
}

json_t *building_map_json(const building_t *b)
{
    if (!b)
        return json_null();
    char net[NETADDR_STRLEN + 4];
    netaddr_fmt(&b->net.addr, net, NETADDR_STRLEN);
    snprintf(net + strlen(net), sizeof net - strlen(net), "/%u", b->net.len);
    json_t *o = json_object();
    json_object_set_new(o, "network", json_string(net));
    for (int f = 0; f < BUILDING_F_COUNT; f++)
        json_object_set_new(o, field_keys[f], json_string(b->f[f] ? b->f[f] : ""));
    json_object_set_new(o, "inside_corp", json_boolean(b->inside_corp));
    json_object_set_new(o, "express_route", json_boolean(b->express_route));
    json_object_set_new(o, "vpn", json_boolean(b->vpn));
    return o;
}

size_t building_map_count(const building_map_t *m)
{
    return m ? m->n : 0;
}

const building_t *building_map_at(const building_map_t *m, size_t i)
{
    return m && m->finished && i < m->n ? &m->e[i].b : NULL;
}

/* ---- the file ---- */

typedef struct {
    const char *name;
    FILE *diag;
    building_map_stats_t *st;
    size_t named; /* skipped lines named on diag */
    char delim;
    int columns;
} parse_t;

static void skip_line(parse_t *p, unsigned line, int column, const char *why)
{
    p->st->skipped++;
    if (p->diag && p->named++ < MAX_DIAG)
        fprintf(p->diag, "%s:%u: column %d (%s): %s; line skipped\n", p->name, line, column + 1,
                column_names[column], why);
}

static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t' || **s == '"'))
        (*s)++, (*n)--;
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '"'))
        (*n)--;
}

/* "0" or "1"; empty means 0 only where allowed (VPN) */
static bool parse_flag(const char *s, size_t n, bool empty_ok, bool *out)
{
    if (n == 0 && empty_ok) {
        *out = false;
        return true;
    }
    if (n != 1 || (s[0] != '0' && s[0] != '1'))
        return false;
    *out = s[0] == '1';
    return true;
}

/* Splits one line into columns; returns the count (up to max+1, more is
 * "too many"). */
static int split(const char *s, size_t n, char delim, const char **f, size_t *fl, int max)
{
    int k = 0;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != delim)
            continue;
        if (k <= max) {
            f[k] = s + start;
            fl[k] = i - start;
        }
        k++;
        start = i + 1;
    }
    return k;
}

/* 0 ok, 1 skipped, -1 refused */
static int parse_line(parse_t *p, building_map_t *m, const char *s, size_t n, unsigned line,
                      char *err, size_t errlen)
{
    const char *f[BUILDING_MAP_COLUMNS + 2];
    size_t fl[BUILDING_MAP_COLUMNS + 2];
    if (!p->delim)
        p->delim = memchr(s, '\t', n) ? '\t' : ',';
    int k = split(s, n, p->delim, f, fl, BUILDING_MAP_COLUMNS + 1);
    if (!p->columns) {
        if (k != BUILDING_MAP_COLUMNS && k != BUILDING_MAP_COLUMNS + 1) {
            snprintf(err, errlen,
                     "%s:%u: %d %s-separated columns; a CQD building file has %d "
                     "(NetworkIP ... ExpressRoute) or %d (with VPN), no header row; file refused",
                     p->name, line, k, p->delim == '\t' ? "tab" : "comma", BUILDING_MAP_COLUMNS,
                     BUILDING_MAP_COLUMNS + 1);
            return -1;
        }
        p->columns = k;
        p->st->columns = k;
    } else if (k != p->columns) {
        snprintf(err, errlen, "%s:%u: %d columns where line 1 has %d; file refused", p->name, line,
                 k, p->columns);
        return -1;
    }
    for (int i = 0; i < k; i++)
        trim(&f[i], &fl[i]);
    building_t b;
    memset(&b, 0, sizeof b);
    b.line = line;
    char tmp[64];
    if (fl[0] == 0 || fl[0] >= sizeof tmp) {
        skip_line(p, line, 0, fl[0] ? "too long for an address" : "empty");
        return 1;
    }
    memcpy(tmp, f[0], fl[0]);
    tmp[fl[0]] = '\0';
    if (!netaddr_parse(tmp, &b.net.addr)) {
        skip_line(p, line, 0, "not an IPv4 or IPv6 address");
        return 1;
    }
    unsigned max = b.net.addr.family == 4 ? 32 : 128, len = 0;
    if (fl[2] == 0 || fl[2] > 3) {
        skip_line(p, line, 2, "not a prefix length");
        return 1;
    }
    for (size_t i = 0; i < fl[2]; i++) {
        if (f[2][i] < '0' || f[2][i] > '9') {
            skip_line(p, line, 2, "not a prefix length");
            return 1;
        }
        len = len * 10 + (unsigned)(f[2][i] - '0');
    }
    if (len > max) {
        skip_line(p, line, 2, max == 32 ? "longer than 32 for IPv4" : "longer than 128");
        return 1;
    }
    b.net.len = (uint8_t)len;
    bool *flags[3] = {&b.inside_corp, &b.express_route, &b.vpn};
    for (int i = 0; i < k - 12; i++)
        if (!parse_flag(f[12 + i], fl[12 + i], i == 2, flags[i])) {
            skip_line(p, line, 12 + i, "not 0 or 1");
            return 1;
        }
    const char *text[BUILDING_F_COUNT];
    size_t tlen[BUILDING_F_COUNT];
    for (int i = 0; i < BUILDING_F_COUNT; i++) {
        int c = field_column[i];
        if (fl[c] > MAX_FIELD) {
            skip_line(p, line, c, "longer than 256 bytes");
            return 1;
        }
        text[i] = f[c];
        tlen[i] = fl[c];
    }
    return add_n(m, &b, text, tlen, err, errlen) ? 0 : -1;
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t')
            return false;
    return true;
}

building_map_t *building_map_parse(const char *name, const char *text, size_t len, FILE *diag,
                                   building_map_stats_t *stats, char *err, size_t errlen)
{
    building_map_stats_t local;
    parse_t p = {.name = name, .diag = diag, .st = stats ? stats : &local};
    memset(p.st, 0, sizeof *p.st);
    if (len > BUILDING_MAP_MAX_BYTES) {
        snprintf(err, errlen, "%s: %zu bytes, more than the %u a building file may have", name, len,
                 BUILDING_MAP_MAX_BYTES);
        return NULL;
    }
    building_map_t *m = building_map_new();
    if (!m) {
        snprintf(err, errlen, "%s: out of memory", name);
        return NULL;
    }
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) /* Excel's UTF-8 mark */
        text += 3, len -= 3;
    unsigned line = 0;
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len, n = end - pos;
        const char *s = text + pos;
        pos = end + 1;
        line++;
        if (n && s[n - 1] == '\r')
            n--;
        if (blank(s, n))
            continue;
        if (memchr(s, '\0', n)) {
            snprintf(err, errlen, "%s:%u: a NUL byte: not a text file; file refused", name, line);
            building_map_free(&m);
            return NULL;
        }
        p.st->lines++;
        char e2[256];
        if (parse_line(&p, m, s, n, line, e2, sizeof e2) < 0) {
            if (strncmp(e2, name, strlen(name)) == 0)
                snprintf(err, errlen, "%s", e2);
            else
                snprintf(err, errlen, "%s:%u: %s; file refused", name, line, e2);
            building_map_free(&m);
            return NULL;
        }
    }
    if (!p.columns) {
        snprintf(err, errlen, "%s: no networks (an empty file); file refused", name);
        building_map_free(&m);
        return NULL;
    }
    finish(m, p.st, diag, name, &p.named);
    if (diag && p.named > MAX_DIAG)
        fprintf(diag, "%s: %zu more lines skipped (not named)\n", name, p.named - MAX_DIAG);
    return m;
}

building_map_t *building_map_load(const char *path, FILE *diag, building_map_stats_t *stats,
                                  char *err, size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    bool ok = true;
    for (;;) {
        if (len == cap) {
            if (cap > BUILDING_MAP_MAX_BYTES) {
                snprintf(err, errlen, "%s: more than the %u bytes a building file may have", path,
                         BUILDING_MAP_MAX_BYTES);
                ok = false;
                break;
            }
            cap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, cap);
            if (!nb) {
                snprintf(err, errlen, "%s: out of memory", path);
                ok = false;
                break;
            }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, fp);
        len += got;
        if (got == 0) {
            if (ferror(fp)) {
                snprintf(err, errlen, "%s: read error", path);
                ok = false;
            }
            break;
        }
    }
    fclose(fp);
    building_map_t *m = ok ? building_map_parse(path, buf, len, diag, stats, err, errlen) : NULL;
    free(buf);
    return m;
}
