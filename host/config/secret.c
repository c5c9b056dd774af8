/*
 * secret.c - password_file / password_env: a password read while parsing.
 *
 * The file's content, or the variable's value, is never put in a message
 * (errors name the key, the file or the variable); the buffer that held it
 * is wiped.  The arena copy is wiped when the snapshot is freed.
 */
#include "keymap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_MAX 4096

/*
 * A relative password_file is taken from the directory that holds the conf
 * dir, like plugins_dir (/etc/jobhost/conf.d + secrets/db ->
 * /etc/jobhost/secrets/db), so it does not depend on the daemon's working
 * directory.  A conf dir without a '/' (conf.d, or "." for a string) leaves
 * it relative to the working directory, which is that parent.
 */
static void resolve_path(const char *conf_dir, const char *path, char *out, size_t len)
{
    const char *slash = strrchr(conf_dir, '/');

    while (slash != NULL && slash > conf_dir && slash[1] == '\0')
        slash = memrchr(conf_dir, '/', (size_t)(slash - conf_dir));
    if (path[0] == '/' || slash == NULL)
        snprintf(out, len, "%s", path);
    else
        snprintf(out, len, "%.*s%s", (int)(slash - conf_dir) + 1, conf_dir, path);
}

static int keep(jh__conf_parser *p, const jh__conf_key *k, void *sec, const char *secret)
{
    const char *s = jh__conf_strdup(p->conf, secret);

    if (s == NULL)
        return jh__conf_fail(p, -ENOMEM, "out of memory");
    *(const char **)(void *)((char *)sec + k->off) = s;
    return 0;
}

int jh__conf_secret_env(jh__conf_parser *p, const jh__conf_key *k, void *sec, const char *key,
                        const char *value)
{
    const char *secret;

    if (*value == '\0')
        return jh__conf_empty(p, key);
    if ((secret = getenv(value)) == NULL)
        return jh__conf_fail(p, -ENOENT, "[%s]: password_env \"%s\": variable not set",
                             p->label, value);
    return keep(p, k, sec, secret);
}

/* An fd on a regular file.  O_NONBLOCK: a FIFO (or a device) with no
 * writer must not hang start-up or a reload; only a regular file is
 * accepted. */
static int open_regular(jh__conf_parser *p, const char *path)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

    if (fd < 0) {
        int err = errno;
        return jh__conf_fail(p, -err, "[%s]: password_file \"%s\": cannot open: %s", p->label,
                             path, strerror(err));
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return jh__conf_fail(p, -EINVAL, "[%s]: password_file \"%s\": not a regular file",
                             p->label, path);
    }
    return fd;
}

/* The whole file into buf (SECRET_MAX + 2 bytes), NUL-terminated, without
 * its trailing newline. */
static int read_secret(jh__conf_parser *p, int fd, const char *path, char *buf)
{
    size_t len = 0;
    ssize_t n;

    /* Up to SECRET_MAX + 1 bytes: one more than allowed tells "too long". */
    while (len < SECRET_MAX + 1) {
        n = read(fd, buf + len, SECRET_MAX + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int err = errno;
            return jh__conf_fail(p, -err, "[%s]: password_file \"%s\": cannot read: %s",
                                 p->label, path, strerror(err));
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > SECRET_MAX)
        return jh__conf_fail(p, -EFBIG, "[%s]: password_file \"%s\": longer than %d bytes",
                             p->label, path, SECRET_MAX);
    buf[len] = '\0';
    if (strlen(buf) != len)
        return jh__conf_fail(p, -EINVAL, "[%s]: password_file \"%s\": contains a NUL byte",
                             p->label, path);
    /* Editors end files with a newline that is not part of the password:
     * strip one ("\n" or "\r\n"), and only one. */
    if (len > 0 && buf[len - 1] == '\n') {
        buf[--len] = '\0';
        if (len > 0 && buf[len - 1] == '\r')
            buf[--len] = '\0';
    }
    return 0;
}

int jh__conf_secret_file(jh__conf_parser *p, const jh__conf_key *k, void *sec, const char *key,
                         const char *value)
{
    char buf[SECRET_MAX + 2], path[4096];
    int fd, rc;

    if (*value == '\0')
        return jh__conf_empty(p, key);
    resolve_path(p->conf->dir, value, path, sizeof(path));
    if ((fd = open_regular(p, path)) < 0)
        return fd;
    if ((rc = read_secret(p, fd, path, buf)) == 0)
        rc = keep(p, k, sec, buf);
    explicit_bzero(buf, sizeof(buf));
    close(fd);
    return rc;
}
