/*
 * json_buf.c - compact JSON building for event payloads.
 */
#include "json_buf.h"

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
        return -1;
    if (b->len + more + 1 <= b->cap)
        return 0;
    while (cap < b->len + more + 1)
        cap *= 2;
    if ((p = realloc(b->p, cap)) == NULL) {
        b->oom = 1;
        return -1;
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

void json_put_str(struct json_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;

    put(b, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[6] = {'\\', 0, '0', '0', 0, 0};
        size_t n = 2;

        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        /* flush the plain bytes before this one in one copy */
        put(b, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
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
