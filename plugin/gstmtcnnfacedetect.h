/* gst-faceverify: the mtcnnfacedetect element
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */
#ifndef GST_MTCNN_FACE_DETECT_H
#define GST_MTCNN_FACE_DETECT_H

#include <gst/gst.h>
#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

#define GST_TYPE_MTCNN_FACE_DETECT (gst_mtcnn_face_detect_get_type ())
G_DECLARE_FINAL_TYPE (GstMtcnnFaceDetect, gst_mtcnn_face_detect, GST,
    MTCNN_FACE_DETECT, GstBaseTransform)

G_END_DECLS

#endif /* GST_MTCNN_FACE_DETECT_H */
