/* gst-faceverify: helpers shared by the plugin's elements
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */
#include "gstfvcommon.h"

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
gst_fv_check_frame_size (GstElement * element, const GstVideoInfo * info)
{
  gint w = GST_VIDEO_INFO_WIDTH (info), h = GST_VIDEO_INFO_HEIGHT (info);

  if (w <= FV_FRAME_MAX_SIZE && h <= FV_FRAME_MAX_SIZE)
    return TRUE;
  GST_ELEMENT_ERROR (element, STREAM, FORMAT,
      ("Frames of %dx%d pixels are too large: at most %d pixels on a side "
          "are supported.", w, h, FV_FRAME_MAX_SIZE), (NULL));
  return FALSE;
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

gboolean
gst_fv_frame_map (GstElement * element, const GstVideoInfo * info,
    const GstFvPixelPath * path, GstBuffer * buf, GstVideoFrame * vframe,
    FvFrame * frame)
{
  if (!gst_video_frame_map (vframe, info, buf, GST_MAP_READ)) {
    GST_ELEMENT_ERROR (element, STREAM, FAILED, (NULL),
        ("invalid video buffer received"));
    return FALSE;
  }
  if (!gst_fv_frame_wrap (path, vframe, frame)) {
    gst_video_frame_unmap (vframe);
    GST_ELEMENT_ERROR (element, STREAM, FORMAT, (NULL),
        ("the frame's layout is not usable"));
    return FALSE;
  }
  return TRUE;
}

void
gst_fv_post_model_error (GstElement * element, const gchar * what,
    const gchar * path, const GError * err)
{
  if (g_error_matches (err, FV_MODEL_ERROR, FV_MODEL_ERROR_NOT_FOUND))
    GST_ELEMENT_ERROR (element, RESOURCE, NOT_FOUND,
        ("The %s \"%s\" was not found.", what, path), ("%s", err->message));
  else if (g_error_matches (err, FV_MODEL_ERROR, FV_MODEL_ERROR_IO))
    GST_ELEMENT_ERROR (element, RESOURCE, OPEN_READ,
        ("Could not read the %s \"%s\".", what, path), ("%s", err->message));
  else
    GST_ELEMENT_ERROR (element, LIBRARY, INIT,
        ("Could not load the %s \"%s\".", what, path), ("%s", err->message));
}

#define MAX_ROWS_NAMED 10

FvGallerySnapshot *
gst_fv_warn_skipped_rows (GstElement * element, const gchar * loc,
    FvGallerySnapshot * snapshot)
{
  guint i, n = snapshot ? fv_gallery_snapshot_get_n_skipped (snapshot) : 0;
  GString *named, *all;

  if (n == 0)
    return snapshot;
  named = g_string_new (NULL);
  all = g_string_new (NULL);
  for (i = 0; i < n; i++) {
    const char *row = fv_gallery_snapshot_get_skipped (snapshot, i);

    if (i < MAX_ROWS_NAMED)
      g_string_append_printf (named, "%s%s", i ? "; " : "", row);
    g_string_append_printf (all, "%s\n", row);
  }
  if (n > MAX_ROWS_NAMED)
    g_string_append_printf (named, "; and %u more", n - MAX_ROWS_NAMED);
  GST_ELEMENT_WARNING (element, RESOURCE, READ,
      ("The gallery \"%s\" has %u damaged row(s), left out (the others are "
          "used): %s. Run `faceverify gallery check` or `repair`.", loc, n,
          named->str), ("%s", all->str));
  g_string_free (named, TRUE);
  g_string_free (all, TRUE);
  return snapshot;
}

void
gst_fv_set_roi_type (const GValue * value, const gchar * fallback,
    gchar ** roi_type, GQuark * quark)
{
  g_free (*roi_type);
  *roi_type = g_value_dup_string (value);
  if (!*roi_type)
    *roi_type = g_strdup (fallback);
  *quark = g_quark_from_string (*roi_type);
}

gboolean
gst_fv_element_is_running (GstElement * element)
{
  return GST_STATE (element) > GST_STATE_READY
      || GST_STATE_PENDING (element) > GST_STATE_READY;
}

gboolean
gst_fv_roi_get_landmarks (GstVideoRegionOfInterestMeta * roi, gdouble * points)
{
  GstStructure *s = gst_video_region_of_interest_meta_get_param (roi,
      "landmarks");
  const GValue *pts = s ? gst_structure_get_value (s, "points") : NULL;
  guint k;

  if (!pts || !GST_VALUE_HOLDS_ARRAY (pts)
      || gst_value_array_get_size (pts) != 2 * FV_N_LANDMARKS)
    return FALSE;
  for (k = 0; k < 2 * FV_N_LANDMARKS; k++) {
    const GValue *v = gst_value_array_get_value (pts, k);

    if (G_VALUE_HOLDS_DOUBLE (v))
      points[k] = g_value_get_double (v);
    else if (G_VALUE_HOLDS_FLOAT (v))
      points[k] = g_value_get_float (v);
    else
      return FALSE;
  }
  return TRUE;
}
