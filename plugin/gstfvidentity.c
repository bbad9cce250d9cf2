/* gst-faceverify: the identities faceverify attaches: the "face_id" ROI
 * param, the FvFaceIdMeta and the "face-identity" message (the metadata
 * contract of ARCHITECTURE section 7, in one place)
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */
#include "gstfvidentity.h"
#include "gstfaceverifymeta.h"

static const gchar *
gst_fv_identity_label (const FvIdentity * id)
{
  return id->known && id->label ? id->label : FV_FACE_ID_UNKNOWN_LABEL;
}

/* What is wrong with a low-quality face's crop (NULL: not a low-quality
 * face, or not told): an interned string. */
static const gchar *
gst_fv_identity_quality_reason (const FvTrack * track, gboolean low_quality)
{
  if (!low_quality || track->embedding_reason == FV_FACE_QUALITY_OK)
    return NULL;
  return g_intern_static_string (fv_face_quality_reason_to_string
      (track->embedding_reason));
}

const FvIdentity *
gst_fv_identity_of (const FvTrack * track, gboolean low_quality)
{
  static const FvIdentity poor = { -1, NULL, FALSE, 0.0, 0.0 };

  return low_quality ? &poor : &track->reported;
}

/* `reason` and `quality-reason` of a low-quality face's structure. */
static void
gst_fv_identity_set_reason (GstStructure * st, const FvTrack * track,
    gboolean low_quality)
{
  const gchar *why = gst_fv_identity_quality_reason (track, low_quality);

  if (low_quality)
    gst_structure_set (st, "reason", G_TYPE_STRING,
        FV_FACE_ID_REASON_LOW_QUALITY, NULL);
  if (why)
    gst_structure_set (st, "quality-reason", G_TYPE_STRING, why, NULL);
}

static void
gst_fv_identity_set_param (GstVideoRegionOfInterestMeta * roi,
    const FvTrack * tr, gboolean low_quality, guint frames_ago,
    const gchar * model_name, guint64 gallery_version, GBytes * emb)
{
  const FvIdentity *id = gst_fv_identity_of (tr, low_quality);
  GstStructure *old, *st;

  old = gst_video_region_of_interest_meta_get_param (roi, "face_id");
  if (old) {
    roi->params = g_list_remove (roi->params, old);
    gst_structure_free (old);
  }
  st = gst_structure_new ("face_id",
      "label", G_TYPE_STRING, gst_fv_identity_label (id),
      "label_id", G_TYPE_INT, id->known ? id->label_id : -1,
      "confidence", G_TYPE_DOUBLE, id->similarity,
      "model_name", G_TYPE_STRING, model_name,
      "attribute_name", G_TYPE_STRING, "face_id",
      "known", G_TYPE_BOOLEAN, id->known,
      "similarity", G_TYPE_DOUBLE, id->similarity,
      "margin", G_TYPE_DOUBLE, id->margin,
      "track-id", G_TYPE_UINT, tr->id,
      "frames-ago", G_TYPE_UINT, frames_ago,
      "aligned", G_TYPE_BOOLEAN, tr->embedding_aligned,
      "gallery-version", G_TYPE_UINT64, gallery_version,
      "verified", G_TYPE_BOOLEAN, TRUE,
      "quality", G_TYPE_DOUBLE, (gdouble) tr->embedding_quality, NULL);
  gst_fv_identity_set_reason (st, tr, low_quality);
  if (emb)
    gst_structure_set (st, "embedding", G_TYPE_BYTES, emb, NULL);
  gst_video_region_of_interest_meta_add_param (roi, st);
}

