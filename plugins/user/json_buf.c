/*
 * json_buf.c - compact JSON building for event payloads.
 */
#include "json_buf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void json_buf_init(struct json_buf *b)
{
    memset(b, 0, sizeof(*b));
}

void json_buf_reset(struct json_buf *b)
{
    b->len = 0;
    b->oom = 0;
}

void json_buf_free(struct json_buf *b)
{
    free(b->p);
    json_buf_init(b);
}

int json_buf_ok(const struct json_buf *b)
{
    return !b->oom;
}

static int reserve(struct json_buf *b, size_t more)
{
    size_t cap = b->cap ? b->cap : 256;
    char *p;

    if (b->oom)
        return -ENOMEM;
    if (b->len + more + 1 <= b->cap)
        return 0;
    while (cap < b->len + more + 1)
        cap *= 2;
    if ((p = realloc(b->p, cap)) == NULL) {
        b->oom = 1;
        return -ENOMEM;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

static void put(struct json_buf *b, const char *s, size_t n)
{
    if (reserve(b, n) < 0)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void json_put_raw(struct json_buf *b, const char *s)
{
    put(b, s, strlen(s));
}

void json_put_u64(struct json_buf *b, uint64_t v)
{
    char num[24];

    put(b, num, (size_t)snprintf(num, sizeof(num), "%" PRIu64, v));
}

void json_put_i64(struct json_buf *b, int64_t v)
{
    char num[24];

    put(b, num, (size_t)snprintf(num, sizeof(num), "%" PRId64, v));
}

/*
 * The length of the well-formed UTF-8 sequence at s[0..len) (2..4), or
 * minus the length of its maximal ill-formed prefix (at least 1 byte),
 * which becomes one U+FFFD as Unicode recommends ("maximal subparts").
 * Overlong forms, surrogates and code points past U+10FFFF are
 * ill-formed (RFC 3629).
 */
static int utf8_seq(const unsigned char *s, size_t len)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    int need;

    if (c >= 0xC2 && c <= 0xDF)
        need = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* > U+10FFFF */
    } else
        return -1; /* a continuation byte, C0, C1 or F5..FF */
    for (int k = 1; k <= need; k++) {
        if ((size_t)k >= len || s[k] < lo || s[k] > hi)
            return -k;
        lo = 0x80;
        hi = 0xBF;
    }
    return need + 1;
}

void json_put_str(struct json_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;

    put(b, "\"", 1);
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        char esc[6] = {'\\', 0, '0', '0', 0, 0};
        size_t n = 2;

        if (c >= 0x80) {
            int seq = utf8_seq((const unsigned char *)s + i, len - i);

            if (seq > 0) {
                i += (size_t)seq;
                continue;
            }
            put(b, s + run, i - run);
            put(b, "\\ufffd", 6);
            i += (size_t)-seq;
            run = i;
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        /* flush the plain bytes before this one in one copy */
        put(b, s + run, i - run);
        run = ++i;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default: /* other control characters, NUL included */
            esc[1] = 'u';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        }
        put(b, esc, n);
    }
    put(b, s + run, len - run);
    put(b, "\"", 1);
}

void json_put_key(struct json_buf *b, const char *key)
{
    if (b->len > 0 && b->p[b->len - 1] != '{')
        put(b, ",", 1);
    json_put_str(b, key, strlen(key));
    put(b, ":", 1);
}
