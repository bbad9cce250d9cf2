/* Scene change between full scans: a thumbnail of block means and
 * spreads of the luma, compared with the one of the last full scan. */
#include "fv-face-private.h"

#include <math.h>
#include <string.h>

#define SCENE_COLS 64
#define SCENE_MAX_ROWS 128
#define SCENE_BLOCKS (SCENE_COLS * SCENE_MAX_ROWS)
/* Rows read per block row at most: a block mean over some 80 pixels or
 * more already averages sensor noise out (README). */
#define SCENE_SAMPLE_ROWS 4
/* A face moves by at most a quarter of its size from one tracked run to
 * the next (fv_detector_track()); half its size around its box covers
 * that with room. */
#define SCENE_FACE_MARGIN 0.5f
/* Half-level bins of the block mean differences, -255 to 255. */
#define SCENE_HIST_BINS 1021

struct _FvScene
{
  guint width, height, cols, rows;
  gboolean have_reference;
  float ref_mean[SCENE_BLOCKS], ref_spread[SCENE_BLOCKS];
  float mean[SCENE_BLOCKS], spread[SCENE_BLOCKS];
  guint8 ignore[SCENE_BLOCKS];
  guint32 hist[SCENE_HIST_BINS];
  guint64 sum[SCENE_COLS], sum_sq[SCENE_COLS];
  FvScratch row;
};

/**
 * fv_scene_new:
 *
 * A scene-change measure for the frames between full scans of the
 * detector (see fv_scene_get_change()). Not thread-safe. Allocates its
 * memory here, except a row of luma for RGB frames (once per frame
 * width).
 *
 * Returns: (transfer full): a new #FvScene; free with fv_scene_free()
 */
FvScene *
fv_scene_new (void)
{
  return g_new0 (FvScene, 1);
}

/**
 * fv_scene_free:
 * @scene: (transfer full) (nullable): a scene
 *
 * Frees @scene.
 */
void
fv_scene_free (FvScene * scene)
{
  if (!scene)
    return;
  fv_scratch_clear (&scene->row);
  g_free (scene);
}

/* Block means and spreads (standard deviations) of @frame's luma into
 * @mean and @spread, on @scene's grid. */
static void
scene_thumbnail (FvScene * s, const FvFrame * frame, float *mean, float *spread)
{
  guint r, c, y, x;

  for (r = 0; r < s->rows; r++) {
    guint y0 = (guint) ((guint64) r * s->height / s->rows);
    guint y1 = (guint) ((guint64) (r + 1) * s->height / s->rows);
    guint step = MAX (1, (y1 - y0) / SCENE_SAMPLE_ROWS), n_rows = 0;

    memset (s->sum, 0, sizeof s->sum);
    memset (s->sum_sq, 0, sizeof s->sum_sq);
    for (y = y0; y < y1; y += step, n_rows++) {
      const guint8 *p = fv_frame_luma_row (frame, y, &s->row);

      for (c = 0; c < s->cols; c++) {
        guint x0 = (guint) ((guint64) c * s->width / s->cols);
        guint x1 = (guint) ((guint64) (c + 1) * s->width / s->cols);
        guint32 sum = 0, sum_sq = 0;

        for (x = x0; x < x1; x++) {
          sum += p[x];
          sum_sq += (guint32) p[x] * p[x];
        }
        s->sum[c] += sum;
        s->sum_sq[c] += sum_sq;
      }
    }
    for (c = 0; c < s->cols; c++) {
      guint x0 = (guint) ((guint64) c * s->width / s->cols);
      guint x1 = (guint) ((guint64) (c + 1) * s->width / s->cols);
      double n = (double) n_rows * (x1 - x0);
      double m = s->sum[c] / n, v = s->sum_sq[c] / n - m * m;

      mean[r * s->cols + c] = (float) m;
      spread[r * s->cols + c] = (float) sqrt (MAX (v, 0.0));
    }
  }
}

/* Marks the blocks that a margin around each face's box touches. */
static void
scene_ignore_faces (FvScene * s, const FvDetection * faces, guint n_faces)
{
  guint i, r, c;

  for (i = 0; i < n_faces; i++) {
    const FvDetection *f = &faces[i];
    float m = SCENE_FACE_MARGIN * MAX (f->x2 - f->x1, f->y2 - f->y1);
    float fx = (float) s->cols / s->width, fy = (float) s->rows / s->height;
    float c0 = floorf ((f->x1 - m) * fx), c1 = ceilf ((f->x2 + m) * fx);
    float r0 = floorf ((f->y1 - m) * fy), r1 = ceilf ((f->y2 + m) * fy);

    /* also false for NaN */
    if (!(m >= 0.0f && c1 > 0.0f && r1 > 0.0f && c0 < s->cols && r0 < s->rows))
      continue;
    c0 = MAX (c0, 0.0f);
    r0 = MAX (r0, 0.0f);
    c1 = MIN (c1, (float) s->cols);
    r1 = MIN (r1, (float) s->rows);
    for (r = (guint) r0; r < (guint) r1; r++)
      for (c = (guint) c0; c < (guint) c1; c++)
        s->ignore[r * s->cols + c] = 1;
  }
}

