/* Bounds-checked TFLite FlatBuffer reader.
 *
 * FlatBuffer layout (little endian): the file starts with a uoffset to the
 * root table and the 4-byte identifier "TFL3". A table starts with an
 * soffset to its vtable (vtable = table - soffset); the vtable holds its own
 * size, the table's size and one uint16 offset per field (0 = absent).
 * Reference fields hold a uoffset relative to the field's own position.
 * Vectors and strings start with a uint32 element count.
 *
 * Every accessor below checks its range before it reads. The first failure
 * is recorded in the reader and later accessors return neutral values, so
 * the decoding code can check for errors at a few points instead of after
 * every read. */
#include "fv-tflite.h"
#include "fv-tflite-schema.h"

#include <string.h>

typedef struct
{
  const guint8 *d;
  gsize size;
  GError *error;
  GStringChunk *strings;
} Fb;

typedef struct
{
  gsize pos;                    /* table start */
  gsize vt;                     /* vtable start */
  guint vt_fields;              /* number of field slots in the vtable */
  gsize table_size;
  gboolean valid;
} Table;

typedef struct
{
  gsize start;                  /* first element */
  guint32 len;
  gboolean present;
} Vec;

/* Limits that no sane model reaches; they bound the work and memory that a
 * hostile file can cause. */
#define MAX_TENSORS 100000
#define MAX_OPS 100000
#define MAX_OP_IO 64

static const char *const builtin_names[] = {
  "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D",
  "DEPTH_TO_SPACE", "DEQUANTIZE", "EMBEDDING_LOOKUP", "FLOOR",
  "FULLY_CONNECTED", "HASHTABLE_LOOKUP", "L2_NORMALIZATION", "L2_POOL_2D",
  "LOCAL_RESPONSE_NORMALIZATION", "LOGISTIC", "LSH_PROJECTION", "LSTM",
  "MAX_POOL_2D", "MUL", "RELU", "RELU_N1_TO_1", "RELU6", "RESHAPE",
  "RESIZE_BILINEAR", "RNN", "SOFTMAX", "SPACE_TO_DEPTH", "SVDF", "TANH",
  "CONCAT_EMBEDDINGS", "SKIP_GRAM", "CALL", "CUSTOM",
  "EMBEDDING_LOOKUP_SPARSE", "PAD", "UNIDIRECTIONAL_SEQUENCE_RNN", "GATHER",
  "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND", "TRANSPOSE", "MEAN", "SUB", "DIV",
  "SQUEEZE", "UNIDIRECTIONAL_SEQUENCE_LSTM", "STRIDED_SLICE",
  "BIDIRECTIONAL_SEQUENCE_RNN", "EXP", "TOPK_V2", "SPLIT", "LOG_SOFTMAX",
  "DELEGATE", "BIDIRECTIONAL_SEQUENCE_LSTM", "CAST", "PRELU", "MAXIMUM",
  "ARG_MAX", "MINIMUM", "LESS", "NEG", "PADV2", "GREATER", "GREATER_EQUAL",
  "LESS_EQUAL", "SELECT", "SLICE", "SIN", "TRANSPOSE_CONV", "SPARSE_TO_DENSE",
  "TILE", "EXPAND_DIMS", "EQUAL", "NOT_EQUAL", "LOG", "SUM", "SQRT", "RSQRT",
  "SHAPE", "POW", "ARG_MIN", "FAKE_QUANT", "REDUCE_PROD", "REDUCE_MAX",
  "PACK", "LOGICAL_OR", "ONE_HOT", "LOGICAL_AND", "LOGICAL_NOT", "UNPACK",
  "REDUCE_MIN", "FLOOR_DIV", "REDUCE_ANY", "SQUARE", "ZEROS_LIKE", "FILL",
  "FLOOR_MOD", "RANGE", "RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU",
  "SQUARED_DIFFERENCE", "MIRROR_PAD", "ABS", "SPLIT_V", "UNIQUE", "CEIL",
  "REVERSE_V2", "ADD_N", "GATHER_ND", "COS", "WHERE", "RANK", "ELU",
  "REVERSE_SEQUENCE", "MATRIX_DIAG", "QUANTIZE", "MATRIX_SET_DIAG", "ROUND",
  "HARD_SWISH", "IF", "WHILE", "NON_MAX_SUPPRESSION_V4",
  "NON_MAX_SUPPRESSION_V5", "SCATTER_ND", "SELECT_V2", "DENSIFY",
  "SEGMENT_SUM", "BATCH_MATMUL",
};

