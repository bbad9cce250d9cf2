/* The kernel tables, one per instruction-set level. A level's table
 * exists only when its kernels were built (FV_HAVE_<ISA>, set by
 * meson.build); the model picks one once, at load time. */
#include "fv-config.h"
#include "fv-kernels.h"

static const FvKernelTable scalar_table = {
  .isa = FV_ISA_SCALAR,
  .gemm = fv_f32_gemm_ukernel_4x8__scalar,
  .gemm_mr = 4,
  .gemm_nr = 8,
  .gemm_name = "fv_f32_gemm_ukernel_4x8__scalar",
  .dwconv3x3 = fv_f32_dwconv_ukernel__scalar,
  .dwconv3x3_name = "fv_f32_dwconv_ukernel__scalar",
  .dwconv = fv_f32_dwconv_ukernel__scalar,
  .dwconv_name = "fv_f32_dwconv_ukernel__scalar",
  .conv = fv_f32_conv_ukernel__scalar,
  .conv_name = "fv_f32_conv_ukernel__scalar",
  .c_align = 16,
};

#ifdef FV_HAVE_AVX2
static const FvKernelTable avx2_table = {
  .isa = FV_ISA_AVX2,
  .gemm = fv_f32_gemm_ukernel_6x16__avx2,
  .gemm_mr = 6,
  .gemm_nr = 16,
  .gemm_name = "fv_f32_gemm_ukernel_6x16__avx2",
  .dwconv3x3 = fv_f32_dwconv3x3_prelu_ukernel_c8__avx2,
  .dwconv3x3_name = "fv_f32_dwconv3x3_prelu_ukernel_c8__avx2",
  .dwconv = fv_f32_dwconv_ukernel_c8__avx2,
  .dwconv_name = "fv_f32_dwconv_ukernel_c8__avx2",
  .conv = fv_f32_conv_prelu_ukernel_2x32__avx2,
  .conv_name = "fv_f32_conv_prelu_ukernel_2x32__avx2",
  .c_align = 16,
};
#endif

#ifdef FV_HAVE_AVX512
static const FvKernelTable avx512_table = {
  .isa = FV_ISA_AVX512,
  .gemm = fv_f32_gemm_ukernel_7x32__avx512,
  .gemm_mr = 7,
  .gemm_nr = 32,
  .gemm_name = "fv_f32_gemm_ukernel_7x32__avx512",
  .dwconv3x3 = fv_f32_dwconv3x3_prelu_ukernel_c16__avx512,
  .dwconv3x3_name = "fv_f32_dwconv3x3_prelu_ukernel_c16__avx512",
  .dwconv = fv_f32_dwconv_ukernel_c16__avx512,
  .dwconv_name = "fv_f32_dwconv_ukernel_c16__avx512",
  .conv = fv_f32_conv_prelu_ukernel_4x64__avx512,
  .conv_name = "fv_f32_conv_prelu_ukernel_4x64__avx512",
  .c_align = 16,
};
#endif

#ifdef FV_HAVE_NEON
#include "fv-kernels-neon.h"

static const FvKernelTable neon_table = {
  .isa = FV_ISA_NEON,
  .gemm = fv_f32_gemm_ukernel_8x8__neon,
  .gemm_mr = 8,
  .gemm_nr = FV_GEMM_NEON_NR,
  .gemm_name = "fv_f32_gemm_ukernel_8x8__neon",
  .dwconv3x3 = fv_f32_dwconv3x3_prelu_ukernel_c8__neon,
  .dwconv3x3_name = "fv_f32_dwconv3x3_prelu_ukernel_c8__neon",
  .dwconv = fv_f32_dwconv_ukernel_c16__neon,
  .dwconv_name = "fv_f32_dwconv_ukernel_c16__neon",
  .conv = fv_f32_conv_prelu_ukernel_4x16__neon,
  .conv_name = "fv_f32_conv_prelu_ukernel_4x16__neon",
  .c_align = 16,
};
#endif

const FvKernelTable *
fv_kernel_table_get (FvIsa isa)
{
  switch (isa) {
    case FV_ISA_SCALAR:
      return &scalar_table;
#ifdef FV_HAVE_AVX2
    case FV_ISA_AVX2:
      return &avx2_table;
#endif
#ifdef FV_HAVE_AVX512
    case FV_ISA_AVX512:
      return &avx512_table;
#endif
#ifdef FV_HAVE_NEON
    case FV_ISA_NEON:
      return &neon_table;
#endif
    default:
      return NULL;
  }
}
