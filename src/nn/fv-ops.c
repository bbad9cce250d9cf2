/* Generic elementwise and reduction ops (max pooling is a kernel family,
 * src/kernels/pool-*.c). MobileFaceNet needs none
 * of them after fusion; they serve MTCNN and any graph that the passes
 * could not fuse. */
#include "fv-nn.h"

#include <math.h>
#include <string.h>

static inline float
apply_binary (FvNodeType op, float a, float b)
{
  switch (op) {
    case FV_NODE_ADD:
      return a + b;
    case FV_NODE_SUB:
      return a - b;
    case FV_NODE_MUL:
      return a * b;
    default:
      return a / b;
  }
}

/* Right-aligns @s to rank 4 and gives broadcast strides against @o. */
static void
bcast_strides (const FvShape * s, const FvShape * o, gsize strides[4])
{
  guint d[4] = { 1, 1, 1, 1 };
  gsize acc = 1;
  int i;

  for (i = 0; i < (int) s->rank; i++)
    d[4 - s->rank + i] = s->dims[i];
  for (i = 3; i >= 0; i--) {
    guint od = (i >= 4 - (int) o->rank) ? o->dims[i - (4 - o->rank)] : 1;
    strides[i] = (d[i] == 1 && od != 1) ? 0 : acc;
    acc *= d[i];
  }
}

void
fv_op_binary (FvNodeType op, FvAct act, const float *x, const FvShape * xs,
    const float *y, const FvShape * ys, float *out, const FvShape * os)
{
  gsize sx[4], sy[4], n = fv_shape_elems (os);
  guint od[4] = { 1, 1, 1, 1 };
  gsize i0, i1, i2, i3, k = 0;
  guint i;

  if (fv_shape_elems (xs) == n && fv_shape_elems (ys) == n) {
    for (k = 0; k < n; k++)
      out[k] = apply_binary (op, x[k], y[k]);
  } else {
    for (i = 0; i < os->rank; i++)
      od[4 - os->rank + i] = os->dims[i];
    bcast_strides (xs, os, sx);
    bcast_strides (ys, os, sy);
    for (i0 = 0; i0 < od[0]; i0++)
      for (i1 = 0; i1 < od[1]; i1++)
        for (i2 = 0; i2 < od[2]; i2++) {
          const float *xp = x + i0 * sx[0] + i1 * sx[1] + i2 * sx[2];
          const float *yp = y + i0 * sy[0] + i1 * sy[1] + i2 * sy[2];
          for (i3 = 0; i3 < od[3]; i3++, k++)
            out[k] = apply_binary (op, xp[i3 * sx[3]], yp[i3 * sy[3]]);
        }
  }
  if (act == FV_ACT_RELU)
    for (k = 0; k < n; k++)
      out[k] = out[k] > 0.0f ? out[k] : 0.0f;
}

void
fv_op_unary (FvNodeType op, const float *x, float *out, gsize n)
{
  gsize i;

  switch (op) {
    case FV_NODE_RELU:
      for (i = 0; i < n; i++)
        out[i] = x[i] > 0.0f ? x[i] : 0.0f;
      break;
    case FV_NODE_ABS:
      for (i = 0; i < n; i++)
        out[i] = fabsf (x[i]);
      break;
    case FV_NODE_NEG:
      for (i = 0; i < n; i++)
        out[i] = -x[i];
      break;
    case FV_NODE_EXP:
      for (i = 0; i < n; i++)
        out[i] = expf (x[i]);
      break;
    default:
      g_return_if_reached ();
  }
}

void
fv_op_reduce_last (FvNodeType op, const float *x, float *out, gsize rows,
    gsize len)
{
  gsize r, i;

  for (r = 0; r < rows; r++, x += len) {
    float acc = op == FV_NODE_SUM ? 0.0f : x[0];
    for (i = op == FV_NODE_SUM ? 0 : 1; i < len; i++)
      acc = op == FV_NODE_SUM ? acc + x[i] : MAX (acc, x[i]);
    out[r] = acc;
  }
}

void
fv_op_softmax_last (const float *x, float *out, gsize rows, gsize len)
{
  gsize r, i;

  for (r = 0; r < rows; r++, x += len, out += len) {
    float mx = x[0], sum = 0.0f;
    for (i = 1; i < len; i++)
      mx = MAX (mx, x[i]);
    for (i = 0; i < len; i++) {
      const float d = x[i] - mx;
      /* expf (0) is exactly 1: the maximum's term needs no call (half of
       * the calls for P-Net's two classes, on every cell of every level). */
      out[i] = d == 0.0f ? 1.0f : expf (d);
      sum += out[i];
    }
    for (i = 0; i < len; i++)
      out[i] /= sum;
  }
}

void
fv_op_prelu (const float *x, const float *alpha, float *out, gsize rows,
    gsize c)
{
  gsize r, i;

  for (r = 0; r < rows; r++, x += c, out += c)
    for (i = 0; i < c; i++)
      out[i] = x[i] >= 0.0f ? x[i] : x[i] * alpha[i];
}
