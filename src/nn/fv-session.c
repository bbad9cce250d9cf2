/* FvSession: the memory plan (one arena for every activation) and the run
 * loop. Everything is resolved when the session is created, so that
 * fv_session_run() only calls kernels. */
#include "fv-nn.h"
#include "core/fv-core.h"

#include <string.h>

typedef struct
{
  const FvLayer *layer;
  const float *x, *y;           /* y: second operand or residual */
  gboolean x_const, y_const;
  float *out;
  FvShape xs, ys, os;           /* shapes at the maximum batch */
  gsize rows_per_image;         /* work units per image */
  gsize row_len;                /* channels for row-wise ops */
  union
  {
    FvGemmParams gemm;
    FvConvParams conv;
    FvDwconvParams dw;
  } p;
  guint pad_top, pad_left;
} FvStep;

struct _FvSession
{
  FvModel *model;
  guint max_batch, height, width;
  FvShape *shapes;
  gsize *offsets;               /* in floats, per tensor */
  float *arena;
  gsize arena_floats;
  FvStep *steps;
  guint n_steps;
};

static guint
same_pad_before (guint in, guint out, guint k, guint stride, FvPadding pad)
{
  gint64 total;

  if (pad == FV_PAD_VALID)
    return 0;
  total = (gint64) (out - 1) * stride + k - in;
  return total > 0 ? (guint) (total / 2) : 0;
}

/* Greedy placement: biggest tensors first, each at the lowest offset that
 * does not overlap a placed tensor whose lifetime overlaps its own. */
static gsize
plan_arena (guint n, const gsize * size, const int *first, const int *last,
    gsize * offset)
{
  g_autofree guint *order = g_new (guint, MAX (n, 1));
  g_autofree guint *placed = g_new (guint, MAX (n, 1));
  guint n_placed = 0, i, j;
  gsize total = 0;

  for (i = 0; i < n; i++)
    order[i] = i;
  /* insertion sort by size, descending: n is a few hundred */
  for (i = 1; i < n; i++) {
    guint v = order[i];
    j = i;
    while (j > 0 && size[order[j - 1]] < size[v]) {
      order[j] = order[j - 1];
      j--;
    }
    order[j] = v;
  }

  for (i = 0; i < n; i++) {
    guint t = order[i];
    gsize off = 0;
    gboolean moved = TRUE;

    if (size[t] == 0)
      continue;
    while (moved) {
      moved = FALSE;
      for (j = 0; j < n_placed; j++) {
        guint o = placed[j];
        if (last[o] < first[t] || last[t] < first[o])
          continue;
        if (off < offset[o] + size[o] && offset[o] < off + size[t]) {
          off = offset[o] + size[o];
          moved = TRUE;
        }
      }
    }
    offset[t] = off;
    placed[n_placed++] = t;
    total = MAX (total, off + size[t]);
  }
  return total;
}

static const float *
tensor_ptr (FvSession * s, int t)
{
  const FvGTensor *gt = FV_GTENSOR (s->model->graph, t);
  return gt->is_const ? gt->data : s->arena + s->offsets[t];
}

