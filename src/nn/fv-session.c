/* FvSession: the run loop, threads and arenas of a session whose memory
 * plan fv-session-plan.c makes. Everything is resolved when the session is
 * created, so that fv_session_run() only calls kernels. */
#include "fv-session-private.h"
#include "core/fv-core.h"
#include "core/fv-threadpool.h"

#include <string.h>
#include <time.h>

/* Layers with fewer multiply-adds than this run on one thread: waking the
 * others costs about a microsecond. */
#define PARALLEL_MIN_MACS 65536

/* A layer split between threads is cut into this many chunks per thread:
 * a thread that lost its core delays the layer by one chunk at most, the
 * others take the rest of its share. */
#define CHUNKS_PER_THREAD 4

typedef struct
{
  FvSession *s;
  const FvStep *st;
  guint b0, nb;
} FvTask;

static FvSession *
session_new (FvModel * model, guint max_batch, guint height, guint width,
    gboolean unbound, GError ** error)
{
  g_autoptr (FvSession) s = NULL;
  FvGraph *g;
  const FvGTensor *in;
  guint nt;

  g_return_val_if_fail (model != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g = model->graph;
  in = FV_GTENSOR (g, g->input);
  if (max_batch == 0 || max_batch > 4096) {
    g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_SHAPE,
        "batch %u is out of range (1 to 4096)", max_batch);
    return NULL;
  }
  if (height == 0)
    height = in->shape.dims[1];
  if (width == 0)
    width = in->shape.dims[2];
  if (height > 16384 || width > 16384) {
    g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_SHAPE,
        "input size %ux%u is too large", width, height);
    return NULL;
  }

  s = g_new0 (FvSession, 1);
  s->model = fv_model_ref (model);
  s->borrowed = unbound;
  s->max_batch = max_batch;
  s->height = height;
  s->width = width;
  nt = g->tensors->len;
  s->shapes = g_new0 (FvShape, nt);
  s->offsets = g_new0 (gsize, nt);
  if (!fv_graph_infer_shapes (g, max_batch, height, width, s->shapes, error))
    return NULL;

  if (!fv_session_plan (s, FALSE, error))
    return NULL;
  s->n_threads = 1;
  return g_steal_pointer (&s);
}

/**
 * fv_session_new:
 * @model: a model
 * @max_batch: the largest batch that fv_session_run() will be asked for
 * @height: input height, or 0 for the height in the file
 * @width: input width, or 0 for the width in the file
 * @error: return location for an %FV_MODEL_ERROR
 *
 * Plans @model for inputs of up to @max_batch images of @height x @width:
 * infers every shape, places every activation in one arena and resolves
 * every kernel argument. Fully convolutional models (P-Net) take any size;
 * others fail here with %FV_MODEL_ERROR_SHAPE if the size does not fit.
 *
 * Returns: (transfer full) (nullable): a new session
 */
FvSession *
fv_session_new (FvModel * model, guint max_batch, guint height, guint width,
    GError ** error)
{
  return session_new (model, max_batch, height, width, FALSE, error);
}

/**
 * fv_session_new_unbound:
 * @model: a model
 * @max_batch: the largest batch that fv_session_run() will be asked for
 * @height: input height, or 0 for the height in the file
 * @width: input width, or 0 for the width in the file
 * @error: return location for an %FV_MODEL_ERROR
 *
 * Like fv_session_new(), but without memory for the activations: bind
 * some with fv_session_bind_arena() before using the input, the outputs
 * or running it. For sessions that run in the process's working memory
 * (fv-workspace.h): creating them touches no activation memory at all.
 *
 * Returns: (transfer full) (nullable): a new session
 */
FvSession *
fv_session_new_unbound (FvModel * model, guint max_batch, guint height,
    guint width, GError ** error)
{
  return session_new (model, max_batch, height, width, TRUE, error);
}

/**
 * fv_session_free:
 * @session: (transfer full) (nullable): a session
 */
