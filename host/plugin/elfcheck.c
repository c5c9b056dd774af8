/*
 * elfcheck.c - find and check a plugin's descriptor header in its ELF file.
 *
 * Only what dlopen() itself would trust is read: the ELF header, the
 * program headers (to map the symbol's address to a file offset exactly
 * as the loader will) and, to find .dynsym, the section headers.  All
 * structures are copied out with memcpy (the file gives no alignment
 * guarantee) after a bounds check against the image length.
 */
#include "elfcheck.h"

#include <elf.h>
#include <errno.h>
#include <link.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

/* The host's own ELF identity; a plugin must match it. */
#define HOST_CLASS (__ELF_NATIVE_CLASS == 64 ? ELFCLASS64 : ELFCLASS32)
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_DATA ELFDATA2LSB
#else
#define HOST_DATA ELFDATA2MSB
#endif
#if defined(__x86_64__)
#define HOST_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define HOST_MACHINE EM_AARCH64
#elif defined(__i386__)
#define HOST_MACHINE EM_386
#elif defined(__arm__)
#define HOST_MACHINE EM_ARM
#elif defined(__riscv)
#define HOST_MACHINE EM_RISCV
#elif defined(__powerpc64__)
#define HOST_MACHINE EM_PPC64
#elif defined(__s390x__)
#define HOST_MACHINE EM_S390
#else
#define HOST_MACHINE EM_NONE /* unknown host: machine not checked */
#endif

typedef struct img {
    const unsigned char *buf;
    size_t len;
    const char *path;
    jh_err *e;
} img;

static int fail(const img *im, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(const img *im, int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return jh__err_set(im->e, code, "%s: %s", im->path, msg);
}

/* True if [off, off+size) lies inside the image; no overflow possible. */
static int in_image(const img *im, uint64_t off, uint64_t size)
{
    return off <= im->len && size <= im->len - off;
}

/* Copy out a structure; -ENOEXEC (a truncated file) if it is not all
 * inside the image. */
static int read_at(const img *im, uint64_t off, void *dst, size_t size)
{
    if (!in_image(im, off, size))
        return -ENOEXEC;
    memcpy(dst, im->buf + off, size);
    return 0;
}

static const char *machine_name(unsigned m, char other[static 24])
{
    switch (m) {
    case EM_X86_64: return "x86_64";
    case EM_386: return "i386";
    case EM_AARCH64: return "aarch64";
    case EM_ARM: return "arm";
    case EM_RISCV: return "riscv";
    case EM_PPC64: return "ppc64";
    case EM_PPC: return "ppc";
    case EM_S390: return "s390";
    case EM_MIPS: return "mips";
    default:
        snprintf(other, 24, "ELF machine %u", m);
        return other;
    }
}

static const char *type_name(unsigned t)
{
    switch (t) {
    case ET_REL: return "a relocatable object (.o); link it with -shared";
    case ET_EXEC: return "an executable; build it with -shared -fPIC";
    case ET_CORE: return "a core dump";
    default: return "an ELF file of unknown type";
    }
}

static int check_ehdr(const img *im, ElfW(Ehdr) *eh)
{
    char m1[24], m2[24];
    static const unsigned char magic[SELFMAG] = {ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3};

    if (im->len < SELFMAG || memcmp(im->buf, magic, SELFMAG) != 0)
        return fail(im, -ENOEXEC, "not a shared object (not an ELF file)");
    if (im->len < EI_NIDENT)
        return fail(im, -ENOEXEC, "not a shared object (truncated ELF header)");
    if (im->buf[EI_CLASS] != HOST_CLASS || im->buf[EI_DATA] != HOST_DATA)
        return fail(im, -ENOEXEC,
                    "built for another architecture (%s %s ELF; this host is %d-bit %s)",
                    im->buf[EI_CLASS] == ELFCLASS32 ? "32-bit" :
                    im->buf[EI_CLASS] == ELFCLASS64 ? "64-bit" : "unknown-class",
                    im->buf[EI_DATA] == ELFDATA2MSB ? "big-endian" : "little-endian",
                    __ELF_NATIVE_CLASS, machine_name(HOST_MACHINE, m1));
    if (read_at(im, 0, eh, sizeof(*eh)) < 0)
        return fail(im, -ENOEXEC, "not a shared object (truncated ELF header)");
    if (eh->e_type != ET_DYN)
        return fail(im, -ENOEXEC, "not a shared object (it is %s)", type_name(eh->e_type));
    if (HOST_MACHINE != EM_NONE && eh->e_machine != HOST_MACHINE)
        return fail(im, -ENOEXEC, "built for another architecture (%s; this host is %s)",
                    machine_name(eh->e_machine, m1), machine_name(HOST_MACHINE, m2));
    return 0;
}

/*
 * Every PT_LOAD must lie inside the file: dlopen() maps segments without
 * comparing them to the file size, and touching a page past the end of a
 * mapped file raises SIGBUS.
 */
static int check_phdrs(const img *im, const ElfW(Ehdr) *eh)
{
    ElfW(Phdr) ph;
    int loads = 0;

    if (eh->e_phnum == 0 || eh->e_phentsize != sizeof(ph) ||
        !in_image(im, eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(ph)))
        return fail(im, -ENOEXEC, "not a valid shared object (program headers %s)",
                    eh->e_phnum == 0 ? "missing" : "malformed or truncated");
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        read_at(im, eh->e_phoff + (uint64_t)i * sizeof(ph), &ph, sizeof(ph));
        if (ph.p_type != PT_LOAD)
            continue;
        loads++;
        if (!in_image(im, ph.p_offset, ph.p_filesz) || ph.p_filesz > ph.p_memsz)
            return fail(im, -ENOEXEC,
                        "not a valid shared object (segment %u lies past the end of the "
                        "file: truncated?)", i);
    }
    if (loads == 0)
        return fail(im, -ENOEXEC, "not a valid shared object (no loadable segment)");
    return 0;
}

