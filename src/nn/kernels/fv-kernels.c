#include "fv-config.h"
#include "fv-kernels.h"

static const FvKernelTable scalar_table = {
  .isa = FV_ISA_SCALAR,
  .gemm = fv_f32_gemm_ukernel_4x8__scalar,
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

const FvKernelTable *
fv_kernel_table_get (FvIsa isa)
{
  switch (isa) {
    case FV_ISA_SCALAR:
      return &scalar_table;
    default:
      return NULL;
  }
}
