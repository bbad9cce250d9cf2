/* AArch64 Advanced SIMD kernels (gemm-neon.c, dwconv-neon.c, conv-neon.c).
 * Advanced SIMD is part of the AArch64 base ISA, so these files need no
 * extra compiler flags; they are built only when the host is aarch64. */
#ifndef FV_KERNELS_NEON_H
#define FV_KERNELS_NEON_H

#include "gemm.h"
#include "dwconv.h"
#include "conv.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Panels of 8 output channels, tiles of 8 rows (4, 2, 1 for the rest). */
#define FV_GEMM_NEON_NR 8

void fv_f32_gemm_ukernel_8x8__neon (const FvGemmParams * p, size_t m0,
    size_t m1);

/* 3x3 only (any stride and padding); other sizes go to the generic one. */
void fv_f32_dwconv3x3_prelu_ukernel_c8__neon (const FvDwconvParams * p,
    size_t r0, size_t r1);
void fv_f32_dwconv_ukernel_c16__neon (const FvDwconvParams * p, size_t r0,
    size_t r1);

void fv_f32_conv_prelu_ukernel_4x16__neon (const FvConvParams * p, size_t r0,
    size_t r1);

#ifdef __cplusplus
}
#endif

#endif /* FV_KERNELS_NEON_H */
