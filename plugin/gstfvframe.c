/* gst-faceverify: from mapped GStreamer video frames to the library's frames
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */
#include "gstfvframe.h"

gboolean
gst_fv_pixel_path_init (GstFvPixelPath * path, const GstVideoInfo * info)
{
  const GstVideoColorimetry *c = &info->colorimetry;
  gboolean full = c->range == GST_VIDEO_COLOR_RANGE_0_255;

  switch (GST_VIDEO_INFO_FORMAT (info)) {
    case GST_VIDEO_FORMAT_I420:
      path->format = FV_PIXEL_FORMAT_I420;
      break;
    case GST_VIDEO_FORMAT_NV12:
      path->format = FV_PIXEL_FORMAT_NV12;
      break;
    case GST_VIDEO_FORMAT_RGB:
      path->format = FV_PIXEL_FORMAT_RGB;
      break;
    case GST_VIDEO_FORMAT_BGR:
      path->format = FV_PIXEL_FORMAT_BGR;
      break;
    case GST_VIDEO_FORMAT_RGBx:
      path->format = FV_PIXEL_FORMAT_RGBx;
      break;
    case GST_VIDEO_FORMAT_BGRx:
      path->format = FV_PIXEL_FORMAT_BGRx;
      break;
    case GST_VIDEO_FORMAT_xRGB:
      path->format = FV_PIXEL_FORMAT_xRGB;
      break;
    case GST_VIDEO_FORMAT_xBGR:
      path->format = FV_PIXEL_FORMAT_xBGR;
      break;
    case GST_VIDEO_FORMAT_RGBA:
      path->format = FV_PIXEL_FORMAT_RGBA;
      break;
    case GST_VIDEO_FORMAT_BGRA:
      path->format = FV_PIXEL_FORMAT_BGRA;
      break;
    case GST_VIDEO_FORMAT_ARGB:
      path->format = FV_PIXEL_FORMAT_ARGB;
      break;
    case GST_VIDEO_FORMAT_ABGR:
      path->format = FV_PIXEL_FORMAT_ABGR;
      break;
    case GST_VIDEO_FORMAT_GRAY8:
      path->format = FV_PIXEL_FORMAT_GRAY8;
      break;
    default:
      path->format = FV_PIXEL_FORMAT_UNKNOWN;
      return FALSE;
  }
  /* the library knows BT.601 and BT.709; anything else is closest to 601 */
  if (c->matrix == GST_VIDEO_COLOR_MATRIX_BT709)
    path->matrix = full ? FV_COLOR_MATRIX_BT709_FULL : FV_COLOR_MATRIX_BT709;
  else
    path->matrix = full ? FV_COLOR_MATRIX_BT601_FULL : FV_COLOR_MATRIX_BT601;
  return TRUE;
}

gboolean
gst_fv_frame_wrap (const GstFvPixelPath * path, const GstVideoFrame * vframe,
    FvFrame * frame)
{
  const guint8 *planes[3] = { NULL, NULL, NULL };
  gint strides[3] = { 0, 0, 0 };
  guint i, n = GST_VIDEO_FRAME_N_PLANES (vframe);

  for (i = 0; i < n && i < 3; i++) {
    planes[i] = GST_VIDEO_FRAME_PLANE_DATA (vframe, i);
    strides[i] = GST_VIDEO_FRAME_PLANE_STRIDE (vframe, i);
  }
  if (!fv_frame_init (frame, path->format, GST_VIDEO_FRAME_WIDTH (vframe),
          GST_VIDEO_FRAME_HEIGHT (vframe), planes, strides, NULL))
    return FALSE;
  frame->matrix = path->matrix;
  return TRUE;
}
