/* gst-faceverify: face verification on the CPU
 *
 * fv-gallery-rows.c: where a snapshot keeps its matrix rows, and the one
 * way to read and write them. Small snapshots keep float rows. Large ones
 * keep each element as its half float (what the half scan reads) plus a
 * 16-bit residual that gives back the float bit for bit, so they take
 * 4 bytes per element instead of float + half (6): the few elements that
 * do not fit that form are kept whole in a sorted exception list.
 *
 * The residual of a float f is d = bits(|f|) - bits(|H|), where h =
 * fv_f32_to_f16 (f) (round to nearest, the half the scan reads) and H its
 * value as a float: f's bits are then H's bits + d with f's sign, rebuilt
 * with integer operations only (no rounding anywhere). Why d fits 16 bits
 * for every f whose h is normal (2^-14 <= |H| <= 65504): the bit patterns
 * of positive floats are ordered like their values, and consecutive
 * patterns are neighbouring floats, so |d| counts the floats between |f|
 * and |H|. Let H lie in binade e (2^e <= |H| < 2^(e+1)). As 2^e is a
 * half, rounding to nearest never moves a value below a power of two up
 * past it nor down below it from above, so |f| lies in binade e, or in
 * binade e - 1 when rounding carried it up to |H| = 2^e.
 *  - |f| in binade e: floats there are 2^(e-23) apart and round to
 *    nearest gives ||f| - |H|| <= 2^(e-11) (half of half's spacing
 *    2^(e-10)), so |d| <= 2^12.
 *  - |f| in binade e - 1, |H| = 2^e: floats are 2^(e-24) apart there and
 *    |H| - |f| <= 2^(e-12) (half of half's spacing in binade e - 1), so
 *    -2^12 <= d < 0.
 * So |d| <= 4096 for all of half's normal range, including the values
 * that round up to the next power of two and those up to 65520 that round
 * down to 65504. +-0 is h = +-0 with d = 0. What else fits is what the
 * encoder's check finds (a tiny subnormal f with h = 0); the rest (|f|
 * whose h is subnormal or zero, f that rounds to infinity, infinities,
 * NaN) takes the sentinel G_MININT16 and an exception entry. The encoder
 * checks every element by rebuilding it, so the form never holds a value
 * it does not give back. */
#include "fv-config.h"
#include "core/fv-core.h"
#include "gallery/fv-gallery-private.h"

#include "kernels/f16.h"

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

/* The bits of |H| for a normal half or +-0 (other halves carry the
 * sentinel). */
static inline guint32
half_magnitude_bits (guint16 h)
{
  const guint32 mag = h & 0x7fffu;

  return mag ? (mag << 13) + (112u << 23) : 0;
}

/* Integer operations only, branch-free: the compiler vectorises it. */
static inline float
decode (guint16 half, gint16 residual)
{
  return float_from_bits (((guint32) (half & 0x8000u) << 16)
      | (half_magnitude_bits (half) + (guint32) (gint32) residual));
}

gboolean
fv_gallery_residual_encode (float f, guint16 * half, gint16 * residual)
{
  const guint16 h = fv_f32_to_f16 (f);
  const guint32 mag = h & 0x7fffu;
  gint64 d;

  *half = h;
  *residual = RESIDUAL_EXCEPTION;
  if (mag != 0 && (mag < 0x0400u || mag >= 0x7c00u))
    return FALSE;               /* subnormal, infinite or NaN */
  d = (gint64) (bits_from_float (f) & 0x7fffffffu)
      - (gint64) half_magnitude_bits (h);
  if (d <= G_MININT16 || d > G_MAXINT16
      || bits_from_float (decode (h, (gint16) d)) != bits_from_float (f))
    return FALSE;
  *residual = (gint16) d;
  return TRUE;
}

float
fv_gallery_residual_decode (guint16 half, gint16 residual)
{
  return decode (half, residual);
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

/* Rows are a multiple of FV_SCAN_ROW_ALIGN long: blocks of that many with
 * a fixed count and no aliasing, which the compiler vectorises. */
static void
decode_elements (gsize len, const guint16 * restrict h,
    const gint16 * restrict r, float *restrict out)
{
  gsize i;
  guint j;

  for (i = 0; i < len; i += FV_SCAN_ROW_ALIGN)
    for (j = 0; j < FV_SCAN_ROW_ALIGN; j++)
      out[i + j] = decode (h[i + j], r[i + j]);
}

void
fv_gallery_snapshot_get_rows (FvGallerySnapshot * s, guint row, guint n,
    float *out)
{
  const gsize base = (gsize) (row) * s->stride, len = (gsize) (n) * s->stride;
  const FvGalleryException *e;
  guint x;

  if (s->matrix) {
    memcpy (out, s->matrix + base, len * sizeof (float));
    return;
  }
  decode_elements (len, s->matrix16 + base, s->residual + base, out);
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
