/* Fusion passes over the graph IR.
 *
 * The converted models spell PReLU out in elementwise ops:
 *   MobileFaceNet: y = RELU(x) + c * (x - ABS(x))        alpha = 2c
 *   MTCNN:         y = RELU(x) + c * NEG(RELU(NEG(x)))   alpha = c
 * Both become one PReLU, which is then folded into the producing
 * convolution's epilogue. Residual ADDs after a 1x1 convolution are folded
 * into that convolution, and the written-out softmax of MTCNN
 * (REDUCE_MAX, SUB, EXP, SUM, DIV) becomes one SOFTMAX node. */
#include "fv-graph.h"

#include <string.h>

static gboolean
is_graph_output (const FvGraph * g, int t)
{
  guint i;

  for (i = 0; i < g->n_outputs; i++)
    if (g->outputs[i] == t)
      return TRUE;
  return FALSE;
}

/* The live node producing @t if it has type @type and @t has exactly
 * @uses consumers and is not a graph output; else NULL. */
static FvGNode *
producer_of (FvGraph * g, int t, FvNodeType type, guint uses)
{
  FvGTensor *gt;
  FvGNode *n;

  if (t < 0)
    return NULL;
  gt = FV_GTENSOR (g, t);
  if (gt->producer < 0 || gt->n_consumers != uses || is_graph_output (g, t))
    return NULL;
  n = FV_GNODE (g, gt->producer);
  return (!n->dead && n->type == type) ? n : NULL;
}

static gboolean
is_const (FvGraph * g, int t)
{
  return t >= 0 && FV_GTENSOR (g, t)->data != NULL;
}

/* Splits a binary node into (constant, activation) operands. */
static gboolean
const_and_tensor (FvGraph * g, const FvGNode * n, int *c, int *x)
{
  if (is_const (g, n->x) && !is_const (g, n->y)) {
    *c = n->x;
    *x = n->y;
    return TRUE;
  }
  if (is_const (g, n->y) && !is_const (g, n->x)) {
    *c = n->y;
    *x = n->x;
    return TRUE;
  }
  return FALSE;
}

/* Adds a constant tensor holding @scale * the values of @src. */
static int
add_scaled_const (FvGraph * g, int src, float scale)
{
  FvGTensor t = { 0, };
  const FvGTensor *s = FV_GTENSOR (g, src);
  gsize i;

  t.name = g_strdup_printf ("%s*%g", s->name, scale);
  t.shape = s->shape;
  t.n_elems = s->n_elems;
  t.producer = -1;
  t.is_const = TRUE;
  t.data = g_new (float, MAX (s->n_elems, 1));
  for (i = 0; i < s->n_elems; i++)
    t.data[i] = s->data[i] * scale;
  g_array_append_val (g->tensors, t);
  return g->tensors->len - 1;
}

/* The slope vector must broadcast over the last (channel) axis only. */
static gboolean
is_channel_vector (FvGraph * g, int c, const FvShape * x)
{
  const FvGTensor *t = FV_GTENSOR (g, c);
  guint i;

  if (t->shape.rank == 0 || x->rank == 0)
    return FALSE;
  for (i = 0; i + 1 < t->shape.rank; i++)
    if (t->shape.dims[i] != 1)
      return FALSE;
  return t->shape.dims[t->shape.rank - 1] == x->dims[x->rank - 1];
}

static void
make_prelu (FvGraph * g, FvGNode * add, int x, int alpha)
{
  add->type = FV_NODE_PRELU;
  add->op_name = "PRELU";
  add->x = x;
  add->y = -1;
  add->alpha = alpha;
  add->act = FV_ACT_NONE;
}

/* The common head of both PReLU spellings: ADD (RELU (x), MUL (c, t)) with
 * the RELU as operand @order of the ADD. */
