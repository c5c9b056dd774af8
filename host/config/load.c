/*
 * load.c - a configuration snapshot from conf.d/ *.ini (or one string):
 * the files in name order, each parsed into the same snapshot, then the
 * checks that need all of them (finish.c).
 */
#include "keymap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A snapshot with the [host] defaults.  They come from the [host] table,
 * parsed like any value (a bad one would be reported as "(defaults)"). */
static int conf_new(const char *dir, jh__conf **out, jh_err *e)
{
    jh__conf *c = calloc(1, sizeof(*c));
    jh__conf_parser p;
    int rc;

    if (c == NULL || (c->dir = jh__conf_strdup(c, dir)) == NULL) {
        free(c);
        return jh__err_set(e, -ENOMEM, "out of memory");
    }
    memset(&p, 0, sizeof(p));
    p.conf = c;
    p.e = e;
    p.file = "(defaults)";
    snprintf(p.label, sizeof(p.label), "host");
    if ((rc = jh__conf_defaults(&p, jh__conf_section_of(JH_CONF_HOST), &c->host)) < 0) {
        jh__conf_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* What kind of thing a conf.d entry is, for the error refusing it. */
static const char *kind_of(mode_t m)
{
    return S_ISDIR(m) ? "a directory" : S_ISFIFO(m) ? "a FIFO" : S_ISCHR(m) ? "a character device"
           : S_ISBLK(m) ? "a block device" : S_ISSOCK(m) ? "a socket" : "not a regular file";
}

/* Only a regular file of at most JH__CONF_FILE_MAX bytes is read (a
 * symlink is followed to one).  stat first, so a FIFO or a device is not
 * even opened; the open is non-blocking and its fstat checked again, in
 * case the entry changed in between. */
static int open_regular(const char *path, int *fd, jh_err *e)
{
    struct stat st;

    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return jh__err_set(e, -EINVAL, "%s: not a regular file (%s)", path, kind_of(st.st_mode));
    if ((*fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) < 0)
        return jh__err_set(e, -errno, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(*fd, &st) < 0) {
        int err = errno;
        close(*fd);
        return jh__err_set(e, -err, "%s: cannot stat: %s", path, strerror(err));
    }
    if (!S_ISREG(st.st_mode) || st.st_size > JH__CONF_FILE_MAX) {
        close(*fd);
        if (!S_ISREG(st.st_mode))
            return jh__err_set(e, -EINVAL, "%s: not a regular file (%s)", path,
                               kind_of(st.st_mode));
        return jh__err_set(e, -EFBIG, "%s: larger than %d MiB, the limit for one file", path,
                           JH__CONF_FILE_MAX >> 20);
    }
    return 0;
}

static int read_file(const char *path, char **out, jh_err *e)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    ssize_t n = 1;
    int fd = -1, rc;

    if ((rc = open_regular(path, &fd, e)) < 0)
        return rc;
    while (n > 0 && len <= JH__CONF_FILE_MAX) {
        if (jh__conf_grow((void **)&buf, &cap, len + 65537, 1) < 0) {
            rc = jh__err_set(e, -ENOMEM, "%s: out of memory", path);
            break;
        }
        if ((n = read(fd, buf + len, cap - len - 1)) > 0)
            len += (size_t)n;
        else if (n < 0 && errno == EINTR)
            n = 1;
        else if (n < 0)
            rc = jh__err_set(e, -errno, "%s: read error: %s", path, strerror(errno));
    }
    close(fd);
    if (rc == 0 && len > JH__CONF_FILE_MAX) /* it grew while we read */
        rc = jh__err_set(e, -EFBIG, "%s: larger than %d MiB, the limit for one file", path,
                         JH__CONF_FILE_MAX >> 20);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    buf[len] = '\0';
    if ((n = (ssize_t)strlen(buf)) != (ssize_t)len) {
        int line = 1;
        for (ssize_t i = 0; i < n; i++)
            line += buf[i] == '\n';
        free(buf);
        return jh__err_set(e, -EINVAL, "%s:%d: contains a NUL byte (not a text file)", path,
                           line);
    }
    *out = buf;
    return 0;
}

static int is_ini(const struct dirent *de)
{
    size_t n = strlen(de->d_name);
    return de->d_name[0] != '.' && n > 4 && strcmp(de->d_name + n - 4, ".ini") == 0;
}

/* Name order is strcmp's (not the locale's, as alphasort would). */
static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int load_file(jh__conf *c, const char *dir, const char *name, jh__conf_load *ld,
                     jh_err *e)
{
    char path[4096], *text = NULL;
    size_t len;
    int rc;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if ((rc = read_file(path, &text, e)) < 0)
        return rc;
    len = strlen(text); /* before parsing, which may cut it up */
    rc = jh__conf_parse_text(c, path, text, ld, e);
    /* The text may hold rdkafka.* secrets inline: do not leave them in
     * freed memory. */
    explicit_bzero(text, len);
    free(text);
    return rc;
}

/* The end of a load: the snapshot into *out, or freed on an error. */
static int done(jh__conf *c, jh__conf_load *ld, int rc, jh__conf **out)
{
    for (size_t k = 0; k < JH_CONF_N_KINDS; k++)
        jh__conf_names_free(&ld->names[k]);
    if (rc < 0) {
        jh__conf_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int jh__conf_load_dir(const char *dir, jh__conf **out, jh_err *e)
{
    jh__conf_load ld = {0};
    jh__conf *c = NULL;
    struct dirent **names = NULL;
    int n, rc;

    if ((n = scandir(dir, &names, is_ini, by_name)) < 0) {
        int err = errno;
        if (err == ENOMEM) /* the listing did not fit in memory */
            return jh__err_set(e, -ENOMEM, "out of memory");
        return jh__err_set(e, -err, "%s: cannot open configuration directory: %s", dir,
                           strerror(err));
    }
    if ((rc = conf_new(dir, &c, e)) == 0) {
        for (int i = 0; i < n && rc == 0; i++)
            rc = load_file(c, dir, names[i]->d_name, &ld, e);
        if (rc == 0)
            rc = jh__conf_finish(c, e);
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return done(c, &ld, rc, out);
}

int jh__conf_load_string(const char *name, const char *text, jh__conf **out, jh_err *e)
{
    jh__conf_load ld = {0};
    jh__conf *c = NULL;
    int rc;

    if ((rc = conf_new(".", &c, e)) < 0)
        return rc;
    rc = jh__conf_parse_text(c, name, text, &ld, e);
    if (rc == 0)
        rc = jh__conf_finish(c, e);
    return done(c, &ld, rc, out);
}
