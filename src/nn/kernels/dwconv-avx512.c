/* Depthwise convolution, AVX-512, 16 channels per vector.
 *
 * The 3x3 kernel walks one output row per channel group, so that the nine
 * weight vectors stay in registers for the whole row; four output pixels
 * are computed at once to have four FMA chains in flight. Rows above or
 * below the input get zero weights (and a valid row pointer), so only the
 * first and last columns need bounds checks. */
#include "dwconv.h"

#include <immintrin.h>
#include <stdint.h>
#include <stdbool.h>

#define TILE 8
#define VL 16

#define FV_INLINE static inline __attribute__((always_inline))

#ifndef MAX
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#endif

FV_INLINE __m512
load (const float *p, bool tail, __mmask16 mask)
{
  return tail ? _mm512_maskz_loadu_ps (mask, p) : _mm512_loadu_ps (p);
}

FV_INLINE void
store (float *p, __m512 v, bool tail, __mmask16 mask)
{
  if (tail)
    _mm512_mask_storeu_ps (p, mask, v);
  else
    _mm512_storeu_ps (p, v);
}

FV_INLINE __m512
epilogue (__m512 v, bool prelu, __m512 alpha)
{
  if (prelu) {
    const __mmask16 neg = _mm512_cmp_ps_mask (v, _mm512_setzero_ps (),
        _CMP_LT_OQ);
    v = _mm512_mask_mul_ps (v, neg, v, alpha);
  }
  return v;
}

/* Columns [kx0, kx1) (constants after inlining) of output pixel ox. */
FV_INLINE void
edge_cols (const FvDwconvParams * p, const float *const row[3],
    const __m512 w[9], __m512 bias, __m512 alpha, bool prelu, size_t ox,
    float *out, size_t cg, bool tail, __mmask16 mask, const size_t kx0,
    const size_t kx1)
{
  const size_t c = p->c;
  const size_t ix = ox * p->stride_w + kx0 - p->pad_left;
  /* One chain per kernel row: short chains for a lone pixel. */
  __m512 acc[3] = { bias, _mm512_setzero_ps (), _mm512_setzero_ps () };

  for (size_t kx = kx0; kx < kx1; kx++)
    for (size_t ky = 0; ky < 3; ky++)
      acc[ky] = _mm512_fmadd_ps (load (row[ky] + (ix + kx - kx0) * c + cg, tail,
              mask), w[ky * 3 + kx], acc[ky]);
  acc[0] = _mm512_add_ps (acc[0], _mm512_add_ps (acc[1], acc[2]));
  store (out + ox * c + cg, epilogue (acc[0], prelu, alpha), tail, mask);
}

