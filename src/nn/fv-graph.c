/* Graph IR: construction from TFLite, validation and shape inference. */
#include "fv-graph.h"

#include <math.h>
#include <string.h>

gsize
fv_shape_elems (const FvShape * s)
{
  gsize n = 1;
  guint i;

  /* Saturates instead of wrapping: callers compare the result with
   * limits, and dims from a hostile file can overflow a product. */
  for (i = 0; i < s->rank; i++) {
    if (s->dims[i] != 0 && n > G_MAXSIZE / s->dims[i])
      return G_MAXSIZE;
    n *= s->dims[i];
  }
  return n;
}

static char *
shape_str (const FvShape * s)
{
  GString *str = g_string_new ("[");
  guint i;

  for (i = 0; i < s->rank; i++)
    g_string_append_printf (str, i ? ",%u" : "%u", s->dims[i]);
  g_string_append_c (str, ']');
  return g_string_free (str, FALSE);
}

void
fv_graph_free (FvGraph * g)
{
  guint i;

  if (!g)
    return;
  if (g->tensors) {
    for (i = 0; i < g->tensors->len; i++) {
      FvGTensor *t = FV_GTENSOR (g, i);
      g_free (t->name);
      g_free (t->data);
      g_free (t->idata);
    }
    g_array_free (g->tensors, TRUE);
  }
  if (g->nodes)
    g_array_free (g->nodes, TRUE);
  g_free (g->outputs);
  g_free (g);
}

static gboolean
import_tensor (const FvTflTensor * src, FvGTensor * dst, GError ** error)
{
  guint i;
  gsize n = 1;

  dst->name = g_strdup (src->name);
  dst->producer = -1;
  if (src->rank > FV_MAX_DIMS) {
    g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_SHAPE,
        "tensor \"%s\" has rank %u (at most %u is supported)", src->name,
        src->rank, FV_MAX_DIMS);
    return FALSE;
  }
  dst->shape.rank = src->rank;
  for (i = 0; i < src->rank; i++) {
    dst->shape.dims[i] = src->dims[i];
    if (src->dims[i] > 0 && n > G_MAXSIZE / 4 / (gsize) src->dims[i]) {
      g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_SHAPE,
          "tensor \"%s\" is too large", src->name);
      return FALSE;
    }
    n *= src->dims[i];
  }
  dst->n_elems = n;
  if (!src->data)
    return TRUE;
  dst->is_const = TRUE;

  if (src->type != FV_TFL_TYPE_FLOAT32 && src->type != FV_TFL_TYPE_INT32) {
    g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_UNSUPPORTED_TYPE,
        "constant tensor \"%s\" has type %d; only float32 (and int32 "
        "shape/axis constants) are supported", src->name, src->type);
    return FALSE;
  }
  if (src->data_size != n * 4) {
    g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_SHAPE,
        "constant tensor \"%s\" holds %" G_GSIZE_FORMAT " bytes but its "
        "shape needs %" G_GSIZE_FORMAT, src->name, src->data_size, n * 4);
    return FALSE;
  }
  if (src->type == FV_TFL_TYPE_FLOAT32) {
    dst->data = g_new (float, MAX (n, 1));
    memcpy (dst->data, src->data, n * 4);
    for (i = 0; i < n; i++)
      if (!isfinite (dst->data[i])) {
        g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_FORMAT,
            "constant tensor \"%s\" contains a non-finite value", src->name);
        return FALSE;
      }
  } else {
    dst->idata = g_new (gint32, MAX (n, 1));
    memcpy (dst->idata, src->data, n * 4);
  }
  return TRUE;
}

/* *INDENT-OFF* */
static gboolean
fail_op (GError ** error, FvModelError code, guint index, const char *op,
    const char *fmt, ...) G_GNUC_PRINTF (5, 6);
/* *INDENT-ON* */

static gboolean
fail_op (GError ** error, FvModelError code, guint index, const char *op,
    const char *fmt, ...)
{
  va_list args;
  g_autofree char *msg = NULL;

  va_start (args, fmt);
  msg = g_strdup_vprintf (fmt, args);
  va_end (args);
  g_set_error (error, FV_MODEL_ERROR, code, "operator %u (%s): %s", index, op,
      msg);
  return FALSE;
}

