/* gst-faceverify: face identity metadata
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */
#ifndef GST_FACEVERIFY_META_H
#define GST_FACEVERIFY_META_H

#include <gst/gst.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

#if defined(FV_META_COMPILATION)
#define FV_META_API __attribute__ ((visibility ("default")))
#else
#define FV_META_API
#endif

/**
 * FV_FACE_ID_META_API_TYPE:
 *
 * The #GType of the #FvFaceIdMeta API. Its tags are "video" and "size",
 * so video filters that scale (videoscale, videoconvertscale) transform
 * it with the "gst-video-scale" transform instead of dropping it.
 */
#define FV_FACE_ID_META_API_TYPE (fv_face_id_meta_api_get_type ())

/**
 * FV_FACE_ID_META_INFO:
 *
 * The #GstMetaInfo of #FvFaceIdMeta.
 */
#define FV_FACE_ID_META_INFO (fv_face_id_meta_get_info ())

/**
 * FV_FACE_ID_UNKNOWN_LABEL:
 *
 * The label of a face that matched nobody in the gallery.
 */
#define FV_FACE_ID_UNKNOWN_LABEL "unknown"

/**
 * FV_FACE_ID_N_LANDMARKS:
 *
 * The number of landmarks an #FvFaceIdMeta can carry: left eye, right
 * eye, nose, left mouth corner, right mouth corner (image left/right).
 */
#define FV_FACE_ID_N_LANDMARKS 5

/**
 * FV_FACE_ID_REASON_LOW_QUALITY:
 *
 * The #FvFaceIdMeta reason (and the `reason` field of the `face_id`
 * param) of a face whose crop scored below the element's min-quality:
 * it is unknown whatever it resembles.
 */
#define FV_FACE_ID_REASON_LOW_QUALITY "low-quality"

/**
 * FvFaceIdMeta:
 * @meta: the parent #GstMeta
 * @roi_id: the `id` of the #GstVideoRegionOfInterestMeta on the same
 *   buffer that this identity belongs to (never 0)
 * @label: (nullable): the identity's label, or %FV_FACE_ID_UNKNOWN_LABEL;
 *   owned by the meta, set it with fv_face_id_meta_set_label()
 * @label_id: the gallery's id of the identity, -1 when unknown
 * @known: %TRUE when the face matched a gallery identity (similarity at or
 *   above the threshold and margin at or above the margin setting)
 * @similarity: cosine similarity to the best identity, in [-1, 1]
 * @margin: similarity of the best identity minus that of the second best
 * @track_id: the id of the face's track across frames (never 0)
 * @frames_ago: how many frames ago the identity was computed (0: on this
 *   frame; more when it was reused from the track between re-identifications)
 * @aligned: %TRUE when the face was aligned from five landmarks, %FALSE
 *   for a square crop of the box
 * @gallery_version: the version of the gallery the face was matched
 *   against (increases every time the element loads a changed gallery)
 * @x: left edge of the face box in frame pixels
 * @y: top edge of the face box in frame pixels
 * @w: width of the face box in pixels
 * @h: height of the face box in pixels
 * @n_landmarks: 0 or %FV_FACE_ID_N_LANDMARKS
 * @landmarks: x, y of each landmark in frame pixels (first 2 * @n_landmarks
 *   values are valid)
 * @embedding: (nullable): the L2-normalised embedding as float32 values
 *   in host byte order, when the element was asked to attach it
 * @quality: the quality of the face crop the identity was computed from,
 *   in [0, 1] (fv_face_quality() of libfaceverify: sharpness, size, pose,
 *   brightness, contrast, cut by the frame edge), or -1 when not measured
 * @reason: (nullable): why the face is unknown when it is not for want of
 *   a match, as an interned string: "low-quality" when @quality is below
 *   the element's min-quality (then the face is never known); %NULL
 *   otherwise
 * @quality_reason: (nullable): with @reason "low-quality", what is wrong
 *   with the crop, as an interned string (fv_face_quality_reason_to_string()
 *   of libfaceverify: "blurred", "too small", "turned", "dark", "bright",
 *   "low contrast", "cut by the frame edge"); %NULL otherwise. Added
 *   after @reason.
 *
 * The identity of one face, carried next to its region of interest. The
 * box and landmarks follow the frame when it is scaled, so this meta
 * remains usable after `videoscale`, which drops the ROI's parameters.
 */
typedef struct
{
  GstMeta meta;

  gint roi_id;
  gchar *label;
  gint label_id;
  gboolean known;
  gdouble similarity;
  gdouble margin;
  guint track_id;
  guint frames_ago;
  gboolean aligned;
  guint64 gallery_version;

  guint x;
  guint y;
  guint w;
  guint h;

  guint n_landmarks;
  gfloat landmarks[2 * FV_FACE_ID_N_LANDMARKS];

  GBytes *embedding;

  /* added after the first release: keep at the end */
  gdouble quality;
  const gchar *reason;
  const gchar *quality_reason;
} FvFaceIdMeta;

FV_META_API GType fv_face_id_meta_api_get_type (void);
FV_META_API const GstMetaInfo *fv_face_id_meta_get_info (void);

FV_META_API FvFaceIdMeta *fv_buffer_add_face_id_meta (GstBuffer * buffer,
    gint roi_id, const gchar * label);
FV_META_API FvFaceIdMeta *fv_buffer_get_face_id_meta (GstBuffer * buffer,
    gint roi_id);
FV_META_API FvFaceIdMeta *fv_buffer_iterate_face_id_meta (GstBuffer * buffer,
    gpointer * state);
FV_META_API guint fv_buffer_get_n_face_id_metas (GstBuffer * buffer);

FV_META_API void fv_face_id_meta_set_label (FvFaceIdMeta * meta,
    const gchar * label);
FV_META_API void fv_face_id_meta_set_embedding (FvFaceIdMeta * meta,
    GBytes * embedding);
FV_META_API const gfloat *fv_face_id_meta_get_embedding (FvFaceIdMeta * meta,
    gsize * n_values);
FV_META_API GstVideoRegionOfInterestMeta *fv_face_id_meta_get_roi
    (FvFaceIdMeta * meta, GstBuffer * buffer);

G_END_DECLS

#endif /* GST_FACEVERIFY_META_H */