/* Section header table: located, sized, inside the image. */
typedef struct shtab {
    uint64_t off;
    uint64_t n;
} shtab;

static int find_shtab(const img *im, const ElfW(Ehdr) *eh, shtab *st)
{
    ElfW(Shdr) sh0;

    st->off = eh->e_shoff;
    st->n = eh->e_shnum;
    if (st->off == 0)
        return fail(im, -ENOEXEC,
                    "no section headers (stripped with sstrip?), cannot look up \"%s\"",
                    JH_PLUGIN_SYMBOL);
    if (eh->e_shentsize != sizeof(ElfW(Shdr)))
        return fail(im, -ENOEXEC, "not a valid shared object (malformed section headers)");
    if (read_at(im, st->off, &sh0, sizeof(sh0)) == 0 && st->n == 0)
        st->n = sh0.sh_size; /* >= SHN_LORESERVE sections: the count is in #0 */
    /* n is checked before it is multiplied, so the product cannot wrap. */
    if (st->n == 0 || st->n > im->len / sizeof(ElfW(Shdr)) ||
        !in_image(im, st->off, st->n * sizeof(ElfW(Shdr))))
        return fail(im, -ENOEXEC,
                    "not a valid shared object (section headers past the end of the file: "
                    "truncated?)");
    return 0;
}

static void get_shdr(const img *im, const shtab *st, uint64_t i, ElfW(Shdr) *sh)
{
    read_at(im, st->off + i * sizeof(*sh), sh, sizeof(*sh));
}

/* .dynsym and the string table it links to, both inside the image. */
static int find_dynsym(const img *im, const shtab *st, ElfW(Shdr) *sym, ElfW(Shdr) *str)
{
    uint64_t i;

    for (i = 0; i < st->n; i++) {
        get_shdr(im, st, i, sym);
        if (sym->sh_type == SHT_DYNSYM)
            break;
    }
    if (i == st->n)
        return fail(im, -ENOENT,
                    "not a jobhost plugin: no \"%s\" symbol (no dynamic symbol table; "
                    "build it with JH_PLUGIN_DESC from jobhost.h)", JH_PLUGIN_SYMBOL);
    if (sym->sh_entsize != sizeof(ElfW(Sym)) || !in_image(im, sym->sh_offset, sym->sh_size) ||
        sym->sh_link == 0 || sym->sh_link >= st->n)
        return fail(im, -ENOEXEC, "not a valid shared object (malformed .dynsym)");
    get_shdr(im, st, sym->sh_link, str);
    if (str->sh_type != SHT_STRTAB || !in_image(im, str->sh_offset, str->sh_size))
        return fail(im, -ENOEXEC, "not a valid shared object (malformed .dynstr)");
    return 0;
}

