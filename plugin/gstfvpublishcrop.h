/* gst-faceverify: faceverifypublish's face thumbnails
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */
#ifndef GST_FV_PUBLISH_CROP_H
#define GST_FV_PUBLISH_CROP_H

#include <gst/gst.h>
#include <gst/video/video.h>

#include "fv.h"
#include "gstfaceverifymeta.h"
#include "gstfvcommon.h"

G_BEGIN_DECLS

gchar *gst_fv_publish_crop_jpeg (FvAligner * aligner,
    const GstFvPixelPath * path, const GstVideoInfo * info, GstBuffer * buf,
    const FvFaceIdMeta * meta);

G_END_DECLS

#endif /* GST_FV_PUBLISH_CROP_H */