static gboolean
match_relu_plus_mul (FvGraph * g, FvGNode * add, int order, FvGNode ** relu,
    FvGNode ** mul, int *c, int *t)
{
  int r_t = order ? add->y : add->x, m_t = order ? add->x : add->y;

  *relu = producer_of (g, r_t, FV_NODE_RELU, 1);
  *mul = producer_of (g, m_t, FV_NODE_MUL, 1);
  return *relu && *mul && const_and_tensor (g, *mul, c, t);
}

/* y = RELU(x) + MUL(c, SUB(x, ABS(x))), either operand order of ADD. */
static gboolean
match_prelu_abs (FvGraph * g, FvGNode * add)
{
  int order;

  for (order = 0; order < 2; order++) {
    FvGNode *relu, *mul, *sub, *abs_n;
    int c, s_t;

    if (!match_relu_plus_mul (g, add, order, &relu, &mul, &c, &s_t))
      continue;
    sub = producer_of (g, s_t, FV_NODE_SUB, 1);
    if (!sub || sub->x != relu->x)
      continue;
    abs_n = producer_of (g, sub->y, FV_NODE_ABS, 1);
    if (!abs_n || abs_n->x != relu->x || add->act != FV_ACT_NONE
        || sub->act != FV_ACT_NONE || mul->act != FV_ACT_NONE
        || !is_channel_vector (g, c, &FV_GTENSOR (g, relu->x)->shape))
      continue;
    relu->dead = mul->dead = sub->dead = abs_n->dead = TRUE;
    make_prelu (g, add, relu->x, add_scaled_const (g, c, 2.0f));
    return TRUE;
  }
  return FALSE;
}

/* y = RELU(x) + MUL(c, NEG(RELU(NEG(x)))), either operand order. */
static gboolean
match_prelu_neg (FvGraph * g, FvGNode * add)
{
  int order;

  for (order = 0; order < 2; order++) {
    FvGNode *relu, *mul, *neg2, *relu2, *neg1;
    int c, n_t;

    if (!match_relu_plus_mul (g, add, order, &relu, &mul, &c, &n_t))
      continue;
    neg2 = producer_of (g, n_t, FV_NODE_NEG, 1);
    relu2 = neg2 ? producer_of (g, neg2->x, FV_NODE_RELU, 1) : NULL;
    neg1 = relu2 ? producer_of (g, relu2->x, FV_NODE_NEG, 1) : NULL;
    if (!neg1 || neg1->x != relu->x || add->act != FV_ACT_NONE
        || mul->act != FV_ACT_NONE
        || !is_channel_vector (g, c, &FV_GTENSOR (g, relu->x)->shape))
      continue;
    relu->dead = mul->dead = neg2->dead = relu2->dead = neg1->dead = TRUE;
    make_prelu (g, add, relu->x, add_scaled_const (g, c, 1.0f));
    return TRUE;
  }
  return FALSE;
}

/* Moves an activation node into the epilogue of the layer producing its
 * input when that layer has no activation yet. */
static gboolean
fuse_activation (FvGraph * g, FvGNode * act)
{
  FvGTensor *xt = FV_GTENSOR (g, act->x);
  FvGNode *p;

  if (xt->producer < 0 || xt->n_consumers != 1 || is_graph_output (g, act->x))
    return FALSE;
  p = FV_GNODE (g, xt->producer);
  if (p->dead || p->act != FV_ACT_NONE || p->y >= 0
      || (p->type != FV_NODE_CONV && p->type != FV_NODE_DWCONV
          && p->type != FV_NODE_FC))
    return FALSE;
  if (act->type == FV_NODE_PRELU) {
    p->act = FV_ACT_PRELU;
    p->alpha = act->alpha;
  } else {
    p->act = FV_ACT_RELU;
  }
  FV_GTENSOR (g, act->out)->producer = xt->producer;
  p->out = act->out;
  xt->producer = -1;
  act->dead = TRUE;
  return TRUE;
}