static int name_is(const img *im, const ElfW(Shdr) *str, uint32_t off, const char *name)
{
    size_t n = strlen(name) + 1; /* with the NUL */

    if (off >= str->sh_size || n > str->sh_size - off)
        return 0;
    return memcmp(im->buf + str->sh_offset + off, name, n) == 0;
}

/* The defined data symbol `name`; -ENOENT with a message if there is none. */
static int find_symbol(const img *im, const ElfW(Shdr) *symtab, const ElfW(Shdr) *str,
                       const char *name, ElfW(Sym) *out)
{
    uint64_t n = symtab->sh_size / sizeof(ElfW(Sym));
    int seen_undef = 0;
    ElfW(Sym) s;

    for (uint64_t i = 1; i < n; i++) {
        read_at(im, symtab->sh_offset + i * sizeof(s), &s, sizeof(s));
        if (!name_is(im, str, s.st_name, name))
            continue;
        if (s.st_shndx == SHN_UNDEF) {
            seen_undef = 1;
            continue;
        }
        if (ELF64_ST_TYPE(s.st_info) /* same macro for ELF32 */ != STT_OBJECT)
            return fail(im, -ENOENT,
                        "not a jobhost plugin: \"%s\" is not a data object (build it with "
                        "JH_PLUGIN_DESC from jobhost.h)", name);
        *out = s;
        return 0;
    }
    return fail(im, -ENOENT,
                "not a jobhost plugin: no \"%s\" symbol%s (build it with JH_PLUGIN_DESC "
                "from jobhost.h)", name,
                seen_undef ? " defined in this file" : "");
}

/*
 * Map a virtual address to a file offset the way the loader will: through
 * the PT_LOAD segment that contains [vaddr, vaddr+size).
 */
static int vaddr_to_off(const img *im, const ElfW(Ehdr) *eh, uint64_t vaddr, uint64_t size,
                        uint64_t *off)
{
    ElfW(Phdr) ph;

    for (unsigned i = 0; i < eh->e_phnum; i++) {
        read_at(im, eh->e_phoff + (uint64_t)i * sizeof(ph), &ph, sizeof(ph));
        if (ph.p_type != PT_LOAD || vaddr < ph.p_vaddr || vaddr - ph.p_vaddr >= ph.p_memsz)
            continue;
        if (vaddr - ph.p_vaddr > ph.p_filesz || size > ph.p_filesz - (vaddr - ph.p_vaddr))
            return fail(im, -ENOEXEC,
                        "not a jobhost plugin: \"%s\" is not initialised in the file "
                        "(build it with JH_PLUGIN_DESC from jobhost.h)", JH_PLUGIN_SYMBOL);
        *off = ph.p_offset + (vaddr - ph.p_vaddr);
        return 0;
    }
    return fail(im, -ENOEXEC,
                "not a valid shared object (\"%s\" lies outside every loadable segment)",
                JH_PLUGIN_SYMBOL);
}

static void decode_head(const unsigned char *p, jh__plugin_head *h)
{
    memcpy(&h->magic, p + offsetof(jh_plugin_desc, magic), sizeof(h->magic));
    memcpy(&h->abi_major, p + offsetof(jh_plugin_desc, abi_major), sizeof(h->abi_major));
    memcpy(&h->abi_minor, p + offsetof(jh_plugin_desc, abi_minor), sizeof(h->abi_minor));
    memcpy(&h->size, p + offsetof(jh_plugin_desc, size), sizeof(h->size));
    memcpy(&h->handler_size, p + offsetof(jh_plugin_desc, handler_size),
           sizeof(h->handler_size));
    memcpy(&h->config_key_size, p + offsetof(jh_plugin_desc, config_key_size),
           sizeof(h->config_key_size));
}

int jh__elf_plugin_head(const unsigned char *buf, size_t len, const char *path,
                       jh__plugin_head *out, jh_err *e)
{
    img im = {buf, len, path, e};
    ElfW(Ehdr) eh = {0};
    ElfW(Shdr) symtab = {0}, strtab = {0};
    ElfW(Sym) sym = {0};
    shtab st = {0, 0};
    uint64_t off = 0;
    int rc;

    if ((rc = check_ehdr(&im, &eh)) < 0 || (rc = check_phdrs(&im, &eh)) < 0 ||
        (rc = find_shtab(&im, &eh, &st)) < 0 ||
        (rc = find_dynsym(&im, &st, &symtab, &strtab)) < 0 ||
        (rc = find_symbol(&im, &symtab, &strtab, JH_PLUGIN_SYMBOL, &sym)) < 0)
        return rc;
    if (sym.st_size < JH_PLUGIN_HEAD_BYTES)
        return fail(&im, -ENOEXEC,
                    "not a jobhost plugin: \"%s\" is %llu bytes, too small for a descriptor "
                    "(build it with JH_PLUGIN_DESC from jobhost.h)", JH_PLUGIN_SYMBOL,
                    (unsigned long long)sym.st_size);
    if ((rc = vaddr_to_off(&im, &eh, sym.st_value, JH_PLUGIN_HEAD_BYTES, &off)) < 0)
        return rc;
    decode_head(buf + off, out);
    out->sym_size = sym.st_size;
    return 0;
}

