/*
 * plugin.h - loading, checking, initialising and unloading plugin .so files.
 *
 * Every load works on a private copy: the file is copied into a sealed
 * memfd and dlopen()ed as /proc/self/fd/N.  That gives each load a fresh
 * inode, so glibc never hands back a handle it already has (a changed .so
 * at the same path really runs the new code), and a file overwritten in
 * place on disk cannot change pages we have mapped (which crashes a process
 * that maps the original).  glibc also matches dlopen() names against the
 * names of loaded objects, so the memfd stays open as long as its copy is
 * loaded (one fd per loaded plugin): no other load can get that number,
 * hence that name.  Names left by copies dlclose() could not unmap
 * (-z nodelete) are detected and skipped.
 *
 * Before dlopen() the copy's ELF is read (elfcheck.h) to find
 * `jobhost_plugin` in .dynsym and check its magic, ABI major/minor and
 * struct sizes, so no code of a refused plugin runs (not even a
 * constructor).  Refusals name the file, the plugin's ABI and the host's,
 * in the manner of PostgreSQL's magic block errors:
 *   plugins/old.so: incompatible plugin ABI: built for jobhost ABI 2.0, this host provides ABI 1.0 (major versions must match; rebuild the plugin against this host's jobhost.h)
 *   plugins/new.so: incompatible plugin ABI: built for jobhost ABI 1.3, this host provides ABI 1.0 (the plugin is newer than the host; rebuild the plugin against this host's jobhost.h or upgrade the host)
 *   plugins/x.so: not a jobhost plugin: no "jobhost_plugin" symbol (build it with JH_PLUGIN_DESC from jobhost.h)
 *
 * A jh__plugin is reference counted: the loader holds one reference, every
 * scheduled job and every in-flight run holds one.  When the last is
 * dropped, fini() runs and the copy is dlclose()d, so in-flight runs of a
 * replaced or removed plugin finish on the old code.
 *
 * Safe deployment: write the new .so elsewhere on the same file system and
 * mv(1) it into plugins/.  A file rewritten in place while it is being
 * read is detected (size/mtime change during the copy) and retried, then
 * refused with -EAGAIN.
 */
#ifndef JH_PLUGIN_H
#define JH_PLUGIN_H

#include <stdint.h>
#include <sys/types.h>

#include "config/config.h"
#include "base/err.h"
#include "jobhost.h"
#include "runtime/ctx.h"
#include "services.h"

typedef struct jh__plugin jh__plugin;

/* Identity of a file on disk, to tell whether a reload must load it again. */
typedef struct jh__file_id {
    dev_t dev;
    ino_t ino;
    off_t size;
    int64_t mtime_ns;
} jh__file_id;

int jh__file_id_of(const char *path, jh__file_id *out, jh_err *e);
int jh__file_id_equal(const jh__file_id *a, const jh__file_id *b);

/*
 * Load `path` (private copy, ELF pre-check, dlopen, descriptor checks: name
 * [a-z0-9_-]{1,64}, 1..4096 handlers with unique names [A-Za-z0-9_.-]{1,64}
 * and a function, at most 4096 config keys with unique names).  Does not
 * call init.  On success *out holds one reference; on failure *out is NULL
 * and the code is -ENOEXEC (not a shared object for this host, or not a
 * jobhost plugin), -ENOENT (no such file, or no `jobhost_plugin`), -EPROTO
 * (incompatible ABI), -EINVAL (bad descriptor), -EAGAIN (file kept
 * changing) or another -errno.
 */
int jh__plugin_open(const char *path, jh__plugin **out, jh_err *e);

/*
 * Call the plugin's init with its config section (may be NULL = none; keys
 * must already have passed jh__conf_check_plugin).  The section is copied.
 * `env` gives init's (and later fini's) context its logger and repository;
 * it must outlive the plugin.  A non-zero return is an error naming the
 * plugin, file and the message it attached ("plugin NAME (FILE): init
 * failed: MESSAGE"); the plugin then stays uninitialised (no fini) and
 * should be unref'd.  Called at most once per jh__plugin (-EALREADY).
 */
int jh__plugin_init(jh__plugin *p, const jh__conf_plugin *section,
                   const jh__host_env *env, jh_err *e);

void jh__plugin_ref(jh__plugin *p);
/* Drop a reference; the last one runs fini (if init succeeded) and
 * dlclose()s.  Thread-safe (atomic count), but fini runs on the thread
 * that drops the last reference.  Logging plugin.unload is the caller's. */
void jh__plugin_unref(jh__plugin *p);

/* A host-side copy of the descriptor: handlers/config_keys point at
 * host-side arrays with this host's element sizes (handler_size and
 * config_key_size say so); strings point into the plugin and stay valid
 * while it is loaded. */
const jh_plugin_desc *jh__plugin_desc_of(const jh__plugin *p);
const char *jh__plugin_name(const jh__plugin *p);
const char *jh__plugin_path(const jh__plugin *p);
const jh__file_id *jh__plugin_file_id(const jh__plugin *p);
void *jh__plugin_state(const jh__plugin *p);
const jh__conf_plugin *jh__plugin_section(const jh__plugin *p);

/* Value of a declared config key: the section's value, else the declared
 * default, else NULL.  NULL also for an undeclared key. */
const char *jh__plugin_config(const jh__plugin *p, const char *key);

/* Handler by name, or NULL.  Host-side copy: safe whatever the plugin's
 * handler_size was. */
const jh_handler *jh__plugin_handler(const jh__plugin *p, const char *name);
size_t jh__plugin_n_handlers(const jh__plugin *p);
const jh_handler *jh__plugin_handler_at(const jh__plugin *p, size_t i);

/*
 * Attach the backends the host bound to this copy (before init, which may
 * use them); the copy's contexts get svc and svc->repo from then on.  The
 * copy owns svc: `release` runs once, after fini, when the last reference
 * goes.  NULL when none were attached.
 */
void jh__plugin_set_services(jh__plugin *p, jh__services *svc, void (*release)(jh__services *svc));
const jh__services *jh__plugin_services(const jh__plugin *p);

/* What a context of this copy takes from it (pass to jh__ctx_init): name,
 * config lookup, state, services and their repository.  NULL for NULL. */
const jh__ctx_plugin *jh__plugin_ctx(const jh__plugin *p);

#endif
