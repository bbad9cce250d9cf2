/* gst-faceverify: face verification on the CPU
 *
 * fv-xnnpack-bench.c: MobileFaceNet built from the same TFLite file with
 * XNNPACK's subgraph API, the yardstick of bench-xnnpack.c. The file
 * is read with our TFLite reader and graph passes (internal headers), so
 * that both engines get exactly the same weights; XNNPACK receives its own
 * CONVOLUTION_2D, DEPTHWISE_CONVOLUTION_2D, PRELU, ADD and RESHAPE nodes.
 */
#include "fv-config.h"
#include "fv-xnnpack-bench.h"
#include "fv-bench-util.h"

#include "fv.h"
#include "fv-graph.h"
#include "tflite/fv-tflite.h"

#include <math.h>
#include <string.h>
#include <time.h>
#include <xnnpack.h>
#include <pthreadpool.h>

/* XNNPACK may read this many bytes past the end of its inputs. */
#define EXTRA_BYTES 64

struct _FvXnnBench
{
  FvGraph *graph;
  FvShape *shapes;
  guint batch;
  pthreadpool_t pool;
  xnn_runtime_t runtime;
  float *input, *output;
  guint dim;
  GArray *layers;               /* indices of live conv/dwconv nodes */
};

static gboolean xnn_ready;

static gboolean
check (enum xnn_status st, const char *what, GError ** error)
{
  if (st == xnn_status_success)
    return TRUE;
  g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_INVALID,
      "XNNPACK: %s failed (status %d)", what, (int) st);
  return FALSE;
}

static float *
alloc_floats (gsize n)
{
  return g_malloc0 (n * sizeof (float) + EXTRA_BYTES);
}

typedef struct
{
  FvXnnBench *b;
  xnn_subgraph_t sg;
  uint32_t *ids;                /* per graph tensor, or XNN_INVALID_VALUE_ID */
} Builder;

/* The value for graph tensor @t; defines it on first use. */
static gboolean
value (Builder * bld, int t, uint32_t external_id, uint32_t flags,
    uint32_t * id, GError ** error)
{
  const FvGTensor *gt = FV_GTENSOR (bld->b->graph, t);
  size_t dims[FV_MAX_DIMS];
  size_t rank;
  guint i;

  if (bld->ids[t] != XNN_INVALID_VALUE_ID) {
    *id = bld->ids[t];
    return TRUE;
  }
  if (gt->is_const) {
    /* Biases and PReLU slopes are 1-D for XNNPACK. */
    if (gt->shape.rank == 4) {
      rank = 4;
      for (i = 0; i < 4; i++)
        dims[i] = gt->shape.dims[i];
    } else {
      rank = 1;
      dims[0] = gt->n_elems;
    }
    if (!gt->data) {
      g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_UNSUPPORTED_TYPE,
          "constant %s is not float32", gt->name);
      return FALSE;
    }
  } else {
    const FvShape *s = &bld->b->shapes[t];
    rank = s->rank;
    for (i = 0; i < rank; i++)
      dims[i] = s->dims[i];
  }
  if (!check (xnn_define_tensor_value (bld->sg, xnn_datatype_fp32, rank, dims,
              gt->is_const ? gt->data : NULL, external_id, flags, id),
          "define tensor", error))
    return FALSE;
  bld->ids[t] = *id;
  return TRUE;
}

static uint32_t
temp_value (Builder * bld, int like, GError ** error)
{
  const FvShape *s = &bld->b->shapes[like];
  size_t dims[FV_MAX_DIMS];
  uint32_t id = XNN_INVALID_VALUE_ID;
  guint i;

  for (i = 0; i < s->rank; i++)
    dims[i] = s->dims[i];
  if (!check (xnn_define_tensor_value (bld->sg, xnn_datatype_fp32, s->rank,
              dims, NULL, XNN_INVALID_VALUE_ID, 0, &id), "define tensor",
          error))
    return XNN_INVALID_VALUE_ID;
  return id;
}