/**
 * fv_scene_set_reference:
 * @scene: a scene
 * @frame: a frame that had a full scan
 * @faces: (array length=n_faces) (nullable): the faces found on @frame
 * @n_faces: the number of @faces
 *
 * Makes @frame the reference of fv_scene_get_change(): its thumbnail, 64
 * blocks wide (fewer for narrower frames) and as many high as keep them
 * about square (at most 128), each block's luma mean and spread. The
 * blocks around @faces (half a face's size around its box) are left out
 * of the comparisons until the next reference.
 */
void
fv_scene_set_reference (FvScene * scene, const FvFrame * frame,
    const FvDetection * faces, guint n_faces)
{
  guint rows;

  g_return_if_fail (scene != NULL && frame != NULL);
  g_return_if_fail (faces != NULL || n_faces == 0);
  g_return_if_fail (frame->width >= 1 && frame->height >= 1);

  scene->width = frame->width;
  scene->height = frame->height;
  scene->cols = MIN (SCENE_COLS, frame->width);
  rows = (guint) (((guint64) frame->height * scene->cols + frame->width / 2)
      / frame->width);
  scene->rows = CLAMP (rows, 1, MIN (SCENE_MAX_ROWS, frame->height));
  scene_thumbnail (scene, frame, scene->ref_mean, scene->ref_spread);
  memset (scene->ignore, 0, sizeof scene->ignore);
  scene_ignore_faces (scene, faces, n_faces);
  scene->have_reference = TRUE;
}

/* The median of the mean differences of the blocks that count, to half a
 * level: a change of the light moves all blocks alike. */
static float
scene_median_shift (FvScene * s, guint n_blocks)
{
  guint i, n = 0, seen = 0;

  memset (s->hist, 0, sizeof s->hist);
  for (i = 0; i < n_blocks; i++) {
    if (!s->ignore[i]) {
      float d = 2.0f * (s->mean[i] - s->ref_mean[i]);

      s->hist[(gint) lrintf (d) + SCENE_HIST_BINS / 2]++;
      n++;
    }
  }
  for (i = 0; i < SCENE_HIST_BINS; i++) {
    seen += s->hist[i];
    if (2 * seen >= n)
      break;
  }
  return 0.5f * ((gint) i - SCENE_HIST_BINS / 2);
}

/**
 * fv_scene_get_change:
 * @scene: a scene
 * @frame: a frame
 * @faces: (array length=n_faces) (nullable): faces tracked since the
 *   reference (the last run's)
 * @n_faces: the number of @faces
 *
 * How much @frame differs from the reference (fv_scene_set_reference())
 * outside the faces: the largest change of a block's luma, either of its
 * mean (less the median change of all blocks, so that the light may
 * change slowly) or of its spread (so that a face on a background of its
 * own brightness counts), in levels of 0 to 255. The blocks around
 * @faces join those left out until the next reference, so a tracked face
 * that moves changes nothing. Compare with
 * %FV_SCENE_CHANGE_THRESHOLD. Reads a thumbnail's worth of rows of
 * @frame (at most 4 per block row), allocates nothing in steady state.
 *
 * Returns: the change; +infinity when there is no reference or @frame's
 *   size differs from it; 0 when every block is left out
 */
float
fv_scene_get_change (FvScene * scene, const FvFrame * frame,
    const FvDetection * faces, guint n_faces)
{
  guint i, n_blocks;
  float shift, change = 0.0f;

  g_return_val_if_fail (scene != NULL && frame != NULL, INFINITY);
  g_return_val_if_fail (faces != NULL || n_faces == 0, INFINITY);

  if (!scene->have_reference || frame->width != scene->width
      || frame->height != scene->height)
    return INFINITY;
  scene_ignore_faces (scene, faces, n_faces);
  scene_thumbnail (scene, frame, scene->mean, scene->spread);
  n_blocks = scene->rows * scene->cols;
  shift = scene_median_shift (scene, n_blocks);
  for (i = 0; i < n_blocks; i++) {
    if (!scene->ignore[i]) {
      float dm = fabsf (scene->mean[i] - scene->ref_mean[i] - shift);
      float ds = fabsf (scene->spread[i] - scene->ref_spread[i]);

      change = MAX (change, MAX (dm, ds));
    }
  }
  return change;
}