const char *
fv_tfl_op_name (gint32 builtin)
{
  if (builtin >= 0 && (gsize) builtin < G_N_ELEMENTS (builtin_names))
    return builtin_names[builtin];
  return NULL;
}

/* *INDENT-OFF* */
static void fb_fail (Fb * fb, FvModelError code, const char *fmt, ...)
    G_GNUC_PRINTF (3, 4);
/* *INDENT-ON* */

static void
fb_fail (Fb * fb, FvModelError code, const char *fmt, ...)
{
  va_list args;
  g_autofree char *msg = NULL;

  if (fb->error)
    return;
  va_start (args, fmt);
  msg = g_strdup_vprintf (fmt, args);
  va_end (args);
  fb->error = g_error_new (FV_MODEL_ERROR, code, "%s", msg);
}

static gboolean
fb_range (Fb * fb, gsize pos, gsize len, const char *what)
{
  if (fb->error)
    return FALSE;
  if (pos > fb->size || len > fb->size - pos) {
    fb_fail (fb, FV_MODEL_ERROR_FORMAT,
        "%s at offset %" G_GSIZE_FORMAT " (%" G_GSIZE_FORMAT
        " bytes) is outside the file (%" G_GSIZE_FORMAT " bytes)", what, pos,
        len, fb->size);
    return FALSE;
  }
  return TRUE;
}

static guint16
rd_u16 (Fb * fb, gsize p)
{
  return fb->d[p] | (fb->d[p + 1] << 8);
}

static guint32
rd_u32 (Fb * fb, gsize p)
{
  return (guint32) fb->d[p] | ((guint32) fb->d[p + 1] << 8) |
      ((guint32) fb->d[p + 2] << 16) | ((guint32) fb->d[p + 3] << 24);
}

static guint64
rd_u64 (Fb * fb, gsize p)
{
  return rd_u32 (fb, p) | ((guint64) rd_u32 (fb, p + 4) << 32);
}

static Table
fb_table_at (Fb * fb, gsize pos, const char *what)
{
  Table t = { 0, };
  gint32 soff;
  gint64 vt;
  guint16 vt_size;

  if (!fb_range (fb, pos, 4, what))
    return t;
  if (pos % 4 != 0) {
    fb_fail (fb, FV_MODEL_ERROR_FORMAT, "%s at offset %" G_GSIZE_FORMAT
        " is misaligned", what, pos);
    return t;
  }
  soff = (gint32) rd_u32 (fb, pos);
  vt = (gint64) pos - soff;
  if (vt < 0) {
    fb_fail (fb, FV_MODEL_ERROR_FORMAT, "vtable of %s at offset %"
        G_GINT64_FORMAT " is outside the file", what, vt);
    return t;
  }
  if (!fb_range (fb, (gsize) vt, 4, "vtable"))
    return t;
  if (vt % 2 != 0) {
    fb_fail (fb, FV_MODEL_ERROR_FORMAT, "vtable of %s is misaligned", what);
    return t;
  }
  vt_size = rd_u16 (fb, vt);
  if (vt_size < 4 || vt_size % 2 != 0
      || !fb_range (fb, (gsize) vt, vt_size, "vtable")) {
    fb_fail (fb, FV_MODEL_ERROR_FORMAT, "vtable of %s has a bad size %u",
        what, vt_size);
    return t;
  }
  t.pos = pos;
  t.vt = (gsize) vt;
  t.vt_fields = (vt_size - 4) / 2;
  t.table_size = rd_u16 (fb, vt + 2);
  if (t.table_size < 4) {
    fb_fail (fb, FV_MODEL_ERROR_FORMAT, "%s at offset %" G_GSIZE_FORMAT
        " has a bad size %" G_GSIZE_FORMAT, what, pos, t.table_size);
    return t;
  }
  if (!fb_range (fb, pos, t.table_size, what))
    return t;
  t.valid = TRUE;
  return t;
}

