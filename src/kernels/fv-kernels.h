/* The kernel room's one header: the families' parameter blocks, every
 * micro-kernel's prototype (from fv-ukernels.inc) and the dispatch table,
 * one per instruction-set level, chosen once when a model is loaded.
 * Needs only libc and fv-prelude.h. */
#ifndef FV_KERNELS_H
#define FV_KERNELS_H

#include "fv-prelude.h"
#include "gemm.h"
#include "dwconv.h"
#include "conv.h"
#include "pool.h"
#include "dotrows.h"

FV_BEGIN_DECLS typedef struct
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
  /* max pooling (MTCNN) */
  FvPoolFn maxpool;
  const char *maxpool_name;
  /* the gallery's dot-product scan */
  FvScanFn dotrows;
  const char *dotrows_name;
  /* the same over half-float rows */
  FvScanF16Fn dotrows_f16;
  const char *dotrows_f16_name;
  /* channel padding of packed depthwise/conv weights */
  size_t c_align;
} FvKernelTable;

/* FV_IF_BUILT_<ISA> (...) keeps its arguments when this build has the
 * kernels of that level (FV_HAVE_<ISA>, set by meson.build). */
#define FV_IF_BUILT_SCALAR(...) __VA_ARGS__
#ifdef FV_HAVE_AVX2
#define FV_IF_BUILT_AVX2(...) __VA_ARGS__
#else
#define FV_IF_BUILT_AVX2(...)
#endif
#ifdef FV_HAVE_AVX512
#define FV_IF_BUILT_AVX512(...) __VA_ARGS__
#else
#define FV_IF_BUILT_AVX512(...)
#endif
#ifdef FV_HAVE_NEON
#define FV_IF_BUILT_NEON(...) __VA_ARGS__
#else
#define FV_IF_BUILT_NEON(...)
#endif

#define FV_UKERNEL_GEMM(isa, name, mr, nr) \
  void name (const FvGemmParams * p, size_t m0, size_t m1);
#define FV_UKERNEL_DWCONV3X3(isa, name) \
  void name (const FvDwconvParams * p, size_t r0, size_t r1);
#define FV_UKERNEL_DWCONV(isa, name) \
  void name (const FvDwconvParams * p, size_t r0, size_t r1);
#define FV_UKERNEL_CONV(isa, name) \
  void name (const FvConvParams * p, size_t r0, size_t r1);
#define FV_UKERNEL_MAXPOOL(isa, name) \
  void name (const FvPoolParams * p, size_t r0, size_t r1);
#define FV_UKERNEL_DOTROWS(isa, name, f16) \
  void name (size_t n_rows, size_t dim, const float *rows, size_t stride, \
      size_t n_queries, const float *const *queries, float *scores, \
      size_t score_stride); \
  void f16 (size_t n_rows, size_t dim, const uint16_t * rows, \
      size_t stride, size_t n_queries, const float *const *queries, \
      float *scores, size_t score_stride);
#include "fv-ukernels.inc"

/* The table for @isa, or NULL if this build has no kernels for it. */
const FvKernelTable *fv_kernel_table_get (FvIsa isa);

FV_END_DECLS
#endif /* FV_KERNELS_H */