void
fv_session_free (FvSession * s)
{
  if (!s)
    return;
  fv_thread_pool_free (s->pool);
  if (s->lanes) {
    guint i;
    for (i = 0; i + 1 < s->n_threads; i++)
      fv_session_free (s->lanes[i]);
    g_free (s->lanes);
  }
  if (!s->borrowed)
    fv_free_floats (s->arena);
  fv_session_steps_free (s->steps, s->n_steps);
  g_free (s->shapes);
  g_free (s->offsets);
  if (s->model)
    fv_model_unref (s->model);
  g_free (s);
}

/**
 * fv_session_get_model:
 * @session: a session
 *
 * Returns: (transfer none): the model of @session
 */
FvModel *
fv_session_get_model (FvSession * session)
{
  g_return_val_if_fail (session != NULL, NULL);
  return session->model;
}

/**
 * fv_session_get_input:
 * @session: a session
 * @index: input index (0)
 *
 * Returns: (transfer none): where to write the NHWC float input, room for
 *   the maximum batch; images are packed densely one after the other
 */
float *
fv_session_get_input (FvSession * session, guint index)
{
  g_return_val_if_fail (session != NULL && index == 0, NULL);
  g_return_val_if_fail (session->arena != NULL, NULL);
  return session->arena + session->offsets[session->model->graph->input];
}

/**
 * fv_session_get_output:
 * @session: a session
 * @index: output index
 * @shape: (out caller-allocates) (optional): the output shape at the
 *   maximum batch
 *
 * Returns: (transfer none) (nullable): the output of the last run; valid
 *   until the next run; %NULL for a session without memory
 *   (fv_session_new_unbound())
 */
const float *
fv_session_get_output (FvSession * session, guint index, FvShape * shape)
{
  FvGraph *g;
  int t;

  g_return_val_if_fail (session != NULL, NULL);
  g = session->model->graph;
  g_return_val_if_fail (index < g->n_outputs, NULL);
  t = g->outputs[index];
  if (shape)
    *shape = session->shapes[t];
  return fv_session_arena_ptr (session, t);
}

/**
 * fv_session_get_arena_size:
 * @session: a session
 *
 * Returns: the size in bytes of the arena that holds every activation,
 *   including the memory of the extra threads (fv_session_set_threads())
 */
gsize
fv_session_get_arena_size (FvSession * session)
{
  gsize floats;
  guint i;

  g_return_val_if_fail (session != NULL, 0);
  if (session->borrowed)
    return 0;
  floats = session->arena_floats;
  if (session->lanes)
    for (i = 0; i + 1 < session->n_threads; i++)
      floats += session->lanes[i]->arena_floats;
  return floats * sizeof (float);
}

/**
 * fv_session_get_max_batch:
 * @session: a session
 *
 * Returns: the maximum batch @session was planned for
 */
guint
fv_session_get_max_batch (FvSession * session)
{
  g_return_val_if_fail (session != NULL, 0);
  return session->max_batch;
}

static inline void
with_batch (FvShape * sh, gboolean is_const, guint batch)
{
  if (!is_const && sh->rank > 0)
    sh->dims[0] = batch;
}

/* The generic ops of fv-ops.c, on images [b0, b0 + nb). */
static void
run_generic (const FvSession * s, const FvStep * st, guint b0, guint nb)
{
  const FvLayer *l = st->layer;
  const gsize rows = st->rows_per_image * nb;
  const float *x = st->x + b0 * st->x_img;
  const float *y = st->y ? st->y + b0 * st->y_img : NULL;
  float *out = st->out + b0 * st->out_img;

  switch (l->kind) {
    case FV_LAYER_ELEMENTWISE:
      if (l->y >= 0) {
        FvShape xs = st->xs, ys = st->ys, os = st->os;
        with_batch (&xs, st->x_const, nb);
        with_batch (&ys, st->y_const, nb);
        with_batch (&os, FALSE, nb);
        fv_op_binary (l->op, l->act, x, &xs, y, &ys, out, &os);
      } else {
        fv_op_unary (l->op, x, out, rows * st->row_len);
      }
      break;
    case FV_LAYER_REDUCE:
      fv_op_reduce_last (l->op, x, out, rows, st->row_len);
      break;
    case FV_LAYER_PRELU:
      fv_op_prelu (x, l->alpha, out, rows, st->row_len);
      break;
    case FV_LAYER_SOFTMAX:
      fv_op_softmax_last (x, out, rows, st->row_len);
      break;
    case FV_LAYER_RESHAPE:{
      /* Only reached when the input is a constant. */
      gsize n = MIN (rows * st->row_len,
          FV_GTENSOR (s->model->graph, l->x)->n_elems);
      memcpy (out, st->x, n * sizeof (float));
      break;
    }
    default:
      g_assert_not_reached ();
  }
}

