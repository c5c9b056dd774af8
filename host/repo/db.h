/*
 * db.h - the SQL service: one [mysql NAME] backend over libmariadb.
 *
 * A jh__db holds the section's settings and a pool of connections.  A run
 * takes a connection on its first call (opening one lazily if none is
 * free) and gives it back when the run ends, so there is at most one
 * connection per worker thread (plus one for init/fini on the loop), each
 * reused across runs.  A connection that failed is closed instead of
 * returned and the next run opens a new one.
 *
 * Prepared statements go through the binary protocol (mysql_stmt_*): the
 * SQL text never contains values.  The table jh__db_api_table() is what
 * plugins call (see jobhost.h); it finds the backend and the run's state
 * through the context (its plugin's services, and the run hook slot
 * JH_RUN_SLOT_DB, which jh__ctx_finish ends: statements closed, a transaction
 * left open rolled back and logged as a warning, the connection given back
 * to the pool).
 */
#ifndef JH_DB_H
#define JH_DB_H

#include "config/config.h"
#include "base/err.h"
#include "jobhost.h"

typedef struct jh__db jh__db;

/* Settings are copied; nothing connects yet.  One reference. */
int jh__db_new(const jh__conf_mysql *conf, jh__db **out, jh_err *e);
void jh__db_ref(jh__db *db);
/* The last reference closes every pooled connection (none may be in use). */
void jh__db_unref(jh__db *db);
const char *jh__db_name(const jh__db *db);

const jh_db_api *jh__db_api_table(void);

#endif
