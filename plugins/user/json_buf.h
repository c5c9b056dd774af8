/*
 * json_buf.h - a growable buffer for the compact JSON payloads of the
 * event senders (user_event.c, order_event.c).
 *
 * An allocation failure is sticky: the appends after it do nothing and
 * json_buf_ok() turns false, so a sender checks once before sending.
 */
#ifndef JSON_BUF_H
#define JSON_BUF_H

#include <stddef.h>
#include <stdint.h>

struct json_buf {
    char *p;
    size_t len, cap;
    int oom;
};

void json_buf_init(struct json_buf *b);
void json_buf_reset(struct json_buf *b); /* len = 0, keeps the memory */
void json_buf_free(struct json_buf *b);
int json_buf_ok(const struct json_buf *b);

void json_put_raw(struct json_buf *b, const char *s);
void json_put_u64(struct json_buf *b, uint64_t v);
void json_put_i64(struct json_buf *b, int64_t v);
/* A JSON string of s[0..len) (NUL bytes included): quotes added;
 * " and \ escaped, control characters as \b \f \n \r \t or \u00XX (NUL as
 * \u0000); well-formed UTF-8 verbatim; each ill-formed UTF-8 sequence
 * (maximal subpart) as \ufffd, so the result is always valid JSON. */
void json_put_str(struct json_buf *b, const char *s, size_t len);
/* ,"key": (or "key": after the opening brace) */
void json_put_key(struct json_buf *b, const char *key);

#endif