/* Output pixel ox of one channel group, at the left or right border. */
FV_INLINE void
edge_pixel (const FvDwconvParams * p, const float *const row[3],
    const __m512 w[9], __m512 bias, __m512 alpha, bool prelu, size_t ox,
    float *out, size_t cg, bool tail, __mmask16 mask)
{
  const ptrdiff_t ix0 = (ptrdiff_t) (ox * p->stride_w)
      - (ptrdiff_t) p->pad_left;
  const size_t kx0 = ix0 < 0 ? (size_t) -ix0 : 0;
  const ptrdiff_t room = (ptrdiff_t) p->in_w - ix0;
  const size_t kx1 = room < 3 ? (size_t) MAX (room, 0) : 3;

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
    const __m512 w[9], __m512 bias, __m512 alpha, bool prelu, float *o,
    bool tail, __mmask16 mask)
{
  __m512 acc[TILE];

#pragma GCC unroll 8
  for (size_t j = 0; j < npx; j++)
    acc[j] = bias;
#pragma GCC unroll 3
  for (size_t r = 0; r < 3; r++) {
#pragma GCC unroll 17
    for (size_t col = 0; col < s * (npx - 1) + 3; col++) {
      __m512 x = load (in[r] + col * c, tail, mask);
      /* Keeps x in a register for its (up to three) uses: GCC would
       * otherwise load it again as a memory operand of each FMA. */
      __asm__ ("" : "+v" (x));
#pragma GCC unroll 8
      for (size_t j = 0; j < npx; j++) {
        const ptrdiff_t kx = (ptrdiff_t) col - (ptrdiff_t) (s * j);
        if (kx >= 0 && kx <= 2)
          acc[j] = _mm512_fmadd_ps (x, w[r * 3 + (size_t) kx], acc[j]);
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
    bool tail, __mmask16 mask, bool prelu, const size_t s)
{
  const size_t c = p->c;
  const __m512 bias = _mm512_loadu_ps (p->bias + cg);
  const __m512 alpha = prelu ? _mm512_loadu_ps (p->alpha + cg)
      : _mm512_setzero_ps ();
  __m512 w[9];
  size_t ox;

  for (size_t t = 0; t < 9; t++)
    w[t] = valid[t / 3] ? _mm512_loadu_ps (p->w + t * p->c_pad + cg)
        : _mm512_setzero_ps ();

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
  const size_t out_image = p->out_h * p->out_w * c;
  /* Columns whose three taps are all inside the input. */
  size_t ox_lo = (p->pad_left + s - 1) / s, ox_hi = 0;

  if (p->in_w + p->pad_left >= 3)
    ox_hi = (p->in_w + p->pad_left - 3) / s + 1;
  if (ox_hi > p->out_w)
    ox_hi = p->out_w;
  if (ox_lo > ox_hi)
    ox_lo = ox_hi;

  for (size_t r = r0; r < r1; r++) {
    const size_t b = r / p->out_h, oy = r % p->out_h;
    const float *in = p->in + b * in_image;
    float *out = p->out + b * out_image + oy * p->out_w * c;
    const float *row[3];
    bool valid[3];
    size_t cg;

    for (size_t ky = 0; ky < 3; ky++) {
      const ptrdiff_t iy = (ptrdiff_t) (oy * p->stride_h + ky)
          - (ptrdiff_t) p->pad_top;
      valid[ky] = iy >= 0 && iy < (ptrdiff_t) p->in_h;
      /* An invalid row has zero weights; any readable row will do. */
      row[ky] = in + (valid[ky] ? (size_t) iy : 0) * p->in_w * c;
    }
    for (cg = 0; cg + VL <= c; cg += VL)
      row_group (p, row, valid, ox_lo, ox_hi, out, cg, false, 0, prelu, s);
    if (cg < c)
      row_group (p, row, valid, ox_lo, ox_hi, out, cg, true,
          (__mmask16) ((1u << (c - cg)) - 1), prelu, s);
  }
}

void
fv_f32_dwconv3x3_prelu_ukernel_c16__avx512 (const FvDwconvParams * p,
    size_t r0, size_t r1)
{
  if (p->kh != 3 || p->kw != 3 || p->stride_w > 2)
    fv_f32_dwconv_ukernel_c16__avx512 (p, r0, r1);
  else if (p->stride_w == 1)
    p->alpha ? dwconv3x3 (p, r0, r1, true, 1) : dwconv3x3 (p, r0, r1, false, 1);
  else
    p->alpha ? dwconv3x3 (p, r0, r1, true, 2) : dwconv3x3 (p, r0, r1, false, 2);
}

/* Any kernel size and stride: one pixel at a time, weights from memory.
 * Serves the 7x7 global depthwise convolution (one output pixel). */
void
fv_f32_dwconv_ukernel_c16__avx512 (const FvDwconvParams * p, size_t r0,
    size_t r1)
{
  const size_t c = p->c;
  const size_t in_image = p->in_h * p->in_w * c;
  const size_t out_image = p->out_h * p->out_w * c;

  for (size_t r = r0; r < r1; r++) {
    const size_t b = r / p->out_h, oy = r % p->out_h;
    const float *in = p->in + b * in_image;
    float *out = p->out + b * out_image + oy * p->out_w * c;
    const ptrdiff_t iy0 = (ptrdiff_t) (oy * p->stride_h)
        - (ptrdiff_t) p->pad_top;
    const size_t ky0 = iy0 < 0 ? (size_t) -iy0 : 0;
    size_t ky1 = p->kh;

    if (iy0 + (ptrdiff_t) p->kh > (ptrdiff_t) p->in_h)
      ky1 = iy0 < (ptrdiff_t) p->in_h ? (size_t) ((ptrdiff_t) p->in_h - iy0)
          : 0;

    for (size_t ox = 0; ox < p->out_w; ox++, out += c) {
      const ptrdiff_t ix0 = (ptrdiff_t) (ox * p->stride_w)
          - (ptrdiff_t) p->pad_left;
      const size_t kx0 = ix0 < 0 ? (size_t) -ix0 : 0;
      size_t kx1 = p->kw;

      if (ix0 + (ptrdiff_t) p->kw > (ptrdiff_t) p->in_w)
        kx1 = ix0 < (ptrdiff_t) p->in_w ? (size_t) ((ptrdiff_t) p->in_w - ix0)
            : 0;

      for (size_t cg = 0; cg < c; cg += VL) {
        const bool tail = cg + VL > c;
        const __mmask16 mask = tail ? (__mmask16) ((1u << (c - cg)) - 1)
            : (__mmask16) 0xffff;
        __m512 acc0 = _mm512_loadu_ps (p->bias + cg);
        __m512 acc1 = _mm512_setzero_ps ();

        for (size_t ky = ky0; ky < ky1; ky++) {
          const float *src = in + ((size_t) (iy0 + (ptrdiff_t) ky) * p->in_w
              + (size_t) (ix0 + (ptrdiff_t) kx0)) * c + cg;
          const float *w = p->w + (ky * p->kw + kx0) * p->c_pad + cg;
          size_t kx = kx0;
          /* Two chains: the global 7x7 has long ones. */
          for (; kx + 2 <= kx1; kx += 2, src += 2 * c, w += 2 * p->c_pad) {
            acc0 = _mm512_fmadd_ps (_mm512_maskz_loadu_ps (mask, src),
                _mm512_loadu_ps (w), acc0);
            acc1 = _mm512_fmadd_ps (_mm512_maskz_loadu_ps (mask, src + c),
                _mm512_loadu_ps (w + p->c_pad), acc1);
          }
          if (kx < kx1)
            acc0 = _mm512_fmadd_ps (_mm512_maskz_loadu_ps (mask, src),
                _mm512_loadu_ps (w), acc0);
        }
        acc0 = _mm512_add_ps (acc0, acc1);
        if (p->alpha)
          acc0 = epilogue (acc0, true, _mm512_loadu_ps (p->alpha + cg));
        _mm512_mask_storeu_ps (out + cg, mask, acc0);
      }
    }
  }
}
