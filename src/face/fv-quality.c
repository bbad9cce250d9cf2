/* The face quality score: six measures of one aligned crop and its
 * detection, each mapped to a sub-score; the score is the lowest. */
#include "fv.h"

#include <math.h>

#define SIDE FV_EMBED_SIZE

/* The centre of the 112x112 ArcFace crop that holds the eyes (y 51.6),
 * the nose (y 71.7) and the mouth (y 92.3) and little background: the
 * sharpness, brightness and contrast are measured there. */
#define CX0 28
#define CX1 84
#define CY0 40
#define CY1 100

/* Where each sub-score is 0 (BAD) and where it reaches 1 (GOOD); linear
 * in between. Chosen on the 122 photos of ../shared/data/faces (their
 * reference landmarks, crops by fv_aligner_crop_face(); the spread is
 * printed by tests/unit/test-face-quality.cc). */
/* laplacian_ratio: 0.31 to 1.85 on those photos (5th percentile 0.49,
 * median 0.87). Blurring 11 deepface photos shrunk to a 100 px face
 * (median ratio 0.53) with a Gaussian of sigma 1, 1.5, 2, 2.5 and 3 crop
 * pixels gives median ratios 0.20, 0.14, 0.11, 0.09, 0.08 and moves the
 * embedding to a median cosine of 0.97, 0.90, 0.79, 0.65, 0.48 from the
 * sharp one's: 1 where recognition is intact, 0 where it is lost. */
#define SHARP_BAD 0.08f
#define SHARP_GOOD 0.20f
/* face_size: MTCNN's smallest face is 12 px; from 56 px (half the crop's
 * side) no crop pixel is enlarged more than twice */
#define SIZE_BAD 12.0f
#define SIZE_GOOD 56.0f
/* yaw and roll in degrees; alignment undoes roll, so it only matters
 * when the eye line is far from level */
#define YAW_GOOD 25.0f
#define YAW_BAD 60.0f
#define ROLL_GOOD 30.0f
#define ROLL_BAD 80.0f
/* mean luma (0-255) of the crop's centre: only near-black and burnt-out
 * faces, a dark face with contrast is still recognised */
#define DARK_BAD 2.0f
#define DARK_GOOD 20.0f
#define BRIGHT_GOOD 232.0f
#define BRIGHT_BAD 252.0f
/* standard deviation of that luma */
#define CONTRAST_BAD 3.0f
#define CONTRAST_GOOD 12.0f
/* fraction of the box inside the frame; below 0.5 faceverify skips the
 * face */
#define VISIBLE_BAD 0.5f
#define VISIBLE_GOOD 0.95f

static float
ramp (float v, float bad, float good)
{
  float t = (v - bad) / (good - bad);

  if (!(t > 0.0f))              /* also NaN */
    return 0.0f;
  return t < 1.0f ? t : 1.0f;
}

/* The Laplacian is taken between pixels this far apart (crop pixels):
 * about one pixel of the face in the frame, so that a small face, which
 * the crop enlarges, is judged on its own detail (its size is judged
 * apart). The crop's scale is about SCALE_K x 112 / face_size (the eyes
 * of an aligned crop are 35.2 px apart, about 0.4 of an MTCNN box). */
#define STEP_MAX 4
#define SCALE_K 0.8f

/* Laplacian/luma ratio, mean and standard deviation of the luma over the
 * crop's centre, the luma of the centre and a border of STEP_MAX on the
 * stack. */
static void
fv_quality_measure_crop (const guint8 * rgb, gsize stride, FvFaceQuality * q)
{
  enum
  { W = CX1 - CX0 + 2 * STEP_MAX, H = CY1 - CY0 + 2 * STEP_MAX };
  guint8 luma[H][W];
  double sum = 0, sum2 = 0, lsum = 0, lsum2 = 0, n, var, lvar;
  float up = q->face_size > SCALE_K * SIDE / STEP_MAX ?
      SCALE_K * SIDE / q->face_size : (float) STEP_MAX;
  gint d = MAX ((gint) (up + 0.5f), 1);
  gint x, y;

  for (y = 0; y < H; y++) {
    const guint8 *p = rgb + (gsize) (y + CY0 - STEP_MAX) * stride
        + 3 * (CX0 - STEP_MAX);

    for (x = 0; x < W; x++, p += 3)
      luma[y][x] = (77 * p[0] + 150 * p[1] + 29 * p[2] + 128) >> 8;
  }
  for (y = STEP_MAX; y < H - STEP_MAX; y++) {
    for (x = STEP_MAX; x < W - STEP_MAX; x++) {
      gint c = luma[y][x];
      gint lap = luma[y - d][x] + luma[y + d][x] + luma[y][x - d]
          + luma[y][x + d] - 4 * c;

      sum += c;
      sum2 += (double) c *c;
      lsum += lap;
      lsum2 += (double) lap *lap;
    }
  }
  n = (double) (CX1 - CX0) * (CY1 - CY0);
  q->mean = (float) (sum / n);
  var = MAX (sum2 / n - (sum / n) * (sum / n), 0.0);
  lvar = MAX (lsum2 / n - (lsum / n) * (lsum / n), 0.0);
  q->stddev = (float) sqrt (var);
  /* a flat crop has no detail: 0, not 0/0 */
  q->laplacian_ratio = var > 1.0 ? (float) sqrt (lvar / var) : 0.0f;
}

