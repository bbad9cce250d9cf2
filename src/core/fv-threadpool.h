/* A small pool of persistent worker threads for the inference engine.
 *
 * fv_thread_pool_run() splits a task into chunks. Each thread (the caller
 * is thread 0) first takes the chunks it owns, in order (so that a thread
 * works on the same rows layer after layer, in its own cache), then takes
 * the chunks that others have not started. The call returns when every
 * chunk is done; it never waits for a thread that has not started yet, so
 * a worker that lost its core (the machine is busy) delays a layer by at
 * most one chunk. The pool allocates nothing and takes no lock while the
 * workers are awake: idle workers spin for a short while (the next layer
 * follows within microseconds) and only then sleep on a condition
 * variable. Workers run with flush-to-zero / denormals-are-zero set. */
#ifndef FV_THREADPOOL_H
#define FV_THREADPOOL_H

#include <glib.h>

G_BEGIN_DECLS

typedef struct _FvThreadPool FvThreadPool;

/* Runs chunk @chunk of @n_chunks on thread @thread (0 to n_threads - 1;
 * no two chunks run at the same time on one thread). */
typedef void (*FvTaskFunc) (gpointer data, guint chunk, guint n_chunks,
    guint thread);

/* The most chunks of one task. */
#define FV_THREAD_POOL_MAX_CHUNKS 65535

/* A pool of @n_threads threads in total: the caller of fv_thread_pool_run()
 * and @n_threads - 1 workers. Fails (with an FV_MODEL_ERROR) only if a
 * thread cannot be created. */
FvThreadPool *fv_thread_pool_new (guint n_threads, GError ** error);
/* Pools are reference-counted so that several sessions that never run at
 * the same time (the P-Net levels of a detector) can share one;
 * fv_thread_pool_free() drops a reference. */
FvThreadPool *fv_thread_pool_ref (FvThreadPool * pool);
void fv_thread_pool_free (FvThreadPool * pool);
guint fv_thread_pool_get_n_threads (FvThreadPool * pool);

/* Calls func (data, c, n_chunks, thread) for every c in [0, n_chunks) and
 * returns when all are done. One caller at a time. */
void fv_thread_pool_run (FvThreadPool * pool, FvTaskFunc func,
    gpointer data, guint n_chunks);

/* Lets idle workers sleep at once instead of spinning, until the next
 * fv_thread_pool_run(): for the end of a run, when no task follows soon. */
void fv_thread_pool_park (FvThreadPool * pool);

/* Sets flush-to-zero / denormals-are-zero on the calling thread for the
 * duration of a run; fv_fp_mode_leave() restores what was there. */
guint64 fv_fp_mode_enter (void);
void fv_fp_mode_leave (guint64 saved);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FvThreadPool, fv_thread_pool_free)

G_END_DECLS

#endif /* FV_THREADPOOL_H */