static void
same_pad (guint in, guint out, guint k, guint stride, FvPadding padding,
    uint32_t * before, uint32_t * after)
{
  gint64 total = (gint64) (out - 1) * stride + k - in;

  if (padding == FV_PAD_VALID || total <= 0) {
    *before = *after = 0;
    return;
  }
  *before = (uint32_t) (total / 2);
  *after = (uint32_t) (total - total / 2);
}

/* Adds node @n (and its PReLU and residual ADD) to the subgraph. */
static gboolean
add_node (Builder * bld, const FvGNode * n, GError ** error)
{
  const FvShape *xs = &bld->b->shapes[n->x], *os = &bld->b->shapes[n->out];
  const float lo = n->act == FV_ACT_RELU ? 0.0f : -INFINITY;
  uint32_t x, w, bias = XNN_INVALID_VALUE_ID, out, conv_out, slope;
  uint32_t pt, pb, pl, pr;

  if (n->type == FV_NODE_RESHAPE) {
    size_t dims[FV_MAX_DIMS];
    guint i;
    for (i = 0; i < os->rank; i++)
      dims[i] = os->dims[i];
    return value (bld, n->x, XNN_INVALID_VALUE_ID, 0, &x, error)
        && value (bld, n->out, XNN_INVALID_VALUE_ID, 0, &out, error)
        && check (xnn_define_static_reshape (bld->sg, os->rank, dims, x, out,
            0), "reshape", error);
  }
  if (n->type != FV_NODE_CONV && n->type != FV_NODE_DWCONV) {
    g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_UNSUPPORTED_OP,
        "the XNNPACK comparison does not handle %s", n->op_name);
    return FALSE;
  }
  if (!value (bld, n->x, XNN_INVALID_VALUE_ID, 0, &x, error)
      || !value (bld, n->weights, XNN_INVALID_VALUE_ID, 0, &w, error)
      || (n->bias >= 0 && !value (bld, n->bias, XNN_INVALID_VALUE_ID, 0,
              &bias, error))
      || !value (bld, n->out, XNN_INVALID_VALUE_ID, 0, &out, error))
    return FALSE;
  conv_out = out;
  if (n->act == FV_ACT_PRELU || n->y >= 0) {
    conv_out = temp_value (bld, n->out, error);
    if (conv_out == XNN_INVALID_VALUE_ID)
      return FALSE;
  }
  same_pad (xs->dims[1], os->dims[1], n->kh, n->stride_h, n->padding, &pt, &pb);
  same_pad (xs->dims[2], os->dims[2], n->kw, n->stride_w, n->padding, &pl, &pr);
  if (n->type == FV_NODE_CONV) {
    if (!check (xnn_define_convolution_2d (bld->sg, pt, pr, pb, pl, n->kh,
                n->kw, n->stride_h, n->stride_w, 1, 1, 1, xs->dims[3],
                os->dims[3], lo, INFINITY, x, w, bias, conv_out, 0),
            "convolution", error))
      return FALSE;
  } else {
    if (!check (xnn_define_depthwise_convolution_2d (bld->sg, pt, pr, pb, pl,
                n->kh, n->kw, n->stride_h, n->stride_w, 1, 1, 1,
                xs->dims[3], lo, INFINITY, x, w, bias, conv_out, 0),
            "depthwise convolution", error))
      return FALSE;
  }
  if (n->act == FV_ACT_PRELU) {
    uint32_t prelu_out = n->y >= 0 ? temp_value (bld, n->out, error) : out;
    if (prelu_out == XNN_INVALID_VALUE_ID
        || !value (bld, n->alpha, XNN_INVALID_VALUE_ID, 0, &slope, error)
        || !check (xnn_define_prelu (bld->sg, conv_out, slope, prelu_out, 0),
            "prelu", error))
      return FALSE;
    conv_out = prelu_out;
  }
  if (n->y >= 0) {
    uint32_t y;
    if (!value (bld, n->y, XNN_INVALID_VALUE_ID, 0, &y, error)
        || !check (xnn_define_add2 (bld->sg, -INFINITY, INFINITY, conv_out, y,
                out, 0), "add", error))
      return FALSE;
  }
  return TRUE;
}

static uint32_t *
new_ids (FvXnnBench * b)
{
  guint i, n = b->graph->tensors->len;
  uint32_t *ids = g_new (uint32_t, n);

  for (i = 0; i < n; i++)
    ids[i] = XNN_INVALID_VALUE_ID;
  return ids;
}

