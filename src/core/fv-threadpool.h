/* A small pool of persistent worker threads for the inference engine.
 *
 * fv_thread_pool_run() runs one function on every thread of the pool (the
 * caller is thread 0) and returns when all are done. It allocates nothing
 * and takes no lock while the workers are awake: workers spin for a short
 * while after each task (the next layer's task usually follows within
 * microseconds) and only then sleep on a condition variable. Workers run
 * with flush-to-zero / denormals-are-zero set. */
#ifndef FV_THREADPOOL_H
#define FV_THREADPOOL_H

#include <glib.h>

G_BEGIN_DECLS

typedef struct _FvThreadPool FvThreadPool;

/* Runs part @index of @n_threads of a task. */
typedef void (*FvTaskFunc) (gpointer data, guint index, guint n_threads);

/* A pool of @n_threads threads in total: the caller of fv_thread_pool_run()
 * and @n_threads - 1 workers. Fails (with an FV_MODEL_ERROR) only if a
 * thread cannot be created. */
FvThreadPool *fv_thread_pool_new (guint n_threads, GError ** error);
void fv_thread_pool_free (FvThreadPool * pool);
guint fv_thread_pool_get_n_threads (FvThreadPool * pool);

/* Calls func (data, i, n) for i in [0, n) on n threads (i = 0 on the
 * calling thread) and waits for all of them. One caller at a time. */
void fv_thread_pool_run (FvThreadPool * pool, FvTaskFunc func,
    gpointer data);

/* Sets flush-to-zero / denormals-are-zero on the calling thread for the
 * duration of a run; fv_fp_mode_leave() restores what was there. */
guint64 fv_fp_mode_enter (void);
void fv_fp_mode_leave (guint64 saved);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FvThreadPool, fv_thread_pool_free)

G_END_DECLS

#endif /* FV_THREADPOOL_H */