/* ADD(conv1x1(a), b) -> conv1x1(a) with residual b. */
static gboolean
fuse_residual (FvGraph * g, FvGNode * add)
{
  int order;

  if (add->act != FV_ACT_NONE || is_const (g, add->x) || is_const (g, add->y))
    return FALSE;
  for (order = 0; order < 2; order++) {
    int c_t = order ? add->y : add->x, r_t = order ? add->x : add->y;
    FvGNode *conv = producer_of (g, c_t, FV_NODE_CONV, 1);
    const FvGTensor *ct = FV_GTENSOR (g, c_t), *rt = FV_GTENSOR (g, r_t);

    if (!conv || conv->y >= 0 || conv->kh != 1 || conv->kw != 1
        || conv->stride_h != 1 || conv->stride_w != 1)
      continue;
    /* The residual must be ready when the convolution runs. */
    if (rt->producer >= 0 && rt->producer >= ct->producer)
      continue;
    if (ct->shape.rank != rt->shape.rank
        || memcmp (ct->shape.dims, rt->shape.dims,
            sizeof (guint) * ct->shape.rank) != 0)
      continue;
    conv->y = r_t;
    FV_GTENSOR (g, add->out)->producer = ct->producer;
    conv->out = add->out;
    FV_GTENSOR (g, c_t)->producer = -1;
    add->dead = TRUE;
    return TRUE;
  }
  return FALSE;
}

/* Multiply-adds that folding two 1x1 convolutions may cost at load time
 * (about 0.1 s). */
#define FOLD_MAX_MACS (128.0 * 1024 * 1024)

/* A 1x1 convolution of stride 1. */
static gboolean
is_pointwise (const FvGNode * n)
{
  return n->type == FV_NODE_CONV && n->kh == 1 && n->kw == 1
      && n->stride_h == 1 && n->stride_w == 1;
}

/* conv1x1(conv1x1(x, A, a), B, b) with the inner one linear (no
 * activation, no residual) -> conv1x1(x, BA, Ba + b), when that takes
 * fewer multiply-adds: MobileFaceNet's head (512 -> 512 -> 192) then
 * reads 0.4 MB of weights instead of 1.4 MB. */
static gboolean
fold_linear_pointwise (FvGraph * g, FvGNode * b)
{
  FvGNode *a = producer_of (g, b->x, FV_NODE_CONV, 1);
  const FvGTensor *wa, *wb, *ba, *bb;
  FvGTensor w = { 0, }, bias = { 0, };
  g_autofree double *sum = NULL;
  gsize k, n1, n2, i, j, kk;

  if (!a || !is_pointwise (a) || !is_pointwise (b) || a->act != FV_ACT_NONE
      || a->y >= 0 || a->weights < 0 || b->weights < 0)
    return FALSE;
  wa = FV_GTENSOR (g, a->weights);
  wb = FV_GTENSOR (g, b->weights);
  if (!wa->data || !wb->data || wa->shape.rank != 4 || wb->shape.rank != 4)
    return FALSE;
  n1 = wa->shape.dims[0];
  k = wa->shape.dims[3];
  n2 = wb->shape.dims[0];
  /* The product costs n2 * n1 * k at load time: bounded, whatever the
   * file says (MobileFaceNet's head: 50 M). */
  if (wb->shape.dims[3] != n1 || wa->n_elems != n1 * k
      || wb->n_elems != n2 * n1 || n2 * k >= n1 * k + n2 * n1
      || (double) n2 * n1 * k > FOLD_MAX_MACS)
    return FALSE;
  ba = a->bias >= 0 ? FV_GTENSOR (g, a->bias) : NULL;
  bb = b->bias >= 0 ? FV_GTENSOR (g, b->bias) : NULL;
  if ((ba && (!ba->data || ba->n_elems != n1))
      || (bb && (!bb->data || bb->n_elems != n2)))
    return FALSE;

  w.name = g_strdup_printf ("%s*%s", wb->name, wa->name);
  w.shape = wb->shape;
  w.shape.dims[3] = k;
  w.n_elems = n2 * k;
  w.data = g_new (float, w.n_elems);
  bias.name = g_strdup_printf ("%s:bias", w.name);
  bias.shape.rank = 1;
  bias.shape.dims[0] = n2;
  bias.n_elems = n2;
  bias.data = g_new (float, n2);
  sum = g_new (double, k);
  for (i = 0; i < n2; i++) {
    const float *row = wb->data + i * n1;
    double sb = bb ? bb->data[i] : 0.0;

    memset (sum, 0, k * sizeof (double));
    for (j = 0; j < n1; j++)
      for (kk = 0; kk < k; kk++)
        sum[kk] += (double) row[j] * wa->data[j * k + kk];
    for (kk = 0; kk < k; kk++)
      w.data[i * k + kk] = (float) sum[kk];
    for (j = 0; ba && j < n1; j++)
      sb += (double) row[j] * ba->data[j];
    bias.data[i] = (float) sb;
  }
  w.producer = bias.producer = -1;
  w.is_const = bias.is_const = TRUE;
  g_array_append_val (g->tensors, w);
  g_array_append_val (g->tensors, bias);
  b->weights = g->tensors->len - 2;
  b->bias = g->tensors->len - 1;
  FV_GTENSOR (g, b->x)->producer = -1;
  b->x = a->x;
  a->dead = TRUE;
  return TRUE;
}

