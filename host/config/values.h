/*
 * values.h - the values of the [host] keys log_format and outbox_sync.
 *
 * The configuration parses them; the logger (runtime/) and the outbox
 * (outbox/) act on them.  They are defined here, at the lowest layer that
 * needs them, so that config/ never includes a higher layer's header; the
 * log levels (log_level) are the plugin ABI's JH_LOG_* in jobhost.h.
 */
#ifndef JH_CONFIG_VALUES_H
#define JH_CONFIG_VALUES_H

enum jh__log_format { JH_LOGFMT_LOGFMT = 0, JH_LOGFMT_JSON = 1 };

enum jh__outbox_sync { JH_OUTBOX_SYNC_ALWAYS = 0, JH_OUTBOX_SYNC_INTERVAL = 1 };

#endif
