/*
 * db.h - the SQL service: one [mysql NAME] backend over libmariadb.
 *
 * A jh_db holds the section's settings and a pool of connections.  A run
 * takes a connection on its first call (opening one lazily if none is
 * free) and gives it back when the run ends, so there is at most one
 * connection per worker thread (plus one for init/fini on the loop), each
 * reused across runs.  A connection that failed is closed instead of
 * returned and the next run opens a new one.
 *
 * Prepared statements go through the binary protocol (mysql_stmt_*): the
 * SQL text never contains values.  The table jh_db_api_table() is what
 * plugins call (see jobhost.h); it finds the backend and the run's state
 * through the context (ctx->plugin's services, ctx->db_run).
 */
#ifndef JH_DB_H
#define JH_DB_H

#include "config/config.h"
#include "base/err.h"
#include "jobhost.h"

typedef struct jh_db jh_db;
struct jh_ctx;

/* Settings are copied; nothing connects yet.  One reference. */
int jh_db_new(const jh_conf_mysql *conf, jh_db **out, jh_err *e);
void jh_db_ref(jh_db *db);
/* The last reference closes every pooled connection (none may be in use). */
void jh_db_unref(jh_db *db);
const char *jh_db_name(const jh_db *db);

const jh_db_api *jh_db_api_table(void);

/* End of a run (called by jh_ctx_finish): close the run's statements, roll
 * back a transaction left open (logged as a warning), give the connection
 * back to the pool.  No-op if the run never used the database. */
void jh_db_run_end(struct jh_ctx *c);

#endif