static void
setup_step (FvSession * s, FvStep * st, const FvLayer * l)
{
  const FvShape *xs = &s->shapes[l->x], *os = &s->shapes[l->out];
  const FvGTensor *xt = FV_GTENSOR (s->model->graph, l->x);
  guint b = s->max_batch;

  st->layer = l;
  st->x = tensor_ptr (s, l->x);
  st->y = l->y >= 0 ? tensor_ptr (s, l->y) : NULL;
  st->out = s->arena + s->offsets[l->out];
  st->xs = xt->is_const ? xt->shape : *xs;
  st->x_const = xt->is_const;
  if (l->y >= 0) {
    const FvGTensor *yt = FV_GTENSOR (s->model->graph, l->y);
    st->ys = yt->is_const ? yt->shape : s->shapes[l->y];
    st->y_const = yt->is_const;
  }
  st->os = *os;
  st->row_len = os->rank ? os->dims[os->rank - 1] : 1;
  st->rows_per_image = fv_shape_elems (os) / b / MAX (st->row_len, 1);

  switch (l->kind) {
    case FV_LAYER_GEMM:
    case FV_LAYER_FC:{
      FvGemmParams *p = &st->p.gemm;
      p->k = l->in_c;
      p->n = l->out_c;
      p->a = st->x;
      p->a_stride = l->in_c;
      p->w = l->w;
      p->alpha = l->alpha;
      p->res = st->y;
      p->res_stride = l->out_c;
      p->c = st->out;
      p->c_stride = l->out_c;
      st->rows_per_image = l->kind == FV_LAYER_FC ? 1
          : (gsize) os->dims[1] * os->dims[2];
      break;
    }
    case FV_LAYER_CONV:{
      FvConvParams *p = &st->p.conv;
      p->in_h = xs->dims[1];
      p->in_w = xs->dims[2];
      p->in_c = xs->dims[3];
      p->out_h = os->dims[1];
      p->out_w = os->dims[2];
      p->out_c = os->dims[3];
      p->kh = l->kh;
      p->kw = l->kw;
      p->stride_h = l->stride_h;
      p->stride_w = l->stride_w;
      p->pad_top = same_pad_before (p->in_h, p->out_h, l->kh, l->stride_h,
          l->padding);
      p->pad_left = same_pad_before (p->in_w, p->out_w, l->kw, l->stride_w,
          l->padding);
      p->in = st->x;
      p->out = st->out;
      p->w = l->w;
      p->bias = l->bias;
      p->alpha = l->alpha;
      p->oc_pad = l->c_pad;
      st->rows_per_image = p->out_h;
      break;
    }
    case FV_LAYER_DWCONV3X3:
    case FV_LAYER_DWCONV:{
      FvDwconvParams *p = &st->p.dw;
      p->in_h = xs->dims[1];
      p->in_w = xs->dims[2];
      p->c = xs->dims[3];
      p->out_h = os->dims[1];
      p->out_w = os->dims[2];
      p->kh = l->kh;
      p->kw = l->kw;
      p->stride_h = l->stride_h;
      p->stride_w = l->stride_w;
      p->pad_top = same_pad_before (p->in_h, p->out_h, l->kh, l->stride_h,
          l->padding);
      p->pad_left = same_pad_before (p->in_w, p->out_w, l->kw, l->stride_w,
          l->padding);
      p->in = st->x;
      p->out = st->out;
      p->w = l->w;
      p->bias = l->bias;
      p->alpha = l->alpha;
      p->c_pad = l->c_pad;
      st->rows_per_image = p->out_h;
      break;
    }
    case FV_LAYER_MAXPOOL:
      st->pad_top = same_pad_before (xs->dims[1], os->dims[1], l->kh,
          l->stride_h, l->padding);
      st->pad_left = same_pad_before (xs->dims[2], os->dims[2], l->kw,
          l->stride_w, l->padding);
      break;
    case FV_LAYER_REDUCE:
      st->row_len = xs->dims[xs->rank - 1];
      break;
    default:
      break;
  }
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
  g_autoptr (FvSession) s = NULL;
  FvGraph *g;
  const FvGTensor *in;
  guint nt, i, j;
  g_autofree gsize *size = NULL;
  g_autofree int *first = NULL, *last = NULL, *root = NULL;

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
  s->max_batch = max_batch;
  s->height = height;
  s->width = width;
  nt = g->tensors->len;
  s->shapes = g_new0 (FvShape, nt);
  s->offsets = g_new0 (gsize, nt);
  if (!fv_graph_infer_shapes (g, max_batch, height, width, s->shapes, error))
    return NULL;

  /* Lifetimes in layer steps; the input is live from the start, outputs
   * to the end. RESHAPE outputs alias their input's memory. */
  size = g_new0 (gsize, nt);
  first = g_new (int, nt);
  last = g_new (int, nt);
  root = g_new (int, nt);
  for (i = 0; i < nt; i++) {
    first[i] = G_MAXINT;
    last[i] = -1;
    root[i] = i;
  }
  first[g->input] = -1;
  for (i = 0; i < model->n_layers; i++) {
    const FvLayer *l = &model->layers[i];
    const FvShape *os = &s->shapes[l->out];
    if (os->rank == 0 || os->dims[0] != max_batch) {
      g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_SHAPE,
          "layer %s does not keep the batch as its first dimension",
          l->name);
      return NULL;
    }
    if (l->kind == FV_LAYER_RESHAPE && !FV_GTENSOR (g, l->x)->is_const)
      root[l->out] = root[l->x];
    first[root[l->out]] = MIN (first[root[l->out]], (int) i);
    last[root[l->x]] = MAX (last[root[l->x]], (int) i);
    if (l->y >= 0)
      last[root[l->y]] = MAX (last[root[l->y]], (int) i);
  }
  for (i = 0; i < g->n_outputs; i++)
    last[root[g->outputs[i]]] = model->n_layers;
  last[root[g->input]] = MAX (last[root[g->input]], 0);
  for (i = 0; i < nt; i++) {
    const FvGTensor *t = FV_GTENSOR (g, i);
    if (root[i] == (int) i && !t->is_const && last[i] >= 0
        && first[i] != G_MAXINT)
      size[i] = fv_round_up (fv_shape_elems (&s->shapes[i]), FV_ALIGN / 4);
  }
  s->arena_floats = plan_arena (nt, size, first, last, s->offsets);
  for (i = 0; i < nt; i++)
    s->offsets[i] = s->offsets[root[i]];
  s->arena = fv_alloc_floats (s->arena_floats);

  s->steps = g_new0 (FvStep, MAX (model->n_layers, 1));
  for (i = 0, j = 0; i < model->n_layers; i++) {
    if (model->layers[i].kind == FV_LAYER_RESHAPE
        && root[model->layers[i].out] != model->layers[i].out)
      continue;
    setup_step (s, &s->steps[j++], &model->layers[i]);
  }
  s->n_steps = j;
  return g_steal_pointer (&s);
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
  fv_free_floats (s->arena);
  g_free (s->steps);
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
  return session->arena + session->offsets[session->model->graph->input];
}

