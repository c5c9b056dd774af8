/*
 * finish.c - the checks that need the whole snapshot, once every file has
 * been read: required keys, the sections a [plugin] binds (they may be in
 * any file, before or after it), and each cron expression in its zone.
 */
#include "keymap.h"

#include <errno.h>
#include <string.h>

#include "time/cron.h"
#include "time/tz.h"

/* "FILE:LINE: [word name]: missing key" for the first required key of sec
 * not set, at the section's header. */
static int missing(const jh__conf_section *sd, const void *sec, jh_err *e)
{
    const jh__conf_pos *pos = (const jh__conf_pos *)(const void *)((const char *)sec + sd->pos_off);

    for (size_t i = 0; i < sd->n_keys; i++) {
        const jh__conf_key *k = &sd->keys[i];
        if ((k->flags & JH_KF_REQUIRED) &&
            *(const char *const *)(const void *)((const char *)sec + k->off) == NULL)
            return jh__err_set(e, -EINVAL, "%s:%d: [%s %s]: missing key \"%s\"", pos->file,
                               pos->line, sd->word, *(const char *const *)sec, k->name);
    }
    return 0;
}

static int missing_in_all(const jh__conf *c, int kind, jh_err *e)
{
    const jh__conf_section *sd = jh__conf_section_of(kind);
    int rc;

    for (size_t i = 0; i < jh__conf_count(c, sd); i++)
        if ((rc = missing(sd, jh__conf_at(c, sd, i), e)) < 0)
            return rc;
    return 0;
}

/* A binding (mysql = main) names no section of its kind. */
static int no_section(const jh__conf *c, const jh__conf_plugin *pl, const jh__conf_key *k,
                      const char *name, jh_err *e)
{
    const jh__conf_section *to = jh__conf_section_of(k->ref);
    const jh__conf_pos *at = (const jh__conf_pos *)(const void *)((const char *)pl + k->pos_off);
    jh__conf_near near = JH_CONF_NEAR_INIT;
    char hint[200];

    for (size_t i = 0; i < jh__conf_count(c, to); i++)
        jh__conf_near_offer(&near, name, *(const char *const *)jh__conf_at(c, to, i));
    jh__conf_near_hint(&near, hint, sizeof(hint));
    return jh__err_set(e, -ENOENT, "%s:%d: [plugin %s]: %s = \"%s\": no [%s %s] section%s",
                       at->file, at->line, pl->name, k->name, name, to->word, name, hint);
}

static int bindings(const jh__conf *c, const jh__conf_plugin *pl, jh_err *e)
{
    const jh__conf_section *sd = jh__conf_section_of(JH_CONF_PLUGIN);

    for (size_t i = 0; i < sd->n_keys; i++) {
        const jh__conf_key *k = &sd->keys[i];
        const char *name;
        if (k->ref == 0)
            continue;
        name = *(const char *const *)(const void *)((const char *)pl + k->off);
        if (name != NULL && jh__conf_find(c, k->ref, name) == NULL)
            return no_section(c, pl, k, name, e);
    }
    return 0;
}

/* "FILE:LINE: [job x]: " + what the time layer said. */
static int job_error(const jh__conf_job *j, const jh__conf_pos *at, const jh_err *ce, jh_err *e)
{
    return jh__err_set(e, ce->code, "%s:%d: [job %s]: %s", at->file, at->line, j->name, ce->msg);
}

/* The job's zone, if it names one (*tz stays NULL otherwise). */
static int job_zone(const jh__conf_job *j, const jh__tz **tz, jh_err *e)
{
    jh_err ce;

    if (j->timezone == NULL)
        return 0;
    if (jh__tz_get(j->timezone, tz, &ce) < 0)
        return job_error(j, &j->tz_pos, &ce, e);
    if (j->kind != JH_SCHED_CRON && (j->set & JH_JOB_SET_SCHEDULE))
        return jh__err_set(e, -EINVAL, "%s:%d: [job %s]: timezone applies only to cron",
                           j->tz_pos.file, j->tz_pos.line, j->name);
    return 0;
}

/* The cron expression, parsed in its zone (the host's if none). */
static int job_cron(const jh__conf_job *j, const jh__tz *tz, jh_err *e)
{
    jh__cron *cr = NULL;
    jh_err ce;

    if (j->kind != JH_SCHED_CRON)
        return 0;
    if (tz == NULL && jh__tz_get(NULL, &tz, &ce) < 0)
        return job_error(j, &j->sched_pos, &ce, e);
    if (jh__cron_parse(j->cron, tz, &cr, &ce) < 0)
        return job_error(j, &j->sched_pos, &ce, e);
    jh__cron_free(cr);
    return 0;
}

static int check_job(const jh__conf_job *j, jh_err *e)
{
    const jh__tz *tz = NULL;
    int rc;

    if ((rc = missing(jh__conf_section_of(JH_CONF_JOB), j, e)) < 0)
        return rc;
    if (j->max_running > 1 && j->concurrency != JH_CONC_ALLOW)
        return jh__err_set(e, -EINVAL,
                           "%s:%d: [job %s]: max_running = %d needs concurrency = allow",
                           j->pos.file, j->max_running_line, j->name, j->max_running);
    if ((rc = job_zone(j, &tz, e)) < 0)
        return rc;
    return job_cron(j, tz, e);
}

int jh__conf_finish(jh__conf *c, jh_err *e)
{
    int rc;

    if ((rc = missing_in_all(c, JH_CONF_MYSQL, e)) < 0 ||
        (rc = missing_in_all(c, JH_CONF_KAFKA, e)) < 0)
        return rc;
    for (size_t i = 0; i < c->n_plugins; i++)
        if ((rc = bindings(c, &c->plugins[i], e)) < 0)
            return rc;
    for (size_t i = 0; i < c->n_jobs; i++)
        if ((rc = check_job(&c->jobs[i], e)) < 0)
            return rc;
    return 0;
}
