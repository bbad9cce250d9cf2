/* Depthwise convolution, FV_VL channels per vector, written once against
 * simd/f32-<isa>.h and compiled once per instruction set.
 *
 * The 3x3 kernel computes FV_DWCONV_TILE output pixels of a row at once,
 * one accumulator each: that many independent FMA chains, enough to keep
 * both FMA pipes busy through their latency. Within a tile it walks every
 * channel group, so the input columns under the tile are read from L1
 * while they are hot (blocks of several output rows sharing input rows
 * measured slower, stride 2 most; pairs of rows with 2 x 8 accumulators
 * at AVX-512 again, 2026-12: faster on 28x28 and 14x14 alone, slower on
 * 56x56, 7x7 and at stride 2 in the network. Blocks of channels narrow
 * enough for three rows to fit L1 do not: a pixel's channels are 256 B
 * to 2 KiB apart, so a block maps to a fraction of L1's sets, the same
 * fraction as its share of the row); per kernel row it holds that row's
 * three weight vectors in registers and loads each input column once,
 * feeding every output whose window covers it. Rows above or below the
 * input are skipped; a column left or right of it (SAME padding: one at
 * most) is skipped in the first or last tile of the row. Other geometries
 * take the generic kernel below.
 *
 * A layer is walked in vertical strips (see dwconv3x3()): a whole row of
 * input is 14 KiB in every MobileFaceNet layer, so three of them and the
 * output row overflow L1, and each input row came three times from L2. A
 * strip's rows are narrow enough that the two input rows an output row
 * shares with the next are still in L1 when it comes. Measured on the
 * network in paired runs and dropped (2026-12): rows in reverse order,
 * software prefetch at stride 2 (of the next channel group, tile or rows:
 * 1.04-1.16x slower), two output rows per tile in narrow strips, and the
 * 1x1 expansion run in bands of rows with the depthwise layer after it. */
#include FV_SIMD_HEADER
#include "fv-ukernel-name.h"
#include "fv-kernels.h"
#include "clip.h"

#include <stdint.h>

#define TILE FV_DWCONV_TILE
/* Channel vectors per pixel in the generic kernel. */
#define GROUPS 8
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

/* An output row and the three input rows under it (NULL outside the
 * input). */
typedef struct
{
  const float *row[3];
  float *out;
} Rows;

/* npx (a constant) outputs of one channel group at stride s (a constant),
 * from input column ix0 on: columns 0 (if skip_first) and s*(npx-1)+2 (if
 * skip_last) of the tile lie outside the input. */
FV_INLINE void
tile_group (const FvDwconvParams * p, const Rows * r, ptrdiff_t ix0,
    const size_t s, const size_t npx, bool skip_first, bool skip_last,
    float *o, size_t cg, bool tail, fv_vmask mask)
{
  const size_t c = p->c;
  const size_t ncols = s * (npx - 1) + 3;
  fv_vf acc[TILE];

  acc[0] = fv_vloadu (p->bias + cg);
#pragma GCC unroll 16
  for (size_t j = 1; j < npx; j++)
    acc[j] = acc[0];
#pragma GCC unroll 3
  for (size_t ky = 0; ky < 3; ky++) {
    const float *in = r->row[ky];
    const float *wp = p->w + ky * 3 * p->c_pad + cg;
    fv_vf w[3];

    if (in == NULL)
      continue;
    in += ix0 * (ptrdiff_t) c + (ptrdiff_t) cg;
    w[0] = fv_vloadu (wp);
    w[1] = fv_vloadu (wp + p->c_pad);
    w[2] = fv_vloadu (wp + 2 * p->c_pad);
#pragma GCC unroll 40
    for (size_t col = 0; col < ncols; col++) {
      fv_vf x;

      if ((col == 0 && skip_first) || (col == ncols - 1 && skip_last))
        continue;
      x = load (in + col * c, tail, mask);
      /* Keeps x in a register for its (up to three) uses: GCC would
       * otherwise load it again as a memory operand of each FMA. */
      FV_VKEEP (x);
#pragma GCC unroll 16
      for (size_t j = 0; j < npx; j++) {
        const ptrdiff_t kx = (ptrdiff_t) col - (ptrdiff_t) (s * j);
        if (kx >= 0 && kx <= 2)
          acc[j] = fv_vfmadd (x, w[kx], acc[j]);
      }
    }
  }
  if (p->alpha) {
    const fv_vf alpha = fv_vloadu (p->alpha + cg);
#pragma GCC unroll 16
    for (size_t j = 0; j < npx; j++)
      acc[j] = fv_vprelu (acc[j], alpha);
  }
#pragma GCC unroll 16
  for (size_t j = 0; j < npx; j++)
    store (o + j * c + cg, acc[j], tail, mask);
}

