/* Depthwise convolution, FV_VL channels per vector, written once against
 * simd/f32-<isa>.h and compiled once per instruction set.
 *
 * The 3x3 kernel walks one output row per channel group, so that the nine
 * weight vectors stay in registers for the whole row; FV_DWCONV_TILE
 * output pixels are computed at once to have that many FMA chains in
 * flight. Rows above or below the input get zero weights (and a valid row
 * pointer), so only the first and last columns need bounds checks. */
#include FV_SIMD_HEADER
#include "fv-ukernel-name.h"
#include "fv-kernels.h"
#include "clip.h"

#include <stdint.h>

#define TILE FV_DWCONV_TILE
#define VL FV_VL
#define DWCONV3X3 FV_UKERNEL_NAME (f32_dwconv3x3_prelu_ukernel_, FV_DWCONV_CTILE)
#define DWCONV FV_UKERNEL_NAME (f32_dwconv_ukernel_, FV_DWCONV_CTILE)

FV_INLINE fv_vf
load (const float *p, bool tail, fv_vmask mask)
{
  return tail ? fv_vload_mask (p, mask) : fv_vloadu (p);
}

FV_INLINE void
store (float *p, fv_vf v, bool tail, fv_vmask mask)
{
  if (tail)
    fv_vstore_mask (p, mask, v);
  else
    fv_vstoreu (p, v);
}

FV_INLINE fv_vf
epilogue (fv_vf v, bool prelu, fv_vf alpha)
{
  if (prelu)
    v = fv_vprelu (v, alpha);
  return v;
}

/* Columns [kx0, kx1) (constants after inlining) of output pixel ox. */
FV_INLINE void
edge_cols (const FvDwconvParams * p, const float *const row[3],
    const fv_vf w[9], fv_vf bias, fv_vf alpha, bool prelu, size_t ox,
    float *out, size_t cg, bool tail, fv_vmask mask, const size_t kx0,
    const size_t kx1)
{
  const size_t c = p->c;
  const size_t ix = ox * p->stride_w + kx0 - p->pad_left;
  /* One chain per kernel row: short chains for a lone pixel. */
  fv_vf acc[3] = { bias, fv_vzero (), fv_vzero () };

  for (size_t kx = kx0; kx < kx1; kx++)
    for (size_t ky = 0; ky < 3; ky++)
      acc[ky] = fv_vfmadd (load (row[ky] + (ix + kx - kx0) * c + cg, tail,
              mask), w[ky * 3 + kx], acc[ky]);
  acc[0] = fv_vadd (acc[0], fv_vadd (acc[1], acc[2]));
  store (out + ox * c + cg, epilogue (acc[0], prelu, alpha), tail, mask);
}

/* Output pixel ox of one channel group, at the left or right border. */
FV_INLINE void
edge_pixel (const FvDwconvParams * p, const float *const row[3],
    const fv_vf w[9], fv_vf bias, fv_vf alpha, bool prelu, size_t ox,
    float *out, size_t cg, bool tail, fv_vmask mask)
{
  const ptrdiff_t ix0 = (ptrdiff_t) (ox * p->stride_w)
      - (ptrdiff_t) p->pad_left;
  const size_t kx0 = fv_clip_lo (ix0);
  const size_t kx1 = fv_clip_hi (ix0, 3, p->in_w);

  /* The two cases of 3x3 SAME padding get unrolled code. */
  if (kx0 == 1 && kx1 == 3)
    edge_cols (p, row, w, bias, alpha, prelu, ox, out, cg, tail, mask, 1, 3);
  else if (kx0 == 0 && kx1 == 2)
    edge_cols (p, row, w, bias, alpha, prelu, ox, out, cg, tail, mask, 0, 2);
  else if (kx0 < kx1)
    edge_cols (p, row, w, bias, alpha, prelu, ox, out, cg, tail, mask, kx0,
        kx1);
  else
    store (out + ox * p->c + cg, epilogue (bias, prelu, alpha), tail, mask);
}

/* npx (a constant) consecutive interior outputs of one channel group,
 * stride s (a constant). Each input column is loaded once and feeds every
 * output whose window covers it; the npx accumulators are independent
 * FMA chains. */
