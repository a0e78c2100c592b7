#include "keyfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define KEYRING_MAX 4096

bool keyfile_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > KEYFILE_NAME_MAX || name[0] == '.')
        return false;
    return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static bool z85_ok(const char *z)
{
    uint8_t raw[32];
    return strlen(z) == KEYFILE_Z85_LEN && zmq_z85_decode(raw, z) != NULL;
}

/* One "key = value" line into out; false on a line we do not understand. */
static bool parse_line(char *line, keyfile_t *out)
{
    line[strcspn(line, "\r\n")] = '\0';
    char *p = line + strspn(line, " \t");
    if (*p == '#' || *p == '\0')
        return true;
    char *eq = strchr(p, '=');
    if (!eq)
        return false;
    char *kend = eq;
    while (kend > p && (kend[-1] == ' ' || kend[-1] == '\t'))
        kend--;
    *kend = '\0';
    char *v = eq + 1 + strspn(eq + 1, " \t");
    size_t vl = strlen(v);
    while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
        v[--vl] = '\0';
    if (strcmp(p, "name") == 0 && keyfile_name_ok(v))
        snprintf(out->name, sizeof out->name, "%s", v);
    else if (strcmp(p, "public-key") == 0 && z85_ok(v))
        snprintf(out->public_z85, sizeof out->public_z85, "%s", v);
    else if (strcmp(p, "secret-key") == 0 && z85_ok(v))
        snprintf(out->secret_z85, sizeof out->secret_z85, "%s", v);
    else
        return false;
    return true;
}

static bool check_mode(int fd, const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return false;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf(err, errlen,
                 "%s: secret key is readable by group or others (mode %04o); "
                 "run: chmod 600 %s",
                 path, (unsigned)(st.st_mode & 07777), path);
        return false;
    }
    return true;
}

bool keyfile_load(const char *path, bool need_secret, keyfile_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot read key file %s: %s", path, strerror(errno));
        return false;
    }
    if (need_secret && !check_mode(fd, path, err, errlen)) {
        close(fd);
        return false;
    }
    FILE *fp = fdopen(fd, "r");
    if (!fp) {
        close(fd);
        snprintf(err, errlen, "cannot read key file %s: %s", path, strerror(errno));
        return false;
    }
    char line[256];
    int lineno = 0;
    bool ok = true;
    while (ok && fgets(line, sizeof line, fp)) {
        lineno++;
        if (!parse_line(line, out)) {
            snprintf(err, errlen, "%s:%d: not a valid key file line", path, lineno);
            ok = false;
        }
    }
    fclose(fp);
    if (ok && (!out->name[0] || !out->public_z85[0])) {
        snprintf(err, errlen, "%s: needs 'name' and 'public-key' lines", path);
        ok = false;
    }
    if (ok && need_secret && !out->secret_z85[0]) {
        snprintf(err, errlen, "%s: holds no 'secret-key' (is it the .pub file?)", path);
        ok = false;
    }
    explicit_bzero(line, sizeof line);
    return ok;
}

static bool write_new(const char *path, mode_t mode, const char *text, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
        return false;
    }
    size_t len = strlen(text);
    bool ok = write(fd, text, len) == (ssize_t)len && fchmod(fd, mode) == 0 && fsync(fd) == 0;
    if (!ok)
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    close(fd);
    return ok;
}

bool keyfile_generate(const char *dir, const char *name, char *err, size_t errlen)
{
    if (!keyfile_name_ok(name)) {
        snprintf(err, errlen,
                 "key name '%s': use 1-64 of A-Z a-z 0-9 . _ - (not starting with '.')", name);
        return false;
    }
    char pub[KEYFILE_Z85_LEN + 1], sec[KEYFILE_Z85_LEN + 1];
    if (zmq_curve_keypair(pub, sec) != 0) {
        snprintf(err, errlen, "libzmq cannot make CURVE keys: %s", zmq_strerror(zmq_errno()));
        return false;
    }
    char kpath[4096], ppath[4096], text[512];
    snprintf(kpath, sizeof kpath, "%s/%s.key", dir, name);
    snprintf(ppath, sizeof ppath, "%s/%s.pub", dir, name);
    snprintf(text, sizeof text,
             "# callscope CURVE key pair. SECRET: keep this file 0600, never copy it.\n"
             "name = %s\npublic-key = %s\nsecret-key = %s\n",
             name, pub, sec);
    bool ok = write_new(kpath, 0600, text, err, errlen);
    explicit_bzero(sec, sizeof sec);
    explicit_bzero(text, sizeof text);
    if (!ok)
        return false;
    snprintf(text, sizeof text,
             "# callscope CURVE public key. Copy it to the peer's authorised-keys directory.\n"
             "name = %s\npublic-key = %s\n",
             name, pub);
    if (!write_new(ppath, 0644, text, err, errlen)) {
        unlink(kpath);
        return false;
    }
    return true;
}

