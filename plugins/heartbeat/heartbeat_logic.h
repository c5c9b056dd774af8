/*
 * heartbeat_logic.h - the heartbeat's business logic (seeds' "logic" layer).
 */
#ifndef HEARTBEAT_LOGIC_H
#define HEARTBEAT_LOGIC_H

#include <stdatomic.h>

#include <jobhost.h>

/* Plugin state, made by init and shared by every run (so: atomics). */
struct heartbeat_state {
    atomic_ulong beats;
    char *message;       /* copy of the `message` config value */
};

/* One run's logic object: what a handler creates and calls. */
struct heartbeat_logic {
    jh_ctx *ctx;
    struct heartbeat_state *st;
};

void heartbeat_logic_init(struct heartbeat_logic *l, jh_ctx *ctx);
int heartbeat_logic_beat(struct heartbeat_logic *l);

#endif