FV_INLINE void
tile (const float *const in[3], size_t c, const size_t s, const size_t npx,
    const fv_vf w[9], fv_vf bias, fv_vf alpha, bool prelu, float *o,
    bool tail, fv_vmask mask)
{
  fv_vf acc[TILE];

#pragma GCC unroll 8
  for (size_t j = 0; j < npx; j++)
    acc[j] = bias;
#pragma GCC unroll 3
  for (size_t r = 0; r < 3; r++) {
#pragma GCC unroll 17
    for (size_t col = 0; col < s * (npx - 1) + 3; col++) {
      fv_vf x = load (in[r] + col * c, tail, mask);
      /* Keeps x in a register for its (up to three) uses: GCC would
       * otherwise load it again as a memory operand of each FMA. */
      FV_VKEEP (x);
#pragma GCC unroll 8
      for (size_t j = 0; j < npx; j++) {
        const ptrdiff_t kx = (ptrdiff_t) col - (ptrdiff_t) (s * j);
        if (kx >= 0 && kx <= 2)
          acc[j] = fv_vfmadd (x, w[r * 3 + (size_t) kx], acc[j]);
      }
    }
  }
#pragma GCC unroll 8
  for (size_t j = 0; j < npx; j++)
    store (o + j * c, epilogue (acc[j], prelu, alpha), tail, mask);
}

/* One output row of one channel group. */
FV_INLINE void
row_group (const FvDwconvParams * p, const float *const row[3],
    const bool valid[3], size_t ox_lo, size_t ox_hi, float *out, size_t cg,
    bool tail, fv_vmask mask, bool prelu, const size_t s)
{
  const size_t c = p->c;
  const fv_vf bias = fv_vloadu (p->bias + cg);
  const fv_vf alpha = prelu ? fv_vloadu (p->alpha + cg)
      : fv_vzero ();
  fv_vf w[9];
  size_t ox;

  for (size_t t = 0; t < 9; t++)
    w[t] = valid[t / 3] ? fv_vloadu (p->w + t * p->c_pad + cg)
        : fv_vzero ();

  for (ox = 0; ox < ox_lo; ox++)
    edge_pixel (p, row, w, bias, alpha, prelu, ox, out, cg, tail, mask);
  if (ox < ox_hi) {
    const size_t ix0 = ox * s - p->pad_left;
    const float *in[3] = {
      row[0] + ix0 * c + cg, row[1] + ix0 * c + cg, row[2] + ix0 * c + cg
    };
    float *o = out + ox * c + cg;

    if (tail) {
      /* Only when the channels are not a multiple of the vector. */
      for (; ox < ox_hi; ox++) {
        tile (in, c, s, 1, w, bias, alpha, prelu, o, true, mask);
        for (size_t r = 0; r < 3; r++)
          in[r] += s * c;
        o += c;
      }
    } else {
      for (; ox + TILE <= ox_hi; ox += TILE) {
        tile (in, c, s, TILE, w, bias, alpha, prelu, o, false, mask);
        for (size_t r = 0; r < 3; r++)
          in[r] += TILE * s * c;
        o += TILE * c;
      }
      /* The rest as one shorter tile: lone pixels would be latency-bound. */
      switch (ox_hi - ox) {
#if TILE > 4
        case 7:
          tile (in, c, s, 7, w, bias, alpha, prelu, o, false, mask);
          break;
        case 6:
          tile (in, c, s, 6, w, bias, alpha, prelu, o, false, mask);
          break;
        case 5:
          tile (in, c, s, 5, w, bias, alpha, prelu, o, false, mask);
          break;
        case 4:
          tile (in, c, s, 4, w, bias, alpha, prelu, o, false, mask);
          break;
#endif
        case 3:
          tile (in, c, s, 3, w, bias, alpha, prelu, o, false, mask);
          break;
        case 2:
          tile (in, c, s, 2, w, bias, alpha, prelu, o, false, mask);
          break;
        case 1:
          tile (in, c, s, 1, w, bias, alpha, prelu, o, false, mask);
          break;
        default:
          break;
      }
      ox = ox_hi;
    }
  }
  for (; ox < p->out_w; ox++)
    edge_pixel (p, row, w, bias, alpha, prelu, ox, out, cg, tail, mask);
}

