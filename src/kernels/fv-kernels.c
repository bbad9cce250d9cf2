/* The kernel tables, one per instruction-set level, filled from
 * fv-ukernels.inc. A level's table exists only when its kernels were
 * built (FV_HAVE_<ISA>); the model picks one once, at load time. */
#include "fv-kernels.h"

#define FV_UKERNEL_LEVEL(level, align) FV_IF_BUILT_##level ( \
    [FV_ISA_##level].isa = FV_ISA_##level, \
    [FV_ISA_##level].c_align = align,)
#define FV_UKERNEL_GEMM(level, name, mr, nr) FV_IF_BUILT_##level ( \
    [FV_ISA_##level].gemm = name, \
    [FV_ISA_##level].gemm_mr = mr, \
    [FV_ISA_##level].gemm_nr = nr, \
    [FV_ISA_##level].gemm_name = #name,)
#define FV_UKERNEL_DWCONV3X3(level, name) FV_IF_BUILT_##level ( \
    [FV_ISA_##level].dwconv3x3 = name, \
    [FV_ISA_##level].dwconv3x3_name = #name,)
#define FV_UKERNEL_DWCONV(level, name) FV_IF_BUILT_##level ( \
    [FV_ISA_##level].dwconv = name, \
    [FV_ISA_##level].dwconv_name = #name,)
#define FV_UKERNEL_CONV(level, name) FV_IF_BUILT_##level ( \
    [FV_ISA_##level].conv = name, \
    [FV_ISA_##level].conv_name = #name,)
#define FV_UKERNEL_MAXPOOL(level, name) FV_IF_BUILT_##level ( \
    [FV_ISA_##level].maxpool = name, \
    [FV_ISA_##level].maxpool_name = #name,)
#define FV_UKERNEL_DOTROWS(level, name, f16) FV_IF_BUILT_##level ( \
    [FV_ISA_##level].dotrows = name, \
    [FV_ISA_##level].dotrows_name = #name, \
    [FV_ISA_##level].dotrows_f16 = f16, \
    [FV_ISA_##level].dotrows_f16_name = #f16,)

static const FvKernelTable tables[FV_ISA_COUNT] = {
#include "fv-ukernels.inc"
};

const FvKernelTable *
fv_kernel_table_get (FvIsa isa)
{
  if ((unsigned) isa >= FV_ISA_COUNT || tables[isa].gemm == NULL)
    return NULL;
  return &tables[isa];
}
