/* Face crops: five-point similarity alignment to the ArcFace template and
 * square box crops, both sampled bilinearly from the frame region that the
 * crop covers. */
#include "fv-face-private.h"

#include <math.h>
#include <string.h>

#define SIDE FV_EMBED_SIZE

/* The frame region behind one crop is converted at full resolution up to
 * this side; larger regions (huge faces, absurd transforms) are
 * box-filtered down to it first, which bounds memory. */
#define REGION_MAX 1024

/* Coordinates beyond this are not landmarks or boxes but garbage. */
#define COORD_MAX 1e6f

/* Landmarks whose least-squares fit to the template leaves a larger RMS
 * error (in template pixels, where the eyes are 35 px apart) do not
 * describe a face; a real face fits to about 3 px. */
#define MAX_FIT_RMS 20.0

static const float arcface_112[2 * FV_N_LANDMARKS] = {
  38.2946f, 51.6963f, 73.5318f, 51.5014f, 56.0252f, 71.7366f,
  41.5493f, 92.3655f, 70.7299f, 92.2041f,
};

struct _FvAligner
{
  guint8 fill[3];
  guint8 *planes;               /* 3 x REGION_MAX x REGION_MAX */
  FvScratch scratch;
};

/**
 * fv_arcface_template:
 *
 * The ArcFace / InsightFace five-point template for 112x112 crops that
 * MobileFaceNet was trained on: x, y pairs in the order of
 * %FV_N_LANDMARKS.
 *
 * Returns: (transfer none) (array fixed-size=10): the ten coordinates
 */
const float *
fv_arcface_template (void)
{
  return arcface_112;
}

/**
 * fv_similarity_estimate:
 * @src: (array): @n_points x, y pairs
 * @dst: (array): @n_points x, y pairs
 * @n_points: number of points, 2 or more
 * @matrix: (out caller-allocates) (array fixed-size=6): the 2x3 matrix
 *   [a, -b, tx; b, a, ty] mapping @src onto @dst
 *
 * Finds the similarity transform (rotation, uniform scale, translation; no
 * reflection) that maps @src onto @dst with the least sum of squared
 * distances. This is the closed form of Umeyama's method for 2-D.
 *
 * Returns: %FALSE if the points are not finite or @src has no extent
 */
gboolean
fv_similarity_estimate (const float *src, const float *dst, guint n_points,
    float matrix[6])
{
  double msx = 0, msy = 0, mdx = 0, mdy = 0, var = 0, pa = 0, pb = 0;
  double a, b;
  guint i;

  g_return_val_if_fail (src != NULL && dst != NULL && matrix != NULL, FALSE);
  g_return_val_if_fail (n_points >= 2, FALSE);

  for (i = 0; i < n_points; i++) {
    if (!isfinite (src[2 * i]) || !isfinite (src[2 * i + 1])
        || !isfinite (dst[2 * i]) || !isfinite (dst[2 * i + 1]))
      return FALSE;
    msx += src[2 * i];
    msy += src[2 * i + 1];
    mdx += dst[2 * i];
    mdy += dst[2 * i + 1];
  }
  msx /= n_points;
  msy /= n_points;
  mdx /= n_points;
  mdy /= n_points;
  for (i = 0; i < n_points; i++) {
    double px = src[2 * i] - msx, py = src[2 * i + 1] - msy;
    double qx = dst[2 * i] - mdx, qy = dst[2 * i + 1] - mdy;
    var += px * px + py * py;
    pa += px * qx + py * qy;
    pb += px * qy - py * qx;
  }
  if (!(var > 1e-9) || !isfinite (var))
    return FALSE;
  a = pa / var;
  b = pb / var;
  matrix[0] = a;
  matrix[1] = -b;
  matrix[2] = mdx - (a * msx - b * msy);
  matrix[3] = b;
  matrix[4] = a;
  matrix[5] = mdy - (b * msx + a * msy);
  return isfinite (matrix[2]) && isfinite (matrix[5]) && (a != 0 || b != 0);
}

/**
 * fv_aligner_new:
 *
 * Creates an aligner with its scratch memory (about 3 MB). The fill
 * colour for pixels outside the frame is black.
 *
 * Returns: (transfer full): a new aligner
 */
