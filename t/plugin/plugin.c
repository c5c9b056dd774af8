/*
 * The plugin loader: every refusal with its message, no plugin code before
 * the ABI check, init failures, private copies (a .so replaced in place or
 * with mv really runs the new code, the old copy keeps running the old
 * code and survives its file being truncated), reference counting, no fd
 * or mapping leaked over 1,000 loads, and an ELF parser that survives
 * truncated and mutated files.
 */
#include <elf.h>
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/ctx.h"
#include "plugin/elfcheck.h"
#include "plugin/plugin.h"
#include "plugins/ok.h"
#include "lib/tap.h"

static char tmp[] = "/tmp/jh-plugin-XXXXXX";
static jh__host_env env;
static jh__logger *logger;
static jh__store *store;
static int logfd = -1;

/* ---- helpers ---------------------------------------------------------- */

static const char *so(const char *name)
{
    static char buf[4][512];
    static int i;
    char rel[256];

    snprintf(rel, sizeof(rel), "t/plugins/%s.so", name);
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof(buf[i]), "%s", tap_build(rel));
    return buf[i];
}

static const char *tmpf(const char *name)
{
    static char buf[4][512];
    static int i;

    i = (i + 1) % 4;
    snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmp, name);
    return buf[i];
}

static unsigned char *slurp(const char *path, size_t *len)
{
    struct stat st;
    unsigned char *b;
    int fd = open(path, O_RDONLY);

    if (fd < 0 || fstat(fd, &st) < 0)
        bail("%s: %s", path, strerror(errno));
    b = malloc((size_t)st.st_size + 1);
    if (b == NULL || read(fd, b, (size_t)st.st_size) != st.st_size)
        bail("read %s", path);
    close(fd);
    *len = (size_t)st.st_size;
    return b;
}

/* Write bytes to `path`.  inplace: open the existing file with O_TRUNC and
 * rewrite it (what cp does: same inode).  Otherwise create it. */
static void spew(const char *path, const void *buf, size_t len, int inplace)
{
    int fd = open(path, O_WRONLY | O_TRUNC | (inplace ? 0 : O_CREAT), 0644);

    if (fd < 0 || write(fd, buf, len) != (ssize_t)len || close(fd) < 0)
        bail("write %s: %s", path, strerror(errno));
}

