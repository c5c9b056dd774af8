#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int jh__err_set(jh_err *e, int code, const char *fmt, ...)
{
    va_list ap;

    if (e == NULL)
        return code;
    e->code = code;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    return code;
}

void jh__err_prefix(jh_err *e, const char *fmt, ...)
{
    char prefix[256], old[JH_ERRMSG_MAX];
    va_list ap;

    if (e == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    /* Truncation is acceptable here: a long message keeps its start. */
    size_t plen = strnlen(prefix, sizeof(prefix));
    memcpy(old, e->msg, sizeof(old));
    memcpy(e->msg, prefix, plen);
    memcpy(e->msg + plen, ": ", 2);
    size_t rest = sizeof(e->msg) - plen - 3;
    size_t olen = strnlen(old, rest);
    memcpy(e->msg + plen + 2, old, olen);
    e->msg[plen + 2 + olen] = '\0';
}

void jh__err_clear(jh_err *e)
{
    if (e == NULL)
        return;
    e->code = 0;
    e->msg[0] = '\0';
}