/* Part @part of @n_parts of a GEMM over rows [m0, m1): a band of rows, or
 * a band of weight panels when that divides more evenly (7x7 layers, the
 * fully connected head). */
static void
run_gemm_part (const FvKernelTable * kt, const FvGemmParams * p, gsize m0,
    gsize m1, guint part, guint n_parts, guint n_threads)
{
  const gsize mr = kt->gemm_mr, nr = kt->gemm_nr;
  const gsize blocks = (m1 - m0 + mr - 1) / mr;
  const gsize panels = (p->n + nr - 1) / nr;
  /* Work of the busiest thread, relative to an even split. */
  const gsize row_load = (blocks + n_threads - 1) / n_threads * panels;
  const gsize col_load = (panels + n_threads - 1) / n_threads * blocks;

  if (n_parts == 1) {
    kt->gemm (p, m0, m1);
  } else if (col_load < row_load) {
    const gsize pa = panels * part / n_parts;
    const gsize pb = panels * (part + 1) / n_parts;
    const gsize n0 = pa * nr, n1 = MIN (pb * nr, p->n);
    FvGemmParams q = *p;

    if (pa == pb)
      return;
    q.n = n1 - n0;
    q.w += pa * nr * (p->k + 1);
    if (q.alpha)
      q.alpha += n0;
    if (q.res)
      q.res += n0;
    q.c += n0;
    kt->gemm (&q, m0, m1);
  } else {
    const gsize ba = blocks * part / n_parts;
    const gsize bb = blocks * (part + 1) / n_parts;
    if (ba < bb)
      kt->gemm (p, m0 + ba * mr, MIN (m0 + bb * mr, m1));
  }
}

/* Part @part of @n_parts of one step on images [b0, b0 + nb). */
static void
run_step_part (const FvSession * s, const FvStep * st, guint b0, guint nb,
    guint part, guint n_parts)
{
  const FvKernelTable *kt = s->model->kt;
  const gsize r0 = st->rows_per_image * b0;
  const gsize r1 = st->rows_per_image * (b0 + nb);
  const gsize ra = r0 + (r1 - r0) * part / n_parts;
  const gsize rb = r0 + (r1 - r0) * (part + 1) / n_parts;

  switch (st->layer->kind) {
    case FV_LAYER_GEMM:
    case FV_LAYER_FC:
      run_gemm_part (kt, &st->p.gemm, r0, r1, part, n_parts, s->n_threads);
      break;
    case FV_LAYER_CONV:
      if (ra < rb)
        kt->conv (&st->p.conv, ra, rb);
      break;
    case FV_LAYER_DWCONV3X3:
      if (ra < rb)
        kt->dwconv3x3 (&st->p.dw, ra, rb);
      break;
    case FV_LAYER_DWCONV:
      if (ra < rb)
        kt->dwconv (&st->p.dw, ra, rb);
      break;
    case FV_LAYER_MAXPOOL:
      if (ra < rb)
        kt->maxpool (&st->p.pool, ra, rb);
      break;
    default:
      if (part == 0)
        run_generic (s, st, b0, nb);
      break;
  }
}

static inline guint64
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (guint64) ts.tv_sec * 1000000000u + (guint64) ts.tv_nsec;
}

/* The calling thread's CPU time: what a step cost it, even when other
 * programs took the core for a while. */
static inline guint64
thread_cpu_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (guint64) ts.tv_sec * 1000000000u + (guint64) ts.tv_nsec;
}

/* What a timed interval gains from the clock readings at its ends: the
 * median of back-to-back readings. Reading the thread CPU clock is a
 * system call (about 0.5 us under KVM), as long as a small layer. */
