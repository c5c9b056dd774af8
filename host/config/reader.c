/*
 * reader.c - one file's text through inih into the snapshot.
 *
 * inih does the tokenising; we feed it through our own line reader
 * (ini_parse_stream) because Debian's inih is built without line numbers in
 * the handler (INI_HANDLER_LINENO 0), silently cuts lines at 200 bytes
 * (INI_MAX_LINE) and never reports empty sections.  The reader counts lines,
 * refuses over-long ones and notes every section header, so each error can
 * say file:line.
 *
 * What inih does to values (documented for users in the README): leading
 * and trailing space is trimmed; a `;` preceded by white space starts a
 * comment; lines starting with `;` or `#` are comments; an indented line
 * continues the previous value (we refuse that: a key set twice is an
 * error, and a continuation looks exactly like one).
 */
#include "keymap.h"

#include <errno.h>
#include <ini.h>
#include <string.h>

/* The longest line, in characters without its "\n" or "\r\n" (the
 * README's figure): inih's buffer of INI_MAX_LINE bytes holds it with its
 * "\n" and the NUL. */
#define LINE_MAX_CHARS (INI_MAX_LINE - 2)

/* The next line of p->text into str (num bytes with the NUL), its "\r\n"
 * as "\n" (inih trims the \r anyway).  One longer than LINE_MAX_CHARS is
 * noted and handed over as an empty line; the error is reported after the
 * parse. */
static void take_line(jh__conf_parser *p, char *str, size_t num)
{
    const char *s = p->text, *nl = strchr(s, '\n');
    size_t len = nl ? (size_t)(nl - s) : strlen(s), chars = len;

    p->line++;
    p->text = s + len + (nl != NULL);
    if (chars > 0 && s[chars - 1] == '\r')
        chars--;
    if (chars > LINE_MAX_CHARS || chars + 2 > num) {
        if (p->long_line == 0)
            p->long_line = p->line;
        chars = 0;
    }
    memcpy(str, s, chars);
    if (nl != NULL)
        str[chars++] = '\n';
    str[chars] = '\0';
}

/* a: a line from its '[' on.  What is inside the brackets, trimmed,
 * opens a section. */
static void header_line(jh__conf_parser *p, const char *a)
{
    const char *b = strchr(a, ']');
    char raw[256], *r = raw;
    size_t n, rl;

    if (b == NULL) {
        jh__conf_fail(p, -EINVAL, "section header without ']'");
        return;
    }
    n = (size_t)(b - a - 1);
    if (n >= sizeof(raw))
        n = sizeof(raw) - 1;
    memcpy(raw, a + 1, n);
    raw[n] = '\0';
    while (*r == ' ')
        r++;
    rl = strlen(r);
    while (rl > 0 && r[rl - 1] == ' ')
        r[--rl] = '\0';
    jh__conf_open_section(p, r);
}

/* fgets-like reader for ini_parse_stream: it also spots section headers
 * (so empty sections and their line numbers are known) and lines too long
 * for inih. */
static char *reader(char *str, int num, void *stream)
{
    jh__conf_parser *p = stream;
    const char *a;

    if (*p->text == '\0')
        return NULL;
    /* A UTF-8 byte order mark at the start of a file is skipped. */
    if (p->line == 0 && strncmp(p->text, "\xEF\xBB\xBF", 3) == 0)
        p->text += 3;
    take_line(p, str, (size_t)num);
    for (a = str; *a == ' ' || *a == '\t'; a++)
        ;
    if (*a == '[' && !p->failed)
        header_line(p, a);
    /* An indented line after a key is a continuation in inih: refuse it. */
    else if ((str[0] == ' ' || str[0] == '\t') && *a != '\0' && *a != ';' && *a != '#' &&
             !p->failed && p->sd != NULL)
        jh__conf_fail(p, -EINVAL, "indented line: continuation lines are not supported");
    return str;
}

static int on_key(void *user, const char *section, const char *key, const char *value)
{
    jh__conf_parser *p = user;

    (void)section; /* our reader already switched sections, with line numbers */
    if (p->failed)
        return 1;
    if (p->sd == NULL)
        jh__conf_fail(p, -EINVAL, "key \"%s\" outside any section", key);
    else
        jh__conf_set_key(p, key, value);
    return 1;
}

/* Size the job array once from a count of headers: with 100,000 jobs,
 * growing by doubling copies the array again and again.  (A byte loop,
 * not strstr: ASan's strstr checks the whole remaining text on every
 * call, which made this quadratic under the sanitizers.) */
static int presize_jobs(jh__conf *c, const char *text, jh__conf_load *ld)
{
    size_t headers = 0;

    for (const char *q = text; *q != '\0'; q++)
        if (*q == '[' && strncmp(q, "[job ", 5) == 0)
            headers++;
    if (headers == 0)
        return 0;
    return jh__conf_grow((void **)&c->jobs, &ld->cap[JH_CONF_JOB], c->n_jobs + headers,
                         sizeof(*c->jobs));
}

int jh__conf_parse_text(jh__conf *c, const char *file, const char *text, jh__conf_load *ld,
                        jh_err *e)
{
    jh__conf_parser p;
    int rc;

    memset(&p, 0, sizeof(p));
    p.conf = c;
    p.ld = ld;
    p.e = e;
    p.text = text;
    if ((p.file = jh__conf_strdup(c, file)) == NULL || presize_jobs(c, text, ld) < 0)
        return jh__err_set(e, -ENOMEM, "out of memory");
    rc = ini_parse_stream(reader, &p, on_key, &p);
    jh__conf_close_section(&p);
    if (p.failed)
        return e ? e->code : -EINVAL;
    if (p.long_line)
        return jh__err_set(e, -EINVAL, "%s:%d: line longer than %d characters", file,
                           p.long_line, LINE_MAX_CHARS);
    if (rc > 0)
        return jh__err_set(e, -EINVAL, "%s:%d: syntax error (expected [section] or key = value)",
                           file, rc);
    if (rc < 0)
        return jh__err_set(e, -ENOMEM, "%s: cannot parse (out of memory)", file);
    return 0;
}
