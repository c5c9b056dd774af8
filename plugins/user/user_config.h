/*
 * user_config.h - the plugin state of `user`: its [plugin user] keys,
 * parsed once by init (user_plugin.c) and read by every run.
 */
#ifndef USER_CONFIG_H
#define USER_CONFIG_H

#include <stdint.h>

/* Upper bound of batch_size: the mark-synced UPDATE carries two
 * placeholders (id, updated_at) per user of a batch (MariaDB allows
 * 65535). */
#define USER_BATCH_MAX 10000

struct user_config {
    int64_t batch_size;          /* users per keyset page */
    int64_t login_log_max_age_s; /* login_log rows older than this go */
    int64_t lock_ttl_ms;         /* TTL of each job's lock */
    int64_t status_ttl_ms;       /* TTL of each job's status */
    char *sync_topic;            /* owned copies: config strings live */
    char *archive_topic;         /* only for the call that read them */
};

#endif
