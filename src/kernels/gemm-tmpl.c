/* GEMM for 1x1 convolutions: tiles of FV_GEMM_MR rows x FV_GEMM_NR
 * columns (two vectors), written once against simd/f32-<isa>.h and
 * compiled once per instruction set (meson.build passes FV_SIMD_HEADER).
 * A panel of at most one vector of columns (MTCNN's heads: 2, 4 and 10
 * outputs) computes one vector only. */
#include FV_SIMD_HEADER
#include "fv-ukernel-name.h"
#include "fv-kernels.h"

#define MR FV_GEMM_MR
#define NR FV_GEMM_NR
#define VL FV_VL

FV_INLINE void
store_row (const FvGemmParams * p, size_t m, size_t col0, size_t ncols,
    fv_vf v0, fv_vf v1, fv_vf al0, fv_vf al1)
{
  float *c = p->c + m * p->c_stride + col0;

  if (p->c2) {
    float t[2 * VL];
    fv_vstoreu (t, v0);
    fv_vstoreu (t + VL, v1);
    fv_gemm_store_split (p, m, col0, ncols, t);
    return;
  }
  if (p->alpha) {
    v0 = fv_vprelu (v0, al0);
    v1 = fv_vprelu (v1, al1);
  }
  if (ncols == NR) {
    if (p->res) {
      const float *r = p->res + m * p->res_stride + col0;
      v0 = fv_vadd (v0, fv_vloadu (r));
      v1 = fv_vadd (v1, fv_vloadu (r + VL));
    }
    fv_vstoreu (c, v0);
    fv_vstoreu (c + VL, v1);
  } else {
    fv_vmask m0, m1;
    fv_vmask_tail2 (ncols, &m0, &m1);
    if (p->res) {
      const float *r = p->res + m * p->res_stride + col0;
      v0 = fv_vadd (v0, fv_vload_mask (r, m0));
      v1 = fv_vadd (v1, fv_vload_mask (r + VL, m1));
    }
    fv_vstore_mask (c, m0, v0);
    fv_vstore_mask (c + VL, m1, v1);
  }
}

/* A row of a panel of at most one vector of columns. */
FV_INLINE void
store_row1 (const FvGemmParams * p, size_t m, size_t col0, size_t ncols,
    fv_vf v0, fv_vf al0)
{
  float *c = p->c + m * p->c_stride + col0;
  const fv_vmask m0 = fv_vmask_tail (ncols);

  if (p->c2) {
    float t[VL];
    fv_vstoreu (t, v0);
    fv_gemm_store_split (p, m, col0, ncols, t);
    return;
  }
  if (p->alpha)
    v0 = fv_vprelu (v0, al0);
  if (p->res)
    v0 = fv_vadd (v0, fv_vload_mask (p->res + m * p->res_stride + col0, m0));
  fv_vstore_mask (c, m0, v0);
}

/* One tile of mr (a constant after inlining) rows and one panel of at
 * most VL columns. */
FV_INLINE void
tile1 (const FvGemmParams * p, size_t m, const size_t mr, size_t pn)
{
  const size_t k = p->k;
  const size_t col0 = pn * NR;
  const size_t ncols = p->n - col0;
  const float *w = p->w + pn * NR * (k + 1);
  const float *a[MR];
  fv_vf acc0[MR];
  fv_vf al0 = fv_vzero ();

#pragma GCC unroll 8
  for (size_t i = 0; i < mr; i++) {
    a[i] = p->a + (m + i) * p->a_stride;
    acc0[i] = fv_vloadu (w);
  }
  w += NR;
  for (size_t kk = 0; kk < k; kk++, w += NR) {
    const fv_vf w0 = fv_vloadu (w);
#pragma GCC unroll 8
    for (size_t i = 0; i < mr; i++)
      acc0[i] = fv_vfmadd (fv_vset1 (a[i][kk]), w0, acc0[i]);
  }
  if (p->alpha)
    al0 = fv_vloadu (p->alpha + col0);
#pragma GCC unroll 8
  for (size_t i = 0; i < mr; i++)
    store_row1 (p, m + i, col0, ncols, acc0[i], al0);
}

/* One tile of mr (a constant after inlining) rows and one panel. */
FV_INLINE void
tile (const FvGemmParams * p, size_t m, const size_t mr, size_t pn)
{
  const size_t k = p->k;
  const size_t col0 = pn * NR;
  const size_t ncols = p->n - col0 < NR ? p->n - col0 : NR;
  const float *w = p->w + pn * NR * (k + 1);
  const float *a[MR];
  fv_vf acc0[MR], acc1[MR];
  fv_vf al0 = fv_vzero (), al1 = fv_vzero ();

#pragma GCC unroll 8
  for (size_t i = 0; i < mr; i++) {
    a[i] = p->a + (m + i) * p->a_stride;
    acc0[i] = fv_vloadu (w);
    acc1[i] = fv_vloadu (w + VL);
  }
  w += NR;
  for (size_t kk = 0; kk < k; kk++, w += NR) {
    const fv_vf w0 = fv_vloadu (w);
    const fv_vf w1 = fv_vloadu (w + VL);
#pragma GCC unroll 8
    for (size_t i = 0; i < mr; i++) {
      const fv_vf av = fv_vset1 (a[i][kk]);
      acc0[i] = fv_vfmadd (av, w0, acc0[i]);
      acc1[i] = fv_vfmadd (av, w1, acc1[i]);
    }
  }
  if (p->alpha) {
    al0 = fv_vloadu (p->alpha + col0);
    al1 = fv_vloadu (p->alpha + col0 + VL);
  }
#pragma GCC unroll 8
  for (size_t i = 0; i < mr; i++)
    store_row (p, m + i, col0, ncols, acc0[i], acc1[i], al0, al1);
}

FV_INLINE void
rows (const FvGemmParams * p, size_t m, const size_t mr)
{
  const size_t panels = (p->n + NR - 1) / NR;

  for (size_t pn = 0; pn < panels; pn++) {
    if (p->n - pn * NR <= VL)
      tile1 (p, m, mr, pn);
    else
      tile (p, m, mr, pn);
  }
}

void
FV_UKERNEL_NAME (f32_gemm_ukernel_, FV_GEMM_TILE) (const FvGemmParams * p,
    size_t m0, size_t m1)
{
  size_t m = m0;

  for (; m + MR <= m1; m += MR)
    rows (p, m, MR);
  /* The rest as one shorter tile, its row count a constant. */
  switch (m1 - m) {
#if MR > 7
    case 7:
      rows (p, m, 7);
      break;
#endif
#if MR > 6
    case 6:
      rows (p, m, 6);
      break;
#endif
    case 5:
      rows (p, m, 5);
      break;
    case 4:
      rows (p, m, 4);
      break;
    case 3:
      rows (p, m, 3);
      break;
    case 2:
      rows (p, m, 2);
      break;
    case 1:
      rows (p, m, 1);
      break;
    default:
      break;
  }
}
