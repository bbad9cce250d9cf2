/* The engine's graph IR: built from a decoded TFLite model, validated,
 * then simplified by the fusion passes. */
#ifndef FV_GRAPH_H
#define FV_GRAPH_H

#include "nn/fv-engine.h"
#include "tflite/fv-tflite.h"

G_BEGIN_DECLS

typedef enum
{
  FV_NODE_CONV,
  FV_NODE_DWCONV,
  FV_NODE_FC,
  FV_NODE_MAXPOOL,
  FV_NODE_ADD,
  FV_NODE_SUB,
  FV_NODE_MUL,
  FV_NODE_DIV,
  FV_NODE_RELU,
  FV_NODE_ABS,
  FV_NODE_NEG,
  FV_NODE_EXP,
  FV_NODE_SUM,
  FV_NODE_REDUCE_MAX,
  FV_NODE_RESHAPE,
  FV_NODE_PRELU,
  FV_NODE_SOFTMAX,
} FvNodeType;

typedef enum
{
  FV_ACT_NONE,
  FV_ACT_RELU,
  FV_ACT_PRELU,
} FvAct;

typedef enum
{
  FV_PAD_SAME,
  FV_PAD_VALID,
} FvPadding;

typedef struct
{
  char *name;
  FvShape shape;                /* as declared in the file */
  float *data;                  /* float32 constant (owned), else NULL */
  gint32 *idata;                /* int32 constant (owned), else NULL */
  gsize n_elems;
  gboolean is_const;            /* data/idata may be released after packing */
  int producer;                 /* node index, -1 for inputs and constants */
  guint n_consumers;
} FvGTensor;

typedef struct
{
  FvNodeType type;
  const char *op_name;          /* TFLite op it came from, for messages */
  int x;                        /* main input tensor */
  int y;                        /* second operand, or residual of a conv */
  int out;
  int weights, bias, alpha;     /* constant tensors, -1 if none */
  FvAct act;
  guint kh, kw, stride_h, stride_w;
  FvPadding padding;
  gboolean keep_dims;
  guint new_shape_len;
  gint32 new_shape[FV_MAX_DIMS];
  gboolean dead;
} FvGNode;

typedef struct
{
  GArray *tensors;              /* FvGTensor */
  GArray *nodes;                /* FvGNode, in execution order */
  int input;
  guint n_outputs;
  int *outputs;
  guint file_batch;
} FvGraph;

#define FV_GTENSOR(g, i) (&g_array_index ((g)->tensors, FvGTensor, (i)))
#define FV_GNODE(g, i) (&g_array_index ((g)->nodes, FvGNode, (i)))

FvGraph *fv_graph_new_from_tflite (const FvTflModel * tfl, GError ** error);
void fv_graph_free (FvGraph * graph);

/* Shape inference for an input of batch x height x width (channels as in
 * the file). Fills shapes[] for every tensor. */
gboolean fv_graph_infer_shapes (const FvGraph * graph, guint batch,
    guint height, guint width, FvShape * shapes, GError ** error);

/* Fusion passes: PReLU spellings, activations into producers, residual
 * adds into 1x1 convolutions, softmax. Returns the number of rewrites. */
guint fv_graph_run_passes (FvGraph * graph);

gsize fv_shape_elems (const FvShape * s);
void fv_graph_count_consumers (FvGraph * graph);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FvGraph, fv_graph_free)

G_END_DECLS

#endif /* FV_GRAPH_H */