static guint64
clock_cost (guint64 (*clock) (void))
{
  guint64 d[31];
  guint i, j;

  for (i = 0; i < G_N_ELEMENTS (d); i++) {
    const guint64 t0 = clock ();
    d[i] = clock () - t0;
    for (j = i; j > 0 && d[j - 1] > d[j]; j--) {
      const guint64 t = d[j];
      d[j] = d[j - 1];
      d[j - 1] = t;
    }
  }
  return d[G_N_ELEMENTS (d) / 2];
}

/* Every step on images [b0, b0 + nb), on the calling thread only. */
static void
run_images (FvSession * s, guint b0, guint nb, gboolean profile)
{
  guint i;

  if (G_LIKELY (!profile)) {
    for (i = 0; i < s->n_steps; i++)
      run_step_part (s, &s->steps[i], b0, nb, 0, 1);
    return;
  }
  for (i = 0; i < s->n_steps; i++) {
    guint64 t0 = thread_cpu_ns ();
    run_step_part (s, &s->steps[i], b0, nb, 0, 1);
    s->steps[i].prof_ns += thread_cpu_ns () - t0;
    s->steps[i].prof_clock_ns += s->clock_cpu_ns;
  }
}

/* Copies image 0 of every output of @lane to image @image of ours. */
static void
copy_image_out (FvSession * s, FvSession * lane, guint image)
{
  FvGraph *g = s->model->graph;
  guint o;

  for (o = 0; o < g->n_outputs; o++) {
    const int t = g->outputs[o];
    const gsize n = fv_shape_elems (&s->shapes[t]) / s->max_batch;
    memcpy (s->arena + s->offsets[t] + image * n,
        lane->arena + lane->offsets[t], n * sizeof (float));
  }
}

/* Whole images per thread, claimed one at a time: no synchronisation
 * between layers, and the working set of one image per core. Thread 0
 * computes in this session, the others in their lanes; the input and the
 * outputs are pinned (see session_plan()), so nothing else overwrites
 * them meanwhile. */
static void
images_task (gpointer data, guint image, guint n_images, guint thread)
{
  FvTask *t = data;
  FvSession *s = t->s;
  const int input = s->model->graph->input;
  const gsize in_n = fv_shape_elems (&s->shapes[input]) / s->max_batch;

  if (thread == 0) {
    run_images (s, image, 1, s->profiling);
    if (G_UNLIKELY (s->profiling))
      s->prof_images++;
  } else {
    FvSession *lane = s->lanes[thread - 1];
    memcpy (lane->arena + lane->offsets[input],
        s->arena + s->offsets[input] + image * in_n, in_n * sizeof (float));
    run_images (lane, 0, 1, FALSE);
    copy_image_out (s, lane, image);
  }
}

/* One layer split between the threads. */
static void
step_task (gpointer data, guint chunk, guint n_chunks, guint thread)
{
  FvTask *t = data;

  run_step_part (t->s, t->st, t->b0, t->nb, chunk, n_chunks);
}

static gboolean
step_is_parallel (const FvStep * st, guint nb)
{
  switch (st->layer->kind) {
    case FV_LAYER_GEMM:
    case FV_LAYER_FC:
    case FV_LAYER_CONV:
    case FV_LAYER_DWCONV3X3:
    case FV_LAYER_DWCONV:
      return st->macs * nb >= PARALLEL_MIN_MACS;
    case FV_LAYER_MAXPOOL:
      /* One comparison per tap, counted like a multiply-add. */
      return (guint64) st->p.pool.out_h * st->p.pool.out_w * st->p.pool.c
          * st->p.pool.kh * st->p.pool.kw * nb >= PARALLEL_MIN_MACS;
    default:
      return FALSE;
  }
}

