/* Persistent worker threads that share out the chunks of a task; see
 * fv-threadpool.h. */
#include "fv-config.h"
#include "fv-threadpool.h"
#include "fv-core.h"

#include <stdatomic.h>
#include <stdint.h>

#if FV_ARCH_X86_64
#include <immintrin.h>
#endif

/* How long an idle worker spins before it sleeps. Between the layers of
 * one run the next task arrives within microseconds; between the runs of
 * a benchmark or a busy stream, within a few hundred. */
#define SPIN_US 200

/* The chunks a thread owns, as one word: generation << 32 | next << 16 |
 * end. Claiming a chunk is one compare-and-swap that also proves the task
 * is still the current one. */
/* *INDENT-OFF* */
typedef struct
{
  _Atomic uint64_t word;
  char pad[64 - sizeof (uint64_t)];
} FvQueue;
/* *INDENT-ON* */

#define Q_GEN(w) ((uint32_t) ((w) >> 32))
#define Q_NEXT(w) ((uint32_t) (((w) >> 16) & 0xffff))
#define Q_END(w) ((uint32_t) ((w) & 0xffff))
#define Q_MAKE(g, n, e) (((uint64_t) (g) << 32) | ((uint64_t) (n) << 16) \
    | (uint64_t) (e))

typedef struct
{
  FvThreadPool *pool;
  guint index;
  GThread *thread;
} FvWorker;

struct _FvThreadPool
{
  gint ref_count;
  guint n_threads;
  FvWorker *workers;            /* n_threads - 1 */
  FvQueue *queues;              /* n_threads, cache-line aligned */

  /* The current task, written before the generation is published. */
  /* *INDENT-OFF* */
  _Atomic (FvTaskFunc) func;
  _Atomic (gpointer) data;
  /* *INDENT-ON* */
  _Atomic uint32_t n_chunks;
  _Atomic uint32_t n_active;    /* threads 0 .. n_active - 1 take part */
  _Atomic uint32_t generation;
  _Atomic uint32_t done;        /* chunks finished in this generation */
  _Atomic int n_sleeping;
  _Atomic int parked;           /* idle workers sleep at once */
  _Atomic int quit;
  _Atomic int busy;             /* a caller is in fv_thread_pool_run() */
  gboolean shared;              /* the process-wide pool */

  GMutex lock;
  GCond cond;
};

static inline void
cpu_relax (void)
{
#if FV_ARCH_X86_64
  _mm_pause ();
#elif FV_ARCH_AARCH64
  __asm__ __volatile__ ("yield");
#endif
}

/* Runs chunks of generation @gen as thread @self: its own first, then
 * the ones other threads have not taken. Returns when none is left or
 * the task is no longer current. */
static void
work (FvThreadPool * pool, uint32_t gen, guint self)
{
  const FvTaskFunc func = atomic_load_explicit (&pool->func,
      memory_order_relaxed);
  const gpointer data = atomic_load_explicit (&pool->data,
      memory_order_relaxed);
  const uint32_t n = atomic_load_explicit (&pool->n_chunks,
      memory_order_relaxed);
  const uint32_t na = atomic_load_explicit (&pool->n_active,
      memory_order_relaxed);
  guint k;

  if (self >= na)
    return;
  for (k = 0; k < na; k++) {
    FvQueue *q = &pool->queues[(self + k) % na];
    uint64_t w = atomic_load_explicit (&q->word, memory_order_acquire);

    for (;;) {
      if (Q_GEN (w) != gen)
        return;
      if (Q_NEXT (w) >= Q_END (w))
        break;
      /* On success the task is still current: func and data are its. */
      if (!atomic_compare_exchange_weak_explicit (&q->word, &w, w + (1 << 16),
              memory_order_acq_rel, memory_order_acquire))
        continue;
      func (data, Q_NEXT (w), n, self);
      atomic_fetch_add_explicit (&pool->done, 1, memory_order_release);
      w = atomic_load_explicit (&q->word, memory_order_acquire);
    }
  }
}

