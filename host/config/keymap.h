/*
 * keymap.h - the key map: one table per section kind, one engine
 * (internal to host/config).
 *
 * Like Fluent Bit's config map, every key of a section is a row: its name,
 * its type, its default (written as in an ini file and parsed by the same
 * code), where its value lands in the section's struct, a description and
 * what checks it (range, enum words, ...).  jh__conf_set_key() does for
 * every key of every section what a key needs: lookup, "did you mean",
 * "set twice" naming the first place, exclusive pairs, the typed parse and
 * its message.  The few keys that need more (every/cron set the schedule
 * kind, rdkafka.* is a pass-through) point to a small dedicated handler;
 * no key is ever chosen by its position in a table.
 *
 * The tables themselves are in tables.c; the README's configuration
 * reference is checked against them (t/config/readme_keys.t).
 */
#ifndef JH_CONFIG_KEYMAP_H
#define JH_CONFIG_KEYMAP_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "config.h"

typedef struct jh__conf_parser jh__conf_parser;
typedef struct jh__conf_key jh__conf_key;

enum jh__conf_ktype {
    JH_K_STR,         /* const char *, arena copy; empty refused unless JH_KF_EMPTY */
    JH_K_INT,         /* int, lo..hi */
    JH_K_BYTES,       /* int64_t, a number of bytes, lo..hi */
    JH_K_BOOL,        /* int: true/yes/on/1 = 1, false/no/off/0 = 0, or one of .names */
    JH_K_ENUM,        /* int: the value of one of .names */
    JH_K_DURATION,    /* int64_t ns, lo..hi when hi > 0 */
    JH_K_SECRET_FILE, /* const char *, read from the file named (secret.c) */
    JH_K_SECRET_ENV,  /* const char *, read from the variable named (secret.c) */
    JH_K_KVLIST,      /* jh__conf_kv * at .off, its size_t count at .n_off */
    JH_K_N_TYPES
};

enum {
    JH_KF_REQUIRED = 1 << 0, /* "missing key" unless set (checked by finish) */
    JH_KF_EMPTY = 1 << 1,    /* an empty value is a value */
    JH_KF_ZERO = 1 << 2,     /* a duration of 0 is allowed */
    JH_KF_PREFIX = 1 << 3,   /* the row takes every key starting with its name
                              * (duplicates are the key list's business) */
    JH_KF_SECRET = 1 << 4,   /* KVLIST values are wiped when the snapshot is freed */
};

/* A word of an enum (or an extra word of a bool) and its value. */
typedef struct jh__conf_word {
    const char *word;
    int value;
} jh__conf_word;

/* A dedicated handler: stores key = value into the section `sec` (or
 * refuses it, after jh__conf_fail).  Returns 0 or a negative errno. */
typedef int (*jh__conf_parse_fn)(jh__conf_parser *p, const jh__conf_key *k, void *sec,
                                 const char *key, const char *value);

struct jh__conf_key {
    const char *name;
    int type;               /* JH_K_* */
    const char *def;        /* default, parsed like an ini value when the
                             * section opens; NULL: the field stays 0 / NULL */
    size_t off;             /* of the field in the section's struct */
    const char *desc;
    /* Optional columns (designated in the tables). */
    unsigned flags;         /* JH_KF_* */
    int64_t lo, hi;         /* INT, BYTES: range; DURATION: range if hi > 0 */
    const jh__conf_word *names; /* ENUM words, BOOL extra words; {NULL}-ended */
    const char *expect;     /* what the message says is expected, when the
                             * text made from lo..hi does not fit */
    const char *doc;        /* the documented default when it is not `def`
                             * (NULL: "`def`", "(required)" or "none") */
    const char *excl;       /* the key that excludes this one: "both ... set" */
    size_t pos_off;         /* where the jh__conf_pos of the line goes; 0 = not
                             * kept (offset 0 is never a position) */
    unsigned set_bit;       /* ORed into the section's set word (jh__conf_job.set) */
    size_t n_off;           /* KVLIST: of the count */
    int ref;                /* STR: names a section of this kind (JH_CONF_*;
                             * 0 = none, [host] is never named) */
    jh__conf_parse_fn parse; /* dedicated handler, instead of the typed store */
};

/* How "duplicate key" names the first place. */
enum jh__conf_dup {
    JH_DUP_LINE,      /* (first set at line N): a section is in one file */
    JH_DUP_FILE_LINE, /* (first set at FILE:N): [host] may be reopened */
    JH_DUP_BARE,      /* no place ([job], as it always said) */
};

