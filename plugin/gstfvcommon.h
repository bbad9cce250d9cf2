/* gst-faceverify: helpers shared by the plugin's elements (plugin-internal)
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */
#ifndef GST_FV_COMMON_H
#define GST_FV_COMMON_H

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

/* Whether the library can read frames of @info's size (at most
 * FV_FRAME_MAX_SIZE on a side); if not, posts a STREAM FORMAT error on
 * @element naming the limit, so that caps are refused with a reason. */
gboolean gst_fv_check_frame_size (GstElement * element,
    const GstVideoInfo * info);

/* Describes a frame mapped for reading to the library (no copy). */
gboolean gst_fv_frame_wrap (const GstFvPixelPath * path,
    const GstVideoFrame * vframe, FvFrame * frame);

/* Maps @buf for reading and describes it in @frame; on failure posts a
 * STREAM error on @element and returns FALSE (nothing stays mapped). */
gboolean gst_fv_frame_map (GstElement * element, const GstVideoInfo * info,
    const GstFvPixelPath * path, GstBuffer * buf, GstVideoFrame * vframe,
    FvFrame * frame);

/* Posts the element error that fits a model load failure (@what: "face
 * model", "face detector model"). */
void gst_fv_post_model_error (GstElement * element, const gchar * what,
    const gchar * path, const GError * err);

/* Posts one WARNING on @element naming the rows of the gallery @loc that
 * @snapshot left out as damaged (none: nothing); returns @snapshot. Call
 * once per new snapshot. */
FvGallerySnapshot *gst_fv_warn_skipped_rows (GstElement * element,
    const gchar * loc, FvGallerySnapshot * snapshot);

/* Sets a roi-type property: NULL means @fallback. */
void gst_fv_set_roi_type (const GValue * value, const gchar * fallback,
    gchar ** roi_type, GQuark * quark);

/* Reads the ten numbers (x, y of five points, frame pixels) of the
 * "landmarks" param of @roi; FALSE when there are none or they are not ten
 * numbers. */
gboolean gst_fv_roi_get_landmarks (GstVideoRegionOfInterestMeta * roi,
    gdouble * points);

/* Whether the element is in or going to PAUSED or PLAYING, when
 * properties marked mutable in READY no longer take effect. */
gboolean gst_fv_element_is_running (GstElement * element);

G_END_DECLS

#endif /* GST_FV_COMMON_H */
