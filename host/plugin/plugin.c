/*
 * plugin.c - load a plugin from a private copy, check it, init, refcount.
 *
 * jh__plugin_open():
 *   1. copy the file into a sealed memfd (copy_and_seal)
 *   2. check the copy's ELF and descriptor header (elfcheck.c): no plugin
 *      code has run yet, and the bytes checked are the bytes loaded
 *   3. dlopen("/proc/self/fd/N") (load_copy)
 *   4. dlsym the descriptor, re-check its header (bind_desc)
 *   5. validate the descriptor and copy its tables host-side (copy_tables)
 */
#include "plugin.h"

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/ctx.h"
#include "runtime/fatal.h"
#include "elfcheck.h"

#define NAME_MAX_LEN 64
#define TABLE_MAX 4096

struct jh__plugin {
    atomic_int refs;
    int init_called;          /* jh__plugin_init ran (successfully or not) */
    int initialized;          /* init succeeded: fini is due */
    void *dl;
    int memfd;                /* open while dl is loaded: see load_copy() */
    char *path;
    jh__file_id fid;
    const jh_plugin_desc *orig; /* the plugin's own descriptor */
    jh_plugin_desc desc;      /* host-side copy pointing at the arrays below */
    jh_handler *handlers;
    jh_config_key *keys;
    jh__conf_plugin *section;  /* own copy (one block), or NULL */
    const jh__host_env *env;
    jh__services *svc;         /* backends bound by the host, or NULL */
    void (*svc_release)(jh__services *svc);
    jh__ctx_plugin ctx;        /* what contexts copy; ctx.state is the plugin's state */
};

/* ---- file identity --------------------------------------------------- */

static void file_id_from_stat(const struct stat *st, jh__file_id *out)
{
    out->dev = st->st_dev;
    out->ino = st->st_ino;
    out->size = st->st_size;
    out->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

int jh__file_id_of(const char *path, jh__file_id *out, jh_err *e)
{
    struct stat st;

    if (stat(path, &st) < 0)
        return jh__err_set(e, -errno, "%s: %s", path, strerror(errno));
    file_id_from_stat(&st, out);
    return 0;
}

int jh__file_id_equal(const jh__file_id *a, const jh__file_id *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime_ns == b->mtime_ns;
}

/* ---- 1. private copy ------------------------------------------------- */

/* Copy the rest of `in` to `out` from both current offsets.  The fast
 * paths are refused across file systems or by some kernels; each falls
 * back to the next, continuing where the previous stopped. */
static int copy_fd(int in, int out)
{
    char buf[65536];
    ssize_t n;
    int mode = 0; /* 0: copy_file_range, 1: sendfile, 2: read/write */

    for (;;) {
        if (mode == 0)
            n = copy_file_range(in, NULL, out, NULL, 1 << 20, 0);
        else if (mode == 1)
            n = sendfile(out, in, NULL, 1 << 20);
        else
            n = read(in, buf, sizeof(buf));
        if (n == 0)
            return 0;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (mode < 2 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
                             errno == EOPNOTSUPP || errno == EPERM)) {
                mode++;
                continue;
            }
            return -errno;
        }
        for (ssize_t off = 0; mode == 2 && off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno != EINTR)
                return -errno;
            off += w > 0 ? w : 0;
        }
    }
}

/* A memfd named after the file, so /proc/PID/maps says what it holds. */
static int new_memfd(const char *path)
{
    const char *base = strrchr(path, '/');
    char name[200];

    snprintf(name, sizeof(name), "jobhost:%s", base ? base + 1 : path);
    return memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
}

/*
 * One attempt: copy `src` into a new memfd and report whether the source
 * changed meanwhile (someone writing it in place), comparing fstat before
 * and after.  A file replaced with mv does not count: our fd keeps the
 * old inode, whose bytes do not change.
 */