static gboolean
import_activation (guint index, const FvTflOp * op, gint32 act, FvAct * out,
    GError ** error)
{
  switch (act) {
    case FV_TFL_ACT_NONE:
      *out = FV_ACT_NONE;
      return TRUE;
    case FV_TFL_ACT_RELU:
      *out = FV_ACT_RELU;
      return TRUE;
    default:
      return fail_op (error, FV_MODEL_ERROR_UNSUPPORTED_OP, index,
          op->op_name, "fused activation %d is not supported", act);
  }
}

/* The operators we import: node type, required and optional inputs. */
static const struct
{
  gint32 builtin;
  FvNodeType type;
  guint want_in, opt_in;
} import_table[] = {
  {FV_TFL_CONV_2D, FV_NODE_CONV, 2, 1},
  {FV_TFL_DEPTHWISE_CONV_2D, FV_NODE_DWCONV, 2, 1},
  {FV_TFL_FULLY_CONNECTED, FV_NODE_FC, 2, 1},
  {FV_TFL_MAX_POOL_2D, FV_NODE_MAXPOOL, 1, 0},
  {FV_TFL_ADD, FV_NODE_ADD, 2, 0},
  {FV_TFL_SUB, FV_NODE_SUB, 2, 0},
  {FV_TFL_MUL, FV_NODE_MUL, 2, 0},
  {FV_TFL_DIV, FV_NODE_DIV, 2, 0},
  {FV_TFL_RELU, FV_NODE_RELU, 1, 0},
  {FV_TFL_ABS, FV_NODE_ABS, 1, 0},
  {FV_TFL_NEG, FV_NODE_NEG, 1, 0},
  {FV_TFL_EXP, FV_NODE_EXP, 1, 0},
  {FV_TFL_SUM, FV_NODE_SUM, 2, 0},
  {FV_TFL_REDUCE_MAX, FV_NODE_REDUCE_MAX, 2, 0},
  {FV_TFL_RESHAPE, FV_NODE_RESHAPE, 1, 1},
};

static gboolean
import_padding (guint index, const FvTflOp * op, FvGNode * n, GError ** error)
{
  if (op->padding != FV_TFL_PAD_SAME && op->padding != FV_TFL_PAD_VALID)
    return fail_op (error, FV_MODEL_ERROR_FORMAT, index, op->op_name,
        "bad padding %d", op->padding);
  n->padding = op->padding == FV_TFL_PAD_SAME ? FV_PAD_SAME : FV_PAD_VALID;
  return TRUE;
}

static gboolean
import_fc (guint index, const FvTflOp * op, const FvGTensor * w,
    const FvGTensor * b, GError ** error)
{
  if (w->shape.rank != 2)
    return fail_op (error, FV_MODEL_ERROR_SHAPE, index, op->op_name,
        "weights must have rank 2");
  if (op->weights_format != 0 || op->keep_num_dims)
    return fail_op (error, FV_MODEL_ERROR_UNSUPPORTED_OP, index,
        op->op_name, "only the default weights format without "
        "keep_num_dims is supported");
  if (b && (b->shape.rank != 1 || b->shape.dims[0] != w->shape.dims[0]))
    return fail_op (error, FV_MODEL_ERROR_SHAPE, index, op->op_name,
        "bias does not match the weights");
  return TRUE;
}