/* Roll from the eye line; yaw from where the nose lies between the
 * centre line (eye midpoint to mouth midpoint) and the eyes and mouth
 * corners, after undoing the roll: tan(yaw) ~ offset / half-width, as
 * the nose tip stands about a half eye distance in front of the eyes. */
static void
fv_quality_measure_pose (const float *lm, FvFaceQuality * q)
{
  float dx = lm[2] - lm[0], dy = lm[3] - lm[1];
  float roll = atan2f (dy, dx), c = cosf (roll), s = sinf (roll);
  float p[2 * FV_N_LANDMARKS];
  float ex, ey, mx, my, t, cx, hw;
  guint k;

  /* rotate by -roll around the left eye */
  for (k = 0; k < FV_N_LANDMARKS; k++) {
    float x = lm[2 * k] - lm[0], y = lm[2 * k + 1] - lm[1];
    p[2 * k] = c * x + s * y;
    p[2 * k + 1] = -s * x + c * y;
  }
  q->roll = roll * (float) (180.0 / G_PI);
  ex = 0.5f * (p[0] + p[2]);
  ey = 0.5f * (p[1] + p[3]);
  mx = 0.5f * (p[6] + p[8]);
  my = 0.5f * (p[7] + p[9]);
  hw = 0.25f * ((p[2] - p[0]) + (p[8] - p[6]));
  if (!(hw > 1e-3f) || !(my - ey > 1e-3f)) {
    /* eyes or mouth corners crossed, mouth above the eyes: no frontal
     * face looks like this */
    q->yaw = 90.0f;
    return;
  }
  t = (p[5] - ey) / (my - ey);
  cx = ex + t * (mx - ex);
  q->yaw = atanf ((p[4] - cx) / hw) * (float) (180.0 / G_PI);
}

static float
fv_quality_visible (float x1, float y1, float x2, float y2, guint fw, guint fh)
{
  float area = (x2 - x1) * (y2 - y1);
  float w = MIN (x2, (float) fw) - MAX (x1, 0.0f);
  float h = MIN (y2, (float) fh) - MAX (y1, 0.0f);

  if (!(area > 0.0f) || !(w > 0.0f) || !(h > 0.0f))
    return 0.0f;
  return MIN (w * h / area, 1.0f);
}

/**
 * fv_face_quality:
 * @rgb: the 112x112 RGB crop of the face, as fv_aligner_crop_face() made
 *   it (aligned or box crop)
 * @rgb_stride: bytes per row of @rgb (336 or more)
 * @x1: left edge of the face box, frame pixels
 * @y1: top edge
 * @x2: right edge
 * @y2: bottom edge
 * @landmarks: (array fixed-size=10) (nullable): the five landmarks the
 *   crop was aligned on, frame pixels, or %NULL for a box crop (then the
 *   pose is not measured and scores 1)
 * @frame_width: width of the frame the face was found in
 * @frame_height: its height
 * @quality: (out caller-allocates) (optional): the measures, sub-scores
 *   and reason
 *
 * How usable the face is for recognition, in [0, 1]: the lowest of six
 * sub-scores, each linear between a bad value (0) and a good one (1):
 *
 * - sharpness: the Laplacian/luma ratio of the crop's centre
 *   (x 28-84, y 40-100 of the crop: eyes, nose, mouth), the Laplacian
 *   taken between pixels about one face pixel apart (1 to 4 crop pixels,
 *   from the crop's enlargement), so that blur is told apart from size;
 *   0 at 0.08, 1 at 0.20;
 * - size: sqrt(w x h) of the box, 0 at 12 px, 1 at 56 px;
 * - pose: (1 at |yaw| 25 degrees, 0 at 60) x (1 at |roll| 30, 0 at 80),
 *   yaw estimated as atan(nose offset from the centre line / half width
 *   of eyes and mouth);
 * - brightness: mean luma of the centre, 0 at 2, 1 from 20 to 232, 0 at
 *   252 (only near-black or burnt-out faces);
 * - contrast: standard deviation of that luma, 0 at 3, 1 at 12;
 * - edge: the fraction of the box inside the frame, 0 at 0.5, 1 at 0.95.
 *
 * The lowest rather than the product: one bad property is enough to make
 * a face poor, and it names why (@quality's reason), while a face that is
 * a little small and a little dark, which MobileFaceNet still recognises,
 * is not punished twice. Costs a few microseconds (two passes over
 * 4,400 pixels), allocates nothing (4 KiB of stack) and is thread-safe.
 *
 * Returns: the overall score, in [0, 1]
 */