FvAligner *
fv_aligner_new (void)
{
  FvAligner *a = g_new0 (FvAligner, 1);

  a->planes = g_malloc ((gsize) (3) * REGION_MAX * REGION_MAX);
  return a;
}

/**
 * fv_aligner_free:
 * @aligner: (transfer full) (nullable): an aligner
 */
void
fv_aligner_free (FvAligner * aligner)
{
  if (!aligner)
    return;
  g_free (aligner->planes);
  fv_scratch_clear (&aligner->scratch);
  g_free (aligner);
}

/**
 * fv_aligner_set_fill:
 * @aligner: an aligner
 * @red: red value of pixels outside the frame
 * @green: green value
 * @blue: blue value
 *
 * Sets the constant colour of crop pixels that fall outside the frame.
 */
void
fv_aligner_set_fill (FvAligner * aligner, guint8 red, guint8 green, guint8 blue)
{
  g_return_if_fail (aligner != NULL);
  aligner->fill[0] = red;
  aligner->fill[1] = green;
  aligner->fill[2] = blue;
}

/**
 * fv_aligner_get_memory_size:
 * @aligner: an aligner
 *
 * Returns: the bytes of scratch memory the aligner holds
 */
gsize
fv_aligner_get_memory_size (FvAligner * aligner)
{
  g_return_val_if_fail (aligner != NULL, 0);
  return (gsize) (3) * REGION_MAX * REGION_MAX + aligner->scratch.size;
}

static void
fill_output (const FvAligner * a, guint8 * rgb, gsize stride, float *tensor)
{
  guint x, y, c;

  for (y = 0; y < SIDE; y++)
    for (x = 0; x < SIDE; x++)
      for (c = 0; c < 3; c++) {
        if (rgb)
          rgb[y * stride + 3 * x + c] = a->fill[c];
        else
          tensor[(y * SIDE + x) * 3 + c] = (a->fill[c] - 127.5f) / 128.0f;
      }
}

/* Samples the crop whose pixel (u, v) shows frame point
 * inv * (u, v, 1), with pixel centres at integer coordinates (as OpenCV's
 * warpAffine). Writes 8-bit RGB to @rgb, or normalised floats to
 * @tensor. Returns FALSE, with the output filled, if no frame pixel
 * contributes. */