static int copy_once(int src, const char *path, int *memfd, jh__file_id *fid, int *changed)
{
    struct stat before, after, copied;
    jh__file_id a;
    int fd, rc;

    if (fstat(src, &before) < 0 || lseek(src, 0, SEEK_SET) < 0)
        return -errno;
    if ((fd = new_memfd(path)) < 0)
        return -errno;
    if ((rc = copy_fd(src, fd)) == 0 && (fstat(src, &after) < 0 || fstat(fd, &copied) < 0))
        rc = -errno;
    if (rc < 0) {
        close(fd);
        return rc;
    }
    file_id_from_stat(&before, fid);
    file_id_from_stat(&after, &a);
    *changed = !jh__file_id_equal(fid, &a) || copied.st_size != after.st_size;
    *memfd = fd;
    return 0;
}

/* Copies until one was taken while the file stood still (3 tries). */
static int copy_stable(int src, const char *path, int *memfd, jh__file_id *fid, jh_err *e)
{
    int rc, changed = 1;

    for (int tries = 0; tries < 3 && changed; tries++) {
        if (tries > 0) {
            close(*memfd);
            *memfd = -1;
        }
        if ((rc = copy_once(src, path, memfd, fid, &changed)) < 0)
            return jh__err_set(e, rc, "%s: cannot copy: %s", path, strerror(-rc));
    }
    if (changed) {
        close(*memfd);
        *memfd = -1;
        return jh__err_set(e, -EAGAIN,
                          "%s: the file kept changing while it was read; deploy plugins by "
                          "writing elsewhere and then mv(1) into place", path);
    }
    return 0;
}

static int copy_and_seal(const char *path, int *memfd, jh__file_id *fid, jh_err *e)
{
    struct stat st;
    int src, rc;

    /* O_NONBLOCK: a FIFO dropped into plugins/ must not hang the host. */
    src = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (src < 0)
        return jh__err_set(e, -errno, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(src, &st) < 0)
        rc = jh__err_set(e, -errno, "%s: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        rc = jh__err_set(e, -EINVAL, "%s: not a regular file", path);
    else if ((rc = copy_stable(src, path, memfd, fid, e)) == 0)
        /* Freeze the copy: the bytes checked are the bytes mapped.  Best
         * effort (a kernel without seals still gives us a private copy). */
        (void)fcntl(*memfd, F_ADD_SEALS,
                    F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
    close(src);
    return rc;
}

/* ---- 3. dlopen ------------------------------------------------------- */

/* "/proc/self/fd/7: undefined symbol: x" -> "undefined symbol: x". */
static const char *dlerror_text(const char *procname)
{
    const char *s = dlerror();
    size_t n = strlen(procname);

    if (s == NULL)
        return "unknown dlopen error";
    if (strncmp(s, procname, n) == 0 && strncmp(s + n, ": ", 2) == 0)
        return s + n + 2;
    return s;
}

/*
 * dlopen() the memfd through /proc/self/fd/N.  glibc first compares the
 * name with every loaded object's name and, on a match, returns that
 * object without opening anything.  So the fd stays open as long as the
 * copy is loaded (no other load can get the number, hence the name), and a
 * name left behind by an object dlclose() could not unload (RTLD_NODELETE,
 * C++ unique symbols) is detected with RTLD_NOLOAD and avoided by moving
 * our fd to a higher number.
 */
static int load_copy(jh__plugin *p, jh_err *e)
{
    char name[64];
    void *old;

    for (int tries = 0;; tries++) {
        snprintf(name, sizeof(name), "/proc/self/fd/%d", p->memfd);
        if ((old = dlopen(name, RTLD_LAZY | RTLD_NOLOAD)) == NULL)
            break;
        dlclose(old);
        int fd = fcntl(p->memfd, F_DUPFD_CLOEXEC, p->memfd + 1);
        if (fd < 0 || tries == 16) {
            if (fd >= 0)
                close(fd);
            return jh__err_set(e, -EMFILE, "%s: cannot find a free name to load it under",
                              p->path);
        }
        close(p->memfd);
        p->memfd = fd;
    }
    dlerror();
    p->dl = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (p->dl == NULL)
        return jh__err_set(e, -ENOEXEC, "%s: cannot load: %s", p->path, dlerror_text(name));
    return 0;
}

/* ---- 4. descriptor --------------------------------------------------- */

static int bind_desc(jh__plugin *p, const jh__plugin_head *h, jh_err *e)
{
    const jh_plugin_desc *d = dlsym(p->dl, JH_PLUGIN_SYMBOL);

    /* What was checked in the file must be what got mapped; a mismatch
     * means the ELF lied (e.g. section/segment tricks). */
    if (d == NULL || d->magic != h->magic || d->abi_major != h->abi_major ||
        d->abi_minor != h->abi_minor || d->size != h->size ||
        d->handler_size != h->handler_size || d->config_key_size != h->config_key_size)
        return jh__err_set(e, -ENOEXEC,
                          "%s: not a jobhost plugin: the loaded \"%s\" differs from the one "
                          "in the file", p->path, JH_PLUGIN_SYMBOL);
    p->orig = d;
    /* Read only what the plugin's descriptor has; the rest stays zero. */
    memcpy(&p->desc, d, h->size < sizeof(p->desc) ? h->size : sizeof(p->desc));
    return 0;
}

/* ---- 5. validation and host-side tables ------------------------------ */

static int valid_name(const char *s, int allow_upper_dot)
{
    size_t n;

    if (s == NULL || (n = strnlen(s, NAME_MAX_LEN + 1)) == 0 || n > NAME_MAX_LEN)
        return 0;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              (allow_upper_dot && ((c >= 'A' && c <= 'Z') || c == '.'))))
            return 0;
    }
    return 1;
}