static gboolean
import_conv (guint index, const FvTflOp * op, const FvGTensor * w,
    const FvGTensor * b, FvGNode * n, GError ** error)
{
  guint oc;

  if (w->shape.rank != 4)
    return fail_op (error, FV_MODEL_ERROR_SHAPE, index, op->op_name,
        "weights must have rank 4");
  if (op->dilation_w != 1 || op->dilation_h != 1)
    return fail_op (error, FV_MODEL_ERROR_UNSUPPORTED_OP, index,
        op->op_name, "dilation %dx%d is not supported", op->dilation_h,
        op->dilation_w);
  if (op->stride_w < 1 || op->stride_h < 1 || op->stride_w > 16
      || op->stride_h > 16)
    return fail_op (error, FV_MODEL_ERROR_FORMAT, index, op->op_name,
        "bad stride %dx%d", op->stride_h, op->stride_w);
  if (!import_padding (index, op, n, error))
    return FALSE;
  if (n->type == FV_NODE_DWCONV && op->depth_multiplier != 1)
    return fail_op (error, FV_MODEL_ERROR_UNSUPPORTED_OP, index,
        op->op_name, "depth multiplier %d is not supported",
        op->depth_multiplier);
  n->kh = w->shape.dims[1];
  n->kw = w->shape.dims[2];
  if (n->kh < 1 || n->kw < 1 || n->kh > 64 || n->kw > 64
      || (n->type == FV_NODE_DWCONV && w->shape.dims[0] != 1))
    return fail_op (error, FV_MODEL_ERROR_SHAPE, index, op->op_name,
        "bad weight shape");
  n->stride_h = op->stride_h;
  n->stride_w = op->stride_w;
  oc = n->type == FV_NODE_CONV ? w->shape.dims[0] : w->shape.dims[3];
  if (b && (b->shape.rank != 1 || b->shape.dims[0] != oc))
    return fail_op (error, FV_MODEL_ERROR_SHAPE, index, op->op_name,
        "bias of %u values does not match %u output channels",
        b->shape.rank ? b->shape.dims[0] : 0, oc);
  return TRUE;
}

/* CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED: constant weights and an
 * optional constant bias. */
static gboolean
import_weighted (FvGraph * g, guint index, const FvTflOp * op, FvGNode * n,
    GError ** error)
{
  const FvGTensor *w, *b = NULL;

  n->weights = op->inputs[1];
  w = n->weights >= 0 ? FV_GTENSOR (g, n->weights) : NULL;
  if (!w || !w->data)
    return fail_op (error, FV_MODEL_ERROR_UNSUPPORTED_OP, index,
        op->op_name, "weights must be a float32 constant");
  if (op->n_inputs > 2 && op->inputs[2] >= 0) {
    n->bias = op->inputs[2];
    b = FV_GTENSOR (g, n->bias);
    if (!b->data)
      return fail_op (error, FV_MODEL_ERROR_UNSUPPORTED_OP, index,
          op->op_name, "bias must be a float32 constant");
  }
  if (!import_activation (index, op, op->activation, &n->act, error))
    return FALSE;
  if (n->type == FV_NODE_FC)
    return import_fc (index, op, w, b, error);
  return import_conv (index, op, w, b, n, error);
}

static gboolean
import_pool (guint index, const FvTflOp * op, FvGNode * n, GError ** error)
{
  if (op->stride_w < 1 || op->stride_h < 1 || op->filter_w < 1
      || op->filter_h < 1 || op->stride_w > 64 || op->stride_h > 64
      || op->filter_w > 64 || op->filter_h > 64)
    return fail_op (error, FV_MODEL_ERROR_FORMAT, index, op->op_name,
        "bad pool parameters");
  if (!import_padding (index, op, n, error))
    return FALSE;
  n->kh = op->filter_h;
  n->kw = op->filter_w;
  n->stride_h = op->stride_h;
  n->stride_w = op->stride_w;
  return import_activation (index, op, op->activation, &n->act, error);
}

static gboolean
import_binary (FvGraph * g, guint index, const FvTflOp * op, FvGNode * n,
    GError ** error)
{
  n->y = op->inputs[1];
  if (n->y < 0)
    return fail_op (error, FV_MODEL_ERROR_FORMAT, index, op->op_name,
        "missing operand");
  if (FV_GTENSOR (g, n->y)->idata)
    return fail_op (error, FV_MODEL_ERROR_UNSUPPORTED_TYPE, index,
        op->op_name, "int32 operands are not supported");
  if (FV_GTENSOR (g, n->y)->producer < 0 && n->y != g->input
      && !FV_GTENSOR (g, n->y)->data)
    return fail_op (error, FV_MODEL_ERROR_FORMAT, index, op->op_name,
        "operand \"%s\" is used before it is computed",
        FV_GTENSOR (g, n->y)->name);
  if (FV_GTENSOR (g, n->y)->idata || FV_GTENSOR (g, n->x)->idata)
    return fail_op (error, FV_MODEL_ERROR_UNSUPPORTED_TYPE, index,
        op->op_name, "int32 operands are not supported");
  return import_activation (index, op, op->activation, &n->act, error);
}

