/* gst-faceverify: face verification on the CPU
 *
 * fv-quality.h: how usable a face crop is for recognition (sharpness,
 * size, pose, brightness, contrast, cut by the frame edge). Included by
 * fv.h; use fv.h.
 */
#ifndef FV_QUALITY_H
#define FV_QUALITY_H

#include "fv-prelude.h"

G_BEGIN_DECLS

/**
 * FV_FACE_QUALITY_DEFAULT_MIN:
 *
 * The default lowest quality at which the faceverify element recognises
 * a face (its min-quality property): below every face of the shared test
 * photos, clip and demo (lowest 0.65 with our detection, 1 in the clip,
 * 0.46 in the demo), above blurred (0) and 20-pixel (0.18) faces. See
 * README "Face quality".
 */
#define FV_FACE_QUALITY_DEFAULT_MIN 0.3

/**
 * FvFaceQualityReason:
 * @FV_FACE_QUALITY_OK: nothing wrong
 * @FV_FACE_QUALITY_BLURRED: the crop has little fine detail (motion or
 *   focus blur, or a small face enlarged to 112x112)
 * @FV_FACE_QUALITY_TOO_SMALL: the face box is small in the frame
 * @FV_FACE_QUALITY_TURNED: the landmarks show a face turned sideways
 *   (yaw) or tilted (roll)
 * @FV_FACE_QUALITY_DARK: the face is under-exposed
 * @FV_FACE_QUALITY_BRIGHT: the face is over-exposed
 * @FV_FACE_QUALITY_LOW_CONTRAST: the face is flat (fog, glare, a grey
 *   fill)
 * @FV_FACE_QUALITY_CUT: the face box reaches out of the frame
 *
 * Which sub-score of a #FvFaceQuality is the lowest, that is, why a face
 * scores low. fv_face_quality_reason_to_string() names it.
 */
typedef enum
{
  FV_FACE_QUALITY_OK = 0,
  FV_FACE_QUALITY_BLURRED,
  FV_FACE_QUALITY_TOO_SMALL,
  FV_FACE_QUALITY_TURNED,
  FV_FACE_QUALITY_DARK,
  FV_FACE_QUALITY_BRIGHT,
  FV_FACE_QUALITY_LOW_CONTRAST,
  FV_FACE_QUALITY_CUT,
} FvFaceQualityReason;

/**
 * FvFaceQuality:
 * @score: the overall quality in [0, 1]: the lowest of the six
 *   sub-scores below
 * @sharpness: sub-score in [0, 1] from @laplacian_ratio
 * @size: sub-score in [0, 1] from @face_size
 * @pose: sub-score in [0, 1] from @yaw and @roll (1 without landmarks)
 * @brightness: sub-score in [0, 1] from @mean
 * @contrast: sub-score in [0, 1] from @stddev
 * @edge: sub-score in [0, 1] from @visible
 * @laplacian_ratio: standard deviation of the 4-neighbour Laplacian of
 *   the luma divided by the standard deviation of the luma, both over the
 *   centre of the aligned crop (eyes, nose, mouth); a measure of fine
 *   detail that does not depend on the contrast
 * @face_size: sqrt(width x height) of the face box, frame pixels
 * @yaw: estimated yaw in degrees (0 frontal, positive: the nose is right
 *   of the face's centre line in the image), 0 without landmarks
 * @roll: the eye line's angle to the horizontal, degrees, 0 without
 *   landmarks
 * @mean: mean luma of the crop's centre, 0 to 255
 * @stddev: standard deviation of that luma
 * @visible: the fraction of the face box inside the frame, 0 to 1
 * @reason: the lowest sub-score's reason, %FV_FACE_QUALITY_OK when every
 *   sub-score is 1
 *
 * The quality of one face, from fv_face_quality(). Each sub-score is 1
 * over the range where faces of the shared data sets are recognised
 * normally and falls linearly to 0 over a documented bad range (see
 * fv_face_quality()), so a good face scores 1 and the score names one
 * reason when it is low.
 */
typedef struct
{
  float score;
  float sharpness;
  float size;
  float pose;
  float brightness;
  float contrast;
  float edge;

  float laplacian_ratio;
  float face_size;
  float yaw;
  float roll;
  float mean;
  float stddev;
  float visible;

  FvFaceQualityReason reason;
} FvFaceQuality;

FV_API float fv_face_quality (const guint8 * rgb, gsize rgb_stride,
    float x1, float y1, float x2, float y2, const float *landmarks,
    guint frame_width, guint frame_height, FvFaceQuality * quality);
FV_API const char *fv_face_quality_reason_to_string (FvFaceQualityReason
    reason);

G_END_DECLS

#endif /* FV_QUALITY_H */