/* A name for a message, whatever bytes the plugin put there. */
static const char *printable(const char *s, char buf[static NAME_MAX_LEN + 1])
{
    size_t i;

    if (s == NULL)
        return "(null)";
    for (i = 0; i < NAME_MAX_LEN && s[i]; i++)
        buf[i] = s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' ? s[i] : '?';
    buf[i] = '\0';
    return buf;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first name that occurs twice in names[0..n), or NULL.  Sorts names. */
static const char *find_duplicate(const char **names, size_t n)
{
    qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 1; i < n; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            return names[i];
    return NULL;
}

static int bad(const jh__plugin *p, jh_err *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(const jh__plugin *p, jh_err *e, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return jh__err_set(e, -EINVAL, "%s: invalid plugin descriptor: %s", p->path, msg);
}

/*
 * Copy the handler table element by element with the plugin's stride
 * (handler_size), reading only the members both sides know, so nothing
 * after this touches the plugin's array layout.
 */
static int copy_handlers(jh__plugin *p, jh_err *e)
{
    size_t n = p->desc.n_handlers, stride = p->orig->handler_size;
    size_t take = stride < sizeof(jh_handler) ? stride : sizeof(jh_handler);
    const char *base = (const char *)p->desc.handlers, *dup, **names;
    char b[NAME_MAX_LEN + 1];
    int rc = 0;

    if (n == 0 || n > TABLE_MAX || base == NULL)
        return bad(p, e, "plugin %s declares %zu handlers%s (it needs 1 to %d: set .handlers "
                   "and .n_handlers = JH_COUNTOF(handlers))", p->desc.name, n,
                   base == NULL ? " and no table" : "", TABLE_MAX);
    p->handlers = calloc(n, sizeof(jh_handler));
    names = calloc(n, sizeof(*names));
    if (p->handlers == NULL || names == NULL) {
        rc = jh__err_set(e, -ENOMEM, "%s: out of memory", p->path);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        jh_handler *h = &p->handlers[i];
        memcpy(h, base + i * stride, take);
        if (!valid_name(h->name, 1)) {
            rc = bad(p, e, "handler #%zu has the name \"%s\" (it must match "
                     "[A-Za-z0-9_.-]+, 1 to %d characters)", i + 1, printable(h->name, b),
                     NAME_MAX_LEN);
            goto out;
        }
        if (h->fn == NULL) {
            rc = bad(p, e, "handler \"%s\" has no function", h->name);
            goto out;
        }
        names[i] = h->name;
    }
    if ((dup = find_duplicate(names, n)) != NULL) {
        rc = bad(p, e, "handler \"%s\" is declared twice", dup);
        goto out;
    }
    p->desc.handlers = p->handlers;
    p->desc.handler_size = sizeof(jh_handler);
out:
    free(names);
    return rc;
}

static int copy_keys(jh__plugin *p, jh_err *e)
{
    size_t n = p->desc.n_config_keys, stride = p->orig->config_key_size;
    size_t take = stride < sizeof(jh_config_key) ? stride : sizeof(jh_config_key);
    const char *base = (const char *)p->desc.config_keys, *dup, **names = NULL;
    char b[NAME_MAX_LEN + 1];
    int rc = 0;

    p->desc.config_keys = NULL;
    p->desc.config_key_size = sizeof(jh_config_key);
    if (n == 0)
        return 0;
    if (n > TABLE_MAX || base == NULL)
        return bad(p, e, "plugin %s declares %zu config keys%s (at most %d)", p->desc.name, n,
                   base == NULL ? " and no table" : "", TABLE_MAX);
    p->keys = calloc(n, sizeof(jh_config_key));
    names = calloc(n, sizeof(*names));
    if (p->keys == NULL || names == NULL) {
        rc = jh__err_set(e, -ENOMEM, "%s: out of memory", p->path);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(&p->keys[i], base + i * stride, take);
        if (!valid_name(p->keys[i].name, 1)) {
            rc = bad(p, e, "config key #%zu has the name \"%s\" (it must match "
                     "[A-Za-z0-9_.-]+, 1 to %d characters)", i + 1,
                     printable(p->keys[i].name, b), NAME_MAX_LEN);
            goto out;
        }
        names[i] = p->keys[i].name;
    }
    if ((dup = find_duplicate(names, n)) != NULL) {
        rc = bad(p, e, "config key \"%s\" is declared twice", dup);
        goto out;
    }
    p->desc.config_keys = p->keys;
out:
    free(names);
    return rc;
}

static int copy_tables(jh__plugin *p, jh_err *e)
{
    char b[NAME_MAX_LEN + 1];
    int rc;

    if (!valid_name(p->desc.name, 0))
        return bad(p, e, "name \"%s\" must match [a-z0-9_-]+ (1 to %d characters)",
                   printable(p->desc.name, b), NAME_MAX_LEN);
    if (p->desc.version == NULL)
        p->desc.version = "";
    if ((rc = copy_handlers(p, e)) < 0 || (rc = copy_keys(p, e)) < 0)
        return rc;
    p->desc.size = sizeof(jh_plugin_desc);
    return 0;
}

/* ---- open / unref ---------------------------------------------------- */

static void run_fini(jh__plugin *p)
{
    struct jh_ctx c;

    jh__ctx_init(&c, p->env, &p->ctx, NULL, NULL, 0, 0, INT64_MAX, NULL);
    jh__fatal_note("fini");
    p->desc.fini(&c, p->ctx.state);
    jh__ctx_finish(&c);
}

static void destroy(jh__plugin *p)
{
    if (p->initialized && p->desc.fini != NULL)
        run_fini(p);
    /* After fini (which may still use its backends), before dlclose. */
    if (p->svc != NULL && p->svc_release != NULL)
        p->svc_release(p->svc);
    if (p->dl != NULL)
        dlclose(p->dl);
    /* Only now: while the copy was loaded its fd number was its name. */
    if (p->memfd >= 0)
        close(p->memfd);
    free(p->handlers);
    free(p->keys);
    free(p->section);
    free(p->path);
    free(p);
}

static const char *ctx_config(const void *p, const char *key)
{
    return jh__plugin_config(p, key);
}

int jh__plugin_open(const char *path, jh__plugin **out, jh_err *e)
{
    jh__plugin_head head;
    jh__plugin *p;
    int rc;

    *out = NULL;
    if ((p = calloc(1, sizeof(*p))) == NULL || (p->path = strdup(path)) == NULL) {
        free(p);
        return jh__err_set(e, -ENOMEM, "%s: out of memory", path);
    }
    atomic_init(&p->refs, 1);
    p->memfd = -1;
    if ((rc = copy_and_seal(path, &p->memfd, &p->fid, e)) < 0 ||
        (rc = jh__elf_precheck(p->memfd, path, &head, e)) < 0 ||
        (rc = load_copy(p, e)) < 0 || (rc = bind_desc(p, &head, e)) < 0 ||
        (rc = copy_tables(p, e)) < 0) {
        destroy(p);
        return rc;
    }
    p->ctx.name = p->desc.name;
    p->ctx.config = ctx_config;
    p->ctx.config_data = p;
    *out = p;
    return 0;
}

void jh__plugin_ref(jh__plugin *p)
{
    atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
}

void jh__plugin_unref(jh__plugin *p)
{
    if (p == NULL)
        return;
    /* acq_rel: every other holder's writes happen before fini and free. */
    if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1)
        destroy(p);
}

/* ---- init and configuration ------------------------------------------ */

static size_t str_size(const char *s)
{
    return s != NULL ? strlen(s) + 1 : 0;
}

/* Copy s to *w and advance *w past it; NULL stays NULL. */
static const char *put_str(char **w, const char *s)
{
    char *d = *w;
    size_t n = str_size(s);

    if (s == NULL)
        return NULL;
    memcpy(d, s, n);
    *w += n;
    return d;
}

/* Deep copy of a section into one block: the conf snapshot it came from
 * may be freed by a reload while this plugin copy lives on. */
static jh__conf_plugin *copy_section(const jh__conf_plugin *s)
{
    size_t kvs = s->n_kv * sizeof(jh__conf_kv);
    size_t strs = str_size(s->name) + str_size(s->pos.file) + str_size(s->mysql) +
                  str_size(s->redis) + str_size(s->events) + str_size(s->mysql_pos.file) +
                  str_size(s->redis_pos.file) + str_size(s->events_pos.file);
    jh__conf_plugin *c;
    char *w;

    for (size_t i = 0; i < s->n_kv; i++)
        strs += str_size(s->kv[i].key) + str_size(s->kv[i].value) +
                str_size(s->kv[i].pos.file);
    if ((c = malloc(sizeof(*c) + kvs + strs)) == NULL)
        return NULL;
    *c = *s;
    c->kv = (jh__conf_kv *)(void *)(c + 1);
    w = (char *)c->kv + kvs;
    c->name = put_str(&w, s->name);
    c->pos.file = put_str(&w, s->pos.file);
    c->mysql = put_str(&w, s->mysql);
    c->redis = put_str(&w, s->redis);
    c->events = put_str(&w, s->events);
    c->mysql_pos.file = put_str(&w, s->mysql_pos.file);
    c->redis_pos.file = put_str(&w, s->redis_pos.file);
    c->events_pos.file = put_str(&w, s->events_pos.file);
    for (size_t i = 0; i < s->n_kv; i++) {
        c->kv[i] = s->kv[i];
        c->kv[i].key = put_str(&w, s->kv[i].key);
        c->kv[i].value = put_str(&w, s->kv[i].value);
        c->kv[i].pos.file = put_str(&w, s->kv[i].pos.file);
    }
    return c;
}

static int word_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '_' || ch == '.';
}