static gboolean
import_reduce (FvGraph * g, guint index, const FvTflOp * op, FvGNode * n,
    GError ** error)
{
  const FvGTensor *axis = op->inputs[1] >= 0 ?
      FV_GTENSOR (g, op->inputs[1]) : NULL;
  const FvGTensor *x = FV_GTENSOR (g, n->x);

  if (!axis || !axis->idata || axis->n_elems != 1)
    return fail_op (error, FV_MODEL_ERROR_UNSUPPORTED_OP, index,
        op->op_name, "the axis must be one int32 constant");
  if (axis->idata[0] != -1 && axis->idata[0] != (gint32) x->shape.rank - 1)
    return fail_op (error, FV_MODEL_ERROR_UNSUPPORTED_OP, index,
        op->op_name, "reduction over axis %d (only the last axis is "
        "supported)", axis->idata[0]);
  if (!op->keep_dims)
    return fail_op (error, FV_MODEL_ERROR_UNSUPPORTED_OP, index,
        op->op_name, "reduction without keep_dims is not supported");
  n->keep_dims = TRUE;
  return TRUE;
}

static gboolean
import_reshape (FvGraph * g, guint index, const FvTflOp * op, FvGNode * n,
    GError ** error)
{
  if (op->n_inputs > 1 && op->inputs[1] >= 0) {
    const FvGTensor *s = FV_GTENSOR (g, op->inputs[1]);
    guint i;

    if (!s->idata || s->n_elems > FV_MAX_DIMS || s->n_elems == 0)
      return fail_op (error, FV_MODEL_ERROR_UNSUPPORTED_OP, index,
          op->op_name, "the new shape must be an int32 constant of "
          "rank 1 to %u", FV_MAX_DIMS);
    n->new_shape_len = s->n_elems;
    for (i = 0; i < s->n_elems; i++)
      n->new_shape[i] = s->idata[i];
  } else if (op->new_shape_len > 0 && op->new_shape_len <= FV_MAX_DIMS) {
    n->new_shape_len = op->new_shape_len;
    memcpy (n->new_shape, op->new_shape, sizeof (gint32) * FV_MAX_DIMS);
  } else {
    return fail_op (error, FV_MODEL_ERROR_UNSUPPORTED_OP, index,
        op->op_name, "a new shape of rank 1 to %u is required", FV_MAX_DIMS);
  }
  return TRUE;
}

/* The checks every operator shares: its input and output counts, and an
 * input that exists before it and an output that nothing else writes. */
static gboolean
import_io (FvGraph * g, guint index, const FvTflOp * op, guint want_in,
    guint opt_in, FvGNode * n, GError ** error)
{
  const FvGTensor *t;

  /* want_in inputs are required, opt_in more are optional. */
  if (op->n_inputs < want_in || op->n_inputs > want_in + opt_in
      || op->n_outputs != 1)
    return fail_op (error, FV_MODEL_ERROR_FORMAT, index, op->op_name,
        "has %u inputs and %u outputs", op->n_inputs, op->n_outputs);
  if (op->inputs[0] < 0)
    return fail_op (error, FV_MODEL_ERROR_FORMAT, index, op->op_name,
        "missing input");

  n->x = op->inputs[0];
  n->out = op->outputs[0];
  if (FV_GTENSOR (g, n->x)->idata)
    return fail_op (error, FV_MODEL_ERROR_UNSUPPORTED_TYPE, index,
        op->op_name, "int32 input \"%s\" is not supported",
        FV_GTENSOR (g, n->x)->name);
  t = FV_GTENSOR (g, n->out);
  if (t->producer >= 0 || t->data || t->idata || n->out == g->input)
    return fail_op (error, FV_MODEL_ERROR_FORMAT, index, op->op_name,
        "output tensor \"%s\" is written twice or is a constant", t->name);
  if (FV_GTENSOR (g, n->x)->producer < 0 && n->x != g->input
      && !FV_GTENSOR (g, n->x)->data)
    return fail_op (error, FV_MODEL_ERROR_FORMAT, index, op->op_name,
        "input tensor \"%s\" is used before it is computed",
        FV_GTENSOR (g, n->x)->name);
  return TRUE;
}