bool keyfile_create_private(const char *path, char *err, size_t errlen)
{
    /* O_EXCL: an existing file is never opened here. Closing a descriptor
     * of a file this process also has open through SQLite would drop every
     * POSIX lock SQLite holds on it (fcntl locks belong to the process), so
     * a second connection opened in-process (the Graph worker's) must not
     * open and close the store file behind the first one's back. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 && errno == EEXIST)
        return true;
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
        return false;
    }
    close(fd);
    return true;
}

const char *keyfile_credential(const char *name, char *buf, size_t len)
{
    const char *dir = getenv("CREDENTIALS_DIRECTORY");
    if (!dir || !*dir)
        return NULL;
    snprintf(buf, len, "%s/%s", dir, name);
    return access(buf, R_OK) == 0 ? buf : NULL;
}

const char *keyfile_state_path(const char *leaf, char *buf, size_t len)
{
    const char *sd = getenv("STATE_DIRECTORY");
    if (sd && *sd)
        snprintf(buf, len, "%.*s/%s", (int)strcspn(sd, ":"), sd, leaf);
    else
        snprintf(buf, len, "/var/lib/callscope/%s", leaf);
    return buf;
}

/* ---- the authorised keys ------------------------------------------------ */

typedef struct {
    unsigned char pub[32];
    char name[KEYFILE_NAME_MAX + 1];
} ring_entry_t;

struct keyring {
    ring_entry_t *e;
    size_t n;
};

static bool is_pub(const char *fname)
{
    size_t n = strlen(fname);
    return n > 4 && fname[0] != '.' && strcmp(fname + n - 4, ".pub") == 0;
}

/* Whoever may write an authorised key or its directory may enrol a probe:
 * only root and the collector's own user may (and no symbolic link, which
 * could name the collector's own key or any other file). */
static bool owner_ok(const struct stat *st)
{
    return st->st_uid == 0 || st->st_uid == geteuid();
}

static bool trusted_dir(const char *dir, char *err, size_t errlen)
{
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "authorised-keys directory %s: not a directory", dir);
        return false;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(err, errlen,
                 "authorised-keys directory %s is writable by group or others (mode %04o): "
                 "run: chmod go-w %s",
                 dir, (unsigned)(st.st_mode & 07777), dir);
        return false;
    }
    if (!owner_ok(&st)) {
        snprintf(err, errlen,
                 "authorised-keys directory %s is owned by uid %u, not root or this user: "
                 "run: chown root %s",
                 dir, (unsigned)st.st_uid, dir);
        return false;
    }
    return true;
}

static bool trusted_pub(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return false;
    }
    if (S_ISLNK(st.st_mode) || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen,
                 "%s: not a regular file (a symbolic link?): copy the key file in "
                 "instead",
                 path);
        return false;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(err, errlen, "%s is writable by group or others (mode %04o): run: chmod 644 %s",
                 path, (unsigned)(st.st_mode & 07777), path);
        return false;
    }
    if (!owner_ok(&st)) {
        snprintf(err, errlen, "%s is owned by uid %u, not root or this user: run: chown root %s",
                 path, (unsigned)st.st_uid, path);
        return false;
    }
    return true;
}

static bool ring_add(keyring_t *k, const char *dir, const char *fname, char *err, size_t errlen)
{
    char path[4096];
    keyfile_t kf;
    snprintf(path, sizeof path, "%s/%s", dir, fname);
    if (!trusted_pub(path, err, errlen) || !keyfile_load(path, false, &kf, err, errlen))
        return false;
    if (k->n >= KEYRING_MAX) {
        snprintf(err, errlen, "%s: more than %d keys", dir, KEYRING_MAX);
        return false;
    }
    ring_entry_t *e = &k->e[k->n];
    zmq_z85_decode(e->pub, kf.public_z85);
    snprintf(e->name, sizeof e->name, "%s", kf.name);
    for (size_t i = 0; i < k->n; i++) {
        if (strcmp(k->e[i].name, e->name) == 0) {
            snprintf(err, errlen, "%s: key name '%s' is used twice", path, e->name);
            return false;
        }
    }
    k->n++;
    return true;
}

keyring_t *keyring_load(const char *dir, char *err, size_t errlen)
{
    if (!trusted_dir(dir, err, errlen))
        return NULL;
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "cannot read authorised-keys directory %s: %s", dir, strerror(errno));
        return NULL;
    }
    keyring_t *k = calloc(1, sizeof *k);
    if (k)
        k->e = calloc(KEYRING_MAX, sizeof *k->e);
    if (!k || !k->e) {
        snprintf(err, errlen, "out of memory");
        closedir(d);
        keyring_free(&k);
        return NULL;
    }
    struct dirent *de;
    bool ok = true;
    while (ok && (de = readdir(d)) != NULL)
        if (is_pub(de->d_name))
            ok = ring_add(k, dir, de->d_name, err, errlen);
    closedir(d);
    if (!ok)
        keyring_free(&k);
    return k;
}

void keyring_free(keyring_t **pk)
{
    if (!pk || !*pk)
        return;
    free((*pk)->e);
    free(*pk);
    *pk = NULL;
}

const char *keyring_find(const keyring_t *k, const unsigned char pub[32])
{
    for (size_t i = 0; k && i < k->n; i++)
        if (memcmp(k->e[i].pub, pub, 32) == 0)
            return k->e[i].name;
    return NULL;
}

size_t keyring_count(const keyring_t *k)
{
    return k ? k->n : 0;
}
