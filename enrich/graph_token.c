#include "graph_token.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "log.h"

#define SECRET_MAX 1024

struct graph_token {
    char *url;
    char *form; /* the whole request body, secret included: wiped at free */
    char *token;
    int64_t refresh_at_us;
    int64_t lifetime_s;
};

static char *join_form(const char *client_id, const char *secret, const char *scope)
{
    char *cid = graph_http_escape(client_id), *sec = graph_http_escape(secret),
         *sco = graph_http_escape(scope);
    char *form = NULL;
    if (cid && sec && sco) {
        size_t n = strlen(cid) + strlen(sec) + strlen(sco) + 96;
        form = malloc(n);
        if (form)
            snprintf(form, n,
                     "grant_type=client_credentials&client_id=%s&scope=%s&client_secret=%s", cid,
                     sco, sec);
    }
    if (sec)
        OPENSSL_cleanse(sec, strlen(sec));
    free(cid);
    free(sec);
    free(sco);
    return form;
}

graph_token_t *graph_token_new(const char *token_url, const char *client_id, const char *secret,
                               const char *scope, char *err, size_t errlen)
{
    graph_token_t *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    t->url = strdup(token_url);
    t->form = join_form(client_id, secret, scope);
    if (!t->url || !t->form) {
        snprintf(err, errlen, "out of memory");
        graph_token_free(&t);
        return NULL;
    }
    return t;
}

void graph_token_free(graph_token_t **t)
{
    if (!t || !*t)
        return;
    graph_token_invalidate(*t);
    if ((*t)->form)
        OPENSSL_cleanse((*t)->form, strlen((*t)->form));
    free((*t)->form);
    free((*t)->url);
    free(*t);
    *t = NULL;
}

const char *graph_token_current(const graph_token_t *t, int64_t now_us)
{
    return t->token && now_us < t->refresh_at_us ? t->token : NULL;
}

void graph_token_invalidate(graph_token_t *t)
{
    if (t->token)
        OPENSSL_cleanse(t->token, strlen(t->token));
    free(t->token);
    t->token = NULL;
    t->refresh_at_us = 0;
}

int64_t graph_token_lifetime_s(const graph_token_t *t)
{
    return t->lifetime_s;
}

/* Looks for an AADSTS code among error_codes[]. */
static bool has_code(const json_t *root, long code)
{
    const json_t *codes = json_object_get(root, "error_codes");
    size_t i;
    const json_t *c;
    json_array_foreach(codes, i, c)
    {
        if (json_is_integer(c) && json_integer_value(c) == code)
            return true;
    }
    return false;
}

/* Turns an error reply into a message that names the problem and the fix. */
static graph_token_result_t token_error(const json_t *root, long status, char *err, size_t errlen)
{
    const char *code = json_string_value(json_object_get(root, "error"));
    const char *desc = json_string_value(json_object_get(root, "error_description"));
    char first[200] = "";
    if (desc)
        snprintf(first, sizeof first, "%.*s", (int)strcspn(desc, "\r\n"), desc);
    if (!code) {
        snprintf(err, errlen, "token endpoint answered HTTP %ld without an OAuth error", status);
        return status >= 500 || status == 429 ? GRAPH_TOKEN_RETRY : GRAPH_TOKEN_FATAL;
    }
    if (has_code(root, 90002) || has_code(root, 900023) || has_code(root, 90013)) {
        snprintf(err, errlen,
                 "wrong tenant: the identity platform does not know this tenant (%s). Check "
                 "--tenant (the directory id GUID or a verified domain) and, for US Government "
                 "or China clouds, --authority-url. [%s]",
                 code, first);
    } else if (has_code(root, 700016) || strcmp(code, "unauthorized_client") == 0) {
        snprintf(err, errlen,
                 "unknown client: application (client) id not found in this tenant (%s). Check "
                 "--client-id and --tenant; the app must be registered in, or consented to by, "
                 "this tenant. [%s]",
                 code, first);
    } else if (strcmp(code, "invalid_client") == 0) {
        snprintf(err, errlen,
                 "invalid_client: the client secret was refused (wrong, expired or the secret id "
                 "instead of its value). Create a new client secret under App registrations > "
                 "Certificates & secrets and write its value to the secret file. [%s]",
                 first);
    } else if (strcmp(code, "invalid_scope") == 0) {
        snprintf(err, errlen,
                 "invalid_scope: the Graph resource was refused; check --graph-url (scope is its "
                 "origin + /.default). [%s]",
                 first);
    } else if (status >= 500 || status == 429 || strcmp(code, "temporarily_unavailable") == 0) {
        snprintf(err, errlen, "token endpoint busy (HTTP %ld, %s)", status, code);
        return GRAPH_TOKEN_RETRY;
    } else {
        snprintf(err, errlen, "token request refused: %s (HTTP %ld). [%s]", code, status, first);
    }
    return GRAPH_TOKEN_FATAL;
}