static gboolean
warp (FvAligner * a, const FvFrame * frame, const double inv[6],
    guint8 * rgb, gsize stride, float *tensor)
{
  static const int cu[4] = { -1, SIDE, -1, SIDE }, cv[4] = { -1, -1, SIDE,
    SIDE
  };
  double minx = G_MAXDOUBLE, miny = G_MAXDOUBLE, maxx = -G_MAXDOUBLE,
      maxy = -G_MAXDOUBLE, kx, ky;
  gint64 rx0, ry0, rx1, ry1;
  guint rw, rh, dw, dh, u, v, c;
  FvPlanes planes;
  guint8 fill[3];
  int i;

  for (i = 0; i < 4; i++) {
    double fx = inv[0] * cu[i] + inv[1] * cv[i] + inv[2];
    double fy = inv[3] * cu[i] + inv[4] * cv[i] + inv[5];
    minx = MIN (minx, fx);
    maxx = MAX (maxx, fx);
    miny = MIN (miny, fy);
    maxy = MAX (maxy, fy);
  }
  rx0 = (gint64) CLAMP (floor (minx) - 1, 0, frame->width);
  ry0 = (gint64) CLAMP (floor (miny) - 1, 0, frame->height);
  rx1 = (gint64) CLAMP (ceil (maxx) + 2, 0, frame->width);
  ry1 = (gint64) CLAMP (ceil (maxy) + 2, 0, frame->height);
  if (rx1 <= rx0 || ry1 <= ry0) {
    fill_output (a, rgb, stride, tensor);
    return FALSE;
  }
  rw = rx1 - rx0;
  rh = ry1 - ry0;
  dw = rw;
  dh = rh;
  if (MAX (rw, rh) > REGION_MAX) {
    double k = (double) REGION_MAX / MAX (rw, rh);
    dw = CLAMP ((guint) (rw * k + 0.5), 1, REGION_MAX);
    dh = CLAMP ((guint) (rh * k + 0.5), 1, REGION_MAX);
  }
  planes.stride = dw;
  for (c = 0; c < 3; c++)
    planes.p[c] = a->planes + (gsize) (c) * dw * dh;
  fv_frame_read_planar (frame, rx0, ry0, rw, rh, &planes, dw, dh, &a->scratch);
  kx = (double) dw / rw;
  ky = (double) dh / rh;
  memcpy (fill, a->fill, 3);

  for (v = 0; v < SIDE; v++) {
    for (u = 0; u < SIDE; u++) {
      /* Frame point, then position in the (possibly scaled) region. */
      double fx = inv[0] * u + inv[1] * v + inv[2];
      double fy = inv[3] * u + inv[4] * v + inv[5];
      double sx = (fx - rx0 + 0.5) * kx - 0.5;
      double sy = (fy - ry0 + 0.5) * ky - 0.5;
      double x0f = floor (sx), y0f = floor (sy);
      float wx = (float) (sx - x0f), wy = (float) (sy - y0f);
      gint64 x0 = (gint64) CLAMP (x0f, -2, (double) dw + 1);
      gint64 y0 = (gint64) CLAMP (y0f, -2, (double) dh + 1);
      gboolean in00 = x0 >= 0 && x0 < dw && y0 >= 0 && y0 < dh;
      gboolean in10 = x0 + 1 >= 0 && x0 + 1 < dw && y0 >= 0 && y0 < dh;
      gboolean in01 = x0 >= 0 && x0 < dw && y0 + 1 >= 0 && y0 + 1 < dh;
      gboolean in11 = x0 + 1 >= 0 && x0 + 1 < dw && y0 + 1 >= 0 && y0 + 1 < dh;
      gsize o = (gsize) (y0 * (gint64) dw + x0);

      for (c = 0; c < 3; c++) {
        const guint8 *p = planes.p[c];
        float p00 = in00 ? p[o] : fill[c];
        float p10 = in10 ? p[o + 1] : fill[c];
        float p01 = in01 ? p[o + dw] : fill[c];
        float p11 = in11 ? p[o + dw + 1] : fill[c];
        float top = p00 + (p10 - p00) * wx;
        float bot = p01 + (p11 - p01) * wx;
        float val = top + (bot - top) * wy;
        if (rgb)
          rgb[v * stride + 3 * u + c] = (guint8) CLAMP (val + 0.5f, 0, 255);
        else
          tensor[(v * SIDE + u) * 3 + c] = (val - 127.5f) / 128.0f;
      }
    }
  }
  return TRUE;
}

static gboolean
landmarks_to_inverse (const float *landmarks, double inv[6])
{
  float m[6];
  double det, rms = 0;
  guint i;

  for (i = 0; i < 2 * FV_N_LANDMARKS; i++)
    if (!isfinite (landmarks[i]) || fabsf (landmarks[i]) > COORD_MAX)
      return FALSE;
  if (!fv_similarity_estimate (landmarks, arcface_112, FV_N_LANDMARKS, m))
    return FALSE;
  for (i = 0; i < FV_N_LANDMARKS; i++) {
    double x = landmarks[2 * i], y = landmarks[2 * i + 1];
    double dx = m[0] * x + m[1] * y + m[2] - arcface_112[2 * i];
    double dy = m[3] * x + m[4] * y + m[5] - arcface_112[2 * i + 1];
    rms += dx * dx + dy * dy;
  }
  if (sqrt (rms / FV_N_LANDMARKS) > MAX_FIT_RMS)
    return FALSE;
  /* A face whose eyes are less than ~0.1 px apart is noise. */
  det = (double) m[0] * m[4] - (double) m[1] * m[3];
  if (!(det > 1e-12) || det > 1e6)
    return FALSE;
  inv[0] = m[4] / det;
  inv[1] = -m[1] / det;
  inv[3] = -m[3] / det;
  inv[4] = m[0] / det;
  inv[2] = -(inv[0] * m[2] + inv[1] * m[5]);
  inv[5] = -(inv[3] * m[2] + inv[4] * m[5]);
  return TRUE;
}

