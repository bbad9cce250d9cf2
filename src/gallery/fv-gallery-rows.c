/* gst-faceverify: face verification on the CPU
 *
 * fv-gallery-rows.c: where a snapshot keeps its matrix rows, and the one
 * way to read and write them. Small snapshots keep float rows. Large ones
 * keep each element as its half float (what the half scan reads) plus a
 * 16-bit residual that gives back the float bit for bit, so they take
 * 4 bytes per element instead of float + half (6): the few elements that
 * do not fit that form are kept whole in a sorted exception list.
 *
 * Why the residual is exact: let f be a float and h = fv_f32_to_f16 (f)
 * (round to nearest), a normal half of value H = 1.m * 2^e (-14 <= e <=
 * 15, the binade of h). Both have the same sign and, as half's normal
 * range starts at a power of two, rounding to nearest never leaves f's
 * binade downwards: f lies in binade e, or in binade e - 1 when rounding
 * carried it up to H = 2^e.
 *  - f in binade e: f's float ulp is 2^(e-23), and H is a multiple of
 *    half's ulp 2^(e-10), so r = f - H is a multiple of 2^(e-23), hence
 *    of 2^(e-24); round to nearest gives |r| <= 2^(e-11), so
 *    k = r / 2^(e-24) is an integer with |k| <= 2^13.
 *  - f in binade e - 1 (rounded up to 2^e): f's ulp is 2^(e-24), H =
 *    2^e is a multiple of it, so r is too, and |r| <= 2^(e-12) (half of
 *    half's ulp in binade e - 1): |k| <= 2^12.
 * In float arithmetic, r = f - H is exact (Sterbenz: H / 2 <= f <= 2 H),
 * k * 2^(e-24) is exact (|k| < 2^24 and 2^(e-24) >= 2^-38 is normal), and
 * H + k * 2^(e-24) = f exactly because the exact sum is the float f (a
 * fused multiply-add gives it too). So the int16 k, never G_MININT16,
 * rebuilds f from h. Anything else (|f| so small that h is zero or
 * subnormal, f that rounds to infinity, NaN; h = +-0 is kept for f =
 * +-0 with k = 0) takes the sentinel G_MININT16 and an exception entry.
 * The encoder checks each element by rebuilding it, so a value the
 * argument above misses still comes back exactly. */
#include "fv-config.h"
#include "core/fv-core.h"
#include "gallery/fv-gallery-private.h"

#include "kernels/f16.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Below this many float bytes the float scan stays in cache and the half
 * form would only cost the re-rank's rebuilding. */
#define HALF_MIN_BYTES (2u << 20)

#define RESIDUAL_EXCEPTION G_MININT16

static inline float
float_from_bits (guint32 bits)
{
  float f;

  memcpy (&f, &bits, sizeof f);
  return f;
}

static inline guint32
bits_from_float (float f)
{
  guint32 bits;

  memcpy (&bits, &f, sizeof bits);
  return bits;
}

/* The value of a normal half or +-0 (other halves carry the sentinel). */
static inline float
half_value (guint16 h)
{
  const guint32 mag = h & 0x7fffu;

  return float_from_bits (((guint32) (h & 0x8000u) << 16)
      | (mag ? (mag << 13) + (112u << 23) : 0));
}

/* 2^(e-24) for a half of binade e. */
static inline float
residual_unit (guint16 h)
{
  return float_from_bits ((((h >> 10) & 0x1fu) + 88u) << 23);
}

gboolean
fv_gallery_residual_encode (float f, guint16 * half, gint16 * residual)
{
  const guint16 h = fv_f32_to_f16 (f);
  const guint32 mag = h & 0x7fffu;
  float k;

  *half = h;
  *residual = RESIDUAL_EXCEPTION;
  if (mag != 0 && (mag < 0x0400u || mag >= 0x7c00u))
    return FALSE;               /* subnormal, infinite or NaN */
  k = (f - half_value (h)) / residual_unit (h);
  if (!(fabsf (k) <= 8192.0f) || k != truncf (k))
    return FALSE;
  *residual = (gint16) k;
  return bits_from_float (fv_gallery_residual_decode (h, *residual))
      == bits_from_float (f) ? TRUE : (*residual = RESIDUAL_EXCEPTION, FALSE);
}

