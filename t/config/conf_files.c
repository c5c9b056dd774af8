/*
 * conf_files.t - what conf.d's *.ini entries may be: regular files (or
 * symlinks to them) of at most JH__CONF_FILE_MAX bytes; a FIFO, a device,
 * a directory or a larger file is refused at once, naming it.  What is
 * inside one: the line limit (198 characters, the README's figure), a
 * UTF-8 BOM, a second [host], a NUL byte (each error with file:line).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "time/tz.h"
#include "lib/tap.h"

static char dir[64];

static const char *at(const char *name)
{
    static char p[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
    return p[k];
}

static void put(const char *name, const char *text)
{
    FILE *f = fopen(at(name), "w");
    if (f == NULL)
        bail("fopen %s", name);
    fputs(text, f);
    fclose(f);
}

static void clear(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s/*", dir);
    if (system(cmd) != 0)
        bail("rm");
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1e3 + (t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Load dir (alarm-guarded: a blocking read ends the test); expect the
 * error "DIR/want" within a second. */
static void expect_refused(const char *want, const char *name)
{
    jh__conf *c = NULL;
    jh_err e;
    struct timespec t0;
    char full[512];
    int rc;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    alarm(5);
    rc = jh__conf_load_dir(dir, &c, &e);
    alarm(0);
    snprintf(full, sizeof(full), "%s/%s", dir, want);
    ok(rc < 0, "%s: refused", name);
    like(rc < 0 ? e.msg : "(loaded)", full, "  %s", want);
    ok(ms_since(&t0) < 1000, "  at once (%.1f ms)", ms_since(&t0));
    jh__conf_free(c);
}

static void special_files(void)
{
    clear();
    put("10-a.ini", "[job a]\nplugin = p\nhandler = h\n");
    if (mkfifo(at("20-x.ini"), 0600) < 0)
        bail("mkfifo: %s", strerror(errno));
    expect_refused("20-x.ini: not a regular file (a FIFO)", "a FIFO named x.ini");
    clear();
    if (symlink("/dev/zero", at("20-z.ini")) < 0)
        bail("symlink: %s", strerror(errno));
    expect_refused("20-z.ini: not a regular file (a character device)", "a symlink to /dev/zero");
    clear();
    if (mkdir(at("20-d.ini"), 0700) < 0)
        bail("mkdir: %s", strerror(errno));
    expect_refused("20-d.ini: not a regular file (a directory)", "a directory named d.ini");
}

static void sizes(void)
{
    jh__conf *c = NULL;
    jh_err e;
    int fd;

    /* A symlink to a regular file is followed. */
    clear();
    put("real", "[job a]\nplugin = p\nhandler = h\n");
    if (symlink("real", at("10-a.ini")) < 0)
        bail("symlink: %s", strerror(errno));
    ok(jh__conf_load_dir(dir, &c, &e) == 0 && c->n_jobs == 1, "a symlink to a regular file loads");
    jh__conf_free(c);
    /* Exactly the cap is read; one byte more is refused before reading
     * (sparse files: nothing is written). */
    clear();
    put("10-a.ini", "[job a]\nplugin = p\nhandler = h\n");
    if ((fd = open(at("10-a.ini"), O_WRONLY)) < 0 || ftruncate(fd, JH__CONF_FILE_MAX) < 0)
        bail("ftruncate");
    close(fd);
    c = NULL;
    ok(jh__conf_load_dir(dir, &c, &e) < 0 && strstr(e.msg, "NUL byte") != NULL,
       "a file of exactly %d MiB is read (and refused for its NUL bytes)", JH__CONF_FILE_MAX >> 20);
    jh__conf_free(c);
    if ((fd = open(at("10-a.ini"), O_WRONLY)) < 0 || ftruncate(fd, JH__CONF_FILE_MAX + 1) < 0)
        bail("ftruncate");
    close(fd);
    expect_refused("10-a.ini: larger than 16 MiB, the limit for one file", "a file over the cap");
}

/* Load dir; 0, or the error's text after "DIR/" in msg. */
static int load(char *msg, size_t size)
{
    jh__conf *c = NULL;
    jh_err e;
    int rc = jh__conf_load_dir(dir, &c, &e);

    snprintf(msg, size, "%s", rc == 0 ? "(loaded)" : e.msg + strlen(dir) + 1);
    jh__conf_free(c);
    return rc;
}

/* [job x] whose plugin line (its third) is `chars` characters long, lines
 * ending in `eol`; the last one in `last`. */
static void long_line(size_t chars, const char *eol, const char *last)
{
    char text[512], *w = text;

    w += sprintf(w, "[job x]%shandler = h%splugin = ", eol, eol);
    memset(w, 'p', chars - 9);
    w += chars - 9;
    sprintf(w, "%s", last);
    clear();
    put("10-x.ini", text);
}