static graph_token_result_t token_ok(graph_token_t *t, const json_t *root, int64_t now_us,
                                     char *err, size_t errlen)
{
    const char *tok = json_string_value(json_object_get(root, "access_token"));
    const json_t *exp = json_object_get(root, "expires_in");
    json_int_t secs = 0;
    if (json_is_integer(exp))
        secs = json_integer_value(exp);
    else if (json_is_string(exp)) /* some endpoints send it as a string */
        secs = strtoll(json_string_value(exp), NULL, 10);
    if (!tok || !*tok || secs <= 0) {
        snprintf(err, errlen, "token reply without access_token or expires_in");
        return GRAPH_TOKEN_RETRY;
    }
    graph_token_invalidate(t);
    t->token = strdup(tok);
    if (!t->token) {
        snprintf(err, errlen, "out of memory");
        return GRAPH_TOKEN_RETRY;
    }
    /* Renew before it runs out: 5 minutes early, or half its life when short. */
    int64_t early = secs > 600 ? 300 : secs / 2;
    t->lifetime_s = secs - early;
    t->refresh_at_us = now_us + t->lifetime_s * 1000000;
    return GRAPH_TOKEN_OK;
}

graph_token_result_t graph_token_fetch(graph_token_t *t, graph_http_t *http, int64_t now_us,
                                       graph_http_resp_t *resp, char *err, size_t errlen)
{
    graph_http_post_form(http, t->url, t->form, resp);
    if (resp->net == GRAPH_NET_TLS) {
        snprintf(err, errlen, "token endpoint: TLS certificate not trusted (%s); check --ca-bundle",
                 resp->error);
        return GRAPH_TOKEN_FATAL;
    }
    if (resp->net != GRAPH_NET_OK) {
        snprintf(err, errlen, "token endpoint: %s", resp->error);
        return GRAPH_TOKEN_RETRY;
    }
    json_error_t je;
    json_t *root = json_loadb(resp->body, resp->len, 0, &je);
    graph_token_result_t r;
    if (!json_is_object(root)) {
        snprintf(err, errlen, "token endpoint: HTTP %ld with an unreadable body", resp->status);
        r = resp->status == 400 || resp->status == 401 ? GRAPH_TOKEN_FATAL : GRAPH_TOKEN_RETRY;
    } else if (resp->status == 200) {
        r = token_ok(t, root, now_us, err, errlen);
    } else {
        r = token_error(root, resp->status, err, errlen);
    }
    json_decref(root);
    return r;
}

char *graph_token_read_secret(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "secret file %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    char buf[SECRET_MAX + 2];
    ssize_t n = -1;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077)) {
        snprintf(err, errlen,
                 "secret file %s is readable by group or others (mode %04o): run: "
                 "chmod 600 %s",
                 path, (unsigned)(st.st_mode & 07777), path);
        close(fd);
        return NULL;
    }
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
        n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0 || n > SECRET_MAX) {
        snprintf(err, errlen, "secret file %s: not a regular file of at most %d bytes", path,
                 SECRET_MAX);
        OPENSSL_cleanse(buf, sizeof buf);
        return NULL;
    }
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    char *s = buf[0] && strlen(buf) == strcspn(buf, "\r\n") ? strdup(buf) : NULL;
    if (!buf[0])
        snprintf(err, errlen, "secret file %s is empty", path);
    else if (!s)
        snprintf(err, errlen, "out of memory");
    OPENSSL_cleanse(buf, sizeof buf);
    return s;
}
