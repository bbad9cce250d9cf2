/* Kernel names in the templates: FV_UKERNEL_NAME (f32_gemm_ukernel_,
 * FV_GEMM_TILE) is fv_f32_gemm_ukernel_6x16__avx2 when built with
 * simd/f32-avx2.h. */
#ifndef FV_UKERNEL_NAME_H
#define FV_UKERNEL_NAME_H

#define FV_PASTE3_(a, b, c) fv_##a##b##__##c
#define FV_PASTE3(a, b, c) FV_PASTE3_(a, b, c)
#define FV_UKERNEL_NAME(op, tile) FV_PASTE3 (op, tile, FV_ISA_SUFFIX)

#endif /* FV_UKERNEL_NAME_H */
