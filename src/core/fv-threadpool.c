/* Persistent worker threads; see fv-threadpool.h. */
#include "fv-config.h"
#include "fv-threadpool.h"
#include "fv-core.h"

#if FV_ARCH_X86_64
#include <immintrin.h>
#endif

/* How long an idle worker spins before it sleeps. Between the layers of
 * one run the next task arrives within microseconds; between runs of a
 * benchmark or a busy stream, within a few hundred. */
#define SPIN_US 300

typedef struct
{
  FvThreadPool *pool;
  guint index;
  GThread *thread;
} FvWorker;

struct _FvThreadPool
{
  guint n_threads;
  FvWorker *workers;            /* n_threads - 1 */

  /* The current task: written by the caller before it bumps generation. */
  FvTaskFunc func;
  gpointer data;
  gint generation;              /* atomic */
  gint pending;                 /* atomic: workers not done with the task */
  gint n_sleeping;              /* atomic */
  gboolean quit;

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

/* Waits until the generation differs from @seen; returns the new one. */
static gint
wait_for_task (FvThreadPool * pool, gint seen)
{
  gint64 deadline = 0;
  guint spins = 0;
  gint gen;

  while ((gen = g_atomic_int_get (&pool->generation)) == seen) {
    cpu_relax ();
    if (++spins % 256 != 0)
      continue;
    if (deadline == 0) {
      deadline = g_get_monotonic_time () + SPIN_US;
      continue;
    }
    if (g_get_monotonic_time () < deadline)
      continue;
    /* Sleep. The caller reads n_sleeping after it bumps the generation,
     * and we re-read the generation after counting ourselves as sleeping,
     * so one of the two sees the other. */
    g_mutex_lock (&pool->lock);
    g_atomic_int_inc (&pool->n_sleeping);
    while ((gen = g_atomic_int_get (&pool->generation)) == seen)
      g_cond_wait (&pool->cond, &pool->lock);
    g_atomic_int_add (&pool->n_sleeping, -1);
    g_mutex_unlock (&pool->lock);
    break;
  }
  return gen;
}

static gpointer
worker_main (gpointer data)
{
  FvWorker *w = data;
  FvThreadPool *pool = w->pool;
  gint seen = 0;

  fv_cpu_set_ftz ();
  for (;;) {
    seen = wait_for_task (pool, seen);
    if (g_atomic_int_get (&pool->quit))
      break;
    pool->func (pool->data, w->index, pool->n_threads);
    g_atomic_int_add (&pool->pending, -1);
  }
  return NULL;
}

static void
publish (FvThreadPool * pool)
{
  g_atomic_int_inc (&pool->generation);
  if (g_atomic_int_get (&pool->n_sleeping) > 0) {
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
  pool->n_threads = 1;
  g_mutex_init (&pool->lock);
  g_cond_init (&pool->cond);
  pool->workers = g_new0 (FvWorker, n_threads);
  for (i = 1; i < n_threads; i++) {
    g_autoptr (GError) local = NULL;
    FvWorker *w = &pool->workers[i - 1];

    w->pool = pool;
    w->index = i;
    w->thread = g_thread_try_new ("fv-worker", worker_main, w, &local);
    if (!w->thread) {
      g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_INVALID,
          "cannot start worker thread %u of %u: %s", i, n_threads,
          local->message);
      return NULL;
    }
    pool->n_threads = i + 1;
  }
  return g_steal_pointer (&pool);
}

void
fv_thread_pool_free (FvThreadPool * pool)
{
  guint i;

  if (!pool)
    return;
  if (pool->n_threads > 1) {
    g_atomic_int_set (&pool->quit, TRUE);
    publish (pool);
    for (i = 0; i + 1 < pool->n_threads; i++)
      g_thread_join (pool->workers[i].thread);
  }
  g_mutex_clear (&pool->lock);
  g_cond_clear (&pool->cond);
  g_free (pool->workers);
  g_free (pool);
}

guint
fv_thread_pool_get_n_threads (FvThreadPool * pool)
{
  return pool->n_threads;
}

void
fv_thread_pool_run (FvThreadPool * pool, FvTaskFunc func, gpointer data)
{
  guint spins = 0;

  if (pool->n_threads == 1) {
    func (data, 0, 1);
    return;
  }
  pool->func = func;
  pool->data = data;
  g_atomic_int_set (&pool->pending, (gint) pool->n_threads - 1);
  publish (pool);
  func (data, 0, pool->n_threads);
  while (g_atomic_int_get (&pool->pending) > 0) {
    cpu_relax ();
    /* A worker that lost its core (the machine is busy) gets it back
     * sooner if we step aside. */
    if (++spins % 4096 == 0)
      g_thread_yield ();
  }
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