float
fv_gallery_residual_decode (guint16 half, gint16 residual)
{
  const float hv = half_value (half);

  /* k = 0 keeps the sign of -0 */
  return residual ? hv + (float) residual * residual_unit (half) : hv;
}

static int
compare_exceptions (const void *a, const void *b)
{
  const FvGalleryException *x = a, *y = b;

  return x->index < y->index ? -1 : x->index > y->index;
}

/* The first exception at or after element @index. */
static guint
first_exception (const FvGallerySnapshot * s, guint64 index)
{
  const FvGalleryException *e = (const FvGalleryException *)
      s->exceptions->data;
  guint lo = 0, hi = s->exceptions->len;

  while (lo < hi) {
    const guint mid = lo + (hi - lo) / 2;

    if (e[mid].index < index)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

void
fv_gallery_snapshot_alloc_rows (FvGallerySnapshot * s)
{
  const gsize n = (gsize) (s->n_samples) * s->stride;

  if (n * sizeof (float) < HALF_MIN_BYTES || fv_gallery_keep_float ()) {
    s->matrix = fv_alloc_floats (n);
    return;
  }
  s->matrix16 = g_aligned_alloc0 (n, sizeof (guint16), 64);
  s->residual = g_aligned_alloc0 (n, sizeof (gint16), 64);
  s->exceptions = g_array_new (FALSE, FALSE, sizeof (FvGalleryException));
}

void
fv_gallery_snapshot_free_rows (FvGallerySnapshot * s)
{
  fv_free_floats (s->matrix);
  g_aligned_free (s->matrix16);
  g_aligned_free (s->residual);
  if (s->exceptions)
    g_array_unref (s->exceptions);
}

void
fv_gallery_snapshot_set_row (FvGallerySnapshot * s, guint row,
    const float *values)
{
  const gsize base = (gsize) (row) * s->stride;
  guint k;

  if (s->matrix) {
    memcpy (s->matrix + base, values, s->dim * sizeof (float));
    return;
  }
  for (k = 0; k < s->dim; k++) {
    if (!fv_gallery_residual_encode (values[k], &s->matrix16[base + k],
            &s->residual[base + k])) {
      FvGalleryException e = {.index = base + k,.value = values[k] };

      g_array_append_val (s->exceptions, e);
    }
  }
}

void
fv_gallery_snapshot_get_rows (FvGallerySnapshot * s, guint row, guint n,
    float *out)
{
  const gsize base = (gsize) (row) * s->stride, len = (gsize) (n) * s->stride;
  const guint16 *h = s->matrix16 + base;
  const gint16 *r = s->residual + base;
  const FvGalleryException *e;
  gsize i;
  guint x;

  if (s->matrix) {
    memcpy (out, s->matrix + base, len * sizeof (float));
    return;
  }
  for (i = 0; i < len; i++)
    out[i] = fv_gallery_residual_decode (h[i], r[i]);
  e = (const FvGalleryException *) s->exceptions->data;
  for (x = first_exception (s, base); x < s->exceptions->len
      && e[x].index < base + len; x++)
    out[e[x].index - base] = e[x].value;
}

const float *
fv_gallery_snapshot_get_row (FvGallerySnapshot * s, guint row, float *scratch)
{
  if (s->matrix)
    return s->matrix + (gsize) (row) * s->stride;
  fv_gallery_snapshot_get_rows (s, row, 1, scratch);
  return scratch;
}

void
fv_gallery_snapshot_copy_rows (FvGallerySnapshot * dst, guint dst_row,
    FvGallerySnapshot * src, guint src_row, guint n)
{
  const gsize stride = dst->stride;
  const gsize to = (gsize) (dst_row) * stride, from = (gsize) (src_row)
      * stride, len = (gsize) (n) * stride;
  guint r, x;

  g_return_if_fail (dst->stride == src->stride && dst != src);

  if (dst->matrix) {
    fv_gallery_snapshot_get_rows (src, src_row, n, dst->matrix + to);
    return;
  }
  if (src->matrix) {
    for (r = 0; r < n; r++)
      fv_gallery_snapshot_set_row (dst, dst_row + r,
          src->matrix + from + (gsize) (r) * stride);
    return;
  }
  /* both in the half form: no rebuilding, no converting */
  memcpy (dst->matrix16 + to, src->matrix16 + from, len * sizeof (guint16));
  memcpy (dst->residual + to, src->residual + from, len * sizeof (gint16));
  for (x = first_exception (src, from); x < src->exceptions->len; x++) {
    FvGalleryException e = g_array_index (src->exceptions,
        FvGalleryException, x);

    if (e.index >= from + len)
      break;
    e.index = e.index - from + to;
    g_array_append_val (dst->exceptions, e);
  }
}

void
fv_gallery_snapshot_pack_rows (FvGallerySnapshot * s, const guint * new_row)
{
  const gsize stride = s->stride;
  guint i, kept = 0;

  for (i = 0; i < s->n_samples; i++) {
    const gsize to = (gsize) (new_row[i]) * stride, from = (gsize) (i)
        * stride;

    if (new_row[i] == G_MAXUINT || new_row[i] == i)
      continue;
    if (s->matrix) {
      memcpy (s->matrix + to, s->matrix + from, stride * sizeof (float));
    } else {
      memcpy (s->matrix16 + to, s->matrix16 + from, stride * sizeof (guint16));
      memcpy (s->residual + to, s->residual + from, stride * sizeof (gint16));
    }
  }
  if (s->exceptions == NULL)
    return;
  for (i = 0; i < s->exceptions->len; i++) {
    FvGalleryException e = g_array_index (s->exceptions, FvGalleryException,
        i);
    const guint row = (guint) (e.index / stride);

    if (new_row[row] == G_MAXUINT)
      continue;
    e.index = (gsize) (new_row[row]) * stride + e.index % stride;
    g_array_index (s->exceptions, FvGalleryException, kept++) = e;
  }
  g_array_set_size (s->exceptions, kept);
}

void
fv_gallery_snapshot_seal (FvGallerySnapshot * s)
{
  if (s->exceptions == NULL)
    return;
  /* loads write rows in any order */
  g_array_sort (s->exceptions, compare_exceptions);
}

FvGallerySnapshot *
fv_gallery_snapshot_copy_float (FvGallerySnapshot * s)
{
  FvGallerySnapshot *c = g_new0 (FvGallerySnapshot, 1);
  guint i;

  c->ref_count = 1;
  c->dim = s->dim;
  c->stride = s->stride;
  c->n_identities = s->n_identities;
  c->n_samples = s->n_samples;
  c->matrix = fv_alloc_floats ((gsize) (s->n_samples) * s->stride);
  fv_gallery_snapshot_get_rows (s, 0, s->n_samples, c->matrix);
  c->row_identity = g_memdup2 (s->row_identity,
      sizeof (guint32) * MAX (s->n_samples, 1));
  c->identity_ids = g_memdup2 (s->identity_ids,
      sizeof (gint64) * MAX (s->n_identities, 1));
  c->labels = g_new0 (const char *, MAX (s->n_identities, 1));
  c->display_names = g_new0 (const char *, MAX (s->n_identities, 1));
  c->strings = g_string_chunk_new (4096);
  for (i = 0; i < s->n_identities; i++) {
    c->labels[i] = g_string_chunk_insert (c->strings, s->labels[i]);
    c->display_names[i] = s->display_names[i]
        ? g_string_chunk_insert (c->strings, s->display_names[i]) : NULL;
  }
  c->generation = s->generation;
  c->default_threshold = s->default_threshold;
  c->n_fetched = s->n_fetched;
  return c;
}

/**
 * fv_gallery_snapshot_get_matrix_bytes:
 * @snapshot: a snapshot
 * @float_bytes: (out) (optional): where to store the bytes the same rows
 *   take as floats
 *
 * The memory that @snapshot's rows take: 4 bytes per element in either
 * form (floats for small snapshots; for those with a half-float copy
 * (fv_gallery_snapshot_has_half()) the half floats, a 16-bit residual
 * each that gives the float back exactly, and a list of the rare elements
 * that need their float whole). For logs and benchmarks.
 *
 * Returns: the bytes of the rows, padding included
 */
gsize
fv_gallery_snapshot_get_matrix_bytes (FvGallerySnapshot * snapshot,
    gsize * float_bytes)
{
  gsize n;

  g_return_val_if_fail (snapshot != NULL, 0);
  n = (gsize) (snapshot->n_samples) * snapshot->stride;
  if (float_bytes)
    *float_bytes = n * sizeof (float);
  if (snapshot->matrix)
    return n * sizeof (float);
  return n * (sizeof (guint16) + sizeof (gint16))
      + (gsize) (snapshot->exceptions->len) * sizeof (FvGalleryException);
}
