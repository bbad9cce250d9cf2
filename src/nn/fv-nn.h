/* Internal definitions shared by the model, the session and the ops. */
#ifndef FV_NN_H
#define FV_NN_H

#include "fv-graph.h"
#include "kernels/fv-kernels.h"

G_BEGIN_DECLS

typedef enum
{
  FV_LAYER_GEMM,                /* 1x1 convolution, stride 1 */
  FV_LAYER_FC,                  /* fully connected, as a GEMM */
  FV_LAYER_CONV,                /* direct KxK convolution */
  FV_LAYER_DWCONV3X3,
  FV_LAYER_DWCONV,              /* any size, e.g. the 7x7 global one */
  FV_LAYER_MAXPOOL,
  FV_LAYER_ELEMENTWISE,         /* binary or unary, generic */
  FV_LAYER_REDUCE,
  FV_LAYER_PRELU,
  FV_LAYER_SOFTMAX,
  FV_LAYER_RESHAPE,             /* no work: the output aliases the input */
  FV_LAYER_KIND_COUNT
} FvLayerKind;

typedef struct
{
  FvLayerKind kind;
  FvNodeType op;
  const char *name;             /* output tensor name */
  int x, y, out;
  FvAct act;
  guint kh, kw, stride_h, stride_w;
  FvPadding padding;
  guint in_c, out_c;            /* channels (k and n of a GEMM) */
  /* Packed constants (aligned, owned). */
  float *w, *bias, *alpha;
  gsize c_pad;
} FvLayer;

struct _FvModel
{
  gint ref_count;
  char *sha256;
  FvIsa isa;
  const FvKernelTable *kt;
  FvGraph *graph;
  FvLayer *layers;
  guint n_layers;
  char *kernels_desc;
  /* The file identity under which the model is in the process-wide
   * cache (fv_model_get_shared()), or NULL. */
  struct _FvModelKey *cache_key;
};

const char *fv_layer_kind_name (FvLayerKind kind);

/* Session-time fusions (fv-fuse.c). */
gboolean fv_fuse_pool (const FvModel * model, const FvShape * shapes,
    guint i);
gboolean fv_fuse_gemm_pair (const FvModel * model, guint i);
float *fv_fuse_pack_pair (const FvModel * model, const FvLayer * a,
    const FvLayer * l);

/* Generic scalar ops (fv-ops.c) for the layers that no kernel family
 * covers. Shapes are those of the planned maximum batch with dims[0]
 * replaced by the batch being run. */
void fv_op_binary (FvNodeType op, FvAct act, const float *x,
    const FvShape * xs, const float *y, const FvShape * ys, float *out,
    const FvShape * os);
void fv_op_unary (FvNodeType op, const float *x, float *out, gsize n);
void fv_op_reduce_last (FvNodeType op, const float *x, float *out,
    gsize rows, gsize len);
void fv_op_softmax_last (const float *x, float *out, gsize rows, gsize len);
void fv_op_prelu (const float *x, const float *alpha, float *out,
    gsize rows, gsize c);

G_END_DECLS

#endif /* FV_NN_H */