static gboolean
import_op (FvGraph * g, guint index, const FvTflOp * op, GError ** error)
{
  FvGNode n = { 0, };
  guint k;
  gboolean ok = TRUE;

  n.op_name = op->op_name;
  n.x = n.y = n.weights = n.bias = n.alpha = -1;
  n.stride_h = n.stride_w = 1;

  for (k = 0; k < G_N_ELEMENTS (import_table); k++)
    if (import_table[k].builtin == op->builtin)
      break;
  if (k == G_N_ELEMENTS (import_table))
    return fail_op (error, FV_MODEL_ERROR_UNSUPPORTED_OP, index,
        op->op_name, "unsupported operator %s (builtin code %d)",
        op->op_name, op->builtin);
  n.type = import_table[k].type;
  if (!import_io (g, index, op, import_table[k].want_in,
          import_table[k].opt_in, &n, error))
    return FALSE;

  switch (n.type) {
    case FV_NODE_CONV:
    case FV_NODE_DWCONV:
    case FV_NODE_FC:
      ok = import_weighted (g, index, op, &n, error);
      break;
    case FV_NODE_MAXPOOL:
      ok = import_pool (index, op, &n, error);
      break;
    case FV_NODE_ADD:
    case FV_NODE_SUB:
    case FV_NODE_MUL:
    case FV_NODE_DIV:
      ok = import_binary (g, index, op, &n, error);
      break;
    case FV_NODE_SUM:
    case FV_NODE_REDUCE_MAX:
      ok = import_reduce (g, index, op, &n, error);
      break;
    case FV_NODE_RESHAPE:
      ok = import_reshape (g, index, op, &n, error);
      break;
    default:
      break;
  }
  if (!ok)
    return FALSE;

  FV_GTENSOR (g, n.out)->producer = g->nodes->len;
  g_array_append_val (g->nodes, n);
  return TRUE;
}

/* Counts, for every tensor, the live nodes that read it (graph outputs
 * count as one reader). */
void
fv_graph_count_consumers (FvGraph * g)
{
  guint i;

  for (i = 0; i < g->tensors->len; i++)
    FV_GTENSOR (g, i)->n_consumers = 0;
  for (i = 0; i < g->nodes->len; i++) {
    FvGNode *n = FV_GNODE (g, i);
    if (n->dead)
      continue;
    FV_GTENSOR (g, n->x)->n_consumers++;
    if (n->y >= 0)
      FV_GTENSOR (g, n->y)->n_consumers++;
  }
  for (i = 0; i < g->n_outputs; i++)
    FV_GTENSOR (g, g->outputs[i])->n_consumers++;
}

/**
 * fv_graph_new_from_tflite:
 *
 * Builds and validates the IR. Every tensor index, constant size, option
 * and shape is checked; the declared shape of every activation must agree
 * with shape inference at the file's own input size.
 */