/* Position of field @id with @size bytes, or 0 if absent or invalid. */
static gsize
fb_field (Fb * fb, const Table * t, guint id, gsize size)
{
  guint16 off;

  if (!t->valid || fb->error || id >= t->vt_fields)
    return 0;
  off = rd_u16 (fb, t->vt + 4 + 2 * id);
  if (off == 0)
    return 0;
  if (off < 4 || off + size > t->table_size) {
    fb_fail (fb, FV_MODEL_ERROR_FORMAT,
        "field %u of a table at offset %" G_GSIZE_FORMAT
        " lies outside the table", id, t->pos);
    return 0;
  }
  return t->pos + off;
}

static gint64
fb_int (Fb * fb, const Table * t, guint id, gsize size, gboolean is_signed,
    gint64 def)
{
  gsize p = fb_field (fb, t, id, size);

  if (!p)
    return def;
  switch (size) {
    case 1:
      return is_signed ? (gint64) (gint8) fb->d[p] : (gint64) fb->d[p];
    case 2:
      return is_signed ? (gint64) (gint16) rd_u16 (fb, p)
          : (gint64) rd_u16 (fb, p);
    case 4:
      return is_signed ? (gint64) (gint32) rd_u32 (fb, p)
          : (gint64) rd_u32 (fb, p);
    default:
      return (gint64) rd_u64 (fb, p);
  }
}

/* Follows the uoffset stored in field @id; returns 0 if absent. */
static gsize
fb_ref (Fb * fb, const Table * t, guint id, const char *what)
{
  gsize p = fb_field (fb, t, id, 4);
  guint32 off;

  if (!p)
    return 0;
  off = rd_u32 (fb, p);
  if (off == 0 || !fb_range (fb, p + off, 4, what))
    return 0;
  return p + off;
}

static Table
fb_subtable (Fb * fb, const Table * t, guint id, const char *what)
{
  gsize p = fb_ref (fb, t, id, what);
  Table none = { 0, };

  return p ? fb_table_at (fb, p, what) : none;
}

static Vec
fb_vector (Fb * fb, const Table * t, guint id, gsize elem_size,
    const char *what)
{
  Vec v = { 0, };
  gsize p = fb_ref (fb, t, id, what);
  guint32 n;

  if (!p)
    return v;
  n = rd_u32 (fb, p);
  if (elem_size && n > (fb->size - p - 4) / elem_size) {
    fb_fail (fb, FV_MODEL_ERROR_FORMAT,
        "%s: vector of %u elements at offset %" G_GSIZE_FORMAT
        " runs past the end of the file", what, n, p);
    return v;
  }
  if (elem_size > 1 && (p + 4) % MIN (elem_size, 4) != 0) {
    fb_fail (fb, FV_MODEL_ERROR_FORMAT, "%s: vector at offset %"
        G_GSIZE_FORMAT " is misaligned", what, p);
    return v;
  }
  v.start = p + 4;
  v.len = n;
  v.present = TRUE;
  return v;
}

static Table
fb_vector_table (Fb * fb, const Vec * v, guint i, const char *what)
{
  gsize p = v->start + 4 * (gsize) i;
  guint32 off = rd_u32 (fb, p);
  Table none = { 0, };

  if (off == 0 || !fb_range (fb, p + off, 4, what))
    return none;
  return fb_table_at (fb, p + off, what);
}

static const char *
fb_string (Fb * fb, const Table * t, guint id, const char *what)
{
  Vec v = fb_vector (fb, t, id, 1, what);

  if (!v.present)
    return NULL;
  return g_string_chunk_insert_len (fb->strings,
      (const char *) fb->d + v.start, MIN (v.len, 4096));
}

static guint
fb_int_vector (Fb * fb, const Vec * v, gint32 * out, guint max,
    const char *what)
{
  guint i;

  if (v->len > max) {
    fb_fail (fb, FV_MODEL_ERROR_SHAPE, "%s has %u entries (at most %u)",
        what, v->len, max);
    return 0;
  }
  for (i = 0; i < v->len; i++)
    out[i] = (gint32) rd_u32 (fb, v->start + 4 * (gsize) i);
  return v->len;
}

