/*
 * workers.c - thread pool with a FIFO queue in and a completion list out.
 *
 * Lock order: a thread holds at most one of q_mu (the input queue) and
 * d_mu (the completion list) at a time; neither is held while calling
 * exec() or done(), nor across uv_async_send().
 */
#include "workers.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

struct jh__workers {
    uv_loop_t *loop;
    uv_async_t async;
    jh__work_fn exec, done;
    void *arg;
    int n;
    pthread_t *threads;

    pthread_mutex_t q_mu;
    pthread_cond_t q_cv;
    jh__work *q_head, *q_tail;
    int idle;          /* threads waiting on q_cv */
    int quit;

    pthread_mutex_t d_mu;
    jh__work *d_head, *d_tail;
    int abandoned;
};

/* The next item (a worker thread waits for it), or NULL once quit and
 * drained. */
static jh__work *take(jh__workers *p)
{
    jh__work *w;

    pthread_mutex_lock(&p->q_mu);
    while (p->q_head == NULL && !p->quit) {
        p->idle++;
        pthread_cond_wait(&p->q_cv, &p->q_mu);
        p->idle--;
    }
    w = p->q_head;
    if (w != NULL && (p->q_head = w->next) == NULL)
        p->q_tail = NULL;
    pthread_mutex_unlock(&p->q_mu);
    return w;
}

/* Hand w to the loop thread's done(). */
static void complete(jh__workers *p, jh__work *w)
{
    pthread_mutex_lock(&p->d_mu);
    if (p->d_tail != NULL)
        p->d_tail->next = w;
    else
        p->d_head = w;
    p->d_tail = w;
    pthread_mutex_unlock(&p->d_mu);
    /* Coalesces: many completions, one loop wake-up. */
    uv_async_send(&p->async);
}

static void *worker_main(void *arg)
{
    jh__workers *p = arg;
    jh__work *w;

    while ((w = take(p)) != NULL) {
        w->next = NULL;
        p->exec(w, p->arg);
        complete(p, w);
    }
    return NULL;
}

static void on_async(uv_async_t *a)
{
    jh__workers *p = a->data;
    jh__work *w;

    pthread_mutex_lock(&p->d_mu);
    w = p->d_head;
    p->d_head = p->d_tail = NULL;
    pthread_mutex_unlock(&p->d_mu);
    while (w != NULL) {
        jh__work *next = w->next;
        w->next = NULL;
        p->done(w, p->arg);
        w = next;
    }
}

static void sync_init(jh__workers *p)
{
    pthread_mutex_init(&p->q_mu, NULL);
    pthread_cond_init(&p->q_cv, NULL);
    pthread_mutex_init(&p->d_mu, NULL);
}

static void sync_destroy(jh__workers *p)
{
    pthread_mutex_destroy(&p->q_mu);
    pthread_cond_destroy(&p->q_cv);
    pthread_mutex_destroy(&p->d_mu);
}

/* Start n threads; p->n counts those running, for jh__workers_close(). */
static int start_threads(jh__workers *p, int n)
{
    for (; p->n < n; p->n++) {
        int rc = pthread_create(&p->threads[p->n], NULL, worker_main, p);
        if (rc != 0)
            return -rc;
    }
    return 0;
}

int jh__workers_new(uv_loop_t *loop, int n, jh__work_fn exec, jh__work_fn done, void *arg,
                   jh__workers **out)
{
    jh__workers *p;
    int rc;

    if (loop == NULL || n < 1 || exec == NULL || done == NULL)
        return -EINVAL;
    if ((p = calloc(1, sizeof(*p))) == NULL)
        return -ENOMEM;
    if ((p->threads = calloc((size_t)n, sizeof(*p->threads))) == NULL) {
        rc = -ENOMEM;
        goto fail_threads;
    }
    p->loop = loop;
    p->exec = exec;
    p->done = done;
    p->arg = arg;
    sync_init(p);
    if ((rc = uv_async_init(loop, &p->async, on_async)) < 0)
        goto fail_async;
    p->async.data = p;
    if ((rc = start_threads(p, n)) < 0)
        goto fail_start;
    *out = p;
    return 0;

fail_start:
    /* Joins the threads started.  The async handle is closed by the
     * caller's loop run: p cannot be freed before its close callback,
     * which frees it. */
    jh__workers_close(p, 0);
    return rc;
fail_async:
    sync_destroy(p);
    free(p->threads);
fail_threads:
    free(p);
    return rc;
}

void jh__workers_submit_list(jh__workers *p, jh__work *head, jh__work *tail, int n)
{
    if (head == NULL)
        return;
    tail->next = NULL;
    pthread_mutex_lock(&p->q_mu);
    if (p->q_tail != NULL)
        p->q_tail->next = head;
    else
        p->q_head = head;
    p->q_tail = tail;
    /* Wake only as many sleepers as there are new items. */
    if (p->idle > 0) {
        if (n >= p->idle)
            pthread_cond_broadcast(&p->q_cv);
        else
            for (int i = 0; i < n; i++)
                pthread_cond_signal(&p->q_cv);
    }
    pthread_mutex_unlock(&p->q_mu);
}

void jh__workers_submit(jh__workers *p, jh__work *w)
{
    jh__workers_submit_list(p, w, w, 1);
}

static void on_close(uv_handle_t *h)
{
    jh__workers *p = h->data;

    if (p->abandoned)
        return; /* deliberately leaked: threads may still touch it */
    sync_destroy(p);
    free(p->threads);
    free(p);
}

void jh__workers_close(jh__workers *p, int abandon)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->q_mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->q_cv);
    pthread_mutex_unlock(&p->q_mu);
    for (int i = 0; i < p->n; i++) {
        if (abandon)
            pthread_detach(p->threads[i]);
        else
            pthread_join(p->threads[i], NULL);
    }
    p->abandoned = abandon;
    uv_close((uv_handle_t *)&p->async, on_close);
}
