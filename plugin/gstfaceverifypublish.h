/* gst-faceverify: the faceverifypublish element
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */
#ifndef GST_FACE_VERIFY_PUBLISH_H
#define GST_FACE_VERIFY_PUBLISH_H

#include <gst/gst.h>
#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

#define GST_TYPE_FACE_VERIFY_PUBLISH (gst_face_verify_publish_get_type ())
G_DECLARE_FINAL_TYPE (GstFaceVerifyPublish, gst_face_verify_publish, GST,
    FACE_VERIFY_PUBLISH, GstBaseTransform)

G_END_DECLS

#endif /* GST_FACE_VERIFY_PUBLISH_H */