/* Padding and strides: the first three fields of Conv2DOptions,
 * DepthwiseConv2DOptions and Pool2DOptions alike. */
G_STATIC_ASSERT ((int) FV_TFLITE_DEPTHWISE_PADDING == FV_TFLITE_CONV_2D_PADDING
    && (int) FV_TFLITE_POOL_2D_PADDING == FV_TFLITE_CONV_2D_PADDING);
G_STATIC_ASSERT ((int) FV_TFLITE_DEPTHWISE_STRIDE_W ==
    FV_TFLITE_CONV_2D_STRIDE_W
    && (int) FV_TFLITE_POOL_2D_STRIDE_W == FV_TFLITE_CONV_2D_STRIDE_W);
G_STATIC_ASSERT ((int) FV_TFLITE_DEPTHWISE_STRIDE_H ==
    FV_TFLITE_CONV_2D_STRIDE_H
    && (int) FV_TFLITE_POOL_2D_STRIDE_H == FV_TFLITE_CONV_2D_STRIDE_H);

static void
parse_window (Fb * fb, const Table * opt, FvTflOp * op)
{
  op->padding = fb_int (fb, opt, FV_TFLITE_CONV_2D_PADDING, 1, TRUE, 0);
  op->stride_w = fb_int (fb, opt, FV_TFLITE_CONV_2D_STRIDE_W, 4, TRUE, 0);
  op->stride_h = fb_int (fb, opt, FV_TFLITE_CONV_2D_STRIDE_H, 4, TRUE, 0);
}

static void
parse_options (Fb * fb, const Table * opt, FvTflOp * op)
{
  switch (op->builtin) {
    case FV_TFL_CONV_2D:
      parse_window (fb, opt, op);
      op->activation = fb_int (fb, opt, FV_TFLITE_CONV_2D_FUSED_ACTIVATION,
          1, TRUE, 0);
      op->dilation_w = fb_int (fb, opt, FV_TFLITE_CONV_2D_DILATION_W, 4,
          TRUE, 1);
      op->dilation_h = fb_int (fb, opt, FV_TFLITE_CONV_2D_DILATION_H, 4,
          TRUE, 1);
      break;
    case FV_TFL_DEPTHWISE_CONV_2D:
      parse_window (fb, opt, op);
      op->depth_multiplier = fb_int (fb, opt,
          FV_TFLITE_DEPTHWISE_DEPTH_MULTIPLIER, 4, TRUE, 0);
      op->activation = fb_int (fb, opt, FV_TFLITE_DEPTHWISE_FUSED_ACTIVATION,
          1, TRUE, 0);
      op->dilation_w = fb_int (fb, opt, FV_TFLITE_DEPTHWISE_DILATION_W, 4,
          TRUE, 1);
      op->dilation_h = fb_int (fb, opt, FV_TFLITE_DEPTHWISE_DILATION_H, 4,
          TRUE, 1);
      break;
    case FV_TFL_MAX_POOL_2D:
      parse_window (fb, opt, op);
      op->filter_w = fb_int (fb, opt, FV_TFLITE_POOL_2D_FILTER_W, 4, TRUE, 0);
      op->filter_h = fb_int (fb, opt, FV_TFLITE_POOL_2D_FILTER_H, 4, TRUE, 0);
      op->activation = fb_int (fb, opt, FV_TFLITE_POOL_2D_FUSED_ACTIVATION,
          1, TRUE, 0);
      break;
    case FV_TFL_FULLY_CONNECTED:
      op->activation = fb_int (fb, opt,
          FV_TFLITE_FULLY_CONNECTED_FUSED_ACTIVATION, 1, TRUE, 0);
      op->weights_format = fb_int (fb, opt,
          FV_TFLITE_FULLY_CONNECTED_WEIGHTS_FORMAT, 1, TRUE, 0);
      op->keep_num_dims = fb_int (fb, opt,
          FV_TFLITE_FULLY_CONNECTED_KEEP_NUM_DIMS, 1, FALSE, 0) != 0;
      break;
    case FV_TFL_ADD:
    case FV_TFL_SUB:
    case FV_TFL_MUL:
    case FV_TFL_DIV:
      op->activation = fb_int (fb, opt, FV_TFLITE_ARITHMETIC_FUSED_ACTIVATION,
          1, TRUE, 0);
      break;
    case FV_TFL_SUM:
    case FV_TFL_REDUCE_MAX:
      op->keep_dims = fb_int (fb, opt, FV_TFLITE_REDUCER_KEEP_DIMS, 1, FALSE,
          0) != 0;
      break;
    case FV_TFL_RESHAPE:{
      Vec v = fb_vector (fb, opt, FV_TFLITE_RESHAPE_NEW_SHAPE, 4,
          "RESHAPE new_shape");
      if (v.present)
        op->new_shape_len = fb_int_vector (fb, &v, op->new_shape,
            FV_TFL_MAX_RANK, "RESHAPE new_shape");
      break;
    }
    default:
      break;
  }
}