/* npx (a constant) outputs of output row r from column ox on, every
 * channel group. */
FV_INLINE void
tile (const FvDwconvParams * p, const Rows * r, size_t ox, const size_t s,
    const size_t npx)
{
  const size_t c = p->c;
  const ptrdiff_t ix0 = (ptrdiff_t) (ox * s) - (ptrdiff_t) p->pad_left;
  const bool skip_first = ix0 < 0;
  const bool skip_last = ix0 + (ptrdiff_t) (s * (npx - 1) + 2)
      >= (ptrdiff_t) p->in_w;
  float *o = r->out + ox * c;
  size_t cg;

  for (cg = 0; cg + VL <= c; cg += VL)
    tile_group (p, r, ix0, s, npx, skip_first, skip_last, o, cg, false,
        FV_VMASK_NONE);
  /* Channels left over (none in MobileFaceNet): one pixel at a time, so
   * that only one tile size is compiled with masks. */
  for (size_t j = 0; cg < c && j < npx; j++) {
    const ptrdiff_t ixj = ix0 + (ptrdiff_t) (s * j);
    tile_group (p, r, ixj, s, 1, ixj < 0,
        ixj + 2 >= (ptrdiff_t) p->in_w, o + j * c, cg, true,
        fv_vmask_tail (c - cg));
  }
}

/* The rest of a row, 1 to TILE - 1 pixels, as one tile of that size. */
FV_INLINE void
tile_rest (const FvDwconvParams * p, const Rows * r, size_t ox,
    const size_t s, size_t n)
{
  switch (n) {
#if TILE > 8
    case 15:
      tile (p, r, ox, s, 15);
      break;
    case 14:
      tile (p, r, ox, s, 14);
      break;
    case 13:
      tile (p, r, ox, s, 13);
      break;
    case 12:
      tile (p, r, ox, s, 12);
      break;
    case 11:
      tile (p, r, ox, s, 11);
      break;
    case 10:
      tile (p, r, ox, s, 10);
      break;
    case 9:
      tile (p, r, ox, s, 9);
      break;
    case 8:
      tile (p, r, ox, s, 8);
      break;
#endif
#if TILE > 4
    case 7:
      tile (p, r, ox, s, 7);
      break;
    case 6:
      tile (p, r, ox, s, 6);
      break;
    case 5:
      tile (p, r, ox, s, 5);
      break;
    case 4:
      tile (p, r, ox, s, 4);
      break;
#endif
    case 3:
      tile (p, r, ox, s, 3);
      break;
    case 2:
      tile (p, r, ox, s, 2);
      break;
    case 1:
      tile (p, r, ox, s, 1);
      break;
    default:
      break;
  }
}

/* Bytes of one input row under a strip, and the narrowest strip in
 * output pixels (narrower tiles have too few FMA chains). At stride 1, an
 * input larger than STRIP_MAX_INPUT (half of a small L2) is read in whole
 * rows: the first layer's 800 KB come from L3 faster in the order the
 * layer before wrote them. Measured on the network at AVX-512 (Zen 5,
 * paired runs): the depthwise layers 0.92-0.96x; at AVX2 0.99x. */
#define STRIP_BYTES 8192
#define STRIP_MIN_PX 7
#define STRIP_MAX_INPUT (512 * 1024)

FV_INLINE void
dwconv3x3 (const FvDwconvParams * p, size_t r0, size_t r1, const size_t s)
{
  const size_t c = p->c;
  const size_t in_image = p->in_h * p->in_w * c;
  const size_t strip0 = s == 1 && in_image * sizeof (float) > STRIP_MAX_INPUT
      ? p->out_w : STRIP_BYTES / (c * sizeof (float) * s);
  const size_t strip = strip0 > STRIP_MIN_PX ? strip0 : STRIP_MIN_PX;
  const size_t n_strips = (p->out_w + strip - 1) / strip;

  /* Strips of equal width, each cut into tiles of equal width. */
  for (size_t k = 0; k < n_strips; k++) {
    const size_t x0 = p->out_w * k / n_strips;
    const size_t w = p->out_w * (k + 1) / n_strips - x0;
    const size_t n_tiles = (w + TILE - 1) / TILE;
    const size_t npx = w / n_tiles, n_long = w % n_tiles;

    for (size_t r = r0; r < r1; r++) {
      const FvKernelRow kr = fv_kernel_row (p->in, p->out, r, p->out_h,
          in_image, p->out_w * c, p->stride_h, p->pad_top);
      Rows rows;
      size_t ox = x0;

      for (size_t ky = 0; ky < 3; ky++) {
        const ptrdiff_t iy = kr.iy0 + (ptrdiff_t) ky;
        rows.row[ky] = iy >= 0 && iy < (ptrdiff_t) p->in_h
            ? kr.in + p->in_w * c * (size_t) iy : NULL;
      }
      rows.out = kr.out;
      for (size_t t = 0; t < n_tiles; t++) {
        const size_t n = npx + (t < n_long);
        if (n == TILE)
          tile (p, &rows, ox, s, TILE);
        else
          tile_rest (p, &rows, ox, s, n);
        ox += n;
      }
    }
  }
}