static gboolean
align (FvAligner * a, const FvFrame * frame, const float *landmarks,
    guint8 * rgb, gsize stride, float *tensor)
{
  double inv[6];

  if (!landmarks_to_inverse (landmarks, inv)) {
    fill_output (a, rgb, stride, tensor);
    return FALSE;
  }
  return warp (a, frame, inv, rgb, stride, tensor);
}

/**
 * fv_aligner_align:
 * @aligner: an aligner
 * @frame: the frame
 * @landmarks: (array fixed-size=10): five x, y points in frame pixels in
 *   the order of %FV_N_LANDMARKS
 * @rgb: (out caller-allocates): 112 rows of 112 packed R, G, B bytes
 * @rgb_stride: bytes per row of @rgb (336 or more)
 *
 * Warps the face to the ArcFace template with the least-squares
 * similarity transform from @landmarks and bilinear sampling. Crop pixels
 * outside the frame get the fill colour. Only the frame region under the
 * crop is converted. Allocates nothing once it has seen the frame's width.
 *
 * Returns: %FALSE, with @rgb filled with the fill colour, when the
 *   landmarks are unusable (not finite, absurdly large, all in one spot,
 *   or not shaped like a face) or the crop lies wholly outside the frame
 */
gboolean
fv_aligner_align (FvAligner * aligner, const FvFrame * frame,
    const float *landmarks, guint8 * rgb, gsize rgb_stride)
{
  g_return_val_if_fail (aligner != NULL && frame != NULL, FALSE);
  g_return_val_if_fail (landmarks != NULL && rgb != NULL, FALSE);
  g_return_val_if_fail (rgb_stride >= 3 * SIDE, FALSE);
  return align (aligner, frame, landmarks, rgb, rgb_stride, NULL);
}

/**
 * fv_aligner_align_tensor:
 * @aligner: an aligner
 * @frame: the frame
 * @landmarks: (array fixed-size=10): five x, y points in frame pixels
 * @tensor: (out caller-allocates) (array fixed-size=37632): the crop as the
 *   engine's input: 112x112x3 floats, RGB, (p - 127.5) / 128
 *
 * As fv_aligner_align(), but writes the embedder's input without rounding
 * to 8 bits (see fv_embedder_embed_tensor()).
 *
 * Returns: %FALSE as fv_aligner_align()
 */
gboolean
fv_aligner_align_tensor (FvAligner * aligner, const FvFrame * frame,
    const float *landmarks, float *tensor)
{
  g_return_val_if_fail (aligner != NULL && frame != NULL, FALSE);
  g_return_val_if_fail (landmarks != NULL && tensor != NULL, FALSE);
  return align (aligner, frame, landmarks, NULL, 0, tensor);
}

static gboolean
crop_box (FvAligner * a, const FvFrame * frame, float x1, float y1,
    float x2, float y2, float margin, guint8 * rgb, gsize stride, float *tensor)
{
  double inv[6], side, cx, cy;

  if (!isfinite (x1) || !isfinite (y1) || !isfinite (x2) || !isfinite (y2)
      || !isfinite (margin) || fabsf (x1) > COORD_MAX
      || fabsf (y1) > COORD_MAX || fabsf (x2) > COORD_MAX
      || fabsf (y2) > COORD_MAX || margin < 0 || margin > 10
      || !(x2 > x1) || !(y2 > y1)) {
    fill_output (a, rgb, stride, tensor);
    return FALSE;
  }
  side = MAX (x2 - x1, y2 - y1) * (1.0 + margin);
  cx = 0.5 * ((double) x1 + x2);
  cy = 0.5 * ((double) y1 + y2);
  inv[0] = side / SIDE;
  inv[1] = 0;
  inv[2] = cx - 0.5 * side + 0.5 * inv[0];
  inv[3] = 0;
  inv[4] = side / SIDE;
  inv[5] = cy - 0.5 * side + 0.5 * inv[4];
  return warp (a, frame, inv, rgb, stride, tensor);
}