static gboolean
parse_io (Fb * fb, const Table * t, guint id, guint * n, gint32 ** out,
    const char *what)
{
  Vec v = fb_vector (fb, t, id, 4, what);
  guint i;

  *n = 0;
  *out = NULL;
  if (!v.present)
    return fb->error == NULL;
  if (v.len > MAX_OP_IO) {
    fb_fail (fb, FV_MODEL_ERROR_FORMAT, "%s: %u entries is too many", what,
        v.len);
    return FALSE;
  }
  *out = g_new0 (gint32, MAX (v.len, 1));
  for (i = 0; i < v.len; i++)
    (*out)[i] = (gint32) rd_u32 (fb, v.start + 4 * (gsize) i);
  *n = v.len;
  return TRUE;
}

static gsize
type_size (gint32 type)
{
  switch (type) {
    case 0:                    /* FLOAT32 */
    case 2:                    /* INT32 */
      return 4;
    case 1:                    /* FLOAT16 */
    case 7:                    /* INT16 */
      return 2;
    case 3:                    /* UINT8 */
    case 6:                    /* BOOL */
    case 9:                    /* INT8 */
      return 1;
    case 4:                    /* INT64 */
    case 10:                   /* FLOAT64 */
      return 8;
    default:
      return 0;
  }
}

static gboolean
parse_buffer (Fb * fb, const Vec * buffers, guint32 index,
    const guint8 ** data, gsize * size)
{
  Table b;
  Vec v;
  guint64 off, len;

  *data = NULL;
  *size = 0;
  if (index == 0)
    return TRUE;                /* buffer 0 is the empty sentinel */
  if (index >= buffers->len) {
    fb_fail (fb, FV_MODEL_ERROR_FORMAT,
        "tensor refers to buffer %u but the model has %u buffers", index,
        buffers->len);
    return FALSE;
  }
  b = fb_vector_table (fb, buffers, index, "buffer");
  if (fb->error)
    return FALSE;
  v = fb_vector (fb, &b, FV_TFLITE_BUFFER_DATA, 1, "buffer data");
  if (v.present && v.len > 0) {
    *data = fb->d + v.start;
    *size = v.len;
    return TRUE;
  }
  /* Large models keep buffer data after the FlatBuffer: offset/size. */
  off = fb_int (fb, &b, FV_TFLITE_BUFFER_OFFSET, 8, FALSE, 0);
  len = fb_int (fb, &b, FV_TFLITE_BUFFER_SIZE, 8, FALSE, 0);
  if (off > 1 && len > 0) {
    if (!fb_range (fb, off, len, "external buffer"))
      return FALSE;
    *data = fb->d + off;
    *size = len;
  }
  return fb->error == NULL;
}

void
fv_tfl_model_free (FvTflModel * m)
{
  guint i;

  if (!m)
    return;
  for (i = 0; i < m->n_ops; i++) {
    g_free (m->ops[i].inputs);
    g_free (m->ops[i].outputs);
  }
  g_free (m->ops);
  g_free (m->tensors);
  g_free (m->inputs);
  g_free (m->outputs);
  g_free (m->description);
  if (m->strings)
    g_string_chunk_free (m->strings);
  g_free (m);
}

static gboolean
check_index_list (Fb * fb, const gint32 * idx, guint n, guint n_tensors,
    gboolean allow_absent, const char *what)
{
  guint i;

  for (i = 0; i < n; i++) {
    if (idx[i] == -1 && allow_absent)
      continue;
    if (idx[i] < 0 || (guint) idx[i] >= n_tensors) {
      fb_fail (fb, FV_MODEL_ERROR_FORMAT,
          "%s refers to tensor %d but there are %u tensors", what, idx[i],
          n_tensors);
      return FALSE;
    }
  }
  return TRUE;
}

