/* gst-faceverify: the per-frame work of faceverify (plugin-internal)
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */
#ifndef GST_FV_VERIFIER_H
#define GST_FV_VERIFIER_H

#include <gst/gst.h>
#include <gst/video/video.h>

#include "gstfvcommon.h"
#include "fv.h"

G_BEGIN_DECLS

/* The verification of the faces of one frame: collect the face ROIs, track
 * them, embed the ones that need it on the thread pool, match against a
 * gallery snapshot and attach the identities. Everything it needs per
 * frame is allocated in gst_fv_verifier_new(). Not thread-safe: the caller
 * serialises gst_fv_verifier_process() and gst_fv_verifier_dup_embedding(). */
typedef struct _GstFvVerifier GstFvVerifier;

/* Settings read once per frame, so a property change never lands in the
 * middle of a frame. */
typedef struct
{
  gfloat threshold;
  gfloat margin;
  GQuark roi_type;
  guint min_face_size;
  guint reidentify_interval;
  gboolean attach_embedding;
  gfloat min_quality;
} GstFvVerifierSettings;

/* Loads the model at @model_path and prepares @threads embedders for at
 * most @max_faces faces per frame. On failure posts the element error on
 * @element and returns NULL. */
GstFvVerifier *gst_fv_verifier_new (GstElement * element,
    const gchar * model_path, guint threads, guint max_faces);

void gst_fv_verifier_free (GstFvVerifier * v);

guint gst_fv_verifier_get_dim (const GstFvVerifier * v);

/* The model's fingerprint, which a gallery must have been made with. */
const gchar *gst_fv_verifier_get_fingerprint (const GstFvVerifier * v);

/* Which kernels the model runs, for the log. */
const gchar *gst_fv_verifier_describe (const GstFvVerifier * v);

void gst_fv_verifier_get_stats (const GstFvVerifier * v, guint64 * frames,
    guint64 * embedded);

/* Verifies the faces of @buf (writable, its pixels described by @info and
 * @path) against @snap (may be NULL: every face unknown) of gallery
 * version @version, and attaches the identities. On ROIs it does not
 * verify it marks any upstream identity as unverified. FALSE (after
 * posting a STREAM error) when the frame cannot be read. */
gboolean gst_fv_verifier_process (GstFvVerifier * v, GstBuffer * buf,
    const GstVideoInfo * info, const GstFvPixelPath * path,
    FvGallerySnapshot * snap, guint64 version,
    const GstFvVerifierSettings * s);

/* A "face-identity" message structure for the faces of the last processed
 * frame @buf; with @only_on_change NULL when neither the faces nor their
 * identities changed since the last structure it returned. */
GstStructure *gst_fv_verifier_new_message (GstFvVerifier * v,
    const GstSegment * segment, GstBuffer * buf, gboolean only_on_change);

/* A copy of the embedding of the face with ROI id @roi_id on the last
 * processed frame (0: the largest face), or NULL; its ROI id in
 * @found_roi and the quality of its crop in @quality. Free with g_free(). */
gfloat *gst_fv_verifier_dup_embedding (const GstFvVerifier * v, gint roi_id,
    gint * found_roi, gfloat * quality);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GstFvVerifier, gst_fv_verifier_free);

G_END_DECLS

#endif /* GST_FV_VERIFIER_H */