float
fv_face_quality (const guint8 * rgb, gsize rgb_stride, float x1, float y1,
    float x2, float y2, const float *landmarks, guint frame_width,
    guint frame_height, FvFaceQuality * quality)
{
  FvFaceQuality q = { 0 };
  float subs[6];
  guint k, worst = 0;
  static const FvFaceQualityReason reasons[6] = {
    FV_FACE_QUALITY_BLURRED, FV_FACE_QUALITY_TOO_SMALL,
    FV_FACE_QUALITY_TURNED, FV_FACE_QUALITY_DARK,
    FV_FACE_QUALITY_LOW_CONTRAST, FV_FACE_QUALITY_CUT
  };

  g_return_val_if_fail (rgb != NULL, 0.0f);
  g_return_val_if_fail (rgb_stride >= SIDE * 3, 0.0f);

  q.face_size = (x2 > x1 && y2 > y1) ? sqrtf ((x2 - x1) * (y2 - y1)) : 0.0f;
  fv_quality_measure_crop (rgb, rgb_stride, &q);
  if (landmarks)
    fv_quality_measure_pose (landmarks, &q);
  q.visible = fv_quality_visible (x1, y1, x2, y2, frame_width, frame_height);

  q.sharpness = ramp (q.laplacian_ratio, SHARP_BAD, SHARP_GOOD);
  q.size = ramp (q.face_size, SIZE_BAD, SIZE_GOOD);
  q.pose = ramp (fabsf (q.yaw), YAW_BAD, YAW_GOOD)
      * ramp (fabsf (q.roll), ROLL_BAD, ROLL_GOOD);
  q.brightness = MIN (ramp (q.mean, DARK_BAD, DARK_GOOD),
      ramp (q.mean, BRIGHT_BAD, BRIGHT_GOOD));
  q.contrast = ramp (q.stddev, CONTRAST_BAD, CONTRAST_GOOD);
  q.edge = ramp (q.visible, VISIBLE_BAD, VISIBLE_GOOD);

  subs[0] = q.sharpness;
  subs[1] = q.size;
  subs[2] = q.pose;
  subs[3] = q.brightness;
  subs[4] = q.contrast;
  subs[5] = q.edge;
  for (k = 1; k < 6; k++)
    if (subs[k] < subs[worst])
      worst = k;
  q.score = subs[worst];
  q.reason = FV_FACE_QUALITY_OK;
  if (subs[worst] < 1.0f) {
    q.reason = reasons[worst];
    if (q.reason == FV_FACE_QUALITY_DARK && q.mean > DARK_GOOD)
      q.reason = FV_FACE_QUALITY_BRIGHT;
  }
  if (quality)
    *quality = q;
  return q.score;
}

/**
 * fv_face_quality_reason_to_string:
 * @reason: a reason
 *
 * Returns: (transfer none): its name for people and files: "ok",
 *   "blurred", "too small", "turned", "dark", "bright", "low contrast" or
 *   "cut by the frame edge"
 */
const char *
fv_face_quality_reason_to_string (FvFaceQualityReason reason)
{
  switch (reason) {
    case FV_FACE_QUALITY_OK:
      return "ok";
    case FV_FACE_QUALITY_BLURRED:
      return "blurred";
    case FV_FACE_QUALITY_TOO_SMALL:
      return "too small";
    case FV_FACE_QUALITY_TURNED:
      return "turned";
    case FV_FACE_QUALITY_DARK:
      return "dark";
    case FV_FACE_QUALITY_BRIGHT:
      return "bright";
    case FV_FACE_QUALITY_LOW_CONTRAST:
      return "low contrast";
    case FV_FACE_QUALITY_CUT:
      return "cut by the frame edge";
  }
  return "unknown";
}