/* Images [b0, b0 + nb) with every layer split between the threads. */
static void
run_split (FvSession * s, guint b0, guint nb)
{
  FvTask task = { s, NULL, b0, nb };
  guint i;

  for (i = 0; i < s->n_steps; i++) {
    const FvStep *st = &s->steps[i];
    guint64 t0 = 0;

    if (G_UNLIKELY (s->profiling))
      t0 = now_ns ();
    if (step_is_parallel (st, nb)) {
      task.st = st;
      fv_thread_pool_run_limited (s->pool, step_task, &task,
          s->n_threads * CHUNKS_PER_THREAD, s->n_threads);
    } else {
      run_step_part (s, st, b0, nb, 0, 1);
    }
    if (G_UNLIKELY (s->profiling)) {
      s->steps[i].prof_ns += now_ns () - t0;
      s->steps[i].prof_clock_ns += s->clock_wall_ns;
    }
  }
}

/**
 * fv_session_run:
 * @session: a session
 * @batch: number of images in the input, 1 to the maximum batch
 *
 * Runs the model on the first @batch images of the input. Allocates
 * nothing and cannot fail.
 *
 * With several threads (fv_session_set_threads()), a batch of at least as
 * many images as threads is spread over the threads, whole images per
 * thread; the images left over (and a single image) are computed with
 * every layer split between the threads. The calling thread takes part;
 * it runs with flush-to-zero / denormals-are-zero set, and its floating
 * point mode is restored on return.
 */
void
fv_session_run (FvSession * session, guint batch)
{
  const guint n = session ? session->n_threads : 1;
  guint64 fp;
  guint whole;

  g_return_if_fail (session != NULL);
  g_return_if_fail (batch >= 1 && batch <= session->max_batch);
  g_return_if_fail (session->arena != NULL);

  fp = fv_fp_mode_enter ();
  if (n == 1) {
    run_images (session, 0, batch, session->profiling);
    if (G_UNLIKELY (session->profiling))
      session->prof_images += batch;
  } else {
    /* Whole images while every thread gets one; the rest split. */
    whole = session->lanes ? batch / n * n : 0;
    if (whole > 0) {
      FvTask task = { session, NULL, 0, whole };
      fv_thread_pool_run_limited (session->pool, images_task, &task, whole, n);
    }
    if (whole < batch) {
      run_split (session, whole, batch - whole);
      if (G_UNLIKELY (session->profiling))
        session->prof_images += batch - whole;
    }
  }
  if (G_UNLIKELY (session->profiling))
    session->prof_runs++;
  /* Workers sleep between runs rather than spin: the caller's thread
   * (or the rest of a pipeline) may need the cores; waking them costs
   * less than the noise of a run. */
  if (session->pool)
    fv_thread_pool_park (session->pool);
  fv_fp_mode_leave (fp);
}

/* Plans again (with @pin_io); keeps the old plan if that fails. */
static gboolean
session_replan (FvSession * s, gboolean pin_io, GError ** error)
{
  const guint nt = s->model->graph->tensors->len;
  gsize *old_offsets = s->offsets;
  float *old_arena = s->arena;
  gsize old_floats = s->arena_floats;
  FvStep *old_steps = s->steps;
  guint old_n_steps = s->n_steps;
  gboolean old_borrowed = s->borrowed;

  s->offsets = g_new0 (gsize, nt);
  s->arena = NULL;
  s->steps = NULL;
  s->borrowed = FALSE;
  if (!fv_session_plan (s, pin_io, error)) {
    fv_free_floats (s->arena);
    g_free (s->steps);
    g_free (s->offsets);
    s->borrowed = old_borrowed;
    s->offsets = old_offsets;
    s->arena = old_arena;
    s->arena_floats = old_floats;
    s->steps = old_steps;
    s->n_steps = old_n_steps;
    return FALSE;
  }
  g_free (old_offsets);
  if (!old_borrowed)
    fv_free_floats (old_arena);
  fv_session_steps_free (old_steps, old_n_steps);
  s->pinned = pin_io;
  return TRUE;
}

/**
 * fv_session_set_threads:
 * @session: a session
 * @n_threads: how many threads fv_session_run() uses, the calling thread
 *   included; 0 for one per processor
 * @error: return location for an %FV_MODEL_ERROR
 *
 * Lets the session run on @n_threads threads. The workers are those of
 * the process-wide pool (fv_thread_pool_get_shared()), which every
 * session and element of the process shares; a session that asks for
 * more threads than there are processors starts a pool of its own. Call
 * it from the thread that runs the session, never during a run. While
 * another session runs a task on the shared pool, this one runs on its
 * calling thread alone.
 *
 * A session planned for batches of more than one image also gets, for
 * each extra thread, the activation memory of one image (threads compute
 * whole images of a batch), and its input and outputs get memory of their
 * own: pointers from fv_session_get_input() and fv_session_get_output()
 * obtained before this call are no longer valid after it.
 *
 * Returns: %TRUE on success; on failure the session keeps its previous
 *   threads
 */