FV_INLINE void
dwconv3x3 (const FvDwconvParams * p, size_t r0, size_t r1, bool prelu,
    const size_t s)
{
  const size_t c = p->c;
  const size_t in_image = p->in_h * p->in_w * c;
  size_t ox_lo, ox_hi;

  fv_clip_inner_cols (p->in_w, p->pad_left, 3, s, p->out_w, &ox_lo, &ox_hi);
  for (size_t r = r0; r < r1; r++) {
    const FvKernelRow kr = fv_kernel_row (p->in, p->out, r, p->out_h,
        in_image, p->out_w * c, p->stride_h, p->pad_top);
    const float *row[3];
    bool valid[3];
    size_t cg;

    for (size_t ky = 0; ky < 3; ky++) {
      const ptrdiff_t iy = kr.iy0 + (ptrdiff_t) ky;
      valid[ky] = iy >= 0 && iy < (ptrdiff_t) p->in_h;
      /* An invalid row has zero weights; any readable row will do. */
      row[ky] = kr.in + (valid[ky] ? (size_t) iy : 0) * p->in_w * c;
    }
    for (cg = 0; cg + VL <= c; cg += VL)
      row_group (p, row, valid, ox_lo, ox_hi, kr.out, cg, false,
          FV_VMASK_NONE, prelu, s);
    if (cg < c)
      row_group (p, row, valid, ox_lo, ox_hi, kr.out, cg, true,
          fv_vmask_tail (c - cg), prelu, s);
  }
}

void
DWCONV3X3 (const FvDwconvParams * p, size_t r0, size_t r1)
{
  if (p->kh != 3 || p->kw != 3 || p->stride_w > 2)
    DWCONV (p, r0, r1);
  else if (p->stride_w == 1)
    p->alpha ? dwconv3x3 (p, r0, r1, true, 1) : dwconv3x3 (p, r0, r1, false, 1);
  else
    p->alpha ? dwconv3x3 (p, r0, r1, true, 2) : dwconv3x3 (p, r0, r1, false, 2);
}

/* Any kernel size and stride: one pixel at a time, weights from memory.
 * Serves the 7x7 global depthwise convolution (one output pixel). */
void
DWCONV (const FvDwconvParams * p, size_t r0, size_t r1)
{
  const size_t c = p->c;
  const size_t in_image = p->in_h * p->in_w * c;

  for (size_t r = r0; r < r1; r++) {
    const FvKernelRow kr = fv_kernel_row (p->in, p->out, r, p->out_h,
        in_image, p->out_w * c, p->stride_h, p->pad_top);
    const float *in = kr.in;
    const ptrdiff_t iy0 = kr.iy0;
    const size_t ky0 = fv_clip_lo (iy0);
    const size_t ky1 = fv_clip_hi (iy0, p->kh, p->in_h);
    float *out = kr.out;

    for (size_t ox = 0; ox < p->out_w; ox++, out += c) {
      const ptrdiff_t ix0 = (ptrdiff_t) (ox * p->stride_w)
          - (ptrdiff_t) p->pad_left;
      const size_t kx0 = fv_clip_lo (ix0);
      const size_t kx1 = fv_clip_hi (ix0, p->kw, p->in_w);

      for (size_t cg = 0; cg < c; cg += VL) {
        const bool tail = cg + VL > c;
        const fv_vmask mask = fv_vmask_tail (tail ? c - cg : VL);
        fv_vf acc0 = fv_vloadu (p->bias + cg);
        fv_vf acc1 = fv_vzero ();

        for (size_t ky = ky0; ky < ky1; ky++) {
          const float *src = in + ((size_t) (iy0 + (ptrdiff_t) ky) * p->in_w
              + (size_t) (ix0 + (ptrdiff_t) kx0)) * c + cg;
          const float *w = p->w + (ky * p->kw + kx0) * p->c_pad + cg;
          size_t kx = kx0;
          /* Two chains: the global 7x7 has long ones. */
          for (; kx + 2 <= kx1; kx += 2, src += 2 * c, w += 2 * p->c_pad) {
            acc0 = fv_vfmadd (fv_vload_mask (src, mask), fv_vloadu (w), acc0);
            acc1 = fv_vfmadd (fv_vload_mask (src + c, mask),
                fv_vloadu (w + p->c_pad), acc1);
          }
          if (kx < kx1)
            acc0 = fv_vfmadd (fv_vload_mask (src, mask), fv_vloadu (w), acc0);
        }
        acc0 = fv_vadd (acc0, acc1);
        if (p->alpha)
          acc0 = epilogue (acc0, true, fv_vloadu (p->alpha + cg));
        fv_vstore_mask (out + cg, mask, acc0);
      }
    }
  }
}
