/*
 * sync_logic.c - the sync example's logic layer against a mocked context
 * and repository (the seeds' "unit tests with a mocked repository").
 *
 * The logic only sees jobhost.h: the mock (t/lib/mock_ctx.h) is a jh_api
 * table whose lock and status services record what they were asked, with
 * a fake clock and a cancellation that turns true after a chosen number of
 * checks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jobhost.h>

#include "lib/mock_ctx.h"
#include "lib/tap.h"
#include "sync_logic.h"

struct mock {
    mock_ctx ctx;               /* first: the mocked context */
    struct sync_config cfg;
};

static struct mock *mock_new(void)
{
    struct mock *m = calloc(1, sizeof(*m));

    mock_ctx_init(&m->ctx, &m->cfg);
    m->ctx.job = m->ctx.handler = "sync_user";
    m->ctx.plugin = "sync";
    /* 20 users, every 7th already synced: 18 to do, in pages of 5 */
    m->cfg = (struct sync_config){.users = 20, .batch_size = 5, .batch_delay_ms = 0,
                                  .lock_ttl_s = 600, .status_ttl_s = 3600};
    return m;
}

static int run(struct mock *m)
{
    struct sync_logic l;

    sync_logic_init(&l, (jh_ctx *)(void *)m);
    return sync_logic_sync_user(&l);
}

int main(void)
{
    struct mock *m;
    int rc;

    plan_lazy();

    m = mock_new();
    rc = run(m);
    is_int(rc, 0, "a full run succeeds");
    is_str(m->ctx.lock_key, "job:sync_demo", "it takes the job's lock");
    is_int(m->ctx.lock_ttl_ms, 600 * 1000, "with the configured TTL");
    is_int(m->ctx.released, 1, "and releases it");
    is_int(m->ctx.n_status, 2, "status set twice");
    is_str(m->ctx.status[0], "sync_demo=running", "first to running");
    is_str(m->ctx.status[1], "sync_demo=done users=18", "then to done with the count");
    like(m->ctx.log, "sync.finish users=18 batches=4 duration_ms=", "duration logged");
    free(m);

    m = mock_new();
    m->ctx.lock_rc = -EBUSY;
    rc = run(m);
    is_int(rc, 0, "lock held elsewhere: returns 0 quietly");
    is_int(m->ctx.n_status, 0, "and touches no status");
    is_int(m->ctx.released, 0, "and releases nothing");
    like(m->ctx.log, "sync.skip reason=\"already running\"", "says why");
    free(m);

    m = mock_new();
    m->ctx.lock_rc = -EIO;
    rc = run(m);
    is_int(rc, -EIO, "lock error: returned");
    like(m->ctx.fail, "acquire lock job:sync_demo failed", "with a message");
    free(m);

    m = mock_new();
    m->ctx.lock_rc = -EIO;
    snprintf(m->ctx.lasterr, sizeof(m->ctx.lasterr), "redis cache (127.0.0.1:1): connect: refused");
    rc = run(m);
    is_str(m->ctx.fail, "acquire lock job:sync_demo failed: redis cache (127.0.0.1:1): connect: refused",
           "the message carries the host's reason");
    free(m);

    m = mock_new();
    m->ctx.cancel_after = 3; /* checked before each batch: two batches run */
    rc = run(m);
    is_int(rc, -ECANCELED, "cancelled inside the batch loop");
    is_str(m->ctx.status[1], "sync_demo=failed users=10", "status records how far it got");
    like(m->ctx.fail, "cancelled after 10 users", "message says so");
    is_int(m->ctx.released, 1, "the lock is still released");
    free(m);

    return done_testing();
}
