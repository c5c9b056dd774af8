-- schema.sql - the tables of the user plugin (the seeds' user service).
-- MariaDB 10.2+ / MySQL 5.7+, InnoDB, utf8mb4.  Load with
--   mariadb DATABASE < plugins/user/schema.sql
--
-- Every job query is a keyset page or a bounded chunk, and each has an
-- index whose order is the query's order, so a page costs its own size
-- however large the table grows:
--   sync_user     WHERE sync_status = 0 AND deleted_at IS NULL AND id > ?
--                 ORDER BY id LIMIT ?          -> idx_sync (sync_status, deleted_at, id)
--                 UPDATE ... WHERE sync_status = 0
--                   AND (id, updated_at) IN ((?,?),...)  -> PRIMARY
--   archive_user  WHERE is_deleted = 1 AND id > ? ORDER BY id LIMIT ?
--                                              -> idx_deleted (is_deleted, id)
--                 (deleted_at IS NOT NULL is a range, not an equality: an
--                 index on deleted_at would sort every deleted row per page;
--                 the generated is_deleted turns it into an equality)
--   cleanup       DELETE FROM login_log WHERE created_at < ?
--                 ORDER BY created_at, id LIMIT 10000  -> idx_created_at

CREATE TABLE IF NOT EXISTS `user` (
    `id`          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    `name`        VARCHAR(64)     NOT NULL DEFAULT '',
    `email`       VARCHAR(255)    NOT NULL DEFAULT '',
    -- 0: changed since the last sync (pending), 1: synced
    `sync_status` TINYINT         NOT NULL DEFAULT 0,
    -- soft delete: set when the user is deleted; archive_user sends these
    `deleted_at`  DATETIME        NULL DEFAULT NULL,
    `is_deleted`  TINYINT AS (`deleted_at` IS NOT NULL) STORED,
    `created_at`  DATETIME        NOT NULL DEFAULT CURRENT_TIMESTAMP,
    -- the row's version: sync_user marks a user synced only if updated_at
    -- still equals the value it read and sent, so a change made while a
    -- page is in flight stays pending and is sent next run.  Microseconds,
    -- so two changes within one second differ.  Writers must let it move
    -- (never set it back).  An older table:
    --   ALTER TABLE `user` MODIFY `updated_at` DATETIME(6) NOT NULL
    --     DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6);
    `updated_at`  DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
                                  ON UPDATE CURRENT_TIMESTAMP(6),
    PRIMARY KEY (`id`),
    KEY `idx_sync` (`sync_status`, `deleted_at`, `id`),
    KEY `idx_deleted` (`is_deleted`, `id`),
    KEY `idx_email` (`email`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `login_log` (
    `id`         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    `user_id`    BIGINT UNSIGNED NOT NULL,
    -- text form of an IPv4 or IPv6 address
    `ip`         VARCHAR(45)     NOT NULL DEFAULT '',
    `created_at` DATETIME        NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (`id`),
    KEY `idx_user_id` (`user_id`),
    KEY `idx_created_at` (`created_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
