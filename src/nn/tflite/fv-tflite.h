/* Bounds-checked reader for the subset of the TFLite FlatBuffer schema that
 * the shipped models use (schema.fbs, version 3).
 *
 * The reader only decodes: it produces plain structs that point into the
 * caller's buffer, and it checks every offset, vtable, vector and buffer
 * range against the buffer size before reading it. It does not judge
 * whether the graph makes sense; fv-graph.c does. */
#ifndef FV_TFLITE_H
#define FV_TFLITE_H

#include "fv-prelude.h"

G_BEGIN_DECLS

/* Builtin operator codes (BuiltinOperator in schema.fbs) that we use. */
enum
{
  FV_TFL_ADD = 0,
  FV_TFL_CONV_2D = 3,
  FV_TFL_DEPTHWISE_CONV_2D = 4,
  FV_TFL_FULLY_CONNECTED = 9,
  FV_TFL_MAX_POOL_2D = 17,
  FV_TFL_MUL = 18,
  FV_TFL_RELU = 19,
  FV_TFL_RESHAPE = 22,
  FV_TFL_SUB = 41,
  FV_TFL_DIV = 42,
  FV_TFL_EXP = 47,
  FV_TFL_NEG = 59,
  FV_TFL_SUM = 74,
  FV_TFL_REDUCE_MAX = 82,
  FV_TFL_ABS = 101,
};

/* TensorType */
enum
{
  FV_TFL_TYPE_FLOAT32 = 0,
  FV_TFL_TYPE_INT32 = 2,
};

/* Padding and ActivationFunctionType */
enum
{
  FV_TFL_PAD_SAME = 0,
  FV_TFL_PAD_VALID = 1,
};

enum
{
  FV_TFL_ACT_NONE = 0,
  FV_TFL_ACT_RELU = 1,
  FV_TFL_ACT_RELU6 = 3,
};

#define FV_TFL_MAX_RANK 6

typedef struct
{
  const char *name;             /* not NUL-terminated in the file: copied */
  gint32 type;
  guint rank;
  gint32 dims[FV_TFL_MAX_RANK];
  /* Constant data (NULL for activations), pointing into the file. */
  const guint8 *data;
  gsize data_size;
} FvTflTensor;

typedef struct
{
  gint32 builtin;               /* BuiltinOperator */
  const char *op_name;          /* static name, or the custom code */
  gint32 version;
  guint n_inputs, n_outputs;
  gint32 *inputs, *outputs;     /* tensor indices; -1 = optional absent */
  gboolean has_options;
  /* Decoded options; which fields are meaningful depends on builtin. */
  gint32 padding, stride_w, stride_h, dilation_w, dilation_h;
  gint32 filter_w, filter_h, depth_multiplier;
  gint32 activation;
  gint32 weights_format;
  gboolean keep_dims, keep_num_dims;
  guint new_shape_len;
  gint32 new_shape[FV_TFL_MAX_RANK];
} FvTflOp;

typedef struct
{
  guint32 version;
  char *description;
  guint n_tensors, n_ops;
  FvTflTensor *tensors;
  FvTflOp *ops;
  guint n_inputs, n_outputs;
  gint32 *inputs, *outputs;
  GStringChunk *strings;
} FvTflModel;

FvTflModel *fv_tfl_model_parse (const guint8 * data, gsize size,
    GError ** error);
void fv_tfl_model_free (FvTflModel * model);
const char *fv_tfl_op_name (gint32 builtin);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FvTflModel, fv_tfl_model_free)

G_END_DECLS

#endif /* FV_TFLITE_H */