/* Where in the [plugin] section an init failure points: the line of a key
 * the plugin's message names as a word ("api_key is required"), else the
 * section's header. */
static const jh__conf_pos *init_blame(const jh__conf_plugin *sec, const char *msg)
{
    for (size_t i = 0; i < sec->n_kv; i++) {
        const char *key = sec->kv[i].key;
        size_t kl = strlen(key);
        for (const char *m = strstr(msg, key); m != NULL; m = strstr(m + 1, key))
            if ((m == msg || !word_char(m[-1])) && !word_char(m[kl]))
                return &sec->kv[i].pos;
    }
    return &sec->pos;
}

static int init_failed(jh__plugin *p, int rc, const char *msg, jh_err *e)
{
    char num[32];
    const jh__conf_pos *at;

    if (msg[0] == '\0') {
        snprintf(num, sizeof(num), "returned %d", rc);
        msg = rc < 0 ? strerror(-rc) : num;
    }
    if (p->section == NULL || (at = init_blame(p->section, msg))->file == NULL)
        return jh__err_set(e, rc < 0 ? rc : -EINVAL, "plugin %s (%s): init failed: %s",
                          p->desc.name, p->path, msg);
    return jh__err_set(e, rc < 0 ? rc : -EINVAL, "%s:%d: plugin %s (%s): init failed: %s",
                      at->file, at->line, p->desc.name, p->path, msg);
}