int jh__elf_plugin_head_fd(int fd, const char *path, jh__plugin_head *out, jh_err *e)
{
    struct stat st;
    void *map;
    int rc;

    if (fstat(fd, &st) < 0)
        return jh__err_set(e, -errno, "%s: %s", path, strerror(errno));
    if (st.st_size == 0)
        return jh__err_set(e, -ENOEXEC, "%s: not a shared object (empty file)", path);
    if ((uint64_t)st.st_size > SIZE_MAX)
        return jh__err_set(e, -EFBIG, "%s: file too large", path);
    map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED)
        return jh__err_set(e, -errno, "%s: cannot map: %s", path, strerror(errno));
    rc = jh__elf_plugin_head(map, (size_t)st.st_size, path, out, e);
    munmap(map, (size_t)st.st_size);
    return rc;
}

int jh__plugin_head_check(const jh__plugin_head *h, const char *path, jh_err *e)
{
    const char *rebuild = "rebuild the plugin against this host's jobhost.h";

    if (h->magic != JH_PLUGIN_MAGIC)
        return jh__err_set(e, -ENOEXEC,
                          "%s: not a jobhost plugin: bad magic 0x%08x in \"%s\" (expected "
                          "0x%08x; build it with JH_PLUGIN_DESC from jobhost.h)",
                          path, (unsigned)h->magic, JH_PLUGIN_SYMBOL, JH_PLUGIN_MAGIC);
    if (h->abi_major != JH_ABI_MAJOR)
        return jh__err_set(e, -EPROTO,
                          "%s: incompatible plugin ABI: built for jobhost ABI %u.%u, this "
                          "host provides ABI %d.%d (major versions must match; %s)",
                          path, h->abi_major, h->abi_minor, JH_ABI_MAJOR, JH_ABI_MINOR,
                          rebuild);
    if (h->abi_minor > JH_ABI_MINOR)
        return jh__err_set(e, -EPROTO,
                          "%s: incompatible plugin ABI: built for jobhost ABI %u.%u, this "
                          "host provides ABI %d.%d (the plugin is newer than the host; %s "
                          "or upgrade the host)",
                          path, h->abi_major, h->abi_minor, JH_ABI_MAJOR, JH_ABI_MINOR,
                          rebuild);
    if (h->size < JH_DESC_SIZE_1_0 || h->handler_size < JH_HANDLER_SIZE_1_0 ||
        h->config_key_size < JH_CONFIG_KEY_SIZE_1_0)
        return jh__err_set(e, -EPROTO,
                          "%s: incompatible plugin ABI: struct sizes descriptor=%u "
                          "handler=%u config_key=%u are smaller than ABI 1.0's (%zu, %zu, "
                          "%zu); built for jobhost ABI %u.%u, this host provides ABI %d.%d "
                          "(%s)",
                          path, h->size, h->handler_size, h->config_key_size,
                          JH_DESC_SIZE_1_0, JH_HANDLER_SIZE_1_0, JH_CONFIG_KEY_SIZE_1_0,
                          h->abi_major, h->abi_minor, JH_ABI_MAJOR, JH_ABI_MINOR, rebuild);
    if (h->sym_size < h->size)
        return jh__err_set(e, -EPROTO,
                          "%s: not a jobhost plugin: \"%s\" is %llu bytes but its size field "
                          "says %u (build it with JH_PLUGIN_DESC from jobhost.h)",
                          path, JH_PLUGIN_SYMBOL, (unsigned long long)h->sym_size, h->size);
    return 0;
}

int jh__elf_precheck(int fd, const char *path, jh__plugin_head *out, jh_err *e)
{
    int rc = jh__elf_plugin_head_fd(fd, path, out, e);

    return rc < 0 ? rc : jh__plugin_head_check(out, path, e);
}