/**
 * fv_aligner_crop_box:
 * @aligner: an aligner
 * @frame: the frame
 * @x1: left edge of the face box, frame pixels
 * @y1: top edge
 * @x2: right edge
 * @y2: bottom edge
 * @margin: extra space around the box, as a fraction of its longer side
 *   (0 to 10; e.g. 0.2)
 * @rgb: (out caller-allocates): 112 rows of 112 packed R, G, B bytes
 * @rgb_stride: bytes per row of @rgb (336 or more)
 *
 * Without landmarks: crops the square of side max(w, h) * (1 + @margin)
 * centred on the box and scales it to 112x112 bilinearly. Pixels outside
 * the frame get the fill colour.
 *
 * Returns: %FALSE, with @rgb filled, for an empty, inverted, non-finite
 *   or absurd box, or one wholly outside the frame
 */
gboolean
fv_aligner_crop_box (FvAligner * aligner, const FvFrame * frame, float x1,
    float y1, float x2, float y2, float margin, guint8 * rgb, gsize rgb_stride)
{
  g_return_val_if_fail (aligner != NULL && frame != NULL && rgb, FALSE);
  g_return_val_if_fail (rgb_stride >= 3 * SIDE, FALSE);
  return crop_box (aligner, frame, x1, y1, x2, y2, margin, rgb, rgb_stride,
      NULL);
}

/**
 * fv_aligner_crop_box_tensor:
 * @aligner: an aligner
 * @frame: the frame
 * @x1: left edge of the face box, frame pixels
 * @y1: top edge
 * @x2: right edge
 * @y2: bottom edge
 * @margin: extra space around the box, as a fraction of its longer side
 * @tensor: (out caller-allocates) (array fixed-size=37632): 112x112x3
 *   floats, RGB, (p - 127.5) / 128
 *
 * As fv_aligner_crop_box(), writing the embedder's input.
 *
 * Returns: %FALSE as fv_aligner_crop_box()
 */
gboolean
fv_aligner_crop_box_tensor (FvAligner * aligner, const FvFrame * frame,
    float x1, float y1, float x2, float y2, float margin, float *tensor)
{
  g_return_val_if_fail (aligner != NULL && frame != NULL && tensor, FALSE);
  return crop_box (aligner, frame, x1, y1, x2, y2, margin, NULL, 0, tensor);
}

/**
 * fv_aligner_crop_face:
 * @aligner: an aligner
 * @frame: the frame
 * @x1: left edge of the face box, frame pixels
 * @y1: top edge
 * @x2: right edge
 * @y2: bottom edge
 * @landmarks: (array fixed-size=10) (nullable): five x, y points in frame
 *   pixels in the order of %FV_N_LANDMARKS, or %NULL when the detector
 *   gives none
 * @rgb: (out caller-allocates): 112 rows of 112 packed R, G, B bytes
 * @rgb_stride: bytes per row of @rgb (336 or more)
 *
 * The one crop rule of the library, the element and the command line:
 * aligns the face on its landmarks with fv_aligner_align(); without
 * landmarks, or when they are unusable, crops the box with
 * fv_aligner_crop_box() and a margin of %FV_BOX_CROP_MARGIN. A box that
 * cannot be cropped either leaves @rgb filled with the fill colour.
 *
 * Returns: %TRUE when the crop is aligned on the landmarks, %FALSE when
 *   it is a box crop
 */
gboolean
fv_aligner_crop_face (FvAligner * aligner, const FvFrame * frame, float x1,
    float y1, float x2, float y2, const float *landmarks, guint8 * rgb,
    gsize rgb_stride)
{
  g_return_val_if_fail (aligner != NULL && frame != NULL && rgb, FALSE);
  g_return_val_if_fail (rgb_stride >= 3 * SIDE, FALSE);

  if (landmarks && align (aligner, frame, landmarks, rgb, rgb_stride, NULL))
    return TRUE;
  crop_box (aligner, frame, x1, y1, x2, y2, FV_BOX_CROP_MARGIN, rgb,
      rgb_stride, NULL);
  return FALSE;
}
