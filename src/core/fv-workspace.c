/* The process-wide working memory: a few blocks lent for the duration of
 * a run (see fv-workspace.h). */
#include "fv-core.h"
#include "fv-workspace.h"

#include <pthread.h>

/* Beyond the per-processor limit, a thread that already holds a block may
 * take another (a block is never waited for by a thread holding one, so
 * that nesting cannot deadlock); this bounds the table. */
#define MAX_BLOCKS 128

typedef struct
{
  guint8 *mem;
  gsize size;
  gboolean lent;
} Block;

/* pthread rather than GMutex: ThreadSanitizer sees these (GLib's futex
 * mutex is invisible to it), and with them every hand-over of a block. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t returned = PTHREAD_COND_INITIALIZER;
static Block blocks[MAX_BLOCKS];
static guint n_blocks, n_lent, limit;
static guint n_borrowers, max_borrowers;        /* threads holding blocks */
static _Thread_local guint held;        /* blocks this thread holds */

/* The free block to lend for @size: the smallest that is large enough,
 * else the largest (grown). -1 when every block is lent. */
static int
pick_free (gsize size)
{
  int fit = -1, big = -1;
  guint i;

  for (i = 0; i < n_blocks; i++) {
    if (blocks[i].lent)
      continue;
    if (blocks[i].size >= size
        && (fit < 0 || blocks[i].size < blocks[fit].size))
      fit = i;
    if (big < 0 || blocks[i].size > blocks[big].size)
      big = i;
  }
  return fit >= 0 ? fit : big;
}

/**
 * fv_workspace_acquire:
 * @size: bytes needed
 *
 * Borrows at least @size bytes of working memory, aligned for any kernel,
 * until fv_workspace_release(). Waits while as many blocks are lent as
 * there are processors (at least 2), unless the calling thread already
 * holds one. The memory is not cleared: it holds what its previous
 * borrower left. Allocates only when no free block is large enough.
 *
 * Returns: (transfer none): the memory, never %NULL
 */
gpointer
fv_workspace_acquire (gsize size)
{
  guint mine = held;
  Block *b;
  int i;

  size = fv_round_up (MAX (size, 1), FV_ALIGN);
  pthread_mutex_lock (&lock);
  if (limit == 0)
    limit = CLAMP (g_get_num_processors (), 2, MAX_BLOCKS / 2);
  for (;;) {
    i = pick_free (size);
    if (i >= 0 && blocks[i].size >= size)
      break;
    /* A new block rather than growing a smaller free one while there are
     * fewer than the limit (the smaller one still serves smaller needs);
     * beyond it, only for a thread that holds one already. */
    if ((n_blocks < limit || (mine > 0 && i < 0))
        && n_blocks < MAX_BLOCKS) {
      i = n_blocks++;
      break;
    }
    if (i >= 0)
      break;
    pthread_cond_wait (&returned, &lock);
  }
  b = &blocks[i];
  if (b->size < size) {
    g_aligned_free (b->mem);
    b->mem = g_aligned_alloc (size, 1, FV_ALIGN);
    b->size = size;
  }
  b->lent = TRUE;
  n_lent++;
  if (mine == 0)
    n_borrowers++;
  max_borrowers = MAX (max_borrowers, n_borrowers);
  pthread_mutex_unlock (&lock);
  held = mine + 1;
  return b->mem;
}

/**
 * fv_workspace_release:
 * @memory: memory from fv_workspace_acquire()
 *
 * Returns borrowed memory; the caller must not touch it any more.
 */
void
fv_workspace_release (gpointer memory)
{
  guint mine = held;
  guint i;

  g_return_if_fail (memory != NULL);
  pthread_mutex_lock (&lock);
  for (i = 0; i < n_blocks; i++)
    if (blocks[i].mem == memory && blocks[i].lent)
      break;
  if (i == n_blocks) {
    pthread_mutex_unlock (&lock);
    g_return_if_reached ();
  }
  blocks[i].lent = FALSE;
  n_lent--;
  if (mine == 1)
    n_borrowers--;
  /* Blocks beyond the limit (nested borrowing) do not stay. */
  if (n_blocks > limit) {
    g_aligned_free (blocks[i].mem);
    blocks[i] = blocks[--n_blocks];
    blocks[n_blocks].mem = NULL;
    blocks[n_blocks].size = 0;
    blocks[n_blocks].lent = FALSE;
  }
  pthread_cond_signal (&returned);
  pthread_mutex_unlock (&lock);
  held = mine > 0 ? mine - 1 : 0;
}

/**
 * fv_workspace_get_n_blocks:
 *
 * Returns: how many blocks of working memory the process has
 */
guint
fv_workspace_get_n_blocks (void)
{
  guint n;

  pthread_mutex_lock (&lock);
  n = n_blocks;
  pthread_mutex_unlock (&lock);
  return n;
}

/**
 * fv_workspace_get_size:
 *
 * Returns: the bytes of all blocks of working memory together
 */
gsize
fv_workspace_get_size (void)
{
  gsize n = 0;
  guint i;

  pthread_mutex_lock (&lock);
  for (i = 0; i < n_blocks; i++)
    n += blocks[i].size;
  pthread_mutex_unlock (&lock);
  return n;
}

/**
 * fv_workspace_get_max_borrowers:
 *
 * Returns: the most threads that held working memory at the same time so
 *   far
 */
guint
fv_workspace_get_max_borrowers (void)
{
  guint n;

  pthread_mutex_lock (&lock);
  n = max_borrowers;
  pthread_mutex_unlock (&lock);
  return n;
}