int jh__plugin_init(jh__plugin *p, const jh__conf_plugin *section,
                   const jh__host_env *env, jh_err *e)
{
    struct jh_ctx c;
    void *state = NULL;
    int rc;

    if (p->init_called)
        return jh__err_set(e, -EALREADY, "plugin %s (%s): init called twice", p->desc.name,
                          p->path);
    p->init_called = 1;
    p->env = env;
    if (section != NULL && (p->section = copy_section(section)) == NULL)
        return jh__err_set(e, -ENOMEM, "plugin %s (%s): out of memory", p->desc.name, p->path);
    if (p->desc.init == NULL) {
        p->initialized = 1;
        return 0;
    }
    jh__ctx_init(&c, env, &p->ctx, NULL, NULL, 0, 0, INT64_MAX, NULL);
    jh__fatal_note("init");
    rc = p->desc.init(&c, &state);
    if (rc != 0)
        rc = init_failed(p, rc, c.errmsg, e);
    jh__ctx_finish(&c);
    if (rc == 0) {
        p->ctx.state = state;
        p->initialized = 1;
    }
    return rc;
}

const char *jh__plugin_config(const jh__plugin *p, const char *key)
{
    const jh_config_key *k = NULL;

    for (size_t i = 0; i < p->desc.n_config_keys && k == NULL; i++)
        if (strcmp(p->keys[i].name, key) == 0)
            k = &p->keys[i];
    if (k == NULL)
        return NULL;
    for (size_t i = p->section ? p->section->n_kv : 0; i > 0; i--) /* last one wins */
        if (strcmp(p->section->kv[i - 1].key, key) == 0)
            return p->section->kv[i - 1].value;
    return k->default_value;
}

