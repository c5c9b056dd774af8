/*
 * cleanup_login_log_logic.h - the cleanup_login_log job (seeds'
 * DeleteExpired): delete login_log rows older than login_log_max_age.
 */
#ifndef CLEANUP_LOGIN_LOG_LOGIC_H
#define CLEANUP_LOGIN_LOG_LOGIC_H

#include <stdint.h>

#include <jobhost.h>

#include "login_log_model.h"
#include "user_config.h"

#define CLEANUP_LOCK_KEY "job:cleanup_login_log"
#define CLEANUP_STATUS_JOB "cleanup_login_log"

struct cleanup_login_log_logic {
    jh_ctx *ctx;
    const struct user_config *cfg;
    struct login_log_model logs;
    int64_t deleted;
    int chunks;
};

void cleanup_login_log_logic_init(struct cleanup_login_log_logic *l, jh_ctx *ctx);
int cleanup_login_log_logic_cleanup(struct cleanup_login_log_logic *l);

#endif