FvGraph *
fv_graph_new_from_tflite (const FvTflModel * tfl, GError ** error)
{
  g_autoptr (FvGraph) g = g_new0 (FvGraph, 1);
  g_autofree FvShape *shapes = NULL;
  const FvGTensor *in;
  guint i;

  g->tensors = g_array_sized_new (FALSE, TRUE, sizeof (FvGTensor),
      tfl->n_tensors);
  g->nodes = g_array_sized_new (FALSE, TRUE, sizeof (FvGNode), tfl->n_ops);
  g_array_set_size (g->tensors, tfl->n_tensors);
  for (i = 0; i < tfl->n_tensors; i++)
    if (!import_tensor (&tfl->tensors[i], FV_GTENSOR (g, i), error))
      return NULL;

  if (tfl->n_inputs != 1) {
    g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_INVALID,
        "the model has %u inputs; exactly one image input is supported",
        tfl->n_inputs);
    return NULL;
  }
  if (tfl->n_outputs < 1) {
    g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_INVALID,
        "the model has no outputs");
    return NULL;
  }
  g->input = tfl->inputs[0];
  in = FV_GTENSOR (g, g->input);
  if (in->shape.rank != 4 || in->data || in->idata
      || tfl->tensors[g->input].type != FV_TFL_TYPE_FLOAT32
      || in->shape.dims[0] < 1 || in->shape.dims[1] < 1
      || in->shape.dims[2] < 1 || in->shape.dims[3] < 1) {
    g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_SHAPE,
        "the input \"%s\" must be a float32 NHWC image tensor", in->name);
    return NULL;
  }
  g->file_batch = in->shape.dims[0];

  for (i = 0; i < tfl->n_tensors; i++) {
    const FvTflTensor *t = &tfl->tensors[i];
    if (!t->data && t->type != FV_TFL_TYPE_FLOAT32) {
      g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_UNSUPPORTED_TYPE,
          "tensor \"%s\" has type %d; only float32 activations are "
          "supported", t->name, t->type);
      return NULL;
    }
  }

  for (i = 0; i < tfl->n_ops; i++)
    if (!import_op (g, i, &tfl->ops[i], error))
      return NULL;

  g->n_outputs = tfl->n_outputs;
  g->outputs = g_new (int, tfl->n_outputs);
  for (i = 0; i < tfl->n_outputs; i++) {
    g->outputs[i] = tfl->outputs[i];
    if (FV_GTENSOR (g, g->outputs[i])->producer < 0) {
      g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_INVALID,
          "output \"%s\" is not computed by any operator",
          FV_GTENSOR (g, g->outputs[i])->name);
      return NULL;
    }
  }

  shapes = g_new0 (FvShape, g->tensors->len);
  if (!fv_graph_infer_shapes (g, in->shape.dims[0], in->shape.dims[1],
          in->shape.dims[2], shapes, error))
    return NULL;
  for (i = 0; i < g->tensors->len; i++) {
    const FvGTensor *t = FV_GTENSOR (g, i);
    if (t->producer < 0)
      continue;
    if (shapes[i].rank != t->shape.rank
        || memcmp (shapes[i].dims, t->shape.dims,
            sizeof (guint) * t->shape.rank) != 0) {
      g_autofree char *a = shape_str (&t->shape);
      g_autofree char *b = shape_str (&shapes[i]);
      g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_SHAPE,
          "tensor \"%s\" is declared %s but operator %d (%s) produces %s",
          t->name, a, t->producer, FV_GNODE (g, t->producer)->op_name, b);
      return NULL;
    }
  }
  fv_graph_count_consumers (g);
  return g_steal_pointer (&g);
}

static gboolean
conv_out_size (guint in, guint k, guint stride, FvPadding pad, guint * out,
    guint * before)
{
  if (pad == FV_PAD_SAME) {
    guint o = (in + stride - 1) / stride;
    gint64 total = (gint64) (o - 1) * stride + k - in;
    if (o == 0)
      return FALSE;
    total = MAX (total, 0);
    *out = o;
    *before = total / 2;
    return TRUE;
  }
  if (in < k)
    return FALSE;
  *out = (in - k) / stride + 1;
  *before = 0;
  return TRUE;
}

static gboolean
broadcast_shape (const FvShape * a, const FvShape * b, FvShape * out)
{
  guint r = MAX (a->rank, b->rank), i;

  out->rank = r;
  for (i = 0; i < r; i++) {
    guint da = i < r - a->rank ? 1 : a->dims[i - (r - a->rank)];
    guint db = i < r - b->rank ? 1 : b->dims[i - (r - b->rank)];
    if (da != db && da != 1 && db != 1)
      return FALSE;
    out->dims[i] = da == 1 ? db : da;
  }
  return TRUE;
}

static const FvShape *
tensor_shape (const FvGraph * g, const FvShape * shapes, int t)
{
  const FvGTensor *gt = FV_GTENSOR (g, t);
  return gt->is_const ? &gt->shape : &shapes[t];
}

/* The output shape of RESHAPE @n for an input of shape @x. */
static gboolean
reshape_shape (const FvGraph * g, const FvGNode * n, const FvShape * x,
    FvShape * o)
{
  gsize total = fv_shape_elems (x), known = 1;
  int unknown = -1;
  guint j;

  o->rank = n->new_shape_len;
  for (j = 0; j < n->new_shape_len; j++) {
    gint32 d = n->new_shape[j];
    /* The batch in the file is not binding: a leading dimension equal to
     * the file's batch follows the actual batch. */
    if (j == 0 && x->rank > 0 && d == (gint32) g->file_batch
        && (gint32) g->file_batch != -1)
      d = x->dims[0];
    if (d == -1 && unknown < 0) {
      unknown = j;
      continue;
    }
    if (d <= 0 || (gsize) d > total / known)
      return FALSE;
    o->dims[j] = d;
    known *= d;
  }
  if (unknown >= 0) {
    if (known == 0 || total % known != 0)
      return FALSE;
    o->dims[unknown] = total / known;
    known *= o->dims[unknown];
  }
  return known == total;
}

