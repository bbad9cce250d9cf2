/* Fusions that the session makes when it plans (fv-session.c): they
 * need the shapes of the planned size or write two outputs from one
 * kernel call, which the graph passes (fv-passes.c) cannot express.
 * Both serve MTCNN's P-Net, run on every pyramid level of every frame. */
#include "fv-nn.h"
#include "core/fv-core.h"

/* Whether layer @i is a 2x2 stride-2 max pool that runs fused into the
 * unpadded convolution before it (MTCNN's conv1 and pool1): the
 * convolution then writes the pooled map directly, and its
 * full-resolution output is neither written nor given memory. */
gboolean
fv_fuse_pool (const FvModel * model, const FvShape * shapes, guint i)
{
  const FvLayer *l = &model->layers[i], *c;
  const FvGTensor *ct;
  const FvGraph *g = model->graph;
  const FvShape *is, *cs, *ps;
  guint d;

  if (i == 0 || l->kind != FV_LAYER_MAXPOOL || l->act != FV_ACT_NONE
      || l->kh != 2 || l->kw != 2 || l->stride_h != 2 || l->stride_w != 2)
    return FALSE;
  c = &model->layers[i - 1];
  ct = FV_GTENSOR (g, c->out);
  if (c->kind != FV_LAYER_CONV || l->x != c->out || ct->n_consumers != 1
      || FV_GTENSOR (g, c->x)->is_const)
    return FALSE;
  for (d = 0; d < g->n_outputs; d++)
    if (g->outputs[d] == c->out)
      return FALSE;
  is = &shapes[c->x];
  cs = &shapes[c->out];
  ps = &shapes[l->out];
  for (d = 1; d <= 2; d++) {
    const guint k = d == 1 ? c->kh : c->kw;
    const guint st = d == 1 ? c->stride_h : c->stride_w;
    /* No padding: every tap of every output pixel inside the input. */
    if (cs->dims[d] == 0 || (guint64) (cs->dims[d] - 1) * st + k > is->dims[d]
        || ps->dims[d] == 0 || ps->dims[d] > (cs->dims[d] + 1) / 2)
      return FALSE;
  }
  return TRUE;
}

/* Whether layer @i is a 1x1 GEMM that runs with the one before it: both
 * read the same rows, have neither PReLU nor residual, and their columns
 * fit in one weight panel (MTCNN's two heads, 2 + 4 outputs): one pass
 * then broadcasts each input once instead of twice. */
gboolean
fv_fuse_gemm_pair (const FvModel * model, guint i)
{
  const FvLayer *l = &model->layers[i], *a;

  if (i == 0)
    return FALSE;
  a = &model->layers[i - 1];
  return a->kind == FV_LAYER_GEMM && l->kind == FV_LAYER_GEMM
      && a->x == l->x && a->y < 0 && l->y < 0 && !a->alpha && !l->alpha
      && a->act == FV_ACT_NONE && l->act == FV_ACT_NONE
      && a->in_c == l->in_c && l->x != a->out
      && a->out_c + l->out_c <= model->kt->gemm_nr;
}

/* The panel of gemm_pair() (biases, then k rows): layer @a's columns,
 * then @l's. */
float *
fv_fuse_pack_pair (const FvModel * model, const FvLayer * a, const FvLayer * l)
{
  const gsize nr = model->kt->gemm_nr;
  float *w = fv_alloc_floats ((l->in_c + 1) * nr);
  gsize r, j;

  for (r = 0; r <= l->in_c; r++)
    for (j = 0; j < nr; j++)
      w[r * nr + j] = j < a->out_c ? a->w[r * nr + j]
          : j < a->out_c + l->out_c ? l->w[r * nr + j - a->out_c] : 0.0f;
  return w;
}
