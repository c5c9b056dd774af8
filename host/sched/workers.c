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

static void *worker_main(void *arg)
{
    jh__workers *p = arg;

    for (;;) {
        jh__work *w;

        pthread_mutex_lock(&p->q_mu);
        while (p->q_head == NULL && !p->quit) {
            p->idle++;
            pthread_cond_wait(&p->q_cv, &p->q_mu);
            p->idle--;
        }
        if (p->q_head == NULL) { /* quit and drained */
            pthread_mutex_unlock(&p->q_mu);
            return NULL;
        }
        w = p->q_head;
        p->q_head = w->next;
        if (p->q_head == NULL)
            p->q_tail = NULL;
        pthread_mutex_unlock(&p->q_mu);

        w->next = NULL;
        p->exec(w, p->arg);

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

int jh__workers_new(uv_loop_t *loop, int n, jh__work_fn exec, jh__work_fn done, void *arg,
                   jh__workers **out)
{
    jh__workers *p;
    int rc, started = 0;

    if (loop == NULL || n < 1 || exec == NULL || done == NULL)
        return -EINVAL;
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return -ENOMEM;
    p->threads = calloc((size_t)n, sizeof(*p->threads));
    if (p->threads == NULL) {
        rc = -ENOMEM;
        goto fail_threads;
    }
    p->loop = loop;
    p->exec = exec;
    p->done = done;
    p->arg = arg;
    pthread_mutex_init(&p->q_mu, NULL);
    pthread_cond_init(&p->q_cv, NULL);
    pthread_mutex_init(&p->d_mu, NULL);
    rc = uv_async_init(loop, &p->async, on_async);
    if (rc < 0)
        goto fail_async;
    p->async.data = p;
    for (; started < n; started++) {
        rc = -pthread_create(&p->threads[started], NULL, worker_main, p);
        if (rc < 0)
            goto fail_start;
    }
    p->n = n;
    *out = p;
    return 0;

fail_start:
    pthread_mutex_lock(&p->q_mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->q_cv);
    pthread_mutex_unlock(&p->q_mu);
    for (int i = 0; i < started; i++)
        pthread_join(p->threads[i], NULL);
    /* The async handle is closed by the caller's loop run: we cannot free
     * p before its close callback, so leave the handle closing with a
     * callback that frees. */
    p->n = 0;
    jh__workers_close(p, 0);
    return rc;
fail_async:
    pthread_mutex_destroy(&p->q_mu);
    pthread_cond_destroy(&p->q_cv);
    pthread_mutex_destroy(&p->d_mu);
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
    pthread_mutex_destroy(&p->q_mu);
    pthread_cond_destroy(&p->q_cv);
    pthread_mutex_destroy(&p->d_mu);
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
