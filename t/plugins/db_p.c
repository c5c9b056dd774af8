/*
 * db_p.c - test plugin for the SQL service (t/service/db.c, bench/db_bench.c).
 *
 * Declares JH_SVC_DB (built with -DDB_NONE: declares nothing, for the
 * -ENOSYS case).  Handler "ping" runs SELECT CAST(? AS SIGNED) + 1 with
 * 41 bound, through the public wrappers as a plugin would, and fails
 * (jh_fail with jh_last_error) unless it reads 42.
 */
#include <jobhost.h>

static int ping(jh_ctx *ctx)
{
    jh_stmt *st = NULL;
    int64_t v = 0;
    int rc;

    if ((rc = jh_db_prepare(ctx, "SELECT CAST(? AS SIGNED) + 1", &st)) != 0)
        return jh_fail(ctx, rc, "ping: %s", jh_last_error(ctx));
    if ((rc = jh_stmt_bind_i64(st, 0, 41)) == 0 && (rc = jh_stmt_execute(st)) == 0 &&
        (rc = jh_stmt_fetch(st)) == 1)
        rc = jh_stmt_get_i64(st, 0, &v);
    jh_stmt_close(st);
    if (rc < 0)
        return jh_fail(ctx, rc, "ping: %s", jh_last_error(ctx));
    return v == 42 ? 0 : jh_fail(ctx, -EIO, "ping: read %lld, not 42", (long long)v);
}

static const jh_handler handlers[] = {{"ping", ping, NULL, NULL, NULL}};

#ifdef DB_NONE
JH_PLUGIN_DESC(.name = "db_none", .version = "1", .handlers = handlers, .n_handlers = 1);
#else
JH_PLUGIN_DESC(.name = "db_p", .version = "1", .handlers = handlers, .n_handlers = 1,
               .requires = JH_SVC_DB);
#endif