/* The operator code table, decoded once and indexed by the operators. */
typedef struct
{
  guint n;
  gint32 *builtin;
  const char **custom;
  gint32 *version;
} OpCodes;

static void
op_codes_clear (OpCodes * codes)
{
  g_free (codes->builtin);
  g_free (codes->custom);
  g_free (codes->version);
}

static gboolean
parse_op_codes (Fb * fb, const Vec * opcodes, OpCodes * codes)
{
  guint i;

  codes->n = opcodes->len;
  codes->builtin = g_new0 (gint32, MAX (opcodes->len, 1));
  codes->custom = g_new0 (const char *, MAX (opcodes->len, 1));
  codes->version = g_new0 (gint32, MAX (opcodes->len, 1));
  for (i = 0; i < opcodes->len && !fb->error; i++) {
    Table oc = fb_vector_table (fb, opcodes, i, "operator code");
    gint32 dep = fb_int (fb, &oc,
        FV_TFLITE_OPERATOR_CODE_DEPRECATED_BUILTIN_CODE, 1, TRUE, 0);
    gint32 code = fb_int (fb, &oc, FV_TFLITE_OPERATOR_CODE_BUILTIN_CODE, 4,
        TRUE, 0);
    /* A negative deprecated code is no operator at all (not ADD). */
    codes->builtin[i] = dep < 0 ? -1 : MAX (dep, code);
    codes->custom[i] = fb_string (fb, &oc,
        FV_TFLITE_OPERATOR_CODE_CUSTOM_CODE, "custom code");
    codes->version[i] = fb_int (fb, &oc, FV_TFLITE_OPERATOR_CODE_VERSION, 4,
        TRUE, 1);
  }
  return fb->error == NULL;
}

/* Returns FALSE when decoding must stop (the error is then set). */
static gboolean
parse_tensor (Fb * fb, const Table * tt, const Vec * buffers, FvTflTensor * t)
{
  Vec shape = fb_vector (fb, tt, FV_TFLITE_TENSOR_SHAPE, 4, "tensor shape");
  guint32 buf;
  guint j;
  gsize esize;

  t->name = fb_string (fb, tt, FV_TFLITE_TENSOR_NAME, "tensor name");
  if (!t->name)
    t->name = g_string_chunk_insert_const (fb->strings, "");
  t->type = fb_int (fb, tt, FV_TFLITE_TENSOR_TYPE, 1, TRUE, 0);
  if (shape.present)
    t->rank = fb_int_vector (fb, &shape, t->dims, FV_TFL_MAX_RANK,
        "tensor shape");
  for (j = 0; j < t->rank && !fb->error; j++)
    if (t->dims[j] < 0)
      fb_fail (fb, FV_MODEL_ERROR_SHAPE,
          "tensor \"%s\" has a negative dimension %d", t->name, t->dims[j]);
  buf = fb_int (fb, tt, FV_TFLITE_TENSOR_BUFFER, 4, FALSE, 0);
  if (fb_field (fb, tt, FV_TFLITE_TENSOR_SPARSITY, 4))
    fb_fail (fb, FV_MODEL_ERROR_UNSUPPORTED_TYPE,
        "tensor \"%s\" is sparse; sparse tensors are not supported", t->name);
  if (!buffers->present && buf != 0)
    fb_fail (fb, FV_MODEL_ERROR_FORMAT, "model has no buffers");
  if (fb->error || !parse_buffer (fb, buffers, buf, &t->data, &t->data_size))
    return FALSE;
  esize = type_size (t->type);
  if (t->data && esize == 0)
    fb_fail (fb, FV_MODEL_ERROR_UNSUPPORTED_TYPE,
        "tensor \"%s\" has unknown type %d", t->name, t->type);
  if (t->data && (t->type == FV_TFL_TYPE_FLOAT32
          || t->type == FV_TFL_TYPE_INT32)
      && ((guintptr) t->data) % 4 != 0)
    fb_fail (fb, FV_MODEL_ERROR_FORMAT,
        "data of tensor \"%s\" is misaligned", t->name);
  return fb->error == NULL;
}