/**
 * fv_graph_infer_shapes:
 *
 * Computes the shape of every activation for an input of
 * @batch x @height x @width. Fails with %FV_MODEL_ERROR_SHAPE when an
 * operator cannot take the shapes it gets (e.g. a fully connected layer
 * after a feature map of another size).
 */
gboolean
fv_graph_infer_shapes (const FvGraph * g, guint batch, guint height,
    guint width, FvShape * shapes, GError ** error)
{
  const FvGTensor *in = FV_GTENSOR (g, g->input);
  guint i;

  shapes[g->input].rank = 4;
  shapes[g->input].dims[0] = batch;
  shapes[g->input].dims[1] = height;
  shapes[g->input].dims[2] = width;
  shapes[g->input].dims[3] = in->shape.dims[3];

  for (i = 0; i < g->nodes->len; i++) {
    const FvGNode *n = FV_GNODE (g, i);
    const FvShape *x = tensor_shape (g, shapes, n->x);
    FvShape *o = &shapes[n->out];
    const FvGTensor *w = n->weights >= 0 ? FV_GTENSOR (g, n->weights) : NULL;
    guint pad;

    if (n->dead)
      continue;
    memset (o, 0, sizeof (*o));
    switch (n->type) {
      case FV_NODE_CONV:
      case FV_NODE_DWCONV:
      case FV_NODE_MAXPOOL:{
        guint ch = n->type == FV_NODE_CONV ? w->shape.dims[0]
            : n->type == FV_NODE_DWCONV ? w->shape.dims[3] : x->dims[3];
        if (x->rank != 4)
          goto bad;
        if (n->type != FV_NODE_MAXPOOL && w->shape.dims[3] != x->dims[3])
          goto bad;
        o->rank = 4;
        o->dims[0] = x->dims[0];
        o->dims[3] = ch;
        if (!conv_out_size (x->dims[1], n->kh, n->stride_h, n->padding,
                &o->dims[1], &pad)
            || !conv_out_size (x->dims[2], n->kw, n->stride_w, n->padding,
                &o->dims[2], &pad))
          goto bad;
        break;
      }
      case FV_NODE_FC:{
        gsize total = fv_shape_elems (x);
        guint k = w->shape.dims[1];
        if (x->rank < 1 || k == 0 || total % k != 0 || total / k != x->dims[0])
          goto bad;
        o->rank = 2;
        o->dims[0] = x->dims[0];
        o->dims[1] = w->shape.dims[0];
        break;
      }
      case FV_NODE_ADD:
      case FV_NODE_SUB:
      case FV_NODE_MUL:
      case FV_NODE_DIV:
        if (!broadcast_shape (x, tensor_shape (g, shapes, n->y), o))
          goto bad;
        break;
      case FV_NODE_PRELU:
      case FV_NODE_SOFTMAX:
      case FV_NODE_RELU:
      case FV_NODE_ABS:
      case FV_NODE_NEG:
      case FV_NODE_EXP:
        *o = *x;
        break;
      case FV_NODE_SUM:
      case FV_NODE_REDUCE_MAX:
        *o = *x;
        if (o->rank == 0)
          goto bad;
        o->dims[o->rank - 1] = 1;
        break;
      case FV_NODE_RESHAPE:
        if (!reshape_shape (g, n, x, o))
          goto bad;
        break;
    }
    if (fv_shape_elems (o) > (G_MAXSIZE / 16) || fv_shape_elems (o) == 0)
      goto bad;
    continue;

  bad:
    {
      g_autofree char *xs = shape_str (x);
      g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_SHAPE,
          "operator %u (%s) cannot take an input of shape %s", i,
          n->op_name, xs);
      return FALSE;
    }
  }
  return TRUE;
}
