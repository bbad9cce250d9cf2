/* gst-faceverify: from mapped GStreamer video frames to the library's frames
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */
#ifndef GST_FV_FRAME_H
#define GST_FV_FRAME_H

#include <gst/gst.h>
#include <gst/video/video.h>

#include "fv.h"

G_BEGIN_DECLS

/* The raw formats both elements accept: the ones the library reads
 * directly (libyuv converts only the region a face needs). */
#define GST_FV_VIDEO_FORMATS \
  "{ I420, NV12, RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, ARGB, ABGR, GRAY8 }"

/* The pixel path, chosen once when caps are set. */
typedef struct
{
  FvPixelFormat format;
  FvColorMatrix matrix;
} GstFvPixelPath;

gboolean gst_fv_pixel_path_init (GstFvPixelPath * path,
    const GstVideoInfo * info);

/* Describes a frame mapped for reading to the library (no copy). */
gboolean gst_fv_frame_wrap (const GstFvPixelPath * path,
    const GstVideoFrame * vframe, FvFrame * frame);

G_END_DECLS

#endif /* GST_FV_FRAME_H */