static void copy_to(const char *from, const char *to, int inplace)
{
    size_t len;
    unsigned char *b = slurp(from, &len);

    spew(to, b, len, inplace);
    free(b);
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int n = 0;

    while ((de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the DIR's own fd */
}

/* Lines of /proc/self/maps that map one of our private copies. */
static int count_copy_maps(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[1024];
    int n = 0;

    while (fgets(line, sizeof(line), f) != NULL)
        n += strstr(line, "memfd:jobhost:") != NULL;
    fclose(f);
    return n;
}

/* Open that must fail; returns the message (static). */
static const char *refusal(const char *path, int *code)
{
    static jh_err e;
    jh__plugin *p = (jh__plugin *)&e; /* must be reset to NULL */

    jh__err_clear(&e);
    *code = jh__plugin_open(path, &p, &e);
    if (*code == 0) {
        jh__plugin_unref(p);
        return "(loaded)";
    }
    if (p != NULL)
        return "(*out not NULL after failure)";
    return e.msg;
}

static jh__plugin *open_ok(const char *path)
{
    jh__plugin *p = NULL;
    jh_err e;

    if (jh__plugin_open(path, &p, &e) != 0)
        bail("open %s: %s", path, e.msg);
    return p;
}

/* A [plugin ok] section with marker = `marker` and greeting = "hi". */
typedef struct section {
    jh__conf_kv kv[2];
    jh__conf_plugin s;
    char marker[512];
    char greeting[16];
} section;

static const jh__conf_plugin *make_section(section *sec, const char *marker)
{
    snprintf(sec->marker, sizeof(sec->marker), "%s", marker);
    snprintf(sec->greeting, sizeof(sec->greeting), "hi");
    sec->kv[0] = (jh__conf_kv){"marker", sec->marker, {"conf.d/10-ok.ini", 2}};
    sec->kv[1] = (jh__conf_kv){"greeting", sec->greeting, {"conf.d/10-ok.ini", 3}};
    sec->s = (jh__conf_plugin){.name = "ok", .kv = sec->kv, .n_kv = 2,
                              .pos = {"conf.d/10-ok.ini", 1}, .enabled = 1};
    return &sec->s;
}

static jh__plugin *open_init(const char *path, const char *marker)
{
    jh__plugin *p = open_ok(path);
    section sec;
    jh_err e;

    if (jh__plugin_init(p, make_section(&sec, marker), &env, &e) != 0)
        bail("init %s: %s", path, e.msg);
    return p;
}

/* Run handler `name` of p the way a worker does. */
static int run(jh__plugin *p, const char *name)
{
    const jh_handler *h = jh__plugin_handler(p, name);
    struct jh_ctx c;
    int rc;

    if (h == NULL)
        return -ENOENT;
    jh__ctx_init(&c, &env, jh__plugin_ctx(p), "job", name, 1, 0, INT64_MAX, NULL);
    rc = h->fn(&c);
    jh__ctx_finish(&c);
    return rc;
}

static ok_state *st(jh__plugin *p)
{
    return jh__plugin_state(p);
}

static int file_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

static char *read_text(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");

    buf[0] = '\0';
    if (f != NULL) {
        if (fgets(buf, (int)n, f) == NULL)
            buf[0] = '\0';
        fclose(f);
    }
    return buf;
}

/* ---- refusals --------------------------------------------------------- */

static void test_abi_refusals(void)
{
    char want[1024];
    const char *msg;
    int code;

    msg = refusal(so("abi_major"), &code);
    snprintf(want, sizeof(want),
             "%s: incompatible plugin ABI: built for jobhost ABI 2.0, this host provides ABI "
             "%d.%d (major versions must match; rebuild the plugin against this host's "
             "jobhost.h)", so("abi_major"), JH_ABI_MAJOR, JH_ABI_MINOR);
    is_str(msg, want, "other major: refused, names file and both ABIs");
    is_int(code, -EPROTO, "other major: -EPROTO");

    msg = refusal(so("abi_minor"), &code);
    snprintf(want, sizeof(want),
             "%s: incompatible plugin ABI: built for jobhost ABI %d.%d, this host provides "
             "ABI %d.%d (the plugin is newer than the host; rebuild the plugin against this "
             "host's jobhost.h or upgrade the host)", so("abi_minor"), JH_ABI_MAJOR,
             JH_ABI_MINOR + 1, JH_ABI_MAJOR, JH_ABI_MINOR);
    is_str(msg, want, "newer minor: refused");
    is_int(code, -EPROTO, "newer minor: -EPROTO");

    msg = refusal(so("nosym"), &code);
    snprintf(want, sizeof(want),
             "%s: not a jobhost plugin: no \"jobhost_plugin\" symbol (build it with "
             "JH_PLUGIN_DESC from jobhost.h)", so("nosym"));
    is_str(msg, want, "missing entry point");
    is_int(code, -ENOENT, "missing entry point: -ENOENT");

    msg = refusal(so("badmagic"), &code);
    snprintf(want, sizeof(want),
             "%s: not a jobhost plugin: bad magic 0xdeadbeef in \"jobhost_plugin\" (expected "
             "0x4c50484a; build it with JH_PLUGIN_DESC from jobhost.h)", so("badmagic"));
    is_str(msg, want, "bad magic");

    msg = refusal(so("funcsym"), &code);
    like(msg, "not a jobhost plugin: \"jobhost_plugin\" is not a data object", "symbol is a function");
    msg = refusal(so("bss"), &code);
    like(msg, "not a jobhost plugin: \"jobhost_plugin\" is not initialised in the file",
         "descriptor in .bss");

    static const char *small[] = {"abi_small_desc", "abi_small_handler", "abi_small_key"};
    for (size_t i = 0; i < 3; i++) {
        msg = refusal(so(small[i]), &code);
        snprintf(want, sizeof(want), "%s: incompatible plugin ABI: struct sizes", so(small[i]));
        like(msg, want, "%s: refused", small[i]);
        snprintf(want, sizeof(want), "built for jobhost ABI %d.%d, this host provides ABI %d.%d",
                 JH_ABI_MAJOR, JH_ABI_MINOR, JH_ABI_MAJOR, JH_ABI_MINOR);
        like(msg, want, "%s: names both ABIs", small[i]);
    }
}

static void test_not_plugins(void)
{
    char want[1024];
    const char *msg;
    int code;

    spew(tmpf("text.so"), "#!/bin/sh\necho not a library\n", 29, 0);
    msg = refusal(tmpf("text.so"), &code);
    snprintf(want, sizeof(want), "%s: not a shared object (not an ELF file)", tmpf("text.so"));
    is_str(msg, want, "text file: not an ELF file");
    is_int(code, -ENOEXEC, "text file: -ENOEXEC");

    spew(tmpf("empty.so"), "", 0, 0);
    msg = refusal(tmpf("empty.so"), &code);
    like(msg, "empty.so: not a shared object (empty file)", "empty file");

    msg = refusal(tmpf("missing.so"), &code);
    like(msg, "missing.so: cannot open: No such file or directory", "missing file");
    is_int(code, -ENOENT, "missing file: -ENOENT");

    msg = refusal(so("undef"), &code);
    snprintf(want, sizeof(want), "%s: cannot load: undefined symbol: jh_test_no_such_function",
             so("undef"));
    is_str(msg, want, "dlopen failure: dlerror's text, under the file's name");

    msg = refusal(tmp, &code);
    like(msg, ": not a regular file", "a directory");

    msg = refusal(tap_build("t/plugins/ok_v1_so-ok.o"), &code);
    like(msg, "ok_v1_so-ok.o: not a shared object (it is a relocatable object (.o); link it "
         "with -shared)", "an object file");
}

/* Patch one field of a copy of ok_v1.so and expect `needle`. */
static void patched(const char *what, size_t off, const void *val, size_t n, const char *needle)
{
    size_t len;
    unsigned char *b = slurp(so("ok_v1"), &len);
    const char *path = tmpf("patched.so");
    int code;

    memcpy(b + off, val, n);
    spew(path, b, len, 0);
    free(b);
    like(refusal(path, &code), needle, "%s", what);
}

static void test_patched_headers(void)
{
    uint16_t type = ET_EXEC, machine = EM_AARCH64, big = 0xffff;
    unsigned char cls = ELFCLASS32;
    uint64_t huge = (uint64_t)1 << 60;
    char want[256];

#if defined(__aarch64__)
    machine = EM_X86_64;
#endif
    snprintf(want, sizeof(want), "built for another architecture (%s; this host is",
             machine == EM_AARCH64 ? "aarch64" : "x86_64");
    patched("other machine", offsetof(Elf64_Ehdr, e_machine), &machine, 2, want);
    patched("32-bit ELF", EI_CLASS, &cls, 1, "built for another architecture (32-bit little-endian ELF");
    patched("executable", offsetof(Elf64_Ehdr, e_type), &type, 2,
            "not a shared object (it is an executable; build it with -shared -fPIC)");
    patched("section headers far away", offsetof(Elf64_Ehdr, e_shoff), &huge, 8,
            "section headers past the end of the file");
    patched("too many sections", offsetof(Elf64_Ehdr, e_shnum), &big, 2,
            "section headers past the end of the file");
    patched("program headers far away", offsetof(Elf64_Ehdr, e_phoff), &huge, 8,
            "program headers malformed or truncated");
}

/* ---- no code before the check ---------------------------------------- */

static void test_constructor(void)
{
    const char *mark = tmpf("ctor.mark");
    char want[512];
    jh__plugin *p;
    int code;

    setenv("JH_TEST_CTOR_FILE", mark, 1);
    snprintf(want, sizeof(want), "built for jobhost ABI %d.0, this host provides ABI %d.%d",
             JH_ABI_MAJOR + 1, JH_ABI_MAJOR, JH_ABI_MINOR);
    like(refusal(so("ctor"), &code), want, "ctor.so (wrong major) refused");
    ok(!file_exists(mark), "its constructor did not run");

    /* Control: the same constructor with the right major does run, so the
     * check above could have failed. */
    p = open_ok(so("ctor_ok"));
    ok(file_exists(mark), "ctor_ok.so (right major): its constructor ran");
    jh__plugin_unref(p);
    unsetenv("JH_TEST_CTOR_FILE");
}

/* ---- descriptor checks ----------------------------------------------- */

static void test_bad_descriptors(void)
{
    static const struct {
        const char *so, *msg;
    } cases[] = {
        {"bad_name", "invalid plugin descriptor: name \"Bad Name\" must match [a-z0-9_-]+ (1 to 64 characters)"},
        {"bad_dup", "invalid plugin descriptor: handler \"tick\" is declared twice"},
        {"bad_nofn", "invalid plugin descriptor: handler \"tock\" has no function"},
        {"bad_none", "invalid plugin descriptor: plugin baddesc declares 0 handlers and no table"},
        {"bad_dupkey", "invalid plugin descriptor: config key \"limit\" is declared twice"},
    };
    char want[1024];
    int code;

    for (size_t i = 0; i < JH_COUNTOF(cases); i++) {
        snprintf(want, sizeof(want), "%s: %s", so(cases[i].so), cases[i].msg);
        like(refusal(so(cases[i].so), &code), want, "%s refused", cases[i].so);
        is_int(code, -EINVAL, "%s: -EINVAL", cases[i].so);
    }
}

/* ---- a good plugin ---------------------------------------------------- */

static void test_good(void)
{
    jh__plugin *p = open_ok(so("ok_v1"));
    const jh_plugin_desc *d = jh__plugin_desc_of(p);
    const jh_handler *h;
    jh__file_id id;

    is_str(jh__plugin_name(p), "ok", "name");
    is_str(d->version, "v1", "version");
    is_str(jh__plugin_path(p), so("ok_v1"), "path as given");
    ok(jh__file_id_of(so("ok_v1"), &id, NULL) == 0 && jh__file_id_equal(&id, jh__plugin_file_id(p)),
       "file id matches the file");
    is_int(jh__plugin_n_handlers(p), 3, "three handlers");
    is_str(jh__plugin_handler_at(p, 0)->name, "version", "handler 0");
    ok(jh__plugin_handler_at(p, 3) == NULL, "handler_at past the end is NULL");
    h = jh__plugin_handler(p, "tick");
    ok(h != NULL && h->every && strcmp(h->every, "5s") == 0 && h->cron == NULL,
       "tick: default every 5s");
    h = jh__plugin_handler(p, "nightly");
    ok(h != NULL && h->cron && strcmp(h->cron, "0 0 2 * * *") == 0 && h->timezone &&
           strcmp(h->timezone, "UTC") == 0, "nightly: default cron and zone");
    ok(jh__plugin_handler(p, "nope") == NULL, "unknown handler is NULL");
    is_int(d->n_config_keys, 3, "three config keys");
    ok(d->config_keys[2].secret && !d->config_keys[0].secret, "token is secret, marker not");
    is_str(jh__plugin_config(p, "greeting"), "hello", "no section: declared default");
    ok(jh__plugin_config(p, "marker") == NULL, "no section, no default: NULL");
    ok(jh__plugin_config(p, "undeclared") == NULL, "undeclared key: NULL");
    ok(jh__plugin_state(p) == NULL && jh__plugin_section(p) == NULL, "no state before init");
    jh__plugin_unref(p);

    /* Tables with a larger stride than ours. */
    p = open_ok(so("wide"));
    d = jh__plugin_desc_of(p);
    is_int(d->handler_size, sizeof(jh_handler), "host-side table has the host's stride");
    ok(jh__plugin_n_handlers(p) == 3 && strcmp(jh__plugin_handler_at(p, 0)->name, "one") == 0 &&
           strcmp(jh__plugin_handler_at(p, 1)->name, "two") == 0 &&
           strcmp(jh__plugin_handler_at(p, 2)->name, "three") == 0,
       "wide: handler names read with the plugin's stride");
    h = jh__plugin_handler(p, "two");
    ok(h && h->every == NULL && h->cron && strcmp(h->cron, "*/2 * * * * *") == 0,
       "wide: schedules read with the plugin's stride");
    is_int(h->fn(NULL), 2, "wide: handler two's function");
    is_str(jh__plugin_config(p, "beta"), "b", "wide: config key defaults read with its stride");
    ok(d->config_keys[1].secret == 1, "wide: secret flag of key 2");
    jh__plugin_unref(p);
}

/* ---- init ------------------------------------------------------------- */

static void test_init(void)
{
    const char *marker = tmpf("fini.txt");
    jh__plugin *p = open_ok(so("ok_v1"));
    section sec;
    char want[1024], buf[256];
    jh_err e;

    unlink(marker);
    is_int(jh__plugin_init(p, make_section(&sec, marker), &env, &e), 0, "init ok");
    ok(st(p) && st(p)->init_version == 1, "init ran and stored its state");
    is_str(st(p) ? st(p)->greeting : "", "hi", "init saw the section's value");
    memset(&sec, 'x', sizeof(sec)); /* the loader must have copied it */
    is_str(jh__plugin_config(p, "greeting"), "hi", "section value after the caller's copy is gone");
    is_str(jh__plugin_config(p, "marker"), marker, "marker from the section");
    ok(jh__plugin_config(p, "token") == NULL, "declared key without default or value");
    is_str(jh__plugin_section(p)->kv[0].pos.file, "conf.d/10-ok.ini", "positions copied too");
    is_int(jh__plugin_init(p, NULL, &env, &e), -EALREADY, "init twice refused");
    is_int(run(p, "tick"), 0, "handler runs");
    is_int(st(p)->calls, 1, "handler saw the state");

    /* fini only at the last reference. */
    jh__plugin_ref(p);
    jh__plugin_unref(p);
    ok(!file_exists(marker), "fini not run while a reference remains");
    jh__plugin_unref(p);
    is_str(read_text(marker, buf, sizeof(buf)), "fini v1 calls=1\n", "fini ran at the last unref");

    p = open_ok(so("init_fail"));
    is_int(jh__plugin_init(p, NULL, &env, &e), -EINVAL, "init failure: its code");
    snprintf(want, sizeof(want),
             "plugin init_fail (%s): init failed: api_key is required (set it in [plugin "
             "init_fail])", so("init_fail"));
    is_str(e.msg, want, "init failure: message names plugin, file and the plugin's reason");
    jh__plugin_unref(p); /* its fini traps if called */
    ok(1, "fini not called after a failed init");

    p = open_ok(so("init_errno"));
    jh__plugin_init(p, NULL, &env, &e);
    snprintf(want, sizeof(want), "plugin init_errno (%s): init failed: %s", so("init_errno"),
             strerror(ECONNREFUSED));
    is_str(e.msg, want, "init failure without a message: strerror of its code");
    jh__plugin_unref(p);

    /* A plugin never initialised gets no fini either. */
    unlink(marker);
    jh__plugin_unref(open_ok(so("ok_v1")));
    ok(!file_exists(marker), "no init, no fini");
}

/* References taken and dropped from several threads at once (run it
 * under --enable-tsan): fini runs once, after the last. */
static void *ref_unref_loop(void *arg)
{
    jh__plugin *p = arg;

    for (int i = 0; i < 20000; i++) {
        jh__plugin_ref(p);
        jh__plugin_unref(p);
    }
    jh__plugin_unref(p); /* the reference main took for this thread */
    return NULL;
}

static void test_threads(void)
{
    const char *marker = tmpf("threads.txt");
    jh__plugin *p = open_init(so("ok_v1"), marker);
    pthread_t t[4];
    char buf[64];

    for (int i = 0; i < 4; i++) {
        jh__plugin_ref(p);
        pthread_create(&t[i], NULL, ref_unref_loop, p);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    ok(!file_exists(marker), "4 threads x 20000 ref/unref: still loaded while main holds one");
    jh__plugin_unref(p);
    is_str(read_text(marker, buf, sizeof(buf)), "fini v1 calls=0\n", "fini once, at the last unref");
}

/* ---- replacing the file ---------------------------------------------- */

static void test_replace(void)
{
    const char *live = tmpf("ok.so");
    struct stat s1, s2;
    jh__plugin *p1, *p2, *p3;
    jh__file_id id1;
    size_t len;
    unsigned char *b;

    copy_to(so("ok_v1"), live, 0);
    stat(live, &s1);
    p1 = open_init(live, "");
    id1 = *jh__plugin_file_id(p1);

    copy_to(so("ok_v2"), live, 1); /* cp over it: same inode, new bytes */
    stat(live, &s2);
    ok(s1.st_ino == s2.st_ino, "overwritten in place (same inode)");
    p2 = open_init(live, "");
    ok(!jh__file_id_equal(&id1, jh__plugin_file_id(p2)), "file id tells the change");
    run(p1, "version");
    run(p2, "version");
    is_int(st(p1)->last_version, 1, "first handle still runs v1 code");
    is_int(st(p2)->last_version, 2, "second handle runs v2 code");
    is_int(st(p2)->init_version, 2, "second handle's init was v2's");
    is_str(jh__plugin_desc_of(p2)->version, "v2", "second handle's descriptor is v2's");

    /* mv-replace: write elsewhere, rename into place. */
    copy_to(so("ok_v1"), tmpf("ok.so.new"), 0);
    if (rename(tmpf("ok.so.new"), live) < 0)
        bail("rename: %s", strerror(errno));
    p3 = open_init(live, "");
    run(p3, "version");
    run(p2, "version");
    is_int(st(p3)->last_version, 1, "after mv: new handle runs v1 again");
    is_int(st(p2)->last_version, 2, "after mv: v2 handle still runs v2");

    /* Truncating a mapped original raises SIGBUS in a process that maps
     * it; ours map private copies, so the loaded code keeps working. */
    b = slurp(live, &len);
    spew(live, "garbage", 7, 1);
    st(p3)->last_version = 0;
    run(p3, "version");
    is_int(st(p3)->last_version, 1, "code of a copy whose file was truncated still runs");
    free(b);

    jh__plugin_unref(p1);
    jh__plugin_unref(p2);
    jh__plugin_unref(p3);
}

/* ---- names of private copies ---------------------------------------- */

/*
 * glibc's dlopen() returns an already loaded object when the name matches
 * ("/proc/self/fd/N"), without looking at the file.  Load v2 with 0..11
 * extra fds open, so that one of the loads gets any fd number a previous
 * copy used; each must run v2's code.
 */
static int v2_under_every_fd_number(void)
{
    int wrong = 0, dummies[12];

    for (int k = 0; k < 12; k++) {
        for (int j = 0; j < k; j++)
            dummies[j] = dup(0);
        jh__plugin *p = open_init(so("ok_v2"), "");
        run(p, "version");
        wrong += st(p)->init_version != 2 || st(p)->last_version != 2;
        jh__plugin_unref(p);
        for (int j = 0; j < k; j++)
            close(dummies[j]);
    }
    return wrong;
}

/* open_init() with a few fds open meanwhile, so that the copy's fd number
 * lies above free ones that later loads will take. */
static jh__plugin *open_init_high(const char *path)
{
    int hold[4];
    jh__plugin *p;

    for (int j = 0; j < 4; j++)
        hold[j] = dup(0);
    p = open_init(path, "");
    for (int j = 0; j < 4; j++)
        close(hold[j]);
    return p;
}

static void test_names(void)
{
    jh__plugin *p1 = open_init_high(so("ok_v1"));

    is_int(v2_under_every_fd_number(), 0, "a load never gets the loaded v1 copy");
    run(p1, "version");
    is_int(st(p1)->last_version, 1, "and v1 still runs v1");
    jh__plugin_unref(p1);
}

/* Last: an object linked with -z nodelete stays mapped after dlclose(),
 * and so does its name. */
static void test_nodelete(void)
{
    jh__plugin *p = open_init_high(so("ok_nodelete"));

    run(p, "version");
    is_int(st(p)->last_version, 3, "nodelete copy runs (v3)");
    jh__plugin_unref(p);
    is_int(v2_under_every_fd_number(), 0, "a load never gets a copy dlclose() left behind");
}

/* ---- leaks ------------------------------------------------------------ */

static void test_cycles(void)
{
    const char *marker = tmpf("cycle.txt");
    int fds0 = count_fds(), maps0 = count_copy_maps(), fini_seen = 0;
    char buf[64];

    for (int i = 0; i < 1000; i++) {
        jh__plugin *p = open_init(so(i % 2 ? "ok_v2" : "ok_v1"), marker);
        run(p, "tick");
        jh__plugin_unref(p);
        fini_seen += strncmp(read_text(marker, buf, sizeof(buf)), "fini v", 6) == 0;
        unlink(marker);
    }
    is_int(fini_seen, 1000, "1000 open/init/run/unref cycles, fini each time");
    is_int(count_fds(), fds0, "no file descriptor leaked");
    is_int(count_copy_maps(), maps0, "no private copy left mapped");
    is_int(maps0, 0, "(and none was mapped before)");
}

/* ---- ELF parser robustness ------------------------------------------- */

static void test_truncated(void)
{
    size_t len;
    unsigned char *img = slurp(so("ok_v1"), &len);
    jh__plugin_head h;
    jh_err e;
    int passed = 0, bad_msg = 0;

    ok(jh__elf_plugin_head(img, len, "ok_v1.so", &h, &e) == 0 && h.magic == JH_PLUGIN_MAGIC,
       "whole image parses");
    /* Every prefix, each in a buffer of exactly its size (ASan sees any
     * read past it).  Section headers sit at the end of the file, so every
     * prefix must be refused. */
    for (size_t n = 0; n < len; n++) {
        unsigned char *cut = malloc(n ? n : 1);
        memcpy(cut, img, n);
        jh__err_clear(&e);
        if (jh__elf_plugin_head(cut, n, "cut.so", &h, &e) == 0)
            passed++;
        else if (strncmp(e.msg, "cut.so: ", 8) != 0)
            bad_msg++;
        free(cut);
    }
    is_int(passed, 0, "all %zu truncated prefixes refused", len);
    is_int(bad_msg, 0, "each with a message naming the file");

    /* A few truncated files through the whole loader. */
    int refused = 0;
    for (size_t n = 1; n < len; n += len / 16) {
        jh__plugin *p = NULL;
        spew(tmpf("cut.so"), img, n, 0);
        refused += jh__plugin_open(tmpf("cut.so"), &p, &e) < 0 && p == NULL;
        if (p)
            jh__plugin_unref(p);
    }
    ok(refused >= 16, "truncated files refused by jh__plugin_open (%d)", refused);
    free(img);
}

static void test_mutated(void)
{
    size_t len;
    unsigned char *img = slurp(so("ok_v1"), &len), *m = malloc(len);
    unsigned seed = 12345;
    int accepted = 0;
    jh__plugin_head h;
    jh_err e;

    /* Random byte changes anywhere: the parser must never crash or read
     * out of bounds (ASan), whatever it decides. */
    for (int i = 0; i < 20000; i++) {
        memcpy(m, img, len);
        int flips = 1 + (int)(rand_r(&seed) % 8);
        for (int f = 0; f < flips; f++) {
            /* Bias to the headers and tables the parser reads. */
            size_t at = (size_t)rand_r(&seed) % (rand_r(&seed) % 2 ? 128 : len);
            m[at] = (unsigned char)rand_r(&seed);
        }
        if (jh__elf_plugin_head(m, len, "m.so", &h, &e) == 0 &&
            jh__plugin_head_check(&h, "m.so", &e) == 0)
            accepted++;
    }
    ok(1, "20000 mutated images parsed without a crash (%d still accepted)", accepted);
    free(m);
    free(img);
}

int main(void)
{
    plan_lazy();
    if (mkdtemp(tmp) == NULL)
        bail("mkdtemp: %s", strerror(errno));
    logfd = open(tmpf("log"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (logfd < 0 || jh__log_new(logfd, JH_LOGFMT_LOGFMT, JH_LOG_DEBUG, &logger) < 0 ||
        jh__store_new(NULL, NULL, &store) < 0)
        bail("log/store setup");
    env = (jh__host_env){.log = logger, .repo = jh__store_repo(), .store = store};

    test_abi_refusals();
    test_not_plugins();
    test_patched_headers();
    test_constructor();
    test_bad_descriptors();
    test_good();
    test_init();
    test_threads();
    test_replace();
    test_names();
    test_cycles();
    test_truncated();
    test_mutated();
    test_nodelete();

    jh__store_free(store);
    jh__log_free(logger);
    close(logfd);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        diag("could not remove %s", tmp);
    return done_testing();
}