gboolean
fv_session_set_threads (FvSession * session, guint n_threads, GError ** error)
{
  FvThreadPool *pool = NULL;
  FvSession **lanes = NULL;
  guint i;

  g_return_val_if_fail (session != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (n_threads == 0)
    n_threads = g_get_num_processors ();
  if (n_threads > 256) {
    g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_INVALID,
        "%u threads are too many (at most 256)", n_threads);
    return FALSE;
  }
  if (n_threads == session->n_threads)
    return TRUE;
  if (n_threads > 1) {
    pool = fv_thread_pool_get_shared (n_threads, error);
    if (!pool)
      return FALSE;
  }
  if (n_threads > 1 && session->max_batch > 1) {
    lanes = g_new0 (FvSession *, n_threads - 1);
    for (i = 0; i + 1 < n_threads; i++) {
      lanes[i] = fv_session_new (session->model, 1, session->height,
          session->width, error);
      if (!lanes[i])
        goto fail;
    }
    if (!session->pinned && !session_replan (session, TRUE, error))
      goto fail;
  }
  if (session->lanes) {
    for (i = 0; i + 1 < session->n_threads; i++)
      fv_session_free (session->lanes[i]);
    g_free (session->lanes);
  }
  fv_thread_pool_free (session->pool);
  session->pool = pool;
  session->lanes = lanes;
  session->n_threads = n_threads;
  return TRUE;

fail:
  if (lanes) {
    for (i = 0; i + 1 < n_threads; i++)
      fv_session_free (lanes[i]);
    g_free (lanes);
  }
  fv_thread_pool_free (pool);
  return FALSE;
}

/**
 * fv_session_bind_arena:
 * @session: a session without threads of its own for whole images (planned
 *   for batch 1, or given no more than one thread)
 * @arena: (nullable): memory of at least fv_session_get_arena_need() bytes,
 *   aligned to 64 bytes, or %NULL to go back to memory of its own
 *
 * Makes @session keep its activations, input and outputs in @arena, which
 * the caller owns, and frees the session's own. Binding again to the same
 * memory costs nothing; to other memory, a pass over the steps. The
 * memory can be lent to other sessions between runs (the working memory
 * of fv_workspace_acquire()), as long as the caller binds it again and
 * writes the input before each run: pointers from fv_session_get_input()
 * and fv_session_get_output() are only valid while it is bound.
 *
 * Returns: %FALSE (nothing changed) when @session cannot run in outside
 *   memory
 */
gboolean
fv_session_bind_arena (FvSession * session, float *arena)
{
  guint i;

  g_return_val_if_fail (session != NULL, FALSE);
  if (session->lanes || session->pinned)
    return FALSE;
  if ((arena && arena == session->arena) || (!arena && !session->borrowed))
    return TRUE;
  if (!session->borrowed)
    fv_free_floats (session->arena);
  session->borrowed = arena != NULL;
  session->arena = arena ? arena : fv_alloc_floats (session->arena_floats);
  /* the steps point into the arena: resolve them again */
  for (i = 0; i < session->n_steps; i++)
    fv_session_setup_step (session, &session->steps[i],
        session->steps[i].layer);
  return TRUE;
}

/**
 * fv_session_get_arena_need:
 * @session: a session
 *
 * Returns: the bytes of memory fv_session_bind_arena() needs: the arena's
 *   size, without the memory of extra threads
 */
gsize
fv_session_get_arena_need (FvSession * session)
{
  g_return_val_if_fail (session != NULL, 0);
  return session->arena_floats * sizeof (float);
}