static gboolean
parse_graph_io (Fb * fb, const Table * sg, FvTflModel * m)
{
  Vec vin = fb_vector (fb, sg, FV_TFLITE_SUBGRAPH_INPUTS, 4,
      "subgraph inputs");
  Vec vout = fb_vector (fb, sg, FV_TFLITE_SUBGRAPH_OUTPUTS, 4,
      "subgraph outputs");

  if (fb->error)
    return FALSE;
  if (vin.len > MAX_OP_IO || vout.len > MAX_OP_IO) {
    fb_fail (fb, FV_MODEL_ERROR_FORMAT, "too many graph inputs/outputs");
    return FALSE;
  }
  parse_io (fb, sg, FV_TFLITE_SUBGRAPH_INPUTS, &m->n_inputs, &m->inputs,
      "subgraph inputs");
  parse_io (fb, sg, FV_TFLITE_SUBGRAPH_OUTPUTS, &m->n_outputs, &m->outputs,
      "subgraph outputs");
  check_index_list (fb, m->inputs, m->n_inputs, m->n_tensors, FALSE,
      "graph input");
  check_index_list (fb, m->outputs, m->n_outputs, m->n_tensors, FALSE,
      "graph output");
  return fb->error == NULL;
}

/* Returns FALSE when decoding must stop (the error is then set). */
static gboolean
parse_op (Fb * fb, const Table * ot, guint i, const OpCodes * codes,
    guint n_tensors, FvTflOp * op)
{
  guint32 oci = fb_int (fb, ot, FV_TFLITE_OPERATOR_OPCODE_INDEX, 4, FALSE, 0);
  Table opt;

  if (fb->error)
    return FALSE;
  if (oci >= codes->n) {
    fb_fail (fb, FV_MODEL_ERROR_FORMAT,
        "operator %u uses operator code %u but there are %u", i, oci, codes->n);
    return FALSE;
  }
  op->builtin = codes->builtin[oci];
  op->version = codes->version[oci];
  op->op_name = fv_tfl_op_name (op->builtin);
  if (op->builtin == 32 && codes->custom[oci]) {
    g_autofree char *custom = g_strdup_printf ("CUSTOM:%s",
        codes->custom[oci]);
    op->op_name = g_string_chunk_insert (fb->strings, custom);
  }
  if (!op->op_name)
    op->op_name = "UNKNOWN";
  parse_io (fb, ot, FV_TFLITE_OPERATOR_INPUTS, &op->n_inputs, &op->inputs,
      "operator inputs");
  parse_io (fb, ot, FV_TFLITE_OPERATOR_OUTPUTS, &op->n_outputs, &op->outputs,
      "operator outputs");
  check_index_list (fb, op->inputs, op->n_inputs, n_tensors, TRUE,
      "operator input");
  check_index_list (fb, op->outputs, op->n_outputs, n_tensors, FALSE,
      "operator output");
  opt = fb_subtable (fb, ot, FV_TFLITE_OPERATOR_BUILTIN_OPTIONS,
      "operator options");
  op->has_options = opt.valid;
  op->dilation_w = op->dilation_h = 1;
  parse_options (fb, &opt, op);
  return fb->error == NULL;
}

static gboolean
check_identifier (const guint8 * data, gsize size, GError ** error)
{
  if (size < 8) {
    g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_FORMAT,
        "file is too short to be a TFLite model (%" G_GSIZE_FORMAT " bytes)",
        size);
    return FALSE;
  }
  if (memcmp (data + 4, "TFL3", 4) != 0) {
    g_set_error (error, FV_MODEL_ERROR, FV_MODEL_ERROR_FORMAT,
        "bad file identifier \"%c%c%c%c\" (expected \"TFL3\"): "
        "not a TFLite model", g_ascii_isprint (data[4]) ? data[4] : '?',
        g_ascii_isprint (data[5]) ? data[5] : '?',
        g_ascii_isprint (data[6]) ? data[6] : '?',
        g_ascii_isprint (data[7]) ? data[7] : '?');
    return FALSE;
  }
  return TRUE;
}