/* Whether the tiles cover this geometry: stride 1 or 2 and at most one
 * column of padding on either side. */
static bool
tiles_fit (const FvDwconvParams * p)
{
  const size_t last = (p->out_w - 1) * p->stride_w + 2;

  return p->kh == 3 && p->kw == 3 && p->stride_w >= 1 && p->stride_w <= 2
      && p->pad_left <= 1 && p->out_w >= 1 && last <= p->in_w + p->pad_left;
}

void
DWCONV3X3 (const FvDwconvParams * p, size_t r0, size_t r1)
{
  if (!tiles_fit (p))
    DWCONV (p, r0, r1);
  else if (p->stride_w == 1)
    dwconv3x3 (p, r0, r1, 1);
  else
    dwconv3x3 (p, r0, r1, 2);
}

/* GV (a constant) vectors of channels from cg on, of one output pixel
 * whose taps [ky0, ky1) x [kx0, kx1) lie inside the input: one FMA chain
 * per vector. */
FV_INLINE void
pixel_groups (const FvDwconvParams * p, const float *in, size_t ky0,
    size_t ky1, size_t kx0, size_t kx1, float *out, size_t cg,
    const size_t gv, bool tail, fv_vmask mask)
{
  const size_t c = p->c;
  fv_vf acc[GROUPS];

#pragma GCC unroll 8
  for (size_t v = 0; v < gv; v++)
    acc[v] = fv_vloadu (p->bias + cg + v * VL);
  for (size_t ky = ky0; ky < ky1; ky++) {
    const float *src = in + (ky * p->in_w + kx0) * c + cg;
    const float *w = p->w + (ky * p->kw + kx0) * p->c_pad + cg;
    for (size_t kx = kx0; kx < kx1; kx++, src += c, w += p->c_pad) {
#pragma GCC unroll 8
      for (size_t v = 0; v < gv; v++)
        acc[v] = fv_vfmadd (load (src + v * VL, tail && v + 1 == gv, mask),
            fv_vloadu (w + v * VL), acc[v]);
    }
  }
#pragma GCC unroll 8
  for (size_t v = 0; v < gv; v++) {
    if (p->alpha)
      acc[v] = fv_vprelu (acc[v], fv_vloadu (p->alpha + cg + v * VL));
    store (out + cg + v * VL, acc[v], tail && v + 1 == gv, mask);
  }
}

/* Any kernel size and stride: one pixel at a time, GROUPS channel vectors
 * at once (as many FMA chains), weights from memory. Serves the 7x7
 * global depthwise convolution (one output pixel, 49 taps) and the 3x3
 * geometries that the tiles do not cover. */
void
DWCONV (const FvDwconvParams * p, size_t r0, size_t r1)
{
  const size_t c = p->c;
  const size_t in_image = p->in_h * p->in_w * c;

  for (size_t r = r0; r < r1; r++) {
    const FvKernelRow kr = fv_kernel_row (p->in, p->out, r, p->out_h,
        in_image, p->out_w * c, p->stride_h, p->pad_top);
    const size_t ky0 = fv_clip_lo (kr.iy0);
    const size_t ky1 = fv_clip_hi (kr.iy0, p->kh, p->in_h);
    float *out = kr.out;

    for (size_t ox = 0; ox < p->out_w; ox++, out += c) {
      const ptrdiff_t ix0 = (ptrdiff_t) (ox * p->stride_w)
          - (ptrdiff_t) p->pad_left;
      const size_t kx0 = fv_clip_lo (ix0);
      const size_t kx1 = fv_clip_hi (ix0, p->kw, p->in_w);
      /* The window's first tap, inside the image or not: only taps
       * inside are read. */
      const float *in = kr.in + (kr.iy0 * (ptrdiff_t) p->in_w + ix0)
          * (ptrdiff_t) c;
      size_t cg = 0;

      for (; cg + GROUPS * VL <= c; cg += GROUPS * VL)
        pixel_groups (p, in, ky0, ky1, kx0, kx1, out, cg, GROUPS, false,
            FV_VMASK_NONE);
      for (; cg + VL <= c; cg += VL)
        pixel_groups (p, in, ky0, ky1, kx0, kx1, out, cg, 1, false,
            FV_VMASK_NONE);
      if (cg < c)
        pixel_groups (p, in, ky0, ky1, kx0, kx1, out, cg, 1, true,
            fv_vmask_tail (c - cg));
    }
  }
}