/* ---- accessors ------------------------------------------------------- */

const jh_plugin_desc *jh__plugin_desc_of(const jh__plugin *p) { return &p->desc; }
const char *jh__plugin_name(const jh__plugin *p) { return p->desc.name; }
const char *jh__plugin_path(const jh__plugin *p) { return p->path; }
const jh__file_id *jh__plugin_file_id(const jh__plugin *p) { return &p->fid; }
void *jh__plugin_state(const jh__plugin *p) { return p->ctx.state; }
const jh__conf_plugin *jh__plugin_section(const jh__plugin *p) { return p->section; }
size_t jh__plugin_n_handlers(const jh__plugin *p) { return p->desc.n_handlers; }

const jh_handler *jh__plugin_handler_at(const jh__plugin *p, size_t i)
{
    return i < p->desc.n_handlers ? &p->handlers[i] : NULL;
}

const jh_handler *jh__plugin_handler(const jh__plugin *p, const char *name)
{
    for (size_t i = 0; i < p->desc.n_handlers; i++)
        if (strcmp(p->handlers[i].name, name) == 0)
            return &p->handlers[i];
    return NULL;
}

void jh__plugin_set_services(jh__plugin *p, jh__services *svc, void (*release)(jh__services *svc))
{
    p->svc = svc;
    p->svc_release = release;
    p->ctx.services = svc;
    p->ctx.repo = svc != NULL ? svc->repo : NULL;
}

const jh__services *jh__plugin_services(const jh__plugin *p)
{
    return p != NULL ? p->svc : NULL;
}

const jh__ctx_plugin *jh__plugin_ctx(const jh__plugin *p)
{
    return p != NULL ? &p->ctx : NULL;
}
