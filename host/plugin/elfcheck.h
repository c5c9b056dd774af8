/*
 * elfcheck.h - read a plugin's descriptor header from its ELF file, before any
 * of its code can run.
 *
 * dlopen() runs a library's constructors before it returns, so an ABI check
 * made after dlopen() comes too late for a plugin built against another
 * ABI.  Instead we parse the file: ELF header (class, byte order, type,
 * machine), program headers (every PT_LOAD inside the file, so dlopen()
 * cannot map past the end and fault), section headers, .dynsym/.dynstr,
 * the symbol `jobhost_plugin`, and the first bytes of the object it names.
 * The descriptor's leading fields (magic, ABI major/minor, struct sizes)
 * are plain integers, stored in the file even when the rest of the
 * descriptor needs relocations.
 *
 * Every offset and size read from the file is checked against the file's
 * length before it is used: a truncated or garbage file is an error, never
 * a crash.  (This is not a defence against a crafted hostile file: a
 * plugin that passes is code the host is about to run anyway.)
 *
 * (Named elfcheck.h, not elf.h: the build puts host/ on the include path,
 * where an elf.h would shadow the system <elf.h> and <link.h>.)
 */
#ifndef JH_ELFCHECK_H
#define JH_ELFCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "jobhost.h"

/*
 * Sizes of the ABI 1.0 structs: the smallest a plugin may declare.  These
 * expressions stay right when later minors append members.
 */
#define JH_DESC_SIZE_1_0 (offsetof(jh_plugin_desc, n_config_keys) + sizeof(size_t))
#define JH_HANDLER_SIZE_1_0 (offsetof(jh_handler, timezone) + sizeof(const char *))
#define JH_CONFIG_KEY_SIZE_1_0 (offsetof(jh_config_key, secret) + sizeof(int))

/* The descriptor fields that are checked before dlopen(). */
typedef struct jh__plugin_head {
    uint32_t magic;
    uint16_t abi_major;
    uint16_t abi_minor;
    uint32_t size;
    uint32_t handler_size;
    uint32_t config_key_size;
    uint64_t sym_size;    /* st_size of `jobhost_plugin` in .dynsym */
} jh__plugin_head;

/* Bytes of the header fields above as laid out in jh_plugin_desc. */
#define JH_PLUGIN_HEAD_BYTES 20

/*
 * Find `jobhost_plugin` in the ELF image buf[0..len) and fill *out.  `path`
 * is only used in messages.  Errors: -ENOEXEC (not an ELF shared object for
 * this machine, malformed or truncated), -ENOENT (no such symbol, or it is
 * not a defined data object), with a message naming `path`.
 */
int jh__elf_plugin_head(const unsigned char *buf, size_t len, const char *path,
                       jh__plugin_head *out, jh_err *e);

/* Same on an open file (mapped read-only for the duration of the call, so
 * nobody may truncate it meanwhile: use it on a private copy). */
int jh__elf_plugin_head_fd(int fd, const char *path, jh__plugin_head *out, jh_err *e);

/*
 * The ABI policy: magic (-ENOEXEC: not a jobhost plugin), then major (must
 * equal the host's), then minor (must not be newer than the host's), then
 * the struct sizes (at least ABI 1.0's, and the symbol at least as large
 * as the descriptor claims); those fail with -EPROTO.  Messages name
 * `path`, the plugin's ABI and the host's.
 */
int jh__plugin_head_check(const jh__plugin_head *h, const char *path, jh_err *e);

/* jh__elf_plugin_head_fd() + jh__plugin_head_check(). */
int jh__elf_precheck(int fd, const char *path, jh__plugin_head *out, jh_err *e);

#endif