static void lines(void)
{
    char msg[512];

    long_line(198, "\n", "\n");
    is_int(load(msg, sizeof(msg)), 0, "a line of exactly 198 characters loads (%s)", msg);
    long_line(198, "\r\n", "\r\n");
    is_int(load(msg, sizeof(msg)), 0, "... also ending in \\r\\n (%s)", msg);
    long_line(199, "\n", "\n");
    load(msg, sizeof(msg));
    is_str(msg, "10-x.ini:3: line longer than 198 characters", "199 characters are refused");
    long_line(199, "\r\n", "\r\n");
    load(msg, sizeof(msg));
    is_str(msg, "10-x.ini:3: line longer than 198 characters", "... also ending in \\r\\n");
    long_line(198, "\n", "");
    is_int(load(msg, sizeof(msg)), 0, "198 characters on a last line without \\n (%s)", msg);
    long_line(199, "\n", "");
    load(msg, sizeof(msg));
    is_str(msg, "10-x.ini:3: line longer than 198 characters", "... and 199 refused");
}

static void contents(void)
{
    jh__conf *c = NULL;
    jh_err e;
    char msg[512];

    clear();
    put("10-a.ini", "\xEF\xBB\xBF[host]\nworkers = 5\n");
    ok(jh__conf_load_dir(dir, &c, &e) == 0 && c->host.workers == 5,
       "a UTF-8 BOM at the start of a file is skipped");
    jh__conf_free(c);
    clear();
    put("10-a.ini", "\xEF\xBB\xBFworkers = 5\n");
    load(msg, sizeof(msg));
    is_str(msg, "10-a.ini:1: key \"workers\" outside any section", "... the key after it is the first");
    clear();
    put("10-a.ini", "[host]\nworkers = 4\n");
    put("20-b.ini", "\n\n[host]\nlog_level = debug\n");
    load(msg, sizeof(msg));
    char want[256];
    snprintf(want, sizeof(want), "20-b.ini:3: [host]: duplicate section (first at %s/10-a.ini:1)",
             dir);
    is_str(msg, want, "a second [host] is refused naming both places");
    clear();
    put("10-a.ini", "[host]\nworkers = 4\n\n[host]\n");
    load(msg, sizeof(msg));
    snprintf(want, sizeof(want), "10-a.ini:4: [host]: duplicate section (first at %s/10-a.ini:1)",
             dir);
    is_str(msg, want, "... also in the same file");
    clear();
    put("10-a.ini", "[host]\nworkers = 4\n\n");
    FILE *f = fopen(at("10-a.ini"), "a");
    fwrite("x = \0y\n", 1, 7, f);
    fclose(f);
    load(msg, sizeof(msg));
    is_str(msg, "10-a.ini:4: contains a NUL byte (not a text file)", "a NUL byte, with its line");
}

/* Item 8: intervals below 1 ms. */
static void intervals(void)
{
    jh__conf *c = NULL;
    jh_err e;
    char msg[512];

    clear();
    put("10-a.ini", "[job a]\nplugin = p\nhandler = h\nevery = 1ms\n\n"
                    "[job b]\nplugin = p\nhandler = h\ncron = @every 1ms\n");
    ok(jh__conf_load_dir(dir, &c, &e) == 0 && c->jobs[0].every == 1000000,
       "every = 1ms and @every 1ms load");
    jh__conf_free(c);
    clear();
    put("10-a.ini", "[job a]\nplugin = p\nhandler = h\n\nevery = 1ns\n");
    load(msg, sizeof(msg));
    is_str(msg, "10-a.ini:5: [job a]: every \"1ns\": below the minimum of 1ms", "every = 1ns refused");
    clear();
    put("10-a.ini", "[job a]\nplugin = p\nhandler = h\nevery = 999us\n");
    load(msg, sizeof(msg));
    is_str(msg, "10-a.ini:4: [job a]: every \"999us\": below the minimum of 1ms",
           "every = 999us refused");
    clear();
    put("10-a.ini", "[job a]\nplugin = p\nhandler = h\ncron = @every 1ns\n");
    load(msg, sizeof(msg));
    like(msg, "10-a.ini:4: ", "cron = @every 1ns refused at its line (%s)", msg);
    like(msg, "@every: below the minimum of 1ms", "  saying why");
}

int main(void)
{
    plan_lazy();
    snprintf(dir, sizeof(dir), "/tmp/jh-conff-XXXXXX");
    if (mkdtemp(dir) == NULL)
        bail("mkdtemp");
    special_files();
    sizes();
    lines();
    contents();
    intervals();
    clear();
    rmdir(dir);
    jh__tz_cache_free();
    return done_testing();
}
