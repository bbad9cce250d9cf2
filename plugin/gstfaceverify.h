/* gst-faceverify: the faceverify element
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */
#ifndef GST_FACE_VERIFY_H
#define GST_FACE_VERIFY_H

#include <gst/gst.h>
#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

/**
 * GstFaceVerifyUpdates:
 * @GST_FACE_VERIFY_UPDATES_EVERY_FRAME: post a `face-identity` message for
 *   every frame
 * @GST_FACE_VERIFY_UPDATES_ON_CHANGE: post one when the set of faces or an
 *   identity changed since the last message
 * @GST_FACE_VERIFY_UPDATES_NONE: post none
 *
 * When `faceverify` posts `face-identity` element messages.
 */
typedef enum
{
  GST_FACE_VERIFY_UPDATES_EVERY_FRAME,
  GST_FACE_VERIFY_UPDATES_ON_CHANGE,
  GST_FACE_VERIFY_UPDATES_NONE,
} GstFaceVerifyUpdates;

#define GST_TYPE_FACE_VERIFY_UPDATES (gst_face_verify_updates_get_type ())
GType gst_face_verify_updates_get_type (void);

/**
 * GstFaceVerifyDecision:
 * @GST_FACE_VERIFY_DECISION_TRACK: decide on the track's template, the
 *   weighted mean of its recent embeddings, so that several weaker views
 *   of a face add up (see fv_tracker_set_template_decay())
 * @GST_FACE_VERIFY_DECISION_FRAME: decide on each frame's embedding alone
 *
 * What `faceverify` matches against the gallery for a tracked face. Both
 * go through the same hysteresis.
 */
typedef enum
{
  GST_FACE_VERIFY_DECISION_TRACK,
  GST_FACE_VERIFY_DECISION_FRAME,
} GstFaceVerifyDecision;

#define GST_TYPE_FACE_VERIFY_DECISION (gst_face_verify_decision_get_type ())
GType gst_face_verify_decision_get_type (void);

#define GST_TYPE_FACE_VERIFY (gst_face_verify_get_type ())
G_DECLARE_FINAL_TYPE (GstFaceVerify, gst_face_verify, GST, FACE_VERIFY,
    GstBaseTransform)

G_END_DECLS

#endif /* GST_FACE_VERIFY_H */