/* DIV(e, SUM(e)) with e = EXP(SUB(x, REDUCE_MAX(x))) -> SOFTMAX(x). */
static gboolean
match_softmax (FvGraph * g, FvGNode * div)
{
  FvGNode *exp_n, *sum, *sub, *max;

  exp_n = producer_of (g, div->x, FV_NODE_EXP, 2);
  sum = producer_of (g, div->y, FV_NODE_SUM, 1);
  if (!exp_n || !sum || sum->x != div->x || div->act != FV_ACT_NONE)
    return FALSE;
  sub = producer_of (g, exp_n->x, FV_NODE_SUB, 1);
  if (!sub || sub->act != FV_ACT_NONE)
    return FALSE;
  max = producer_of (g, sub->y, FV_NODE_REDUCE_MAX, 1);
  if (!max || max->x != sub->x)
    return FALSE;
  exp_n->dead = sum->dead = sub->dead = max->dead = TRUE;
  div->type = FV_NODE_SOFTMAX;
  div->op_name = "SOFTMAX";
  div->x = max->x;
  div->y = -1;
  return TRUE;
}

/**
 * fv_graph_run_passes:
 * @graph: a validated graph
 *
 * Rewrites @graph in place. Tensors keep their identity; nodes that are
 * fused away are marked dead.
 *
 * Returns: the number of rewrites done
 */
guint
fv_graph_run_passes (FvGraph * g)
{
  guint i, count = 0;

  fv_graph_count_consumers (g);
  for (i = 0; i < g->nodes->len; i++) {
    FvGNode *n = FV_GNODE (g, i);
    if (n->dead)
      continue;
    if (n->type == FV_NODE_ADD && (match_prelu_abs (g, n)
            || match_prelu_neg (g, n))) {
      count++;
      fv_graph_count_consumers (g);
    } else if (n->type == FV_NODE_DIV && match_softmax (g, n)) {
      count++;
      fv_graph_count_consumers (g);
    }
  }
  for (i = 0; i < g->nodes->len; i++) {
    FvGNode *n = FV_GNODE (g, i);
    if (!n->dead && (n->type == FV_NODE_PRELU || n->type == FV_NODE_RELU)
        && fuse_activation (g, n)) {
      count++;
      fv_graph_count_consumers (g);
    }
  }
  for (i = 0; i < g->nodes->len; i++) {
    FvGNode *n = FV_GNODE (g, i);
    if (!n->dead && n->type == FV_NODE_ADD && fuse_residual (g, n)) {
      count++;
      fv_graph_count_consumers (g);
    }
  }
  for (i = 0; i < g->nodes->len; i++) {
    FvGNode *n = FV_GNODE (g, i);
    if (!n->dead && is_pointwise (n) && fold_linear_pointwise (g, n)) {
      count++;
      fv_graph_count_consumers (g);
    }
  }
  return count;
}
