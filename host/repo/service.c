/*
 * service.c - what every service call of the repository checks: that the
 * context's plugin declared the service and the host bound a backend for
 * it, with a reason the plugin can show (jh_last_error()).
 */
#include "service.h"

#include <errno.h>

const jh__services *jh__ctx_services(const struct jh_ctx *c)
{
    return c != NULL ? c->plugin.services : NULL;
}

static const char *svc_name(unsigned svc)
{
    return svc == JH_SVC_DB ? "db" : svc == JH_SVC_REDIS ? "redis" : "events";
}

static const char *svc_key(unsigned svc)
{
    return svc == JH_SVC_DB ? "mysql" : svc == JH_SVC_REDIS ? "redis" : "events";
}

int jh__ctx_need(struct jh_ctx *c, unsigned svc)
{
    const jh__services *s = jh__ctx_services(c);
    const char *name = c != NULL ? c->plugin.name : NULL;
    const void *be;

    if (c == NULL)
        return -EINVAL;
    if (s == NULL || !(s->declared & svc))
        return jh__ctx_error(c, -ENOSYS,
                            "plugin %s does not declare the %s service (add JH_SVC_%s to "
                            ".requires in its descriptor)",
                            name ? name : "?", svc_name(svc),
                            svc == JH_SVC_DB ? "DB" : svc == JH_SVC_REDIS ? "REDIS" : "EVENTS");
    be = svc == JH_SVC_DB ? (const void *)s->db
         : svc == JH_SVC_REDIS ? (const void *)s->redis : (const void *)s->events;
    if (be == NULL && svc == JH_SVC_EVENTS)
        return jh__ctx_error(c, -ENOSYS, "plugin %s: the events service is not open in this "
                            "process (jobhostd --check leaves the outbox alone)",
                            name ? name : "?");
    if (be == NULL)
        return jh__ctx_error(c, -ENOSYS, "plugin %s: no %s backend bound (set %s = NAME in "
                            "[plugin %s])", name ? name : "?", svc_name(svc), svc_key(svc),
                            name ? name : "?");
    return 0;
}