static gsize
shape_elems (const FvShape * s)
{
  return fv_shape_elems (s);
}

FvXnnBench *
fv_xnn_bench_new (const char *path, guint batch, guint threads, GError ** error)
{
  g_autoptr (FvXnnBench) b = g_new0 (FvXnnBench, 1);
  g_autoptr (FvTflModel) tfl = NULL;
  g_autofree char *contents = NULL;
  g_autofree uint32_t *ids = NULL;
  gsize len = 0;
  const FvGTensor *in;
  Builder bld;
  xnn_subgraph_t sg = NULL;
  struct xnn_external_value ext[2];
  guint i;
  int out_t;

  if (!xnn_ready) {
    if (!check (xnn_initialize (NULL), "initialisation", error))
      return NULL;
    xnn_ready = TRUE;
  }
  if (!g_file_get_contents (path, &contents, &len, error))
    return NULL;
  tfl = fv_tfl_model_parse ((const guint8 *) contents, len, error);
  if (!tfl)
    return NULL;
  b->graph = fv_graph_new_from_tflite (tfl, error);
  if (!b->graph)
    return NULL;
  fv_graph_run_passes (b->graph);
  b->batch = batch;
  in = FV_GTENSOR (b->graph, b->graph->input);
  b->shapes = g_new0 (FvShape, b->graph->tensors->len);
  if (!fv_graph_infer_shapes (b->graph, batch, in->shape.dims[1],
          in->shape.dims[2], b->shapes, error))
    return NULL;
  if (b->graph->n_outputs != 1) {
    g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_INVALID,
        "the XNNPACK comparison needs a model with one output");
    return NULL;
  }
  out_t = b->graph->outputs[0];
  b->dim = shape_elems (&b->shapes[out_t]) / batch;
  b->input = alloc_floats (shape_elems (&b->shapes[b->graph->input]));
  b->output = alloc_floats (shape_elems (&b->shapes[out_t]));
  if (threads > 1)
    b->pool = pthreadpool_create (threads);

  if (!check (xnn_create_subgraph (2, 0, &sg), "create subgraph", error))
    return NULL;
  ids = new_ids (b);
  bld.b = b;
  bld.sg = sg;
  bld.ids = ids;
  b->layers = g_array_new (FALSE, FALSE, sizeof (guint));
  if (!value (&bld, b->graph->input, 0, XNN_VALUE_FLAG_EXTERNAL_INPUT,
          &ext[0].id, error)
      || !value (&bld, out_t, 1, XNN_VALUE_FLAG_EXTERNAL_OUTPUT, &ext[1].id,
          error)) {
    xnn_delete_subgraph (sg);
    return NULL;
  }
  for (i = 0; i < b->graph->nodes->len; i++) {
    const FvGNode *n = FV_GNODE (b->graph, i);
    if (n->dead)
      continue;
    if (!add_node (&bld, n, error)) {
      xnn_delete_subgraph (sg);
      return NULL;
    }
    if (n->type == FV_NODE_CONV || n->type == FV_NODE_DWCONV)
      g_array_append_val (b->layers, i);
  }
  /* Workers sleep after each inference, as ours do: interleaved runs
   * would otherwise spin against each other. */
  if (!check (xnn_create_runtime_v2 (sg, b->pool, XNN_FLAG_YIELD_WORKERS,
              &b->runtime), "create runtime", error)) {
    xnn_delete_subgraph (sg);
    return NULL;
  }
  xnn_delete_subgraph (sg);
  ext[0].data = b->input;
  ext[1].data = b->output;
  if (!check (xnn_setup_runtime (b->runtime, 2, ext), "setup runtime", error))
    return NULL;
  return g_steal_pointer (&b);
}

void
fv_xnn_bench_free (FvXnnBench * b)
{
  if (!b)
    return;
  if (b->runtime)
    xnn_delete_runtime (b->runtime);
  if (b->pool)
    pthreadpool_destroy (b->pool);
  if (b->layers)
    g_array_free (b->layers, TRUE);
  g_free (b->input);
  g_free (b->output);
  g_free (b->shapes);
  fv_graph_free (b->graph);
  g_free (b);
}

