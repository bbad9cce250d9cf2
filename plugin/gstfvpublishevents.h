/* gst-faceverify: faceverifypublish's tracks and JSON events
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */
#ifndef GST_FV_PUBLISH_EVENTS_H
#define GST_FV_PUBLISH_EVENTS_H

#include <gst/gst.h>

#include "gstfaceverifymeta.h"

G_BEGIN_DECLS

/* The `schema` field of every event; bump the number when a field changes
 * meaning or disappears (new fields do not change it). */
#define GST_FV_PUBLISH_SCHEMA "gst-faceverify/event/1"

/* What every event of one frame shares. */
typedef struct
{
  const gchar *camera;
  guint64 frame;                /* frames seen by the element, from 0 */
  GstClockTime pts;
  GstClockTime running_time;
  gint64 utc_us;                /* g_get_real_time () */
  guint width;                  /* frame size, for normalised boxes */
  guint height;
} GstFvEventFrame;

/* One face track as the element follows it. */
typedef struct
{
  guint track_id;
  gchar *label;                 /* the last decision */
  gint label_id;
  gboolean known;
  gboolean decided;             /* an `identified` event went out */
  gdouble similarity;
  gdouble margin;
  gdouble quality;              /* of the last crop, -1 when unmeasured */
  const gchar *reason;          /* interned, or NULL */
  const gchar *quality_reason;  /* with reason: interned, or NULL */
  gdouble best_similarity;
  gchar *best_label;            /* label of the best similarity */
  guint x, y, w, h;
  guint64 first_frame, last_frame, n_frames;
  GstClockTime first_pts, last_pts;
  GstClockTime first_rt, last_rt;
  gint64 first_utc, last_utc;
} GstFvTrack;

GstFvTrack *gst_fv_track_new (const FvFaceIdMeta * meta,
    const GstFvEventFrame * f);
void gst_fv_track_free (GstFvTrack * track);
gboolean gst_fv_track_update (GstFvTrack * track, const FvFaceIdMeta * meta,
    const GstFvEventFrame * f);

gchar *gst_fv_event_track (const gchar * event, guint64 seq,
    const GstFvEventFrame * f, const GstFvTrack * track,
    const gchar * crop_jpeg_base64);
gchar *gst_fv_event_frame (guint64 seq, const GstFvEventFrame * f,
    GstBuffer * buffer);
gchar *gst_fv_event_presence (const GstFvEventFrame * f, GHashTable * tracks);

G_END_DECLS

#endif /* GST_FV_PUBLISH_EVENTS_H */