void
gst_fv_identity_attach (GstBuffer * buf, GstVideoRegionOfInterestMeta * roi,
    const FvTrack * track, gboolean low_quality, guint frames_ago,
    const gfloat * landmarks, const gchar * model_name,
    guint64 gallery_version, guint dim)
{
  const FvIdentity *id = gst_fv_identity_of (track, low_quality);
  g_autoptr (GBytes) emb = NULL;
  FvFaceIdMeta *m;
  guint k;

  if (dim > 0)
    emb = g_bytes_new (track->embedding, dim * sizeof (gfloat));
  gst_fv_identity_set_param (roi, track, low_quality, frames_ago, model_name,
      gallery_version, emb);

  m = fv_buffer_get_face_id_meta (buf, roi->id);
  if (m)
    gst_buffer_remove_meta (buf, (GstMeta *) m);
  m = fv_buffer_add_face_id_meta (buf, roi->id, gst_fv_identity_label (id));
  if (!m)
    return;
  m->label_id = id->known ? id->label_id : -1;
  m->known = id->known;
  m->similarity = id->similarity;
  m->margin = id->margin;
  m->track_id = track->id;
  m->frames_ago = frames_ago;
  m->aligned = track->embedding_aligned;
  m->gallery_version = gallery_version;
  m->x = roi->x;
  m->y = roi->y;
  m->w = roi->w;
  m->h = roi->h;
  m->n_landmarks = landmarks ? FV_FACE_ID_N_LANDMARKS : 0;
  for (k = 0; k < 2 * m->n_landmarks; k++)
    m->landmarks[k] = landmarks[k];
  if (emb)
    m->embedding = g_bytes_ref (emb);
  m->quality = track->embedding_quality;
  m->reason = low_quality ?
      g_intern_static_string (FV_FACE_ID_REASON_LOW_QUALITY) : NULL;
  m->quality_reason = gst_fv_identity_quality_reason (track, low_quality);
}

void
gst_fv_identity_mark_unverified (GstBuffer * buf,
    GstVideoRegionOfInterestMeta * roi)
{
  GstStructure *st;
  FvFaceIdMeta *m;

  st = gst_video_region_of_interest_meta_get_param (roi, "face_id");
  if (st)
    gst_structure_set (st, "label", G_TYPE_STRING, FV_FACE_ID_UNKNOWN_LABEL,
        "label_id", G_TYPE_INT, -1, "known", G_TYPE_BOOLEAN, FALSE,
        "verified", G_TYPE_BOOLEAN, FALSE, NULL);
  if (roi->id != 0 && (m = fv_buffer_get_face_id_meta (buf, roi->id)))
    gst_buffer_remove_meta (buf, (GstMeta *) m);
}

GstStructure *
gst_fv_identity_message_new (const GstSegment * segment, GstBuffer * buf)
{
  GstClockTime ts = GST_BUFFER_PTS (buf);

  return gst_structure_new ("face-identity",
      "timestamp", G_TYPE_UINT64, ts,
      "stream-time", G_TYPE_UINT64,
      gst_segment_to_stream_time (segment, GST_FORMAT_TIME, ts),
      "running-time", G_TYPE_UINT64,
      gst_segment_to_running_time (segment, GST_FORMAT_TIME, ts),
      "duration", G_TYPE_UINT64, GST_BUFFER_DURATION (buf), NULL);
}

void
gst_fv_identity_message_append (GValue * faces,
    const GstVideoRegionOfInterestMeta * roi, const FvTrack * track,
    gboolean low_quality)
{
  const FvIdentity *id = gst_fv_identity_of (track, low_quality);
  GValue v = G_VALUE_INIT;
  GstStructure *st;

  st = gst_structure_new ("face",
      "roi-id", G_TYPE_INT, roi->id,
      "track-id", G_TYPE_UINT, track->id,
      "x", G_TYPE_UINT, roi->x,
      "y", G_TYPE_UINT, roi->y,
      "width", G_TYPE_UINT, roi->w,
      "height", G_TYPE_UINT, roi->h,
      "label", G_TYPE_STRING, gst_fv_identity_label (id),
      "label-id", G_TYPE_INT, id->known ? id->label_id : -1,
      "similarity", G_TYPE_DOUBLE, id->similarity,
      "known", G_TYPE_BOOLEAN, id->known,
      "quality", G_TYPE_DOUBLE, (gdouble) track->embedding_quality, NULL);
  gst_fv_identity_set_reason (st, track, low_quality);
  g_value_init (&v, GST_TYPE_STRUCTURE);
  g_value_take_boxed (&v, st);
  gst_value_array_append_and_take_value (faces, &v);
}
