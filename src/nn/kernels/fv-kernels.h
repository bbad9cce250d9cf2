/* The kernel dispatch table: one entry per instruction-set level, chosen
 * once when a model is loaded. Each family has a scalar version (the
 * reference in tests) and SIMD versions for the levels that are built. */
#ifndef FV_KERNELS_H
#define FV_KERNELS_H

#include "fv.h"
#include "gemm.h"
#include "dwconv.h"
#include "conv.h"

typedef struct
{
  FvIsa isa;
  /* 1x1 convolution and fully connected */
  FvGemmFn gemm;
  size_t gemm_mr;               /* rows per tile: threads split rows at it */
  size_t gemm_nr;               /* columns per packed weight panel */
  const char *gemm_name;
  /* depthwise 3x3, stride 1 and 2 */
  FvDwconvFn dwconv3x3;
  const char *dwconv3x3_name;
  /* depthwise, any size (the 7x7 global depthwise) */
  FvDwconvFn dwconv;
  const char *dwconv_name;
  /* direct convolution (stem, MTCNN) */
  FvConvFn conv;
  const char *conv_name;
  /* channel padding of packed depthwise/conv weights */
  size_t c_align;
} FvKernelTable;

G_BEGIN_DECLS

/* The table for @isa, or NULL if this build has no kernels for it. */
const FvKernelTable *fv_kernel_table_get (FvIsa isa);

G_END_DECLS

#endif /* FV_KERNELS_H */
