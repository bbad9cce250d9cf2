/* gst-faceverify: face verification on the CPU
 *
 * fv-threadpool.h: a small pool of persistent worker threads, the one the
 * engine and the element share. Included by fv.h; use fv.h.
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

#include "fv-prelude.h"

G_BEGIN_DECLS

/**
 * FvThreadPool:
 *
 * The library's one pool of persistent worker threads: the engine splits
 * images across it, and the faceverify element embeds the faces of a
 * frame in parallel with it. Reference-counted.
 */
typedef struct _FvThreadPool FvThreadPool;

/**
 * FvTaskFunc:
 * @data: the data given to fv_thread_pool_run()
 * @chunk: the chunk to run, 0 to @n_chunks - 1
 * @n_chunks: the number of chunks of the task
 * @thread: the thread that runs it, 0 (the caller) to n_threads - 1; no
 *   two chunks run at the same time on one thread, so per-thread state
 *   can be indexed by it
 *
 * Runs one chunk of a task.
 */
typedef void (*FvTaskFunc) (gpointer data, guint chunk, guint n_chunks,
    guint thread);

/**
 * FV_THREAD_POOL_MAX_CHUNKS:
 *
 * The most chunks of one task.
 */
#define FV_THREAD_POOL_MAX_CHUNKS 65535

/* A pool of @n_threads threads in total: the caller of fv_thread_pool_run()
 * and @n_threads - 1 workers. Fails (with an FV_MODEL_ERROR) only if a
 * thread cannot be created. */
FV_API FvThreadPool *fv_thread_pool_new (guint n_threads, GError ** error);
/* Pools are reference-counted so that several sessions that never run at
 * the same time (the P-Net levels of a detector) can share one;
 * fv_thread_pool_free() drops a reference. */
FV_API FvThreadPool *fv_thread_pool_ref (FvThreadPool * pool);
FV_API FvThreadPool *fv_thread_pool_get_shared (guint n_threads,
    GError ** error);
FV_API void fv_thread_pool_free (FvThreadPool * pool);
FV_API guint fv_thread_pool_get_n_threads (FvThreadPool * pool);

/* Calls func (data, c, n_chunks, thread) for every c in [0, n_chunks) and
 * returns when all are done. Allocates nothing. When another caller is
 * running a task on the pool (a pool shared between element instances,
 * see fv_thread_pool_get_shared()), every chunk runs on the calling
 * thread, as thread 0. */
FV_API void fv_thread_pool_run (FvThreadPool * pool, FvTaskFunc func,
    gpointer data, guint n_chunks);
/* The same on at most @max_threads threads (the caller included): thread
 * is then below @max_threads. */
FV_API void fv_thread_pool_run_limited (FvThreadPool * pool,
    FvTaskFunc func, gpointer data, guint n_chunks, guint max_threads);

/* Lets idle workers sleep at once instead of spinning, until the next
 * fv_thread_pool_run(): for the end of a run, when no task follows soon. */
FV_API void fv_thread_pool_park (FvThreadPool * pool);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FvThreadPool, fv_thread_pool_free)

G_END_DECLS

#endif /* FV_THREADPOOL_H */
