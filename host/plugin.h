/*
 * plugin.h - loading, checking, initialising and unloading plugin .so files.
 *
 * Every load works on a private copy: the file is copied into a memfd and
 * dlopen()ed as /proc/self/fd/N.  That gives each load a fresh path and
 * inode, so glibc never hands back a handle it already has (a changed .so
 * at the same path really runs the new code), and a file overwritten in
 * place on disk cannot change pages we have mapped (which crashes a process
 * that maps the original).
 *
 * Before dlopen() the ELF file is read to find `jobhost_plugin` in .dynsym
 * and check its magic, ABI major/minor and descriptor size, so no code of
 * a refused plugin runs (not even a constructor).  Refusals name the file,
 * the plugin's ABI and the host's, in the manner of PostgreSQL's magic
 * block errors:
 *   plugins/old.so: incompatible plugin ABI: built for jobhost ABI 2.0, this host provides ABI 1.0 (major must match)
 *   plugins/new.so: incompatible plugin ABI: built for jobhost ABI 1.3, this host provides ABI 1.0 (rebuild it against this host's jobhost.h or upgrade the host)
 *   plugins/x.so: not a jobhost plugin: no "jobhost_plugin" symbol (build it with JH_PLUGIN_DESC from jobhost.h)
 *
 * A jh_plugin is reference counted: the loader holds one reference, every
 * scheduled job and every in-flight run holds one.  When the last is
 * dropped, fini() runs and the copy is dlclose()d, so in-flight runs of a
 * replaced or removed plugin finish on the old code.
 */
#ifndef JH_PLUGIN_H
#define JH_PLUGIN_H

#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "err.h"
#include "jobhost.h"

typedef struct jh_plugin jh_plugin;
struct jh_host_env; /* see ctx.h */

/* Identity of a file on disk, to tell whether a reload must load it again. */
typedef struct jh_file_id {
    dev_t dev;
    ino_t ino;
    off_t size;
    int64_t mtime_ns;
} jh_file_id;

int jh_file_id_of(const char *path, jh_file_id *out, jh_err *e);
int jh_file_id_equal(const jh_file_id *a, const jh_file_id *b);

/*
 * Load `path` (private copy, ELF pre-check, dlopen, descriptor checks: name
 * valid, handler table sane, no duplicate handler names).  Does not call
 * init.  On success *out holds one reference.
 */
int jh_plugin_open(const char *path, jh_plugin **out, jh_err *e);

/*
 * Call the plugin's init with its config section (may be NULL = none; keys
 * must already have passed jh_conf_check_plugin).  The section is copied.
 * `env` gives init's context its logger and repository.  A non-zero return
 * is an error naming the plugin, file and the message it attached.
 */
int jh_plugin_init(jh_plugin *p, const jh_conf_plugin *section,
                   const struct jh_host_env *env, jh_err *e);

void jh_plugin_ref(jh_plugin *p);
/* Drop a reference; the last one runs fini (if init succeeded), logs
 * plugin.unload, dlclose()s.  Thread-safe (atomic count), but fini runs
 * on the thread that drops the last reference. */
void jh_plugin_unref(jh_plugin *p);

const jh_plugin_desc *jh_plugin_desc_of(const jh_plugin *p);
const char *jh_plugin_name(const jh_plugin *p);
const char *jh_plugin_path(const jh_plugin *p);
const jh_file_id *jh_plugin_file_id(const jh_plugin *p);
void *jh_plugin_state(const jh_plugin *p);
const jh_conf_plugin *jh_plugin_section(const jh_plugin *p);

/* Value of a declared config key: the section's value, else the declared
 * default, else NULL.  NULL also for an undeclared key. */
const char *jh_plugin_config(const jh_plugin *p, const char *key);

/* Handler by name, or NULL.  Host-side copy: safe whatever the plugin's
 * handler_size was. */
const jh_handler *jh_plugin_handler(const jh_plugin *p, const char *name);
size_t jh_plugin_n_handlers(const jh_plugin *p);
const jh_handler *jh_plugin_handler_at(const jh_plugin *p, size_t i);

#endif
