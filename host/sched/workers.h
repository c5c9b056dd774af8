/*
 * workers.h - a fixed pool of threads that run work items off the loop.
 *
 * Items are intrusive (jh_work embedded in the caller's struct, no malloc
 * here).  exec() runs on a worker thread; done() runs on the loop thread,
 * delivered through one uv_async_t, in completion order, in batches.
 * libuv's own threadpool is not used: its size is a process-wide
 * environment variable shared with file-system requests, and a slow job
 * there would stall the loop's fs work.
 */
#ifndef JH_WORKERS_H
#define JH_WORKERS_H

#include <uv.h>

typedef struct jh_work {
    struct jh_work *next;
} jh_work;

typedef struct jh_workers jh_workers;

typedef void (*jh_work_fn)(jh_work *w, void *arg);

int jh_workers_new(uv_loop_t *loop, int n, jh_work_fn exec, jh_work_fn done, void *arg,
                   jh_workers **out);
void jh_workers_submit(jh_workers *p, jh_work *w);
/* Submit a chain linked through ->next (one lock, one wake-up per worker). */
void jh_workers_submit_list(jh_workers *p, jh_work *head, jh_work *tail, int n);
/*
 * Stop the threads once the queue is empty and close the async handle.
 * If `abandon` is set, threads still inside exec() are detached instead of
 * joined and the pool is deliberately leaked (the process is about to
 * exit; freeing memory a running job may touch would be worse).
 */
void jh_workers_close(jh_workers *p, int abandon);

#endif
