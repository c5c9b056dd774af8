/*
 * abi11.c - a plugin as written and built against ABI 1.1's jobhost.h
 * before the jh_ctx_* / jh_idem_* names existed: compiled with
 * -I t/plugins/abi11 (a frozen copy of that header), so it calls the
 * 1.1 names exactly as a plugin in the field does.  Its one job, every
 * 100ms, checks each service the 1.1 ABI promises and fails naming the
 * first one that does not hold (t/e2e/abi_compat.sh reads the log).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jobhost.h>

struct st { int magic; };

static int a_init(jh_ctx *ctx, void **state)
{
    struct st *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return -ENOMEM;
    s->magic = 1101;
    *state = s;
    return 0;
}

static void a_fini(jh_ctx *ctx, void *state)
{
    free(state);
}

#define CHECK(cond, what) \
    do { if (!(cond)) return jh_fail(ctx, -EPROTO, "abi11: %s", what); } while (0)

static int tick(jh_ctx *ctx)
{
    const struct st *s = jh_state(ctx);
    char buf[64], id[JH_EVENT_ID_LEN];
    jh_stmt *st = NULL;

    CHECK(s != NULL && s->magic == 1101, "jh_state returns what init stored");
    CHECK(jh_ctx_job(ctx) != NULL && strcmp(jh_ctx_job(ctx), "abi11.tick") == 0, "jh_ctx_job");
    CHECK(strcmp(jh_ctx_plugin(ctx), "abi11") == 0, "jh_ctx_plugin");
    CHECK(strcmp(jh_ctx_handler(ctx), "tick") == 0, "jh_ctx_handler");
    CHECK(jh_run_id(ctx) > 0, "jh_run_id");
    CHECK(jh_scheduled(ctx) > 0 && jh_now(ctx) >= jh_scheduled(ctx) - 1000000000LL, "jh_scheduled, jh_now");
    CHECK(jh_deadline(ctx) == INT64_MAX && !jh_cancelled(ctx), "jh_deadline, jh_cancelled");
    CHECK(strcmp(jh_config(ctx, "who"), "world") == 0, "jh_config default");
    CHECK(jh_repo_of(ctx) != NULL, "jh_repo_of");
    CHECK(jh_lock_acquire(ctx, "abi11", 5000) == 0 && jh_lock_release(ctx, "abi11") == 0, "locks");
    CHECK(jh_status_set(ctx, "abi11", "ran", 0) == 0 &&
              jh_status_get(ctx, "abi11", buf, sizeof(buf)) == 3 && strcmp(buf, "ran") == 0,
          "job status");
    snprintf(buf, sizeof(buf), "m-%llu", (unsigned long long)jh_run_id(ctx));
    CHECK(jh_processed_check(ctx, buf) == 0 && jh_processed_mark(ctx, buf, 60000) == 0 &&
              jh_processed_check(ctx, buf) == 1,
          "idempotency marks");
    CHECK(jh_event_send_with_key(ctx, "abi11.ev", "k", 1, "v", 1, id) == 0 && strlen(id) == 32,
          "events");
    CHECK(jh_db_prepare(ctx, "SELECT 1", &st) == -ENOSYS && st == NULL &&
              strstr(jh_last_error(ctx), "does not declare the db service") != NULL,
          "an undeclared service is -ENOSYS with a reason");
    jh_log(ctx, JH_LOG_INFO, "abi11.ok", "id=%s", id);
    return 0;
}

static const jh_handler handlers[] = {{"tick", tick, "100ms", NULL, NULL}};
static const jh_config_key keys[] = {{"who", "world", "whom to greet", 0}};

JH_PLUGIN_DESC(.name = "abi11", .version = "1.1", .init = a_init, .fini = a_fini,
               .handlers = handlers, .n_handlers = JH_COUNTOF(handlers),
               .config_keys = keys, .n_config_keys = JH_COUNTOF(keys),
               .requires = JH_SVC_EVENTS);
