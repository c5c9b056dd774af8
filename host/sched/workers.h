/*
 * workers.h - a fixed pool of threads that run work items off the loop.
 *
 * Items are intrusive (jh__work embedded in the caller's struct, no malloc
 * here).  exec() runs on a worker thread; done() runs on the loop thread,
 * delivered through one uv_async_t, in completion order, in batches.
 * libuv's own threadpool is not used: its size is a process-wide
 * environment variable shared with file-system requests, and a slow job
 * there would stall the loop's fs work.
 */
#ifndef JH_WORKERS_H
#define JH_WORKERS_H

#include <uv.h>

typedef struct jh__work {
    struct jh__work *next;
} jh__work;

typedef struct jh__workers jh__workers;

typedef void (*jh__work_fn)(jh__work *w, void *arg);

int jh__workers_new(uv_loop_t *loop, int n, jh__work_fn exec, jh__work_fn done, void *arg,
                   jh__workers **out);
void jh__workers_submit(jh__workers *p, jh__work *w);
/* Submit a chain linked through ->next (one lock, one wake-up per worker). */
void jh__workers_submit_list(jh__workers *p, jh__work *head, jh__work *tail, int n);
/*
 * Stop the threads once the queue is empty and close the async handle.
 * If `abandon` is set, threads still inside exec() are detached instead of
 * joined and the pool is deliberately leaked (the process is about to
 * exit; freeing memory a running job may touch would be worse).
 */
void jh__workers_close(jh__workers *p, int abandon);

#endif