/**
 * fv_session_borrow_arena:
 * @session: a session planned for batch 1 that has no threads of its own
 * @host: a session whose arena is at least as large as @session's
 *
 * Makes @session keep its activations in @host's arena and frees its own,
 * for sessions that never run at the same time and whose input is written
 * just before each run: their memory is then the largest one's, not the
 * sum. @host must outlive @session and keep its arena.
 * Pointers from fv_session_get_input() and fv_session_get_output() of
 * @session obtained before this call are no longer valid after it.
 *
 * Returns: %TRUE when @session now uses @host's arena; %FALSE (nothing
 *   changed) when @host's arena is smaller or @session cannot share
 */
gboolean
fv_session_borrow_arena (FvSession * session, FvSession * host)
{
  g_return_val_if_fail (session != NULL && host != NULL, FALSE);
  if (session == host || session->borrowed || session->max_batch != 1
      || host->arena_floats < session->arena_floats)
    return FALSE;
  return fv_session_bind_arena (session, host->arena);
}

/**
 * fv_session_share_threads:
 * @session: a session planned for batch 1 that has no threads of its own
 * @from: a session given threads with fv_session_set_threads()
 *
 * Makes @session run on the worker threads of @from, so that several
 * sessions that never run at the same time (the pyramid levels of a
 * detector) need one set of threads. The threads live until both are
 * freed. Never run @session and @from at the same time.
 */
void
fv_session_share_threads (FvSession * session, FvSession * from)
{
  g_return_if_fail (session != NULL && from != NULL);
  g_return_if_fail (session->max_batch == 1 && session->n_threads == 1);
  if (!from->pool)
    return;
  session->pool = fv_thread_pool_ref (from->pool);
  session->n_threads = from->n_threads;
}

/**
 * fv_session_get_threads:
 * @session: a session
 *
 * Returns: the number of threads fv_session_run() uses
 */
guint
fv_session_get_threads (FvSession * session)
{
  g_return_val_if_fail (session != NULL, 1);
  return session->n_threads;
}

/**
 * fv_session_set_profiling:
 * @session: a session
 * @enabled: whether to time each step
 *
 * Switches the per-step timers on or off, and resets them. When off, they
 * cost nothing measurable. A step's time is the CPU time of the thread
 * that ran it (so that other programs on the machine do not inflate it);
 * with several threads, it is the CPU time thread 0 spent in it (whole
 * images per thread) or the wall time of the whole step (a layer split
 * between threads). What the timer readings themselves cost is measured
 * here and left out of the step times.
 */
void
fv_session_set_profiling (FvSession * session, gboolean enabled)
{
  guint i;

  g_return_if_fail (session != NULL);
  session->profiling = enabled;
  session->prof_runs = session->prof_images = 0;
  for (i = 0; i < session->n_steps; i++)
    session->steps[i].prof_ns = session->steps[i].prof_clock_ns = 0;
  if (enabled) {
    session->clock_cpu_ns = clock_cost (thread_cpu_ns);
    session->clock_wall_ns = clock_cost (now_ns);
  }
}

/**
 * fv_session_get_n_steps:
 * @session: a session
 *
 * Returns: the number of steps (fused layers) a run executes
 */
guint
fv_session_get_n_steps (FvSession * session)
{
  g_return_val_if_fail (session != NULL, 0);
  return session->n_steps;
}

/**
 * fv_session_get_step_profile:
 * @session: a session
 * @index: a step, below fv_session_get_n_steps()
 * @profile: (out caller-allocates): what the step is and the time it took
 *
 * Describes step @index and, if profiling is on
 * (fv_session_set_profiling()), the time spent in it so far.
 */
void
fv_session_get_step_profile (FvSession * session, guint index,
    FvStepProfile * profile)
{
  const FvStep *st;

  g_return_if_fail (session != NULL && profile != NULL);
  g_return_if_fail (index < session->n_steps);
  st = &session->steps[index];
  profile->name = st->layer->name;
  profile->family = fv_layer_kind_name (st->layer->kind);
  profile->kernel = st->kernel;
  profile->macs = st->macs;
  profile->ns = st->prof_ns > st->prof_clock_ns
      ? st->prof_ns - st->prof_clock_ns : 0;
  profile->runs = session->prof_runs;
  profile->images = session->prof_images;
}
