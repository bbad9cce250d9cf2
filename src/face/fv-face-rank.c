/* gst-faceverify: face verification on the CPU
 *
 * fv-face-rank.c: which face of a photo is its subject (the one rule of
 * the commands that take one face per photo).
 */
#include "fv-face-private.h"

#include <math.h>

/**
 * fv_detection_prominence:
 * @detection: a face found in a @width x @height image
 * @width: image width, 1 or more
 * @height: image height, 1 or more
 * @size: (out) (optional): the face's size term, see below
 * @centrality: (out) (optional): the face's centrality term, see below
 *
 * How much @detection looks like the subject of the picture, rather than
 * a bystander or a false detection: the product of three terms in [0, 1],
 *
 *   prominence = confidence × √size × centrality
 *
 * - confidence: the detector's score;
 * - size = min (1, √(box area) / shorter image side): the face's side
 *   relative to the picture;
 * - centrality = 1 − d², d the distance from the box centre to the image
 *   centre divided by half the image diagonal (1 at a centred face, 0 at
 *   a corner).
 *
 * The square root keeps size from outweighing the other two: a face twice
 * as large gains a factor 1.41, while a face half-way to a corner loses
 * 0.75 and a false detection of score 0.8 loses 0.8. A portrait scores
 * close to 1; of a centred face and a larger bystander at the edge, the
 * centred face wins. Two faces whose prominences are within the ratio
 * %FV_PROMINENCE_COMPARABLE are "comparable": the picture has no clear
 * subject.
 *
 * Returns: the prominence, in [0, 1]
 */
float
fv_detection_prominence (const FvDetection * detection, guint width,
    guint height, float *size, float *centrality)
{
  double w, h, side, s, c, dx, dy, d2, conf;

  g_return_val_if_fail (detection != NULL, 0.0f);
  g_return_val_if_fail (width >= 1 && height >= 1, 0.0f);

  w = MAX (0.0, (double) detection->x2 - detection->x1);
  h = MAX (0.0, (double) detection->y2 - detection->y1);
  side = MIN (width, height);
  s = CLAMP (sqrt (w * h) / side, 0.0, 1.0);
  dx = (detection->x1 + detection->x2) / 2.0 - width / 2.0;
  dy = (detection->y1 + detection->y2) / 2.0 - height / 2.0;
  d2 = (dx * dx + dy * dy) / ((width * (double) width + height * (double)
          height) / 4.0);
  c = CLAMP (1.0 - d2, 0.0, 1.0);
  conf = CLAMP (detection->score, 0.0f, 1.0f);
  if (!isfinite (s) || !isfinite (c) || !isfinite (conf))
    s = c = conf = 0.0;
  if (size)
    *size = (float) s;
  if (centrality)
    *centrality = (float) c;
  return (float) (conf * sqrt (s) * c);
}

/**
 * fv_detections_sort_by_prominence:
 * @faces: (array length=n_faces) (inout): faces found in a @width x
 *   @height image
 * @n_faces: their number
 * @width: image width, 1 or more
 * @height: image height, 1 or more
 *
 * Sorts @faces by fv_detection_prominence(), the most prominent (the
 * picture's subject) first; faces of equal prominence keep their order.
 */
void
fv_detections_sort_by_prominence (FvDetection * faces, guint n_faces,
    guint width, guint height)
{
  guint i, j;

  g_return_if_fail (faces != NULL || n_faces == 0);
  /* Insertion sort: a picture has few faces, and it is stable. */
  for (i = 1; i < n_faces; i++) {
    FvDetection f = faces[i];
    float p = fv_detection_prominence (&f, width, height, NULL, NULL);

    for (j = i; j > 0 && fv_detection_prominence (&faces[j - 1], width,
            height, NULL, NULL) < p; j--)
      faces[j] = faces[j - 1];
    faces[j] = f;
  }
}