/* One section kind. */
typedef struct jh__conf_section {
    int kind;                /* JH_CONF_* */
    const char *word;        /* "mysql" */
    const char *title;       /* "[mysql NAME]" */
    const jh__conf_key *keys;
    size_t n_keys;
    int named;               /* [word NAME] (every kind but [host]) */
    /* named kinds: the array of sections in jh__conf (their first member
     * is the name) and the offset of the header's position in one */
    size_t arr_off, n_off, elem, pos_off;
    size_t set_off;          /* of the `unsigned set` word, 0 = none */
    int single;              /* one section of this kind at most */
    const char *single_why;  /* why (in the message) */
    int dup;                 /* JH_DUP_* */
    int nonempty;            /* no key takes an empty value */
    const char *unknown_hint; /* after "unknown key" when nothing is near */
} jh__conf_section;

/* The kind's table, or NULL; the named kind whose word is s[0..len). */
const jh__conf_section *jh__conf_section_of(int kind);
const jh__conf_section *jh__conf_section_named(const char *s, size_t len);

/* What outlives one file of a load: names seen so far, array capacities. */
typedef struct jh__conf_load {
    jh__conf_names names[JH_CONF_N_KINDS];
    size_t cap[JH_CONF_N_KINDS];
} jh__conf_load;

/* Parse state of one file. */
struct jh__conf_parser {
    jh__conf *conf;
    jh__conf_load *ld;
    jh_err *e;
    int failed;              /* an error is in *e; the rest is skipped */
    const char *file;        /* arena copy */
    const char *text;        /* remaining input */
    int line;                /* line number of the last line read */
    int long_line;           /* first over-long line, 0 if none */
    const jh__conf_section *sd; /* current section; NULL before the first */
    size_t sec_index;        /* of the current section in its array */
    char label[160];         /* "mysql main", for messages */
    jh__conf_pos *seen;      /* where each key of sd was set: sec_seen, or
                              * jh__conf.host_set_ for [host] */
    jh__conf_pos sec_seen[16];
    int host_again;          /* line of a second [host] header being read,
                              * reported when it closes (so a duplicate key
                              * in it is still named first), else 0 */
};

/* Reports "FILE:LINE: msg" (the current line) unless an error is already
 * reported; returns code. */
int jh__conf_fail(jh__conf_parser *p, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The current section's struct. */
void *jh__conf_sec(const jh__conf_parser *p);
/* The i-th section of a named kind, and how many there are. */
void *jh__conf_at(const jh__conf *c, const jh__conf_section *sd, size_t i);
size_t jh__conf_count(const jh__conf *c, const jh__conf_section *sd);
/* The section of a named kind called name, or NULL. */
const void *jh__conf_find(const jh__conf *c, int kind, const char *name);

/* key = value in the current section (keymap.c, like the functions above). */
int jh__conf_set_key(jh__conf_parser *p, const char *key, const char *value);
/* The typed store of k (types.c): what a dedicated handler calls once it
 * has checked what is special about the key. */
int jh__conf_store(jh__conf_parser *p, const jh__conf_key *k, void *sec, const char *key,
                   const char *value);
/* Every default of sd into sec. */
int jh__conf_defaults(jh__conf_parser *p, const jh__conf_section *sd, void *sec);
/* "[label]: KEY: empty value" */
int jh__conf_empty(jh__conf_parser *p, const char *key);
/* "[label]: duplicate key" naming the first place as the section kind does. */
int jh__conf_duplicate(jh__conf_parser *p, const char *key, const jh__conf_pos *first);

/* A "[...]" line (raw: what is inside the brackets, trimmed) opens a
 * section (section.c). */
int jh__conf_open_section(jh__conf_parser *p, const char *raw);
/* The end of the current section (at the next header, or the file's end):
 * a second [host] is refused here.  0, or the error it reported. */
int jh__conf_close_section(jh__conf_parser *p);

/* "Did you mean": the nearest of the candidates offered (within two
 * edits), and " (did you mean \"x\"?)" or "" for it. */
typedef struct jh__conf_near {
    const char *best;
    int dist;
} jh__conf_near;
#define JH_CONF_NEAR_INIT {NULL, 3}
void jh__conf_near_offer(jh__conf_near *n, const char *word, const char *cand);
void jh__conf_near_hint(const jh__conf_near *n, char *out, size_t len);

/* The typed stores of password_file / password_env (secret.c). */
int jh__conf_secret_file(jh__conf_parser *p, const jh__conf_key *k, void *sec, const char *key,
                         const char *value);
int jh__conf_secret_env(jh__conf_parser *p, const jh__conf_key *k, void *sec, const char *key,
                        const char *value);

/* Checks that need the whole snapshot (finish.c). */
int jh__conf_finish(jh__conf *c, jh_err *e);

/* One file's text into c (reader.c). */
int jh__conf_parse_text(jh__conf *c, const char *file, const char *text, jh__conf_load *ld,
                        jh_err *e);

#endif