/* Decodes the first subgraph into @m; FALSE with fb->error set on failure. */
static gboolean
parse_model (Fb * fb, FvTflModel * m, OpCodes * codes)
{
  Table root, sg;
  Vec opcodes, subgraphs, buffers, tensors, ops;
  const char *d;
  guint i;

  root = fb_table_at (fb, rd_u32 (fb, 0), "root table");
  m->version = fb_int (fb, &root, FV_TFLITE_MODEL_VERSION, 4, FALSE, 0);
  if (!fb->error && m->version != 3)
    fb_fail (fb, FV_MODEL_ERROR_VERSION,
        "unsupported TFLite schema version %u (expected 3)", m->version);
  d = fb_string (fb, &root, FV_TFLITE_MODEL_DESCRIPTION, "description");
  m->description = g_strdup (d ? d : "");

  opcodes = fb_vector (fb, &root, FV_TFLITE_MODEL_OPERATOR_CODES, 4,
      "operator codes");
  subgraphs = fb_vector (fb, &root, FV_TFLITE_MODEL_SUBGRAPHS, 4, "subgraphs");
  buffers = fb_vector (fb, &root, FV_TFLITE_MODEL_BUFFERS, 4, "buffers");
  if (fb->error)
    return FALSE;
  if (subgraphs.len < 1) {
    fb_fail (fb, FV_MODEL_ERROR_FORMAT, "model has no subgraph");
    return FALSE;
  }
  if (opcodes.len > 1000) {
    fb_fail (fb, FV_MODEL_ERROR_FORMAT, "%u operator codes is too many",
        opcodes.len);
    return FALSE;
  }
  if (!parse_op_codes (fb, &opcodes, codes))
    return FALSE;

  sg = fb_vector_table (fb, &subgraphs, 0, "subgraph");
  tensors = fb_vector (fb, &sg, FV_TFLITE_SUBGRAPH_TENSORS, 4, "tensors");
  ops = fb_vector (fb, &sg, FV_TFLITE_SUBGRAPH_OPERATORS, 4, "operators");
  if (fb->error)
    return FALSE;
  if (tensors.len > MAX_TENSORS || ops.len > MAX_OPS) {
    fb_fail (fb, FV_MODEL_ERROR_FORMAT,
        "%u tensors and %u operators is too many", tensors.len, ops.len);
    return FALSE;
  }

  m->n_tensors = tensors.len;
  m->tensors = g_new0 (FvTflTensor, MAX (tensors.len, 1));
  for (i = 0; i < tensors.len && !fb->error; i++) {
    Table tt = fb_vector_table (fb, &tensors, i, "tensor");

    if (!parse_tensor (fb, &tt, &buffers, &m->tensors[i]))
      break;
  }
  if (fb->error || !parse_graph_io (fb, &sg, m))
    return FALSE;

  m->ops = g_new0 (FvTflOp, MAX (ops.len, 1));
  for (i = 0; i < ops.len && !fb->error; i++) {
    Table ot = fb_vector_table (fb, &ops, i, "operator");

    m->n_ops = i + 1;
    if (!parse_op (fb, &ot, i, codes, m->n_tensors, &m->ops[i]))
      break;
  }
  return fb->error == NULL;
}

/**
 * fv_tfl_model_parse:
 * @data: (array length=size): the file contents, kept alive by the caller
 *   while the result is in use
 * @size: number of bytes
 * @error: return location for an %FV_MODEL_ERROR
 *
 * Decodes the first subgraph of a TFLite model.
 *
 * Returns: (transfer full) (nullable): the decoded model
 */
FvTflModel *
fv_tfl_model_parse (const guint8 * data, gsize size, GError ** error)
{
  Fb fb = { data, size, NULL, NULL };
  g_autoptr (FvTflModel) m = g_new0 (FvTflModel, 1);
  OpCodes codes = { 0, };
  gboolean ok;

  m->strings = fb.strings = g_string_chunk_new (1024);
  if (!check_identifier (data, size, error))
    return NULL;
  ok = parse_model (&fb, m, &codes);
  op_codes_clear (&codes);
  if (!ok) {
    g_propagate_error (error, fb.error);
    return NULL;
  }
  return g_steal_pointer (&m);
}