/**
 * fv_session_get_output:
 * @session: a session
 * @index: output index
 * @shape: (out caller-allocates) (optional): the output shape at the
 *   maximum batch
 *
 * Returns: (transfer none): the output of the last run; valid until the
 *   next run
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
  return session->arena + session->offsets[t];
}

/**
 * fv_session_get_arena_size:
 * @session: a session
 *
 * Returns: the size in bytes of the arena that holds every activation
 */
gsize
fv_session_get_arena_size (FvSession * session)
{
  g_return_val_if_fail (session != NULL, 0);
  return session->arena_floats * sizeof (float);
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

static void
run_step (const FvKernelTable * kt, const FvStep * st, guint batch)
{
  const FvLayer *l = st->layer;
  const gsize rows = st->rows_per_image * batch;

  switch (l->kind) {
    case FV_LAYER_GEMM:
    case FV_LAYER_FC:
      kt->gemm (&st->p.gemm, 0, rows);
      break;
    case FV_LAYER_CONV:
      kt->conv (&st->p.conv, 0, rows);
      break;
    case FV_LAYER_DWCONV3X3:
      kt->dwconv3x3 (&st->p.dw, 0, rows);
      break;
    case FV_LAYER_DWCONV:
      kt->dwconv (&st->p.dw, 0, rows);
      break;
    case FV_LAYER_MAXPOOL:
      fv_op_maxpool (st->x, st->out, batch, st->xs.dims[1], st->xs.dims[2],
          st->xs.dims[3], st->os.dims[1], st->os.dims[2], l->kh, l->kw,
          l->stride_h, l->stride_w, st->pad_top, st->pad_left, l->act);
      break;
    case FV_LAYER_ELEMENTWISE:
      if (l->y >= 0) {
        FvShape xs = st->xs, ys = st->ys, os = st->os;
        with_batch (&xs, st->x_const, batch);
        with_batch (&ys, st->y_const, batch);
        with_batch (&os, FALSE, batch);
        fv_op_binary (l->op, l->act, st->x, &xs, st->y, &ys, st->out, &os);
      } else {
        fv_op_unary (l->op, st->x, st->out, rows * st->row_len);
      }
      break;
    case FV_LAYER_REDUCE:
      fv_op_reduce_last (l->op, st->x, st->out, rows, st->row_len);
      break;
    case FV_LAYER_PRELU:
      fv_op_prelu (st->x, l->alpha, st->out, rows, st->row_len);
      break;
    case FV_LAYER_SOFTMAX:
      fv_op_softmax_last (st->x, st->out, rows, st->row_len);
      break;
    case FV_LAYER_RESHAPE:
      /* Only reached when the input is a constant. */
      memcpy (st->out, st->x, rows * st->row_len * sizeof (float));
      break;
    default:
      g_assert_not_reached ();
  }
}

/**
 * fv_session_run:
 * @session: a session
 * @batch: number of images in the input, 1 to the maximum batch
 *
 * Runs the model on the first @batch images of the input. Allocates
 * nothing and cannot fail.
 */
void
fv_session_run (FvSession * session, guint batch)
{
  guint i;

  g_return_if_fail (session != NULL);
  g_return_if_fail (batch >= 1 && batch <= session->max_batch);
  for (i = 0; i < session->n_steps; i++)
    run_step (session->model->kt, &session->steps[i], batch);
}
