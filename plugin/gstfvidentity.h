/* gst-faceverify: the identities faceverify attaches (plugin-internal)
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */
#ifndef GST_FV_IDENTITY_H
#define GST_FV_IDENTITY_H

#include <gst/gst.h>
#include <gst/video/video.h>

#include "fv.h"

G_BEGIN_DECLS

/* Attaches the identity of @track's face to @roi as the "face_id" param
 * and to @buf as an FvFaceIdMeta, replacing earlier ones, with the quality
 * of the track's crop. @low_quality: that crop is below the element's
 * min-quality, so the face is unknown with reason "low-quality" whatever
 * the track says. @landmarks: ten values or NULL; @dim: the embedding's
 * size, or 0 not to attach it. */
void gst_fv_identity_attach (GstBuffer * buf,
    GstVideoRegionOfInterestMeta * roi, const FvTrack * track,
    gboolean low_quality, guint frames_ago, const gfloat * landmarks,
    const gchar * model_name, guint64 gallery_version, guint dim);

/* The identity attached for @track: its reported one, or unknown when
 * @low_quality. */
const FvIdentity *gst_fv_identity_of (const FvTrack * track,
    gboolean low_quality);

/* Disowns an identity that someone upstream attached to @roi: its
 * "face_id" param becomes unknown (label "unknown", label_id -1,
 * known=false, verified=false) and its FvFaceIdMeta, which only faceverify
 * writes, is removed. For ROIs faceverify does not verify. */
void gst_fv_identity_mark_unverified (GstBuffer * buf,
    GstVideoRegionOfInterestMeta * roi);

/* A "face-identity" message structure for @buf, without its faces. */
GstStructure *gst_fv_identity_message_new (const GstSegment * segment,
    GstBuffer * buf);

/* Appends one "face" structure to @faces, a GST_TYPE_ARRAY value. */
void gst_fv_identity_message_append (GValue * faces,
    const GstVideoRegionOfInterestMeta * roi, const FvTrack * track,
    gboolean low_quality);

G_END_DECLS

#endif /* GST_FV_IDENTITY_H */
