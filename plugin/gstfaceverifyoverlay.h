/* gst-faceverify: the faceverifyoverlay element
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */
#ifndef GST_FACE_VERIFY_OVERLAY_H
#define GST_FACE_VERIFY_OVERLAY_H

#include <gst/gst.h>
#include <gst/video/gstvideofilter.h>

G_BEGIN_DECLS

#define GST_TYPE_FACE_VERIFY_OVERLAY (gst_face_verify_overlay_get_type ())
G_DECLARE_FINAL_TYPE (GstFaceVerifyOverlay, gst_face_verify_overlay, GST,
    FACE_VERIFY_OVERLAY, GstVideoFilter)

G_END_DECLS

#endif /* GST_FACE_VERIFY_OVERLAY_H */
