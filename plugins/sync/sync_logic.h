/*
 * sync_logic.h - the sync-user job's business logic (seeds' SyncUserLogic).
 */
#ifndef SYNC_LOGIC_H
#define SYNC_LOGIC_H

#include <stdint.h>

#include <jobhost.h>

/* Plugin state: the parsed [plugin sync] keys. */
struct sync_config {
    int64_t users;          /* size of the synthetic user table */
    int64_t batch_size;
    int64_t batch_delay_ms; /* simulated work per batch */
    int64_t lock_ttl_s;
    int64_t status_ttl_s;
};

struct sync_logic {
    jh_ctx *ctx;
    const struct sync_config *cfg;
};

void sync_logic_init(struct sync_logic *l, jh_ctx *ctx);
int sync_logic_sync_user(struct sync_logic *l);

#endif