float *
fv_xnn_bench_get_input (FvXnnBench * b)
{
  return b->input;
}

const float *
fv_xnn_bench_get_output (FvXnnBench * b, guint * dim)
{
  if (dim)
    *dim = b->dim;
  return b->output;
}

void
fv_xnn_bench_run (FvXnnBench * b)
{
  xnn_invoke_runtime (b->runtime);
}

guint
fv_xnn_bench_get_n_layers (FvXnnBench * b)
{
  return b->layers->len;
}

double
fv_xnn_bench_time_layer (FvXnnBench * b, guint index, guint runs,
    const char **name, const char **family, guint64 * macs)
{
  const FvGNode *n;
  const FvShape *xs, *os;
  g_autofree uint32_t *ids = NULL;
  g_autofree float *x = NULL, *y = NULL, *out = NULL;
  g_autofree double *t = NULL;
  struct xnn_external_value ext[3];
  xnn_subgraph_t sg = NULL;
  xnn_runtime_t rt = NULL;
  Builder bld;
  guint n_ext = 2, i;
  double median = -1;

  g_return_val_if_fail (index < b->layers->len, -1);
  n = FV_GNODE (b->graph, g_array_index (b->layers, guint, index));
  xs = &b->shapes[n->x];
  os = &b->shapes[n->out];
  *name = FV_GTENSOR (b->graph, n->out)->name;
  if (n->type == FV_NODE_DWCONV)
    *family = n->kh == 3 && n->kw == 3 ? "dwconv3x3" : "dwconv";
  else
    *family = n->kh == 1 && n->kw == 1 && n->stride_h == 1
        && n->stride_w == 1 ? "gemm" : "conv";
  *macs = (guint64) shape_elems (os) / b->batch * n->kh * n->kw
      * (n->type == FV_NODE_CONV ? xs->dims[3] : 1);

  if (xnn_create_subgraph (n->y >= 0 ? 3 : 2, 0, &sg) != xnn_status_success)
    return -1;
  ids = new_ids (b);
  bld.b = b;
  bld.sg = sg;
  bld.ids = ids;
  x = alloc_floats (shape_elems (xs));
  out = alloc_floats (shape_elems (os));
  for (i = 0; i < shape_elems (xs); i++)
    x[i] = (float) ((i * 7919) % 2001) / 1000.0f - 1.0f;
  if (!value (&bld, n->x, 0, XNN_VALUE_FLAG_EXTERNAL_INPUT, &ext[0].id, NULL)
      || !value (&bld, n->out, 1, XNN_VALUE_FLAG_EXTERNAL_OUTPUT, &ext[1].id,
          NULL))
    goto out;
  ext[0].data = x;
  ext[1].data = out;
  if (n->y >= 0) {
    y = alloc_floats (shape_elems (&b->shapes[n->y]));
    if (!value (&bld, n->y, 2, XNN_VALUE_FLAG_EXTERNAL_INPUT, &ext[2].id, NULL))
      goto out;
    ext[2].data = y;
    n_ext = 3;
  }
  if (!add_node (&bld, n, NULL)
      || xnn_create_runtime_v2 (sg, b->pool, 0, &rt) != xnn_status_success
      || xnn_setup_runtime (rt, n_ext, ext) != xnn_status_success)
    goto out;
  for (i = 0; i < 3; i++)
    xnn_invoke_runtime (rt);
  t = g_new (double, MAX (runs, 1));
  for (i = 0; i < MAX (runs, 1); i++) {
    /* CPU time, as for our engine: the process's when a pool works. */
    guint64 t0 = fv_bench_cpu_ns (b->pool ? 2 : 1);
    xnn_invoke_runtime (rt);
    t[i] = (double) (fv_bench_cpu_ns (b->pool ? 2 : 1) - t0);
  }
  qsort (t, MAX (runs, 1), sizeof (double), fv_bench_cmp_double);
  median = t[MAX (runs, 1) / 2];
out:
  if (rt)
    xnn_delete_runtime (rt);
  xnn_delete_subgraph (sg);
  return median;
}
