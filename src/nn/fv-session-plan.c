/* FvSession's plan (fv-session.c runs it): where each activation lies in
 * the one arena, and each layer resolved into a step with its kernel's
 * parameters. */
#include "fv-session-private.h"
#include "core/fv-core.h"

#include <string.h>

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
  return gt->is_const ? gt->data : fv_session_arena_ptr (s, t);
}

/* The fields that FvConvParams and FvDwconvParams share, by name: the
 * window (sizes, strides, TensorFlow SAME padding before) and the
 * operands of step @st of layer @l. */
#define SET_WINDOW(p, st, l, xs, os) G_STMT_START { \
  (p)->in_h = (xs)->dims[1]; \
  (p)->in_w = (xs)->dims[2]; \
  (p)->out_h = (os)->dims[1]; \
  (p)->out_w = (os)->dims[2]; \
  (p)->kh = (l)->kh; \
  (p)->kw = (l)->kw; \
  (p)->stride_h = (l)->stride_h; \
  (p)->stride_w = (l)->stride_w; \
  (p)->pad_top = same_pad_before ((p)->in_h, (p)->out_h, (l)->kh, \
      (l)->stride_h, (l)->padding); \
  (p)->pad_left = same_pad_before ((p)->in_w, (p)->out_w, (l)->kw, \
      (l)->stride_w, (l)->padding); \
  (p)->in = (st)->x; \
  (p)->out = (st)->out; \
  (p)->w = (l)->w; \
  (p)->bias = (l)->bias; \
  (p)->alpha = (l)->alpha; \
} G_STMT_END

void
fv_session_setup_step (FvSession * s, FvStep * st, const FvLayer * l)
{
  const FvGTensor *xt = FV_GTENSOR (s->model->graph, l->x);
  /* s->shapes only holds activations: a constant has its own shape. */
  const FvShape *xs = xt->is_const ? &xt->shape : &s->shapes[l->x];
  const FvShape *os = &s->shapes[l->out];
  guint b = s->max_batch;

  st->layer = l;
  st->x = tensor_ptr (s, l->x);
  st->y = l->y >= 0 ? tensor_ptr (s, l->y) : NULL;
  st->out = fv_session_arena_ptr (s, l->out);
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
  st->out_img = fv_shape_elems (os) / b;
  if (!st->x_const && st->xs.rank > 0 && st->xs.dims[0] == b)
    st->x_img = fv_shape_elems (&st->xs) / b;
  if (l->y >= 0 && !st->y_const && st->ys.rank > 0 && st->ys.dims[0] == b)
    st->y_img = fv_shape_elems (&st->ys) / b;

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
      st->macs = (guint64) st->rows_per_image * p->k * p->n;
      st->kernel = s->model->kt->gemm_name;
      break;
    }
    case FV_LAYER_CONV:{
      FvConvParams *p = &st->p.conv;
      SET_WINDOW (p, st, l, xs, os);
      p->in_c = xs->dims[3];
      p->out_c = os->dims[3];
      p->oc_pad = l->c_pad;
      st->rows_per_image = p->out_h;
      st->macs = (guint64) p->out_h * p->out_w * p->out_c * p->kh * p->kw
          * p->in_c;
      st->kernel = s->model->kt->conv_name;
      break;
    }
    case FV_LAYER_DWCONV3X3:
    case FV_LAYER_DWCONV:{
      FvDwconvParams *p = &st->p.dw;
      SET_WINDOW (p, st, l, xs, os);
      p->c = xs->dims[3];
      p->c_pad = l->c_pad;
      st->rows_per_image = p->out_h;
      st->macs = (guint64) p->out_h * p->out_w * p->c * p->kh * p->kw;
      st->kernel = l->kind == FV_LAYER_DWCONV3X3
          ? s->model->kt->dwconv3x3_name : s->model->kt->dwconv_name;
      break;
    }
    case FV_LAYER_MAXPOOL:{
      FvPoolParams *p = &st->p.pool;
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
      p->relu = l->act == FV_ACT_RELU;
      p->in = st->x;
      p->out = st->out;
      st->rows_per_image = p->out_h;
      st->kernel = s->model->kt->maxpool_name;
      break;
    }
    case FV_LAYER_REDUCE:
      st->row_len = xs->dims[xs->rank - 1];
      break;
    default:
      break;
  }
  if (st->sibling) {
    /* Both heads in one pass over the rows (see fv_fuse_gemm_pair()). */
    st->p.gemm.n = l->out_c + st->sibling->out_c;
    st->p.gemm.w = st->w_pair;
    st->p.gemm.n_split = l->out_c;
    st->p.gemm.c2 = fv_session_arena_ptr (s, st->sibling->out);
    st->p.gemm.c2_stride = st->sibling->out_c;
    st->macs += st->macs / l->out_c * st->sibling->out_c;
  }
  if (st->pool) {
    /* The convolution writes the pool's output (see fv_fuse_pool()). */
    const FvShape *ps = &s->shapes[st->pool->out];
    st->out = fv_session_arena_ptr (s, st->pool->out);
    st->p.conv.out = st->out;
    st->p.conv.pool_h = ps->dims[1];
    st->p.conv.pool_w = ps->dims[2];
    st->rows_per_image = ps->dims[1];
    st->out_img = fv_shape_elems (ps) / b;
  }
}

void
fv_session_steps_free (FvStep * steps, guint n)
{
  guint i;

  for (i = 0; i < n; i++)
    fv_free_floats (steps[i].w_pair);
  g_free (steps);
}