/* Waits until the generation differs from @seen; returns the new one. */
static uint32_t
wait_for_task (FvThreadPool * pool, uint32_t seen)
{
  gint64 deadline = 0;
  guint spins = 0;
  uint32_t gen;

  while ((gen = atomic_load (&pool->generation)) == seen) {
    cpu_relax ();
    if (++spins % 256 != 0)
      continue;
    if (!atomic_load_explicit (&pool->parked, memory_order_relaxed)) {
      const gint64 now = g_get_monotonic_time ();
      if (deadline == 0)
        deadline = now + SPIN_US;
      if (now < deadline)
        continue;
    }
    /* Sleep. The caller reads n_sleeping after it publishes a task, and
     * we read the generation after counting ourselves as sleeping (both
     * sequentially consistent), so one of the two sees the other. */
    g_mutex_lock (&pool->lock);
    atomic_fetch_add (&pool->n_sleeping, 1);
    while ((gen = atomic_load (&pool->generation)) == seen)
      g_cond_wait (&pool->cond, &pool->lock);
    atomic_fetch_sub (&pool->n_sleeping, 1);
    g_mutex_unlock (&pool->lock);
    break;
  }
  return gen;
}

static gpointer
worker_main (gpointer p)
{
  FvWorker *w = p;
  FvThreadPool *pool = w->pool;
  uint32_t seen = 0;

  fv_cpu_set_ftz ();
  for (;;) {
    seen = wait_for_task (pool, seen);
    if (atomic_load (&pool->quit))
      break;
    work (pool, seen, w->index);
  }
  return NULL;
}

static void
publish (FvThreadPool * pool, uint32_t gen)
{
  atomic_store (&pool->generation, gen);
  if (atomic_load (&pool->n_sleeping) > 0) {
    g_mutex_lock (&pool->lock);
    g_cond_broadcast (&pool->cond);
    g_mutex_unlock (&pool->lock);
  }
}

FvThreadPool *
fv_thread_pool_new (guint n_threads, GError ** error)
{
  g_autoptr (FvThreadPool) pool = NULL;
  guint i;

  g_return_val_if_fail (n_threads >= 1, NULL);

  pool = g_new0 (FvThreadPool, 1);
  pool->ref_count = 1;
  pool->n_threads = 1;
  g_mutex_init (&pool->lock);
  g_cond_init (&pool->cond);
  pool->queues = g_aligned_alloc0 (n_threads, sizeof (FvQueue), 64);
  pool->workers = g_new0 (FvWorker, n_threads);
  for (i = 1; i < n_threads; i++) {
    g_autoptr (GError) local = NULL;
    FvWorker *w = &pool->workers[i - 1];

    w->pool = pool;
    w->index = i;
    /* Workers read n_threads: fix it before any starts. */
    pool->n_threads = n_threads;
    w->thread = g_thread_try_new ("fv-worker", worker_main, w, &local);
    if (!w->thread) {
      pool->n_threads = i;
      g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_INVALID,
          "cannot start worker thread %u of %u: %s", i, n_threads,
          local->message);
      return NULL;
    }
  }
  pool->n_threads = n_threads;
  return g_steal_pointer (&pool);
}

FvThreadPool *
fv_thread_pool_ref (FvThreadPool * pool)
{
  g_atomic_int_inc (&pool->ref_count);
  return pool;
}

/* The process-wide pool, while someone holds it. Its last reference is
 * dropped under the lock, so that fv_thread_pool_get_shared() never
 * revives a pool being freed. */
static GMutex shared_lock;
static FvThreadPool *shared_pool;

/**
 * fv_thread_pool_get_shared:
 * @n_threads: the most threads one task of the caller will use
 *   (fv_thread_pool_run_limited()), 1 or more
 * @error: return location for an %FV_MODEL_ERROR
 *
 * Gets the process-wide pool, one thread per processor, started by the
 * first caller and stopped when the last reference is dropped: element
 * instances and sessions that use it run their tasks on the same workers
 * instead of each starting threads of their own, so that many instances
 * on a few cores do not hold more threads than there are cores. While one
 * caller runs a task on it, the tasks of others run on their own calling
 * thread. A caller that asks for more threads than there are processors
 * gets a pool of its own with @n_threads threads instead.
 *
 * Returns: (transfer full) (nullable): a pool of at least @n_threads
 *   threads; fv_thread_pool_free() drops the reference
 */
FvThreadPool *
fv_thread_pool_get_shared (guint n_threads, GError ** error)
{
  const guint n_cpus = MAX (g_get_num_processors (), 1);
  FvThreadPool *pool;

  g_return_val_if_fail (n_threads >= 1, NULL);
  if (n_threads > n_cpus)
    return fv_thread_pool_new (n_threads, error);
  g_mutex_lock (&shared_lock);
  if (!shared_pool) {
    shared_pool = fv_thread_pool_new (n_cpus, error);
    if (shared_pool)
      shared_pool->shared = TRUE;
    pool = shared_pool;
  } else {
    pool = fv_thread_pool_ref (shared_pool);
  }
  g_mutex_unlock (&shared_lock);
  return pool;
}