/* One step per layer (a RESHAPE that aliases its input is none), fused
 * layers folded into the step before them, each resolved. */
static void
make_steps (FvSession * s, const int *root)
{
  FvModel *model = s->model;
  guint i, j;

  s->steps = g_new0 (FvStep, MAX (model->n_layers, 1));
  for (i = 0, j = 0; i < model->n_layers; i++) {
    if (model->layers[i].kind == FV_LAYER_RESHAPE
        && root[model->layers[i].out] != model->layers[i].out)
      continue;
    if (fv_fuse_gemm_pair (s->model, i)) {
      FvStep *st = &s->steps[j - 1];
      st->sibling = &model->layers[i];
      st->w_pair = fv_fuse_pack_pair (s->model, &model->layers[i - 1],
          st->sibling);
      fv_session_setup_step (s, st, &model->layers[i - 1]);
      continue;
    }
    if (fv_fuse_pool (s->model, s->shapes, i)) {
      s->steps[j - 1].pool = &model->layers[i];
      fv_session_setup_step (s, &s->steps[j - 1], &model->layers[i - 1]);
      continue;
    }
    fv_session_setup_step (s, &s->steps[j++], &model->layers[i]);
  }
  s->n_steps = j;
}

/* Places every activation in the arena and resolves every step. With
 * @pin_io the input and the outputs get memory of their own for the
 * whole run, so that threads running whole images can read the input
 * and write the outputs at any time (fv_session_set_threads()). */
gboolean
fv_session_plan (FvSession * s, gboolean pin_io, GError ** error)
{
  FvModel *model = s->model;
  FvGraph *g = model->graph;
  const guint max_batch = s->max_batch, height = s->height, width = s->width;
  const guint nt = g->tensors->len;
  guint i;
  g_autofree gsize *size = NULL;
  g_autofree int *first = NULL, *last = NULL, *root = NULL;

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
          "layer %s does not keep the batch as its first dimension", l->name);
      return FALSE;
    }
    /* Checked at load time at the file's size only; another size can
     * break them. */
    if (l->kind == FV_LAYER_PRELU && os->dims[os->rank - 1] != l->c_pad) {
      g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_SHAPE,
          "layer %s has %u channels but %" G_GSIZE_FORMAT " PReLU slopes",
          l->name, os->dims[os->rank - 1], l->c_pad);
      return FALSE;
    }
    if (l->y >= 0 && l->kind == FV_LAYER_GEMM
        && (s->shapes[l->y].rank != os->rank
            || memcmp (s->shapes[l->y].dims, os->dims,
                sizeof (guint) * os->rank) != 0)) {
      g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_SHAPE,
          "the residual of layer %s does not have the layer's shape", l->name);
      return FALSE;
    }
    if (l->kind == FV_LAYER_RESHAPE && !FV_GTENSOR (g, l->x)->is_const)
      root[l->out] = root[l->x];
    first[root[l->out]] = MIN (first[root[l->out]], (int) i);
    /* An output that nothing reads still needs room while it is written. */
    last[root[l->out]] = MAX (last[root[l->out]], (int) i);
    last[root[l->x]] = MAX (last[root[l->x]], (int) i);
    if (l->y >= 0)
      last[root[l->y]] = MAX (last[root[l->y]], (int) i);
  }
  for (i = 0; i < model->n_layers; i++) {
    const FvLayer *l = &model->layers[i];
    if (fv_fuse_gemm_pair (s->model, i))
      first[root[l->out]] = MIN (first[root[l->out]], (int) i - 1);
    if (!fv_fuse_pool (s->model, s->shapes, i))
      continue;
    /* The convolution (step i - 1) reads its input while it writes the
     * pool's output. */
    first[l->x] = G_MAXINT;
    last[l->x] = -1;
    first[root[l->out]] = MIN (first[root[l->out]], (int) i - 1);
    last[root[model->layers[i - 1].x]] =
        MAX (last[root[model->layers[i - 1].x]], (int) i);
  }
  for (i = 0; i < g->n_outputs; i++) {
    last[root[g->outputs[i]]] = model->n_layers;
    if (pin_io)
      first[root[g->outputs[i]]] = -1;
  }
  last[root[g->input]] = MAX (last[root[g->input]], 0);
  if (pin_io)
    last[root[g->input]] = model->n_layers;
  for (i = 0; i < nt; i++) {
    const FvGTensor *t = FV_GTENSOR (g, i);
    if (root[i] == (int) i && !t->is_const && last[i] >= 0
        && first[i] != G_MAXINT) {
      if (fv_shape_elems (&s->shapes[i]) > MAX_ARENA_BYTES / sizeof (float))
        break;
      size[i] = fv_round_up (fv_shape_elems (&s->shapes[i]), FV_ALIGN / 4);
    }
  }
  if (i == nt)
    s->arena_floats = plan_arena (nt, size, first, last, s->offsets);
  if (i < nt || s->arena_floats > MAX_ARENA_BYTES / sizeof (float)) {
    g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_SHAPE,
        "a batch of %u at %ux%u needs more than %u MiB of activations",
        max_batch, width, height, (guint) (MAX_ARENA_BYTES >> 20));
    return FALSE;
  }
  for (i = 0; i < nt; i++)
    s->offsets[i] = s->offsets[root[i]];
  if (!s->borrowed)
    s->arena = fv_alloc_floats (s->arena_floats);

  make_steps (s, root);
  return TRUE;
}