static void
pool_destroy (FvThreadPool * pool)
{
  guint i;

  if (pool->n_threads > 1) {
    atomic_store (&pool->quit, 1);
    publish (pool, atomic_load (&pool->generation) + 1);
    for (i = 0; i + 1 < pool->n_threads; i++)
      if (pool->workers[i].thread)
        g_thread_join (pool->workers[i].thread);
  }
  g_mutex_clear (&pool->lock);
  g_cond_clear (&pool->cond);
  g_aligned_free (pool->queues);
  g_free (pool->workers);
  g_free (pool);
}

void
fv_thread_pool_free (FvThreadPool * pool)
{
  gboolean last;

  if (!pool)
    return;
  if (!pool->shared) {
    if (g_atomic_int_dec_and_test (&pool->ref_count))
      pool_destroy (pool);
    return;
  }
  g_mutex_lock (&shared_lock);
  last = g_atomic_int_dec_and_test (&pool->ref_count);
  if (last)
    shared_pool = NULL;
  g_mutex_unlock (&shared_lock);
  if (last)
    pool_destroy (pool);
}

guint
fv_thread_pool_get_n_threads (FvThreadPool * pool)
{
  return pool->n_threads;
}

void
fv_thread_pool_run (FvThreadPool * pool, FvTaskFunc func, gpointer data,
    guint n_chunks)
{
  fv_thread_pool_run_limited (pool, func, data, n_chunks, pool->n_threads);
}

void
fv_thread_pool_run_limited (FvThreadPool * pool, FvTaskFunc func,
    gpointer data, guint n_chunks, guint max_threads)
{
  const guint nt = MIN (pool->n_threads, MAX (max_threads, 1));
  int idle = 0;
  uint32_t gen;
  guint t, spins = 0;

  g_return_if_fail (n_chunks <= FV_THREAD_POOL_MAX_CHUNKS);

  /* Another caller holds the workers (a pool shared between streams, or
   * a task run from inside a task): run on this thread alone rather than
   * wait, the cores are busy anyway. */
  if (nt == 1 || n_chunks <= 1
      || !atomic_compare_exchange_strong (&pool->busy, &idle, 1)) {
    for (t = 0; t < n_chunks; t++)
      func (data, t, n_chunks, 0);
    return;
  }
  atomic_store_explicit (&pool->parked, 0, memory_order_relaxed);
  /* Only the holder of busy writes the generation. */
  gen = atomic_load_explicit (&pool->generation, memory_order_relaxed) + 1;
  atomic_store_explicit (&pool->func, func, memory_order_relaxed);
  atomic_store_explicit (&pool->data, data, memory_order_relaxed);
  atomic_store_explicit (&pool->n_chunks, n_chunks, memory_order_relaxed);
  atomic_store_explicit (&pool->n_active, nt, memory_order_relaxed);
  atomic_store_explicit (&pool->done, 0, memory_order_relaxed);
  for (t = 0; t < pool->n_threads; t++)
    atomic_store_explicit (&pool->queues[t].word, t < nt ? Q_MAKE (gen,
            (uint64_t) (n_chunks) * t / nt,
            (uint64_t) (n_chunks) * (t + 1) / nt) : Q_MAKE (gen, 0, 0),
        memory_order_relaxed);
  publish (pool, gen);

  work (pool, gen, 0);
  while (atomic_load_explicit (&pool->done, memory_order_acquire) < n_chunks) {
    cpu_relax ();
    /* A worker that lost its core in the middle of a chunk gets it back
     * sooner if we step aside. */
    if (++spins % 1024 == 0)
      g_thread_yield ();
  }
  atomic_store (&pool->busy, 0);
}

void
fv_thread_pool_park (FvThreadPool * pool)
{
  atomic_store_explicit (&pool->parked, 1, memory_order_relaxed);
}

guint64
fv_fp_mode_enter (void)
{
#if FV_ARCH_X86_64
  guint64 saved = _mm_getcsr ();
  _mm_setcsr ((guint) saved | 0x8040);
  return saved;
#elif FV_ARCH_AARCH64
  guint64 fpcr;
  __asm__ __volatile__ ("mrs %0, fpcr":"=r" (fpcr));
  __asm__ __volatile__ ("msr fpcr, %0"::"r" (fpcr | (1 << 24)));
  return fpcr;
#else
  return 0;
#endif
}

void
fv_fp_mode_leave (guint64 saved)
{
#if FV_ARCH_X86_64
  _mm_setcsr ((guint) saved);
#elif FV_ARCH_AARCH64
  __asm__ __volatile__ ("msr fpcr, %0"::"r" (saved));
#else
  (void) saved;
#endif
}
